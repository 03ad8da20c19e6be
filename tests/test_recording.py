"""Recording: JSON Lines per input, flushed, thread-safe, redacted by default, replayable."""

from __future__ import annotations

import io
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from dialfsm import (
    CallRefused,
    CallTracker,
    DialoutState,
    Recorder,
    RecordingError,
    redact_record,
    redact_text,
    replay_path,
)
from dialfsm._cli import main
from dialfsm._replay import iter_log_lines, replay_lines

SID = "5c7f0d2e-8d4b-4f7c-9a61-2a1f6d0c9b11"
DIALIN = "ff1e7130-7752-4304-9cf4-08d2583a41dc"


def _counter(start: float = 100.0) -> itertools.count[float]:
    return itertools.count(start, 0.5)


def _live_room(tracker: CallTracker) -> None:
    """A room's worth of inputs: a dial-out answered, DTMF, a stop; a dial-in; oddities."""
    tracker.handle("on_dialin_ready", "sip:room.0@daily-1.sip.daily.co")
    tracker.handle("dialin-ready", {"sipEndpoint": "sip:room.1@daily-1.sip.daily.co"})
    session = tracker.start_dialout(
        {"phoneNumber": "+15551234567", "displayName": "Support", "callerId": "+12025550199"}
    )
    tracker.handle("on_dialout_connected", {"sessionId": SID})
    tracker.start_completed(session, session_id=SID, error=None)
    tracker.handle("dialout-answered", {"sessionId": SID})
    tracker.handle("dialout-answered", {"sessionId": SID})  # duplicate
    tracker.handle("dialout-warning", {"sessionId": SID, "errorMsg": "call to +15551234567 degraded"})
    tracker.send_dtmf({"sessionId": SID, "tones": "12#"})
    tracker.dtmf_completed(session)
    tracker.handle("dialin.connected", {"session_id": DIALIN, "sip_from": "sip:+15557654321@pstn.example.com"})
    tracker.handle("participant-joined", {"participant": {"session_id": DIALIN}})
    tracker.sip_call_transfer({"sessionId": DIALIN, "toEndPoint": "+15559876543"})
    tracker.transfer_completed(error=None)
    with pytest.raises(CallRefused, match="NOT_FOUND"):
        tracker.send_dtmf({"sessionId": "nope", "tones": "1"})
    tracker.stop_dialout(session)
    tracker.handle("dialout-stopped", {"sessionId": SID})
    tracker.stop_completed()
    tracker.handle("dialin-stopped", {"sessionId": DIALIN})
    tracker.handle("dialin-stopped", {"sessionId": DIALIN})  # late
    tracker.handle("mystery-event", {})


def _outcomes(tracker: CallTracker) -> list[tuple[object, ...]]:
    return [(s.kind, s.session_id, s.states, s.outcome, s.error_code) for s in tracker]


def _journal(tracker: CallTracker) -> list[tuple[object, ...]]:
    return [(e.name, e.disposition, e.code) for e in tracker.journal]


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_header_then_one_line_per_input_with_t_only_when_given() -> None:
    """Line 1 is the header; then one line per input, with `t` only when the input had one and `at` from the clock."""
    stream = io.StringIO()
    tracker = CallTracker()
    recorder = Recorder(stream, clock=_counter().__next__).attach(tracker)
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(session, session_id=SID, error=None)
    tracker.handle("dialout-answered", {"sessionId": SID}, t=7.25)
    header, *records = _records(stream.getvalue())
    assert set(header) == {"dialfsm"}
    defaults = {"start": 20.0, "ring": 60.0, "stop": 10.0, "join": 30.0, "max_call": None}
    assert header["dialfsm"]["options"]["timeouts"] == defaults
    assert ["t" in r for r in records] == [False, False, True]
    assert [r["at"] for r in records] == [100.0, 100.5, 101.0]
    assert (records[0]["call"], records[0]["key"]) == ("start_dialout", 0)
    assert (records[1]["completion"], records[1]["key"]) == ("start_dialout", 0)
    assert records[2] == {"event": "dialout-answered", "data": {"sessionId": SID}, "t": 7.25, "at": 101.0}
    assert recorder.lines_written == 4


