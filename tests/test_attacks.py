"""Every promise held under attack (issue 13): one test per numbered point, each failing on the code it fixed.

The redaction property (point 2) is in ``tests/test_redaction.py``, the
snapshot mutation property (point 8) in ``tests/test_invariants.py``, and the
command line (points 12 to 14) in ``tests/test_cli_unix.py``.
"""

from __future__ import annotations

import gc
import io
import json
import math
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dialfsm import (
    AnomalyCode,
    CallCompleted,
    CallRefused,
    CallTracker,
    Input,
    Recorder,
    RecordingError,
    RefusalCode,
    RetryDialout,
    RetryPolicy,
    Session,
    SnapshotError,
    Timeouts,
    replay_lines,
)
from dialfsm._core import MAX_ENDPOINTS, MAX_LISTENER_ERRORS, EngineModel
from dialfsm._invariants import check
from dialfsm._replay import iter_log_lines
from dialfsm.threads import LockedTracker
from dialfsm.webhooks import handle_webhook
from tests.helpers import PHONE

SID = "5c7f0d2e-0000-4000-8000-000000000001"


def _lines(text: str) -> list[tuple[int, str]]:
    return list(enumerate(text.splitlines(keepends=True), start=1))


def _deep_dict(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {"sessionId": "d1"}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


def _circular() -> dict[str, Any]:
    payload: dict[str, Any] = {"sessionId": "d1"}
    payload["self"] = payload
    return payload


# --- 1. every input gives one line, and replays as it was applied ---------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"sessionId": "d1", "note": "\ud83d"},
        {"sessionId": "\ud83d"},
        {1: "x", "sessionId": "d1"},
        {("a", 1): "x", "sessionId": "d1"},
        {"sessionId": "d1", "n": 10**5000},
        _deep_dict(1000),
        _circular(),
        {"sessionId": "d1", "tags": {1, 2}, "raw": b"\xff+15551234567"},
    ],
    ids=["lone-surrogate", "surrogate-id", "int-key", "tuple-key", "huge-int", "deep", "circular", "set-and-bytes"],
)
def test_every_input_gives_one_line_that_replays_as_applied(payload: dict[Any, Any]) -> None:
    """Point 1: the recorder writes a line for every input, and the replay moves the session as the live run did."""
    log = io.StringIO()
    live = CallTracker()
    Recorder(log, clock=None).attach(live)
    live.handle("dialin-connected", payload)
    live.handle("participant-joined", {"participant": {"session_id": "d1"}})
    assert live.listener_errors == []
    lines = log.getvalue().splitlines()
    assert len(lines) == 3  # the header, and one line per input
    replayed = replay_lines(_lines(log.getvalue())).tracker
    assert [(s.session_id, s.states) for s in replayed] == [(s.session_id, s.states) for s in live]


def test_an_event_the_tracker_could_not_read_and_json_cannot_hold_replays_as_its_anomaly() -> None:
    """Point 1: a payload both unreadable and unwritable is written with the anomaly the tracker journaled."""
    log = io.StringIO()
    live = CallTracker()
    Recorder(log, clock=None).attach(live)
    live.handle("dialin-connected", {"sessionId": {1, 2}})  # a set where the id belongs
    line = json.loads(log.getvalue().splitlines()[1])
    assert line["anomaly"] == "MALFORMED_INPUT"
    assert "lossy" in line
    result = replay_lines(_lines(log.getvalue()))
    assert [a["code"] for a in result.anomalies] == [e.code for e in live.anomalies] == ["MALFORMED_INPUT"]


# --- 3. a closed or failing recorder keeps memory flat -------------------------------------------------


