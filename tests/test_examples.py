"""The runnable examples under examples/ do what their docstrings say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from dialfsm import CallTracker, Outcome, RetryPolicy, replay_path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_retry_bot_retries_then_hangs_up_a_ringing_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Attempt 1 is rejected (transient), attempt 2 rings out: ring timeout, stop, not_answered."""
    bot = _load("dialout_retry_bot")
    tracker = CallTracker(retry=RetryPolicy(max_attempts=3, base_delay=2.0, seed=42))
    bot.Bot(tracker).run()
    first, second = tracker
    assert (first.outcome, second.outcome) == (Outcome.REJECTED, Outcome.NOT_ANSWERED)
    assert (second.attempt, second.previous) == (2, first)
    assert [e.name for e in tracker.journal if e.session is second][-3:] == [
        "ring_timeout", "stop_dialout.ok", "dialout-stopped",
    ]  # fmt: skip
    log = tmp_path / "run.jsonl"
    assert bot.main(["--log", str(log)]) == 0
    assert "attempt 2: stopped (not_answered)" in capsys.readouterr().out
    report = replay_path(str(log)).report()
    assert [(s["outcome"], s["attempt"], s["retry_of"]) for s in report["sessions"]] == [
        ("rejected", 1, None),
        ("not_answered", 2, 0),
    ]
    assert report["anomalies"] == report["rejected"] == []


def test_committed_retry_log_matches_the_bot() -> None:
    """examples/dialout_retry_ring_timeout.jsonl is what the bot records (regenerate with --log)."""
    report = replay_path(str(EXAMPLES / "dialout_retry_ring_timeout.jsonl")).report()
    assert [s["states"][-1] for s in report["sessions"]] == ["error", "stopped"]
    assert report["sessions"][1]["outcome"] == "not_answered"