def test_each_line_is_flushed_as_written(tmp_path: Path) -> None:
    """The file holds each line as soon as the input is seen (a crash loses at most the line being written)."""
    path = tmp_path / "calls.jsonl"
    tracker = CallTracker()
    with Recorder(path).attach(tracker):
        assert len(path.read_text(encoding="utf-8").splitlines()) == 1  # the header, as soon as it is attached
        tracker.handle("dialin-connected", {"sessionId": DIALIN})
        assert len(path.read_text(encoding="utf-8").splitlines()) == 2
        tracker.handle("dialin-stopped", {"sessionId": DIALIN})
        assert len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_round_trip_record_then_replay(tmp_path: Path) -> None:
    """Replaying a (redacted) recording reaches the live tracker's states, outcomes and journal."""
    for redact in (True, False):
        path = tmp_path / f"room-{redact}.jsonl"
        live = CallTracker()
        with Recorder(path, redact=redact, clock=_counter().__next__).attach(live):
            _live_room(live)
        replayed = replay_path(str(path), CallTracker()).tracker
        assert _outcomes(replayed) == _outcomes(live)
        assert _journal(replayed) == _journal(live)
        assert replayed.dialin_endpoints == live.dialin_endpoints
        assert live.listener_errors == []


def test_redaction_is_on_by_default(tmp_path: Path) -> None:
    """By default phone numbers keep their last 4 digits and SIP URIs lose their user part; ids stay."""
    path = tmp_path / "calls.jsonl"
    with Recorder(path, clock=_counter().__next__) as recorder:
        live = CallTracker()
        recorder.attach(live)
        _live_room(live)
    text = path.read_text(encoding="utf-8")
    for secret in ("5551234567", "2025550199", "5557654321", "5559876543"):
        assert secret not in text
    assert '"phoneNumber": "+00000004567"' in text
    assert '"callerId": "+00000000199"' in text
    assert '"toEndPoint": "+00000006543"' in text
    assert "call to +00000004567 degraded" in text
    assert '"sip_from": "sip:************@pstn.example.com"' in text
    assert SID in text
    assert DIALIN in text
    assert "sip:room.0@daily-1.sip.daily.co" in text  # the room's own endpoint is kept


def test_redaction_off_writes_inputs_verbatim() -> None:
    """`redact=False` keeps phone numbers and SIP users, for local debugging."""
    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, redact=False, clock=_counter().__next__).attach(tracker)
    tracker.start_dialout({"sipUri": "sip:bob@example.com"})
    tracker.handle("dialin-connected", {"sessionId": DIALIN, "sipFrom": "+15551234567"})
    assert "sip:bob@example.com" in stream.getvalue()
    assert "+15551234567" in stream.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+15551234567", "+00000004567"),
        ("+1 (555) 123-4567", "+0 (000) 000-4567"),
        ("sip:bob@example.com", "sip:***@example.com"),
        (
            "sips:+15551234567@pstn.example.com:5061;transport=tls",
            "sips:************@pstn.example.com:5061;transport=tls",
        ),
        ("sip:bob@example.com?X-Caller=Bob%20Smith", "sip:***@example.com?********************"),
        ('"Bob Smith" <sip:bob@example.com>', '"*********" <sip:***@example.com>'),
        ("Bob Smith <sip:bob@example.com>", "*** ***** <sip:***@example.com>"),
        ("sip:alice.smith;tag=1@example.com", "sip:***********;*****@example.com"),
        ("dial to +15551234567 failed", "dial to +00000004567 failed"),
        ("dial_+15551234567", "dial_+00000004567"),
        ("+12345678901234567890", "+00000000000000007890"),
        ("+١٥٥٥١٢٣٤٥٦٧", "+٠٠٠٠٠٠٠٤٥٦٧"),
        ("+00001234", "+10001234"),
        (SID, SID),
        ("12#", "12#"),
        ("+1234", "+1234"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    """Numbers keep their last 4 digits, in their own script; SIP users, headers and display names become `*`."""
    assert redact_text(text) == expected
    assert len(redact_text(text)) == len(text)


def test_redact_record_leaves_the_input_alone() -> None:
    """Redaction copies: the record other listeners see is unchanged; ids and refs stay."""
    record = {
        "call": "sip_call_transfer",
        "settings": {"sessionId": SID, "toEndPoint": "15551234567"},
        "ref": "#3",
    }
    redacted = redact_record(record)
    assert record["settings"] == {"sessionId": SID, "toEndPoint": "15551234567"}
    assert redacted == {
        "call": "sip_call_transfer",
        "settings": {"sessionId": SID, "toEndPoint": "00000004567"},
        "ref": "#3",
    }
    assert redact_record({"event": "x", "data": {"phoneNumber": 15551234567}})["data"] == {"phoneNumber": 10000004567}


def test_redacted_phone_number_still_validates() -> None:
    """A redacted `phoneNumber` replays as an accepted `start_dialout`, not an INVALID_SETTINGS refusal."""
    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, clock=_counter().__next__).attach(tracker)
    tracker.start_dialout({"phoneNumber": "+442071234567", "callerId": "+15551234567"})
    lines = [(n, line) for n, line in enumerate(stream.getvalue().splitlines(keepends=True), start=1)]
    result = replay_lines(lines)  # the replay's tracker keeps no journal: its report lists what went wrong
    assert [s.state for s in result.tracker] == [DialoutState.CONNECTING]
    assert result.clean