def test_a_closed_recorder_is_counted_not_kept() -> None:
    """Point 3: a failing listener keeps a count and the last few errors (no tracebacks), and says so once."""
    tracker = CallTracker(finished_limit=0, journal_limit=0, keep_history=False)
    recorder = Recorder(io.StringIO()).attach(tracker)
    recorder.close()
    tracker.add_input_listener(recorder)  # a bot that keeps a closed recorder listening
    notes: list[str] = []
    tracker.add_entry_listener(lambda e: notes.append(e.message or "") if e.name == "listener error" else None)
    for i in range(2000):
        tracker.handle("dialin-connected", {"sessionId": f"d{i}"})
    assert tracker.listener_error_count == 2000
    assert len(tracker.listener_errors) == MAX_LISTENER_ERRORS
    assert all(isinstance(e, RecordingError) and e.__traceback__ is None for e in tracker.listener_errors)
    assert len(notes) == 1
    assert "RecordingError" in notes[0]
    check(tracker)


# --- 4. closing and counting on a full disk --------------------------------------------------------------


def test_a_full_disk_is_a_recording_error(tmp_path: Path) -> None:
    """Point 4: writing to /dev/full raises RecordingError, never a bare OSError; nothing is counted."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    recorder = Recorder("/dev/full")
    with pytest.raises(RecordingError, match="cannot write"):
        recorder.attach(CallTracker())
    assert recorder.lines_written == 0
    recorder.close()


class _FlakyStream(io.StringIO):
    """A stream whose flush fails: a disk that filled up."""

    fail = False

    def flush(self) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        super().flush()


def test_close_on_a_full_disk_is_a_recording_error() -> None:
    """Point 4: close() raises RecordingError when the last flush fails."""
    stream = _FlakyStream()
    recorder = Recorder(stream).attach(CallTracker())
    stream.fail = True
    with pytest.raises(RecordingError, match="cannot close"):
        recorder.close()
    assert recorder.closed


class _PartialFile:
    """A raw file that writes a few bytes at a time, then fails: what a disk filling up does."""

    def __init__(self, budget: int) -> None:
        self.data = bytearray()
        self.budget = budget

    def write(self, data: memoryview) -> int:
        if self.budget <= 0:
            raise OSError(28, "No space left on device")
        chunk = bytes(data[: min(7, self.budget)])
        self.data += chunk
        self.budget -= len(chunk)
        return len(chunk)

    def close(self) -> None:
        pass


def test_lines_written_counts_exactly_the_whole_lines_on_disk(tmp_path: Path) -> None:
    """Point 4: partial writes are retried; a line cut by a full disk is not counted, and the next starts fresh."""
    recorder = Recorder(tmp_path / "x.jsonl", clock=None)
    fake = _PartialFile(budget=10_000)
    recorder._file = fake
    recorder.attach(CallTracker())
    recorder({"event": "left-meeting"})
    assert recorder.lines_written == 2
    assert fake.data.count(b"\n") == 2
    fake.budget = 5
    with pytest.raises(RecordingError):
        recorder({"event": "left-meeting"})
    assert recorder.lines_written == 2
    fake.budget = 10_000
    recorder({"event": "left-meeting"})
    assert recorder.lines_written == 3
    assert fake.data.splitlines()[-1] == b'{"event": "left-meeting"}'  # after the torn line, on a line of its own


# --- 5. pending calls are forgotten in O(1), leaving nothing -------------------------------------------------


def test_forgetting_sessions_leaves_no_pending_call_behind() -> None:
    """Point 5: 5,000 unacknowledged send_dtmf on forgotten sessions leave no entry behind."""
    tracker = CallTracker(finished_limit=0, journal_limit=0, keep_history=False)
    for i in range(5000):
        sid = f"d{i}"
        tracker.handle("dialin-connected", {"sessionId": sid})
        tracker.handle("participant-joined", {"participant": {"session_id": sid}})
        tracker.send_dtmf({"sessionId": sid, "tones": "1"})  # never acknowledged
        tracker.handle("dialin-stopped", {"sessionId": sid})
    assert len(tracker) == 0
    assert tracker._pending.queued(Input.SEND_DTMF) == 0
    assert len(tracker._pending) == 0
    assert tracker._pending.sessions() == {}
    check(tracker)


# --- 6. replay memory grows with sessions, never with lines ---------------------------------------------------


def test_replay_keeps_the_first_problems_and_counts_them_all() -> None:
    """Point 6: 5,000 garbage lines keep 1,000 rows (all counted), or all of them when asked."""
    lines = [(n, b"garbage\n") for n in range(1, 5001)]
    result = replay_lines(lines)
    assert len(result.anomalies) == 1000
    assert result.totals["anomalies"] == 5000
    assert len(replay_lines(lines, problem_limit=None).anomalies) == 5000


def test_the_endpoint_set_is_bounded() -> None:
    """Point 6: a million dialin-ready endpoints keep at most MAX_ENDPOINTS (the latest)."""
    tracker = CallTracker(journal_limit=0, keep_history=False)
    for i in range(MAX_ENDPOINTS + 500):
        tracker.handle("dialin-ready", f"sip:room-{i}@example.com")
    assert len(tracker.dialin_endpoints) == MAX_ENDPOINTS
    assert tracker.dialin_endpoints[-1] == f"sip:room-{MAX_ENDPOINTS + 499}@example.com"
    check(tracker)


class _Zeros(io.RawIOBase):
    """/dev/zero, counted: how much was read, and the largest single read."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.largest = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        self.largest = max(self.largest, n)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def test_a_line_longer_than_the_cap_is_never_read_whole() -> None:
    """Point 6: a 20 MB line without a newline is MALFORMED_INPUT, read in chunks of at most the cap."""
    zeros = _Zeros(20 << 20)
    stream = io.BufferedReader(zeros, buffer_size=1 << 16)
    lines = list(iter_log_lines(stream, max_bytes=1 << 20))
    assert len(lines) == 1
    result = replay_lines(lines)
    assert [a["code"] for a in result.anomalies] == ["MALFORMED_INPUT"]
    assert "over the 1,048,576-byte cap" in result.anomalies[0]["message"]
    assert zeros.largest <= (1 << 20) + 1


