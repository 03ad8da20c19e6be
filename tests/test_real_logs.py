"""The end-to-end cases of real calls: each log under ``examples/real/`` ends in the sessions it must.

``examples/real/README.md`` says where each log's shapes come from;
``examples/real/expected.json`` holds, per log, the sessions it must end in,
and its anomalies and refusals (by physical line).  A log made with other
options than the defaults says so in its header line, as a recording does.
The same logs also replay cleanly from the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dialfsm._cli import main
from dialfsm._replay import replay_path

REAL = Path(__file__).resolve().parent.parent / "examples" / "real"
EXPECTED: dict[str, Any] = json.loads((REAL / "expected.json").read_text())
_KEYS = ("kind", "session_id", "state", "outcome", "origin", "error_code", "states", "transferred_from")


def test_every_log_has_its_expectations_and_its_source() -> None:
    """No log without expected sessions, no expectation without a log, every log named in the README."""
    logs = sorted(p.name for p in REAL.glob("*.jsonl"))
    assert logs == sorted(EXPECTED)
    readme = (REAL / "README.md").read_text()
    for name in logs:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_real_log_ends_in_its_expected_sessions(name: str) -> None:
    """Replayed (with its header's options, if any), the sessions, anomalies and refusals are as expected."""
    expected = EXPECTED[name]
    report = replay_path(str(REAL / name)).report()
    assert [{k: s[k] for k in _KEYS} for s in report["sessions"]] == expected["sessions"]
    assert [[a["line"], a["code"]] for a in report["anomalies"]] == expected["anomalies"]
    assert [[r["line"], r["code"]] for r in report["rejected"]] == expected["rejected"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if not e["anomalies"]))
def test_a_clean_real_log_replays_strictly_from_the_command_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``dialfsm replay --strict`` exits 0 on each log that ends without an anomaly."""
    assert main(["replay", "--strict", str(REAL / name)]) == 0
    assert "0 anomalies" in capsys.readouterr().out