def test_keys_pressed_and_display_names_are_redacted_and_still_replay() -> None:
    """Tones, an extension (a conference PIN) and display names never reach the log; the log still replays."""
    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, clock=_counter().__next__).attach(tracker)
    session = tracker.start_dialout({"phoneNumber": "+15551234567", "extension": "4417#", "displayName": "Alice Smith"})
    tracker.start_completed(session, session_id=SID)
    tracker.handle("dialout-answered", {"sessionId": SID})
    tracker.send_dtmf({"sessionId": SID, "tones": "1234*"})
    tracker.handle("dtmf-event", {"sessionId": SID, "tone": "7"})
    tracker.handle("on_participant_joined", {"id": DIALIN, "info": {"userName": "Bob Jones", "isLocal": False}})
    text = stream.getvalue()
    for secret in ("4417", "Alice", "1234", '"7"', "Bob"):
        assert secret not in text
    records = _records(text)[1:]
    assert records[0]["settings"]["extension"] == "00000"
    assert records[0]["settings"]["displayName"] == "*" * len("Alice Smith")
    assert records[3]["settings"]["tones"] == "00000"
    assert records[4]["data"]["tone"] == "0"
    assert records[5]["data"]["info"] == {"userName": "*" * len("Bob Jones"), "isLocal": False}
    lines = list(enumerate(text.splitlines(keepends=True), start=1))
    result = replay_lines(lines)
    assert result.rejected == []
    assert result.anomalies == []
    assert [s.state for s in result.tracker] == [DialoutState.ANSWERED]


def test_redaction_keeps_what_was_refused_refused() -> None:
    """A refused call's line carries its refusal: replay refuses it with the same code, whatever redaction did."""
    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, clock=_counter().__next__).attach(tracker)
    with pytest.raises(CallRefused, match="INVALID_SETTINGS"):
        tracker.start_dialout({"phoneNumber": "+15551234567", "displayName": "x" * 200})
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(session, session_id=SID)
    tracker.handle("dialout-answered", {"sessionId": SID})
    for tones in ("12a", "1,2"):
        with pytest.raises(CallRefused, match="INVALID_SETTINGS"):
            tracker.send_dtmf({"sessionId": SID, "tones": tones})
    text = stream.getvalue()
    assert '"tones": "00a"' in text
    assert '"tones": "0,0"' in text
    assert text.count('"refused": "INVALID_SETTINGS"') == 3
    result = replay_lines(list(enumerate(text.splitlines(keepends=True), start=1)))
    assert [(r["call"], r["code"]) for r in result.rejected] == [(e.name, e.code) for e in tracker.refusals]
    assert len(result.rejected) == 3
    assert [s.state for s in result.tracker] == [s.state for s in tracker]


