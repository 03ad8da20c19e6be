"""Regressions from a review of the core: memory bounds, forgotten sessions, bad times, odd payloads."""

from __future__ import annotations

import gc
import json

import pytest

from dialfsm import (
    AnomalyCode,
    CallRefused,
    CallTracker,
    DialoutState,
    Outcome,
    RefusalCode,
    RetryDialout,
    RetryPolicy,
    Session,
    Timeouts,
    replay_lines,
)
from dialfsm.recording import Recorder
from tests.helpers import PHONE


def _call(tracker: CallTracker, sid: str) -> Session:
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, session_id=sid)
    tracker.handle("dialout-answered", {"sessionId": sid})
    tracker.stop_dialout(session)
    tracker.handle("dialout-stopped", {"sessionId": sid})
    tracker.stop_completed(session)
    return session


def _alive_sessions() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Session)


def test_a_bounded_tracker_keeps_no_finished_session_alive() -> None:
    """With finished_limit=0 (and a recorder attached), finished dial-outs are not pinned by any index."""
    baseline = _alive_sessions()
    tracker = CallTracker(finished_limit=0, journal_limit=0, keep_history=False)
    tracker.add_input_listener(lambda record: None)  # gives every call an automatic ref
    for i in range(300):
        _call(tracker, f"s{i}")
    assert len(tracker) == 0
    assert tracker._waiting_for_id == {}
    assert tracker._start_refs == {}
    assert _alive_sessions() - baseline <= 1  # the last journal entry (tracker.last_entry) names the last one


def test_an_event_for_a_forgotten_session_never_takes_over_a_waiting_dialout() -> None:
    """A late event for a forgotten id is UNKNOWN_SESSION; the next dial-out waiting for an id stays untouched."""
    tracker = CallTracker(finished_limit=0)
    _call(tracker, "a")
    waiting = tracker.start_dialout(PHONE)
    entry = tracker.handle("dialout-stopped", {"sessionId": "a"})
    assert entry.code == AnomalyCode.UNKNOWN_SESSION
    assert (waiting.session_id, waiting.state) == (None, DialoutState.CONNECTING)


def test_snapshots_of_a_bounded_tracker_restore() -> None:
    """A pending stop, a start ref and a retry chain of forgotten sessions never make the snapshot corrupt."""
    tracker = CallTracker(finished_limit=0, retry=RetryPolicy(seed=1))
    tracker.add_input_listener(lambda record: None)
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, session_id="a")
    tracker.stop_dialout(session)
    tracker.handle("dialout-stopped", {"sessionId": "a"})  # before the stop's completion, as daily-python does
    first = tracker.start_dialout(PHONE)
    tracker.start_completed(first, error="no workers")
    (effect,) = tracker.take_effects()
    assert isinstance(effect, RetryDialout)
    second = tracker.start_dialout(effect.settings, retry_of=effect.previous)  # previous already forgotten
    assert second.attempt == 2
    restored = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    assert [s.attempt for s in restored] == [2]
    assert restored.stop_completed().code == AnomalyCode.UNEXPECTED_COMPLETION  # the forgotten stop's completion


@pytest.mark.parametrize("bad", ["noon", float("nan"), float("inf"), 10**400, True])
def test_a_time_that_is_not_one_is_ignored(bad: object) -> None:
    """handle(), the calls and advance() ignore a t that is not a finite number; nothing raises or breaks."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=bad)  # type: ignore[arg-type]
    tracker.handle("dialout-connected", {"sessionId": "a"}, t=bad)  # type: ignore[arg-type]
    assert tracker.advance(bad) == ()  # type: ignore[arg-type]
    assert tracker.now is None
    assert session.deadline is None
    tracker.handle("dialout-answered", {"sessionId": "a"}, t=5.0)
    assert tracker.now == 5.0
    assert CallTracker.restore(json.loads(json.dumps(tracker.snapshot()))).now == 5.0


def test_numbers_too_large_for_a_float_are_malformed_not_crashes() -> None:
    """A huge DTMF volume is left out (the tone counts); a huge t in a log line is MALFORMED_INPUT; replay goes on."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "d"})
    entry = tracker.handle("dtmf-event", {"sessionId": "d", "tone": "1", "volume": 10**400})
    assert entry.code is None
    assert getattr(entry.input, "volume", "missing") is None
    lines = [(1, '{"t": ' + "9" * 400 + ', "event": "left-meeting"}'), (2, '{"event": "left-meeting"}')]
    report = replay_lines(lines).report()
    assert [(a["line"], a["code"]) for a in report["anomalies"]] == [(1, "MALFORMED_INPUT")]


