"""The example bots run offline against their scripted logs, as the README shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "dialout_bot.py",
            [
                "answered 5c7f0d2e-8d4b-4f7c-9a61-2a1f6d0c9b11",
                "far end pressed 9: hanging up",
                "ended stopped / completed",
                "states: idle -> connecting -> connected -> answered -> stopping -> stopped",
                "anomalies: []",
            ],
        ),
        (
            "dialin_bot.py",
            [
                "caller 0a1b2c3d-0000-4000-8000-00000000d1a1 joined: greeting them",
                "caller 0a1b2c3d-0000-4000-8000-00000000d1a1 pressed 0: transferring to the operator",
                "call 0a1b2c3d-0000-4000-8000-00000000d1a1 ended stopped / transferred",
                "endpoints: ['sip:bot-room@example.sip.daily.co']",
                "anomalies: ['DUPLICATE_EVENT']",
            ],
        ),
    ],
)
def test_example_bot_runs_against_its_script(script: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for line in expected:
        assert line in lines, done.stdout


def test_a_script_the_bot_does_not_follow_fails(tmp_path: Path) -> None:
    script = tmp_path / "wrong.jsonl"
    script.write_text(
        '{"call": "start_dialout", "settings": {"phoneNumber": "+15551234567"}}\n'
        '{"completion": "start_dialout", "session_id": null, "error": "Dialout already exists"}\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "dialout_bot.py"), str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no answer: rejected DIALOUT_IN_PROGRESS 'Dialout already exists'" in done.stdout