# --- 7. the transitions engine: each tracker owns its machines ---------------------------------------------


def test_dropped_trackers_leave_no_models_behind() -> None:
    """Point 7: trackers dropped with live calls on engine="transitions" leave no model anywhere."""

    def models() -> int:
        gc.collect()
        return sum(1 for obj in gc.get_objects() if type(obj) is EngineModel)

    before = models()
    for k in range(5):
        tracker = CallTracker(engine="transitions")
        for i in range(200):
            tracker.handle("dialin-connected", {"sessionId": f"s{k}-{i}"})
        del tracker
    assert models() == before


# --- 9. options too large for a float, and no half-applied step ----------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: RetryPolicy(base_delay=10**400, max_delay=10**400),
        lambda: RetryPolicy(multiplier=10**400),
        lambda: RetryPolicy(jitter=float("nan")),
        lambda: RetryPolicy(seed=10**5000),
        lambda: Timeouts(start=10**400),
        lambda: Timeouts(ring=float("inf")),
    ],
)
def test_options_too_large_for_a_float_are_value_errors(make: Any) -> None:
    """Point 9: validated at construction, with ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011  (the message is checked by test_policy)
        make()


def test_a_retry_decision_never_half_applies_a_step() -> None:
    """Point 9: the largest delays a policy allows give a finite retry; the dial-out count stays right."""
    tracker = CallTracker(retry=RetryPolicy(base_delay=1e308, multiplier=1e308, max_delay=1.7e308, jitter=1.0))
    first = tracker.start_dialout(PHONE, t=1e308)
    tracker.start_completed(first, error="No workers available", t=1e308)
    (effect,) = tracker.take_effects()
    assert isinstance(effect, RetryDialout)
    assert math.isfinite(effect.delay)
    assert effect.not_before is None or math.isfinite(effect.not_before)
    assert tracker._live_dialouts == 0
    tracker.start_dialout(PHONE)  # not refused DIALOUT_IN_PROGRESS
    check(tracker)
    CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))


def test_a_deadline_that_would_overflow_is_no_timer_and_the_snapshot_restores() -> None:
    """Point 8 (the other way): a tracker whose deadline would be inf arms none, and its snapshot restores."""
    tracker = CallTracker(timeouts=Timeouts(start=1e308))
    tracker.start_dialout(PHONE, t=1.7e308)
    assert tracker.next_deadline is None
    restored = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    assert restored.snapshot() == tracker.snapshot()


def test_a_permission_json_cannot_carry_is_refused() -> None:
    """Point 8 (the other way): a 5,000-digit int cannot be in a valid tracker, so its snapshot always serialises."""
    tracker = CallTracker()
    with pytest.raises(CallRefused, match="beyond a JSON number"):
        tracker.start_dialout({"phoneNumber": "+15551234567", "permissions": {"n": 10**5000}})
    tracker.start_dialout({"phoneNumber": "+15551234567", "permissions": {"n": 10**300}})
    json.dumps(tracker.snapshot())


# --- 10. hostile objects end in the documented outcome --------------------------------------------------------


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr")


class _BadStr(str):
    __slots__ = ()

    def __len__(self) -> int:
        raise RuntimeError("len")

    def lower(self) -> str:
        raise RuntimeError("lower")


class _BadFloat(float):
    def __float__(self) -> float:
        raise RuntimeError("float")


class _BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("getitem")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "name",
    [_BadRepr(), _BadStr("dialout-answered"), _BadStr("x" * 100), _nested(5000)],
    ids=["repr-raises", "str-subclass", "long-str-subclass", "nested-5000"],
)
def test_hostile_names_are_journaled_never_raised(name: object) -> None:
    """Point 10: handle() and complete() with hostile names journal one entry each and never raise."""
    tracker = CallTracker()
    before = tracker.inputs_read
    tracker.handle(name, {"sessionId": _BadStr("a")})
    tracker.handle("dialout-answered", {"sessionId": _BadStr("a")})
    tracker.complete(CallCompleted(call=Input.START_DIALOUT, session_id=name, error=_BadStr("x")))  # type: ignore[arg-type]
    tracker.complete(CallCompleted(call=name, session_id="a"))  # type: ignore[arg-type]
    assert tracker.inputs_read == before + 4
    for entry in tracker.journal:
        assert type(entry.name) is str
        repr(entry)


def test_a_time_whose_float_raises_is_ignored() -> None:
    """Point 10: advance() and inputs with a hostile `t` never raise; the time is ignored."""
    tracker = CallTracker()
    assert tracker.advance(_BadFloat(5.0)) == ()
    entry = tracker.handle("dialin-connected", {"sessionId": "d1"}, t=_BadFloat(1.0))
    assert entry.t is None


@pytest.mark.parametrize(
    "settings",
    [
        _BadMapping(),
        {"phoneNumber": "+15551234567", "permissions": _BadMapping()},
        {"sipUri": _BadStr("sip:a@b")},
        {"phoneNumber": "+15551234567", "displayName": _BadStr("x")},
    ],
)
def test_hostile_settings_are_refused_never_raised(settings: Any) -> None:
    """Point 10: a call with hostile settings is refused (CallRefused) or accepted with plain values, never raw."""
    tracker = CallTracker()
    outcome: object
    try:
        outcome = tracker.start_dialout(settings)
    except CallRefused as refusal:
        outcome = refusal
    if isinstance(outcome, CallRefused):
        assert outcome.code is RefusalCode.INVALID_SETTINGS
        assert tracker.last_entry is not None
        assert tracker.last_entry.code == "INVALID_SETTINGS"
    else:
        assert isinstance(outcome, Session)
        assert outcome.settings is not None
        assert all(type(v) is str for v in outcome.settings.values() if isinstance(v, str))
    check(tracker)


@pytest.mark.parametrize("t", ["yesterday", float("nan"), float("inf"), 10**400])
def test_handle_webhook_checks_every_time(t: Any) -> None:
    """Point 10: a 400-digit event_ts never raises; a `t` that is no finite number is ignored on every path."""
    tracker = CallTracker()
    result = handle_webhook(tracker, {"type": "dialin.connected", "payload": {"session_id": "d1"}, "event_ts": 10**400})
    assert result.webhook is not None
    assert result.webhook.event_ts is None
    assert handle_webhook(tracker, b"not json", t=t).entry.t is None
    assert handle_webhook(tracker, {"type": "calltransfer.triggered", "payload": {}}, t=t).entry.t is None
    bad = handle_webhook(tracker, {"type": "dialout.answered", "payload": _BadMapping()}, t=t)
    assert bad.entry.code == AnomalyCode.MALFORMED_INPUT


# --- 11. reads and writes from several threads ------------------------------------------------------------------


def test_the_locked_wrapper_reads_what_another_thread_writes() -> None:
    """Point 11: a writer thread and a reader thread: iterating and snapshots never raise, and restore."""
    locked = LockedTracker(CallTracker(journal_limit=100))
    errors: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        for i in range(3000):
            locked.handle("dialin-connected", {"sessionId": f"d{i}"})
            locked.handle("dialin-stopped", {"sessionId": f"d{i}"})
        stop.set()

    def read() -> None:
        try:
            while not stop.is_set():
                list(locked.tracker)  # documented safe without the lock
                _ = locked.tracker.sessions, locked.tracker.live
                CallTracker.restore(locked.snapshot())
                _ = len(locked), list(locked), locked.journal, locked.inputs_read
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_locked_wrapper_has_withdraw_note_and_record_anomaly() -> None:
    """Point 11: the wrapper has every input method, under its lock."""
    locked = LockedTracker()
    assert locked.note("marker").disposition.value == "journaled"
    assert locked.record_anomaly(AnomalyCode.MALFORMED_INPUT, "x").code == "MALFORMED_INPUT"
    assert locked.withdraw(object()).code == "MALFORMED_INPUT"  # type: ignore[arg-type]
    assert locked.inputs_read == 3


# --- 8. restore refuses corrupt cross-references ------------------------------------------------------------------


def _snapshot() -> dict[str, Any]:
    tracker = CallTracker(max_dialouts=2, finished_limit=5)
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, session_id=SID, t=0.1)
    tracker.handle("dialout-stopped", {"sessionId": SID}, t=0.2)
    tracker.start_dialout(PHONE, t=1.0)
    tracker.handle("dialin-connected", {"sessionId": "d1"}, t=1.1)
    data: dict[str, Any] = json.loads(json.dumps(tracker.snapshot()))
    return data


def _live_twice(data: dict[str, Any]) -> None:
    data["live"] = [data["live"][0], *data["live"]]


def _finished_twice(data: dict[str, Any]) -> None:
    data["finished"] = data["finished"] * 2


def _ring_on_dialin(data: dict[str, Any]) -> None:
    dialin = data["sessions"][2]
    dialin.update(timer="ring_timeout", deadline=99.0, timer_seq=1)


def _dialin_waiting(data: dict[str, Any]) -> None:
    data["waiting_for_id"].append(2)


def _huge_version(data: dict[str, Any]) -> None:
    data["version"] = 10**5000


@pytest.mark.parametrize("corrupt", [_live_twice, _finished_twice, _ring_on_dialin, _dialin_waiting, _huge_version])
def test_restore_refuses_corrupt_cross_references(corrupt: Any) -> None:
    """Point 8: each of the issue's corruptions raises SnapshotError (never a KeyError or ValueError later)."""
    data = _snapshot()
    CallTracker.restore(data)
    corrupt(data)
    with pytest.raises(SnapshotError):
        CallTracker.restore(data)
