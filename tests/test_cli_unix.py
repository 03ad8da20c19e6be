"""The command line as a Unix tool (issue 12, point 5; issue 13, points 12 to 14), each case run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dialfsm import CallTracker, Recorder, RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
HAPPY = ROOT / "examples" / "dialout_happy.jsonl"
MESSY = ROOT / "examples" / "messy_room.jsonl"
PYTHON = sys.executable


def _run(*args: str, stdin: str | None = None, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [PYTHON, "-m", "dialfsm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def _shell(command: str) -> Any:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


def test_version() -> None:
    done = _run("--version")
    assert (done.returncode, done.stdout) == (0, "dialfsm 0.2.0\n")


# --- several files, --json, --strict ---------------------------------------------------------------


def test_several_files_give_one_report_each() -> None:
    done = _run("replay", str(HAPPY), str(MESSY))
    assert done.returncode == 0
    assert done.stdout.count("\n== ") + done.stdout.startswith("== ") == 2
    assert f"== {HAPPY}" in done.stdout
    assert f"== {MESSY}" in done.stdout
    assert "11 inputs, 1 sessions, 0 rejected, 0 anomalies" in done.stdout
    assert "16 inputs, 2 sessions, 2 rejected, 5 anomalies" in done.stdout


def test_json_of_one_file_is_one_object_and_of_several_a_files_list() -> None:
    one = json.loads(_run("replay", str(HAPPY), "--json").stdout)
    assert one["schema"] == 2
    assert one["path"] == str(HAPPY)
    several = json.loads(_run("replay", str(HAPPY), str(MESSY), "--json").stdout)
    assert several["schema"] == 2
    assert [f["path"] for f in several["files"]] == [str(HAPPY), str(MESSY)]
    assert several["files"][1]["totals"] == {"rejected": 2, "anomalies": 5, "unreadable": 1}


def test_strict_fails_if_any_file_fails() -> None:
    assert _run("replay", "--strict", str(HAPPY)).returncode == 0
    assert _run("replay", "--strict", str(HAPPY), str(MESSY)).returncode == 1
    assert _run("replay", "--strict", "--json", str(MESSY), str(HAPPY)).returncode == 1


def test_an_unreadable_file_among_several_is_exit_2_and_the_others_still_report(tmp_path: Path) -> None:
    done = _run("replay", str(tmp_path / "missing.jsonl"), str(HAPPY))
    assert done.returncode == 2
    assert "cannot read" in _one_line(done.stderr)
    assert "11 inputs" in done.stdout


def test_strict_on_an_empty_log_exits_1_and_says_it_was_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    done = _run("replay", "--strict", str(empty))
    assert done.returncode == 1
    assert "the log was empty" in _one_line(done.stderr)
    assert "note: the log was empty" in done.stdout
    assert _run("replay", str(empty)).returncode == 0


# --- the same facts whatever the flags ---------------------------------------------------------------------


def _retried_log(tmp_path: Path) -> Path:
    path = tmp_path / "retried.jsonl"
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    with Recorder(path, clock=None) as recorder:
        recorder.attach(tracker)
        first = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=0.0)
        tracker.start_completed(first, error="No workers available", t=0.1)
        (effect,) = tracker.take_effects()
        second = tracker.start_dialout(effect.settings, retry_of=effect.previous, t=2.0)  # type: ignore[union-attr]
        tracker.start_completed(second, session_id="b2", t=2.1)
        tracker.handle("dialout-answered", {"sessionId": "b2"}, t=3.0)
        for n in range(5):
            tracker.handle("dialout-warning", {"sessionId": "b2", "errorMsg": f"codec fallback {n}"}, t=3.1)
            tracker.handle("dtmf-event", {"sessionId": "b2", "tone": str(n)}, t=3.2)
    return path


def test_the_text_report_shows_warnings_dtmf_and_the_retry_chain(tmp_path: Path) -> None:
    out = _run("replay", str(_retried_log(tmp_path))).stdout
    assert "attempt 2, retrying (no id, #0)" in out
    assert "warnings: 5 (last: codec fallback 2; codec fallback 3; codec fallback 4)" in out
    assert "dtmf received: 5 (last: 0 0 0)" in out  # redacted: keys pressed are written as 0s


def test_the_json_report_shows_them_too(tmp_path: Path) -> None:
    report = json.loads(_run("replay", "--json", str(_retried_log(tmp_path))).stdout)
    _, second = report["sessions"]
    assert (second["attempt"], second["retry_of"]) == (2, 0)
    assert second["warnings"] == {"count": 5, "last": ["codec fallback 2", "codec fallback 3", "codec fallback 4"]}
    assert second["dtmf"]["count"] == 5


# --- pipes, full disks, closed stdin ------------------------------------------------------------------------


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big.jsonl"
    line = json.dumps({"event": "dialin-connected", "data": {"sessionId": "x"}})
    path.write_text((line + "\n") * 30000)
    return path


@pytest.mark.parametrize("unbuffered", ["PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED="], ids=["unbuffered", "buffered"])
def test_a_closed_pipe_ends_quietly_with_status_1(tmp_path: Path, unbuffered: str) -> None:
    """`| head -1`: no message, exit status 1 (Python's documented SIGPIPE recipe).

    Every output here is megabytes long (every problem kept), far more than a pipe and
    ``head`` absorb, so the writer certainly meets the closed pipe; and unbuffered
    (``python -u``), where a write the closing reader cut short used to pass unnoticed.
    """
    log = _big(tmp_path)
    for flags, head in (
        ("--all-problems", "head -1"),
        ("--json --all-problems", "head -c 20"),
        ("--mermaid", "head -1"),
    ):
        status = "s=${PIPESTATUS[0]}; echo; echo status=$s"
        command = f"{unbuffered} {PYTHON} -m dialfsm replay {flags} {log} | {head}; {status}"
        done = _shell(command)
        assert done.stdout.strip().endswith("status=1"), (flags, done.stdout[-200:])
        assert done.stderr == ""


def test_a_long_output_is_written_whole_even_unbuffered(tmp_path: Path) -> None:
    """The --json report of a big log, through a slow pipe and `python -u`: every byte arrives."""
    log = _big(tmp_path)
    command = f"PYTHONUNBUFFERED=1 {PYTHON} -m dialfsm replay --json --all-problems {log} | (sleep 0.2; cat)"
    report = json.loads(_shell(command).stdout)
    assert report["totals"]["anomalies"] == len(report["anomalies"]) == 29_999


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_disk_is_one_line_and_a_failing_status() -> None:
    for args in (f"replay {MESSY}", f"replay --json {MESSY}", "paths", "diagram --stdout dialout"):
        done = _shell(f"{PYTHON} -m dialfsm {args} > /dev/full")
        assert done.returncode == 2, args
        assert "cannot write the output: No space left on device" in _one_line(done.stderr)


def test_replay_of_a_closed_standard_input_is_one_line() -> None:
    done = _shell(f"{PYTHON} -m dialfsm replay - <&-")
    assert done.returncode == 2
    assert "standard input" in _one_line(done.stderr)


def test_a_byte_order_mark_costs_no_line(tmp_path: Path) -> None:
    log = tmp_path / "bom.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + HAPPY.read_bytes())
    report = json.loads(_run("replay", "--json", "--strict", str(log)).stdout)
    assert (report["inputs"], report["totals"]["anomalies"]) == (11, 0)


# --- text from a log on a terminal ------------------------------------------------------------------------------


def _hostile_log(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.jsonl"
    lines = [
        {"event": "dialin-connected", "data": {"sessionId": "d\u001b[31m1\ud83d"}},
        {"event": "dialin-error", "data": {"sessionId": "d\u001b[31m1\ud83d", "errorMsg": "x\nrejected  line 9: fake"}},
        {"event": "dialout-answered", "data": {"sessionId": "\u001b]0;pwned\u0007\u202e"}},
        {"event": "dialin-ready", "data": "sip:\u001b[2J@room\ud800"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("flags", [[], ["--mermaid"], ["--json"]])
def test_lone_surrogates_and_control_characters_never_break_an_output(tmp_path: Path, flags: list[str]) -> None:
    """Issue 13, 12-13: no UnicodeEncodeError, no escape sequence reaches the terminal, no line is forged."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [PYTHON, "-m", "dialfsm", "replay", *flags, str(_hostile_log(tmp_path))],
        capture_output=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    out = done.stdout.decode("utf-8")
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out
    assert not any(line.startswith("rejected  line 9") for line in out.splitlines())
    if not flags:
        assert "\\x1b[31m1\\ud83d" in out
        assert "0 rejected, 1 anomalies" in out


def test_svg_timelines_of_a_hostile_log_are_written(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "no-mmdc")}
    done = _run("replay", str(_hostile_log(tmp_path)), "--svg", str(tmp_path / "out"), env=env)
    assert done.returncode == 0
    assert "mmdc (Mermaid CLI) not found" in _one_line(done.stderr)
    for mmd in (tmp_path / "out").glob("*.mmd"):
        assert "\x1b" not in mmd.read_text(encoding="utf-8")