def test_several_threads_lose_and_interleave_nothing(tmp_path: Path) -> None:
    """Eight threads writing 500 records each through one recorder: 4000 whole lines, none lost or mixed."""
    path = tmp_path / "threads.jsonl"
    threads_n, per_thread = 8, 500
    with Recorder(path, redact=True) as recorder:
        barrier = threading.Barrier(threads_n)

        def work(k: int) -> None:
            barrier.wait()
            for i in range(per_thread):
                recorder({"event": "dialout-warning", "data": {"sessionId": f"s{k}", "errorMsg": "x" * 500, "i": i}})

        threads = [threading.Thread(target=work, args=(k,)) for k in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == threads_n * per_thread
    seen: dict[str, list[int]] = {}
    for line in lines:
        record = json.loads(line)
        seen.setdefault(record["data"]["sessionId"], []).append(record["data"]["i"])
    assert seen == {f"s{k}": list(range(per_thread)) for k in range(threads_n)}
    assert recorder.lines_written == threads_n * per_thread


def test_a_recording_cut_off_mid_line_replays_to_the_last_whole_line(tmp_path: Path) -> None:
    """A crash mid-write leaves a partial last line: replay reads the rest and reports it as MALFORMED_INPUT."""
    path = tmp_path / "crashed.jsonl"
    live = CallTracker()
    with Recorder(path, clock=_counter().__next__).attach(live):
        _live_room(live)
    data = path.read_bytes()
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + data[data.rindex(b"\n", 0, len(data) - 1) + 1 :][:20]
    path.write_bytes(cut)
    with path.open("rb") as stream:
        result = replay_lines(iter_log_lines(stream), CallTracker())
    last = result.tracker.journal[-1]
    assert last.code == "MALFORMED_INPUT"
    assert last.line == len(cut.splitlines())
    assert result.header is not None
    assert _outcomes(result.tracker) == _outcomes(live)


def test_closed_recorder_refuses_to_write_and_detaches() -> None:
    """After close() the recorder is detached from its trackers and writing raises RecordingError."""
    stream = io.StringIO()
    tracker = CallTracker()
    recorder = Recorder(stream).attach(tracker)
    recorder.close()
    assert recorder.closed
    tracker.handle("dialin-connected", {"sessionId": DIALIN})
    assert len(stream.getvalue().splitlines()) == 1  # the header only
    assert not stream.closed  # a stream the caller gave is never closed by the recorder
    with pytest.raises(RecordingError):
        recorder({"event": "dialin-stopped", "data": {}})


def test_unopenable_path_is_a_recording_error(tmp_path: Path) -> None:
    """A path in a folder that does not exist raises RecordingError with one line."""
    with pytest.raises(RecordingError, match="cannot open"):
        Recorder(tmp_path / "missing" / "calls.jsonl")


def test_append_mode_keeps_earlier_lines_and_writes_one_header(tmp_path: Path) -> None:
    """`append=True` adds to an existing recording: its header stays the only one, and must match the tracker."""
    path = tmp_path / "calls.jsonl"
    for n in range(2):
        with Recorder(path, append=True, clock=_counter().__next__) as recorder:
            recorder.attach(CallTracker())
            recorder({"event": "dialin-ready", "data": f"sip:room.{n}@x"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert [("dialfsm" in json.loads(line)) for line in lines] == [True, False, False]


def test_unserialisable_payload_is_written_as_the_event_read() -> None:
    """A payload JSON cannot hold (an SDK object) gives the event the tracker read, and says what was lost."""
    stream = io.StringIO()
    tracker = CallTracker()
    Recorder(stream, clock=_counter().__next__).attach(tracker)
    tracker.handle("dialout-answered", {"sessionId": SID, "obj": object()})
    assert tracker.listener_errors == []
    line = _records(stream.getvalue())[-1]
    assert line["data"] == {"sessionId": SID}
    assert "object" in line["lossy"]


def test_cli_replays_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dialfsm replay` reads what the recorder wrote."""
    path = tmp_path / "calls.jsonl"
    live = CallTracker()
    with Recorder(path, clock=_counter().__next__).attach(live):
        _live_room(live)
    assert main(["replay", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(s["state"], s["outcome"]) for s in report["sessions"]] == [
        ("stopped", "completed"),
        ("stopped", "transferred"),
    ]