def test_a_failed_transfer_after_leaving_keeps_abandoned() -> None:
    """Only `transferred` is revised by a late transfer error; `abandoned` stays."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.handle("dialout-answered", {"sessionId": "a"})
    tracker.sip_refer({"sessionId": "a", "toEndPoint": "sip:desk@example.com"})
    tracker.handle("left-meeting", {})
    tracker.refer_completed(session, error="unable to transfer SIP call")
    assert session.outcome is Outcome.ABANDONED


def test_equal_deadlines_fire_in_the_same_order_after_restore() -> None:
    """Timers due at the same time fire in arming order, restored or not."""

    def build() -> CallTracker:
        tracker = CallTracker(max_dialouts=2, timeouts=Timeouts(start=20.0, ring=10.0))
        tracker.start_dialout(PHONE, t=0.0)
        second = tracker.start_dialout(PHONE, t=10.0)
        tracker.start_completed(second, session_id="b", t=10.0)
        tracker.handle("dialout-connected", {"sessionId": "b"}, t=10.0)  # ring deadline 20.0, like the start's
        return tracker

    original = build()
    restored = CallTracker.restore(json.loads(json.dumps(build().snapshot())))
    fired = [[(e.name, e.session.index if e.session else None) for e in t.advance(30.0)] for t in (original, restored)]
    assert fired[0] == fired[1]
    assert fired[0][:2] == [("start_timeout", 0), ("ring_timeout", 1)]


def test_receive_with_a_listener_never_raises() -> None:
    """A non-event given to receive() is journaled as malformed even with an input listener attached."""
    tracker = CallTracker()
    records: list[dict[str, object]] = []
    tracker.add_input_listener(records.append)
    entry = tracker.receive({"not": "an event"})  # type: ignore[arg-type]
    assert entry.code == AnomalyCode.MALFORMED_INPUT
    assert len(records) == 1


def test_a_ref_still_waiting_cannot_be_reused() -> None:
    """Reusing a pending call's ref is INVALID_SETTINGS (field ref), so recordings pair completions exactly."""
    tracker = CallTracker(max_dialouts=2)
    tracker.start_dialout(PHONE, ref="start")
    with pytest.raises(CallRefused) as info:
        tracker.start_dialout(PHONE, ref="start")
    assert (info.value.code, info.value.field) == (RefusalCode.INVALID_SETTINGS, "ref")
    tracker.start_completed(ref="start", session_id="a")
    tracker.start_dialout(PHONE, ref="start")  # free again once completed


def test_a_recorded_run_with_reused_refs_replays_the_same(tmp_path: object) -> None:
    """Record then replay pairs every completion exactly (refs are unique while pending)."""
    import io

    out = io.StringIO()
    live = CallTracker(max_dialouts=2)
    recorder = Recorder(out, redact=False).attach(live)
    a = live.start_dialout(PHONE)
    b = live.start_dialout(PHONE)
    live.start_completed(b, session_id="B")
    live.start_completed(a, session_id="A")
    recorder.detach(live)
    lines = [(n, line) for n, line in enumerate(out.getvalue().splitlines(), start=1)]
    report = replay_lines(lines, CallTracker(max_dialouts=2)).report()
    assert [s["session_id"] for s in report["sessions"]] == ["A", "B"]


def test_no_redial_after_a_stop() -> None:
    """A dial-out the bot (or the ring timeout) hung up is not retried, whatever error follows."""
    tracker = CallTracker(retry=RetryPolicy())
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, session_id="a")
    tracker.handle("dialout-connected", {"sessionId": "a"})
    tracker.stop_dialout(session)
    tracker.handle("dialout-error", {"sessionId": "a", "errorMsg": "Request timed out"})
    assert session.outcome is Outcome.FAILED
    assert tracker.take_effects() == []


def test_huge_retry_counts_do_not_overflow() -> None:
    """The backoff delay is capped even for absurd attempt numbers."""
    import random

    policy = RetryPolicy(max_attempts=5000, multiplier=10.0, max_delay=30.0, jitter=0)
    assert policy.delay(4000, random.Random(0)) == 30.0