# --- coverage, diagram -------------------------------------------------------------------------------------------


def test_coverage_fail_under_and_missing_pairs(tmp_path: Path) -> None:
    done = _run("coverage", str(HAPPY))
    assert done.returncode == 0
    assert "missing transition pair: " in done.stdout
    assert _run("coverage", str(HAPPY), "--fail-under", "10").returncode == 0
    failing = _run("coverage", str(HAPPY), "--fail-under", "90")
    assert failing.returncode == 1
    assert "dialout transitions coverage" in _one_line(failing.stderr)
    assert _run("coverage", str(HAPPY), "--fail-under", "80", "--metric", "states").returncode == 0


def test_coverage_reports_lines_it_could_not_read(tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_bytes(HAPPY.read_bytes() + b"not json\n\xff\xfe\n")
    first = len(HAPPY.read_bytes().splitlines()) + 1
    done = _run("coverage", str(log))
    assert done.returncode == 0
    assert f"line {first}: line is not JSON" in done.stderr
    assert f"line {first + 1}: line is not UTF-8" in done.stderr
    assert "2 log lines could not be read (not counted)" in done.stdout
    assert _run("coverage", "--strict", str(log)).returncode == 1
    assert json.loads(_run("coverage", "--json", str(log)).stdout)["unreadable_lines"] == 2


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagram_to_stdout_writes_no_file(tmp_path: Path, fmt: str) -> None:
    done = _run("diagram", "--stdout", "dialout", "--format", fmt, cwd=tmp_path)
    assert done.returncode == 0
    assert ("stateDiagram-v2" if fmt == "mermaid" else "digraph") in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_diagram_outside_a_checkout_explains_itself_and_creates_nothing(tmp_path: Path) -> None:
    done = _run("diagram", cwd=tmp_path)
    assert done.returncode == 2
    assert "no dialfsm checkout" in _one_line(done.stderr)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "README.md").write_text("# a project of my own\n")
    assert _run("diagram", cwd=tmp_path).returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert _run("diagram", "--out", "mine", cwd=tmp_path).returncode == 0
    assert (tmp_path / "mine" / "dialout.mmd").exists()
