"""Replay: the recorded-log contract, the CLI, and every log under examples/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dialfsm import CallTracker, replay_lines, replay_path
from dialfsm._cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
SID = "5c7f0d2e-8d4b-4f7c-9a61-2a1f6d0c9b11"


def _replay(text: str) -> dict[str, Any]:
    lines = [(n, line.encode()) for n, line in enumerate(text.splitlines(keepends=True), start=1)]
    return replay_lines(lines).report()


def test_examples_exist() -> None:
    """The bundled logs the README replays are there."""
    assert {p.name for p in EXAMPLES} >= {"dialout_happy.jsonl", "messy_room.jsonl"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_replays(path: Path) -> None:
    """Every example log replays and yields a well-formed report."""
    report = replay_path(str(path)).report()
    assert report["inputs"] > 0
    for session in report["sessions"]:
        assert session["states"][0] == "idle"
        assert session["states"][-1] == session["state"]


def test_happy_example_report() -> None:
    """The happy log ends one completed dial-out, with nothing rejected or anomalous."""
    report = replay_path(str(ROOT / "examples" / "dialout_happy.jsonl")).report()
    assert report["inputs"] == 11
    assert report["rejected"] == []
    assert report["anomalies"] == []
    assert report["sessions"] == [
        {
            "kind": "dialout",
            "session_id": SID,
            "state": "stopped",
            "outcome": "completed",
            "states": ["idle", "connecting", "connected", "answered", "stopping", "stopped"],
            "error_code": None,
            "error": None,
            "attempt": 1,
            "retry_of": None,
            "index": 0,
            "warnings": {"count": 1, "last": ["Dialout codec did not match, using fallback."]},
            "dtmf": {"count": 1, "last": ["9"]},
            "origin": "bot",
            "started_at": 0.0,
            "answered_at": 6.2,
            "ended_at": 30.2,
            "duration": 30.2,
            "talk_time": 24.0,
            "destination": "+12268077097",
            "caller_id": None,
            "room": None,
            "transferred_from": None,
            "retry_pending": False,
        }
    ]
    assert report["schema"] == 2
    assert report["totals"] == {"rejected": 0, "anomalies": 0, "unreadable": 0}
    assert report["notes"] == ["no header: replayed with dialfsm 0.2.0's default options"]


def test_messy_example_report() -> None:
    """The messy log: the refusals and anomalies each carry their physical line."""
    report = replay_path(str(ROOT / "examples" / "messy_room.jsonl")).report()
    assert [(r["line"], r["code"]) for r in report["rejected"]] == [
        (5, "DIALOUT_IN_PROGRESS"),
        (12, "INVALID_SETTINGS"),
    ]
    assert [(a["line"], a["code"]) for a in report["anomalies"]] == [
        (3, "DUPLICATE_EVENT"),
        (10, "DUPLICATE_EVENT"),
        (13, "UNKNOWN_SESSION"),
        (14, "MALFORMED_INPUT"),
        (16, "LATE_EVENT"),
    ]
    dialout, dialin = report["sessions"]
    assert (dialout["state"], dialout["outcome"], dialout["error_code"]) == ("error", "failed", "NOT_ALLOWED")
    assert (dialin["state"], dialin["outcome"]) == ("stopped", "completed")
    assert report["dialin_endpoints"] == ["sip:room.0@daily-1.sip.daily.co", "sip:room.1@daily-1.sip.daily.co"]


def test_blank_lines_count_in_numbering_not_in_inputs() -> None:
    """Line numbers are physical; inputs count non-blank lines only."""
    report = _replay('\n\n{"event": "dialout-answered", "data": {"sessionId": "x"}}\n   \n')
    assert report["inputs"] == 1
    assert report["anomalies"] == [{"line": 3, "code": "UNKNOWN_SESSION", "message": report["anomalies"][0]["message"]}]


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[1, 2]",
        "42",
        '{"nothing": 1}',
        '{"event": "dialout-answered", "call": "start_dialout"}',
        '{"call": "hang_up"}',
        '{"completion": "hang_up"}',
        '{"event": "dialout-answered", "t": "noon"}',
        '{"event": "dialout-answered", "t": true}',
        '{"call": "stop_dialout", "session_id": "x", "ref": 5}',
        '{"event": "dialout-answered", "data": {"sessionId": ' + '"' + "x" * 3000 + '"}}',
    ],
)
def test_malformed_lines(line: str) -> None:
    """Lines that are not inputs are MALFORMED_INPUT with their line number; replay goes on."""
    report = _replay(line + "\n" + '{"event": "left-meeting"}\n')
    assert report["inputs"] == 2
    assert [(a["line"], a["code"]) for a in report["anomalies"]] == [(1, "MALFORMED_INPUT")]


def test_not_utf8_and_cut_off_lines() -> None:
    """A line that is not UTF-8, or cut off mid-JSON at the end, is MALFORMED_INPUT."""
    lines = [(1, b"\xff\xfe\n"), (2, b'{"event": "left-meeting"}\n'), (3, b'{"event": "dialout-ans')]
    report = replay_lines(lines).report()
    assert [(a["line"], a["code"]) for a in report["anomalies"]] == [(1, "MALFORMED_INPUT"), (3, "MALFORMED_INPUT")]


def test_completion_pairs_by_ref_and_oldest() -> None:
    """A start completion with ref pairs with its call; without, with the oldest waiting start."""
    log = "\n".join(
        [
            '{"call": "start_dialout", "settings": {"phoneNumber": "+1555"}, "ref": "a"}',
            '{"call": "start_dialout", "settings": {"phoneNumber": "+1666"}, "ref": "b"}',
            '{"completion": "start_dialout", "session_id": "id-b", "error": null, "ref": "b"}',
            '{"completion": "start_dialout", "session_id": "id-a", "error": null}',
        ]
    )
    from dialfsm import CallTracker

    tracker = CallTracker(max_dialouts=2)
    lines = [(n, s.encode()) for n, s in enumerate(log.splitlines(), start=1)]
    report = replay_lines(lines, tracker).report()
    assert [s["session_id"] for s in report["sessions"]] == ["id-a", "id-b"]


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialfsm", *args], input=stdin, capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_cli_json_and_exit_codes() -> None:
    """--json prints one object; exit 0, or 1 with --strict when anything went wrong."""
    happy = str(ROOT / "examples" / "dialout_happy.jsonl")
    messy = str(ROOT / "examples" / "messy_room.jsonl")
    done = _cli("replay", happy, "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["sessions"][0]["outcome"] == "completed"
    assert _cli("replay", messy, "--json").returncode == 0
    assert _cli("replay", messy, "--strict", "--json").returncode == 1
    assert _cli("replay", happy, "--strict").returncode == 0


def test_cli_reads_stdin() -> None:
    """PATH '-' reads standard input."""
    done = _cli("replay", "-", "--json", stdin='{"event": "dialin-ready", "data": "sip:x"}\n')
    assert json.loads(done.stdout)["dialin_endpoints"] == ["sip:x"]


def test_cli_unreadable_file(tmp_path: Path) -> None:
    """A missing file or a directory: exit 2, one line on stderr naming it, no traceback."""
    for path in (tmp_path / "missing.jsonl", tmp_path):
        done = _cli("replay", str(path))
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert str(path) in done.stderr
        assert "Traceback" not in done.stderr


def test_cli_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """The readable summary names each session's path and the counts."""
    assert main(["replay", str(ROOT / "examples" / "messy_room.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "idle -> connected -> joined -> stopped" in out
    assert "16 inputs, 2 sessions, 2 rejected, 5 anomalies" in out


def test_input_listener_records_replay_to_the_same_result() -> None:
    """What an input listener sees, written as a log, replays to the live tracker's report."""
    from dialfsm import CallRefused, CallTracker, DialoutAnswered

    records: list[dict[str, object]] = []
    live = CallTracker()
    live.add_input_listener(records.append)
    session = live.start_dialout({"phoneNumber": "+15551234567"})
    live.handle("on_dialout_connected", {"sessionId": "a"}, t=1.0)
    live.start_completed(session, session_id="a")
    live.receive(DialoutAnswered(session_id="a"))
    live.send_dtmf({"sessionId": "a", "tones": "12"})
    live.dtmf_completed(session)
    with pytest.raises(CallRefused):
        live.start_dialout({"phoneNumber": "+15551234567"})
    live.handle("nonsense", 5)
    live.stop_dialout(session)
    live.handle("dialout-stopped", {"sessionId": "a"})
    live.stop_completed(session, error="late")
    assert len(records) == len(live.journal)
    assert records[1]["t"] == 1.0
    lines = [(n, json.dumps(r)) for n, r in enumerate(records, start=1)]
    replayed = replay_lines(lines).report()
    from dialfsm import report

    assert replayed["inputs"] == len(records)
    assert replayed["sessions"] == report(live)["sessions"]
    assert [(r["code"]) for r in replayed["rejected"]] == [r["code"] for r in report(live)["rejected"]]
    assert [(a["code"]) for a in replayed["anomalies"]] == [a["code"] for a in report(live)["anomalies"]]


def test_listener_exceptions_never_escape() -> None:
    """A listener that raises is recorded in listener_errors; the event path goes on."""
    from dialfsm import CallTracker

    def boom(_: object) -> None:
        raise RuntimeError("listener bug")

    tracker = CallTracker()
    tracker.add_input_listener(boom)
    tracker.add_entry_listener(boom)
    entry = tracker.handle("dialin-connected", {"sessionId": "x"})
    assert entry.disposition.value == "transition"
    # The input listener, the entry listener, then the entry listener again on the journal's one note saying so.
    assert len(tracker.listener_errors) == 3
    (note,) = [e for e in tracker.journal if e.name == "listener error"]
    assert "RuntimeError" in (note.message or "")
    tracker.remove_input_listener(boom)
    tracker.remove_entry_listener(boom)
    tracker.handle("dialin-stopped", {"sessionId": "x"})
    assert len(tracker.listener_errors) == 3


def test_an_unguarded_call_replays_as_it_was_observed() -> None:
    """A call the bot made on its SDK directly is recorded as such, and replays past the guards again."""
    import io

    from dialfsm import Input, Recorder

    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, clock=lambda: 0.0).attach(tracker)
    tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.observe_call(Input.START_DIALOUT, {"phoneNumber": "+15557654321"})
    lines = stream.getvalue().splitlines()
    assert '"unguarded": true' in lines[2]
    result = replay_lines(enumerate(lines, start=1))
    assert [s.state.value for s in result.tracker] == ["connecting", "connecting"]
    assert [a["code"] for a in result.anomalies] == ["UNGUARDED_CALL"]
