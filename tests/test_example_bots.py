"""The example bots run offline against their scripted Daily (real SDK objects, no network), as the docs show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["daily_dialout_bot.py"],
            [
                "answered 5c7f0d2e-8d4b-4f7c-9a61-2a1f6d0c9b11",
                "far end pressed 9: hanging up",
                "ended stopped / completed",
                "states: idle -> connecting -> connected -> answered -> stopping -> stopped",
                "anomalies: []",
            ],
        ),
        (
            ["daily_dialin_bot.py"],
            [
                "caller 0a1b2c3d-0000-4000-8000-00000000d1a1 joined: greeting them",
                "caller 0a1b2c3d-0000-4000-8000-00000000d1a1 pressed 0: transferring to the operator",
                "call 0a1b2c3d-0000-4000-8000-00000000d1a1 ended stopped / transferred",
                "endpoints: ['sip:bot-room@example.sip.daily.co']",
                "anomalies: ['DUPLICATE_EVENT']",
            ],
        ),
        (
            ["pipecat_dialout_bot.py"],
            [
                "answered: greeting the callee",
                "call stopped / completed",
                "states: idle -> connecting -> connected -> answered -> stopped",
            ],
        ),
        (
            ["pipecat_dialout_bot.py", "--script", "pipecat_dialout_no_answer.jsonl", "--ring-timeout", "0.5"],
            ["call stopped / not_answered", "states: idle -> connecting -> connected -> stopping -> stopped"],
        ),
        (
            ["pipecat_dialin_bot.py"],
            [
                "caller 0a1b2c3d-0000-4000-8000-00000000d1a1 joined: greeting them",
                "caller pressed 0: transferring to the operator",
                "call stopped / transferred",
                "states: idle -> connected -> joined -> stopped",
            ],
        ),
    ],
    ids=["daily-dialout", "daily-dialin", "pipecat-dialout", "pipecat-dialout-no-answer", "pipecat-dialin"],
)
def test_example_bot_runs_against_its_script(args: list[str], expected: list[str]) -> None:
    script, *rest = args
    rest = [str(EXAMPLES / a) if a.endswith(".jsonl") else a for a in rest]
    done = _run(str(EXAMPLES / script), *rest)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for line in expected:
        assert line in lines, done.stdout
    assert "Traceback" not in done.stderr, done.stderr


def test_a_script_the_bot_does_not_follow_fails(tmp_path: Path) -> None:
    script = tmp_path / "wrong.jsonl"
    script.write_text(
        '{"call": "start_dialout", "settings": {"phoneNumber": "+15551234567"}}\n'
        '{"completion": "start_dialout", "session_id": null, "error": "Dialout already exists"}\n',
        encoding="utf-8",
    )
    done = _run(str(EXAMPLES / "daily_dialout_bot.py"), "--script", str(script))
    assert done.returncode == 1
    assert "no answer: rejected DIALOUT_IN_PROGRESS 'Dialout already exists'" in done.stdout


EVERY_EXAMPLE = sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", EVERY_EXAMPLE)
def test_no_example_shows_a_traceback_on_a_wrong_argument(script: str) -> None:
    """An unknown option is a usage error (exit 2), never a traceback."""
    done = _run(str(EXAMPLES / script), "--no-such-option")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "usage:" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("daily_dialout_bot.py", ["--script", "{missing}"]),
        ("daily_dialin_bot.py", ["--script", "{missing}"]),
        ("pipecat_dialout_bot.py", ["--script", "{missing}"]),
        ("pipecat_dialin_bot.py", ["--script", "{missing}"]),
        ("pipecat_dialout_bot.py", ["--script", "{not_json}"]),
        ("daily_dialout_bot.py", ["--ring-timeout", "inf"]),
        ("pipecat_dialout_bot.py", ["--ring-timeout", "-1"]),
        ("pipecat_dialin_bot.py", ["--room", "https://example.daily.co/room"]),
        ("dialout_retry_bot.py", ["--log", "{missing_dir}/run.jsonl"]),
    ],
)
def test_no_example_shows_a_traceback_on_a_missing_file_or_a_bad_value(
    script: str, args: list[str], tmp_path: Path
) -> None:
    not_json = tmp_path / "not.jsonl"
    not_json.write_text("this is not JSON\n", encoding="utf-8")
    paths = {"missing": str(tmp_path / "missing.jsonl"), "not_json": str(not_json), "missing_dir": str(tmp_path / "no")}
    done = _run(str(EXAMPLES / script), *(a.format(**paths) for a in args))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error:" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
