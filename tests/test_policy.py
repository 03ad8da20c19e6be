"""Timers (start watchdog, ring timeout, stop timeout), retries, and the effects they queue."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dialfsm import (
    AnomalyCode,
    CallRefused,
    CallTracker,
    DialoutState,
    Disposition,
    ErrorCode,
    Outcome,
    RefusalCode,
    RetryDialout,
    RetryPolicy,
    StopCall,
    Timeouts,
    replay_lines,
)
from tests.helpers import PHONE, SID


def test_start_watchdog_rejects_a_silent_start() -> None:
    """No completion and no event 20 s after start_dialout: error / rejected, transient error code."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=100.0)
    assert session.deadline == 120.0
    assert tracker.next_deadline == 120.0
    assert tracker.advance(119.9) == ()
    (entry,) = tracker.advance(120.0)
    assert entry.name == "start_timeout"
    assert entry.t == 120.0
    assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.REJECTED)
    assert session.error_code is ErrorCode.TEMPORARILY_NOT_AVAILABLE
    assert tracker.next_deadline is None


def test_a_sign_of_life_swaps_the_start_watchdog_for_the_ring_timeout() -> None:
    """The start completion (or any event) ends the start watchdog; the ring timeout takes over.

    A start Daily accepted but then says nothing more about is not stuck in connecting for ever:
    the ring timeout (60 s from the sign of life) asks the bot to stop it.
    """
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, session_id=SID, t=1.0)
    assert session.deadline == 61.0
    tracker.handle("dialout-warning", {"sessionId": SID, "errorMsg": "codec"}, t=2.0)
    assert session.deadline == 61.0  # the ring timeout is no watchdog: later signs of life leave it
    tracker.advance(61.0)
    assert session.state is DialoutState.STOPPING
    (stop,) = tracker.take_effects()
    assert isinstance(stop, StopCall)
    assert stop.reason == "ring_timeout"


def test_ring_timeout_asks_the_bot_to_stop_and_ends_not_answered() -> None:
    """Ringing 60 s: stopping, a StopCall effect, a pending stop; dialout-stopped ends it not_answered."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, session_id=SID, t=0.5)
    tracker.handle("dialout-connected", {"sessionId": SID}, t=1.0)
    assert session.deadline == 61.0
    tracker.handle("dialout-warning", {"sessionId": SID, "errorMsg": "codec"}, t=61.5)  # fires the timer first
    assert session.state is DialoutState.STOPPING
    assert [e.name for e in tracker.journal[-2:]] == ["ring_timeout", "dialout-warning"]
    (effect,) = tracker.take_effects()
    assert isinstance(effect, StopCall)
    assert (effect.session, effect.session_id, effect.reason) == (session, SID, "ring_timeout")
    assert tracker.take_effects() == []
    assert tracker.stop_completed(session, t=62.0).disposition is Disposition.RECORDED
    tracker.handle("dialout-stopped", {"sessionId": SID}, t=62.5)
    assert session.outcome is Outcome.NOT_ANSWERED


def test_stop_timeout_takes_the_call_as_stopped() -> None:
    """No dialout-stopped 10 s after the stop: stopped, outcome by history (completed after an answer)."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.handle("dialout-answered", {"sessionId": SID}, t=3.0)
    tracker.stop_dialout(session, t=10.0)
    (entry,) = tracker.advance(25.0)
    assert entry.name == "stop_timeout"
    assert entry.t == 20.0
    assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.COMPLETED)
    assert "taken as stopped" in (entry.message or "")


def test_ring_then_stop_timeout_chain_is_relative_to_each_deadline() -> None:
    """The stop timer armed by a ring timeout counts from the ring deadline, not from the advance call."""
    tracker = CallTracker(timeouts=Timeouts(ring=30.0, stop=5.0))
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.handle("dialout-connected", {"sessionId": SID}, t=2.0)
    fired = tracker.advance(100.0)
    assert [(e.name, e.t) for e in fired] == [("ring_timeout", 32.0), ("stop_timeout", 37.0)]
    assert session.outcome is Outcome.NOT_ANSWERED


def test_timers_need_a_time_and_can_be_disabled() -> None:
    """Without any t no timer is armed; Timeouts(ring=None) and timeouts=None disable them."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    assert session.deadline is None
    tracker2 = CallTracker(timeouts=Timeouts(ring=None))
    s2 = tracker2.start_dialout(PHONE, t=0.0)
    tracker2.handle("dialout-connected", {"sessionId": SID}, t=1.0)
    assert s2.deadline is None
    tracker3 = CallTracker(timeouts=None)
    assert tracker3.start_dialout(PHONE, t=0.0).deadline is None


@pytest.mark.parametrize("bad", [0, -1, float("inf"), True, "20"])
def test_timeouts_validate(bad: object) -> None:
    """Timeouts must be positive finite seconds or None."""
    with pytest.raises(ValueError, match="start"):
        Timeouts(start=bad)  # type: ignore[arg-type]


def test_advance_ignores_nonsense() -> None:
    """advance() with a non-number never raises and fires nothing."""
    tracker = CallTracker()
    tracker.start_dialout(PHONE, t=0.0)
    assert tracker.advance("soon") == ()  # type: ignore[arg-type]
    assert tracker.advance(float("nan")) == ()


def test_timers_replay_from_the_log() -> None:
    """A recorded run with timers (and an advance tick) replays to the same states."""
    records: list[dict[str, object]] = []
    live = CallTracker()
    live.add_input_listener(records.append)
    session = live.start_dialout(PHONE, t=0.0)
    live.handle("dialout-connected", {"sessionId": SID}, t=1.0)
    live.advance(70.0)  # ring timeout at 61, stop timeout at 71 not yet
    live.advance(75.0)
    assert session.outcome is Outcome.NOT_ANSWERED
    assert records[-1] == {"t": 75.0}
    lines = [(n, json.dumps(r)) for n, r in enumerate(records, start=1)]
    replayed = replay_lines(lines).report()
    assert replayed["anomalies"] == []
    (s,) = replayed["sessions"]
    assert s["states"] == [state.value for state in session.states]
    assert s["outcome"] == "not_answered"


# --- retries ---------------------------------------------------------------------------


def test_transient_failure_suggests_a_retry_with_backoff() -> None:
    """A rejected start with a transient error queues RetryDialout with a seeded, bounded delay."""
    policy = RetryPolicy(max_attempts=3, base_delay=2.0, multiplier=2.0, jitter=0.5, seed=7)
    tracker = CallTracker(retry=policy)
    first = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(first, error="TEMPORARILY_NOT_AVAILABLE: no workers", t=1.0)
    (effect,) = tracker.take_effects()
    assert isinstance(effect, RetryDialout)
    expected = 2.0 * (1 + 0.5 * (2 * random.Random(7).random() - 1))
    assert effect.delay == pytest.approx(expected)
    assert effect.not_before == pytest.approx(1.0 + expected)
    assert (effect.previous, effect.attempt) == (first, 2)
    second = tracker.start_dialout(effect.settings, retry_of=effect.previous, t=effect.not_before)
    assert (second.attempt, second.previous, first.retry) == (2, first, second)
    tracker.handle("dialout-error", {"errorMsg": "timed out"}, t=5.0)
    (effect2,) = tracker.take_effects()
    assert isinstance(effect2, RetryDialout)
    assert effect2.attempt == 3
    assert 2.0 <= effect2.delay <= 6.0  # 4 s +- 50 %
    third = tracker.start_dialout(effect2.settings, retry_of=second)
    tracker.start_completed(third, error="no workers")
    assert tracker.take_effects() == []  # max_attempts reached
    assert [s.attempt for s in tracker] == [1, 2, 3]


@pytest.mark.parametrize(
    "error",
    [
        "dial-out not enabled for room. add enable_dialout property to room",
        "User must be a room owner",
        'Dialout settings are not valid: JsonApiError { message: "x" }',
        "Dialout already exists",
    ],
)
def test_permanent_errors_are_never_retried(error: str) -> None:
    """NOT_ALLOWED, INVALID_SETTINGS and DIALOUT_IN_PROGRESS errors suggest no retry."""
    tracker = CallTracker(retry=RetryPolicy())
    tracker.start_completed(tracker.start_dialout(PHONE), error=error)
    assert tracker.take_effects() == []


def test_no_retry_after_an_answer_or_a_normal_end() -> None:
    """A call that was answered, or that ended without an error, is never retried."""
    tracker = CallTracker(retry=RetryPolicy())
    session = tracker.start_dialout(PHONE)
    tracker.handle("dialout-answered", {"sessionId": SID})
    tracker.handle("dialout-error", {"sessionId": SID, "errorMsg": "timed out"})
    assert session.outcome is Outcome.FAILED
    other = tracker.start_dialout(PHONE)
    tracker.handle("dialout-stopped", {"sessionId": "x"})
    assert other.outcome is Outcome.NOT_ANSWERED
    assert tracker.take_effects() == []


def test_start_timeout_is_retried() -> None:
    """The start watchdog's failure is transient: it suggests a retry."""
    tracker = CallTracker(retry=RetryPolicy(jitter=0))
    tracker.start_dialout(PHONE, t=0.0)
    tracker.advance(20.0)
    (effect,) = tracker.take_effects()
    assert isinstance(effect, RetryDialout)
    assert effect.not_before == 21.0


def test_retry_of_is_guarded() -> None:
    """retry_of must name a finished dial-out of this tracker."""
    tracker = CallTracker(max_dialouts=2)
    live = tracker.start_dialout(PHONE)
    with pytest.raises(CallRefused) as info:
        tracker.start_dialout(PHONE, retry_of=live)
    assert info.value.code is RefusalCode.INVALID_STATE
    with pytest.raises(CallRefused) as info:
        tracker.start_dialout(PHONE, retry_of="nobody")
    assert info.value.code is RefusalCode.NOT_FOUND
    assert len(tracker) == 1


def test_the_retry_chain_replays_and_shows_in_the_report() -> None:
    """Recorded retries replay with the chain: attempt and retry_of in the report."""
    records: list[dict[str, object]] = []
    live = CallTracker(retry=RetryPolicy(seed=1))
    live.add_input_listener(records.append)
    first = live.start_dialout(PHONE, t=0.0)
    live.start_completed(first, error="no workers", t=0.2)
    (effect,) = live.take_effects()
    assert isinstance(effect, RetryDialout)
    second = live.start_dialout(effect.settings, retry_of=effect.previous, t=effect.not_before)
    live.start_completed(second, session_id=SID, t=2.0)
    assert records[2]["retry_of"] == {"key": records[0]["key"]}  # the first attempt has no id: its start call's key
    report = replay_lines([(n, json.dumps(r)) for n, r in enumerate(records, start=1)]).report()
    assert [(s["attempt"], s["retry_of"]) for s in report["sessions"]] == [(1, None), (2, 0)]
    assert report["rejected"] == []


def test_retry_policy_validates() -> None:
    """Nonsense policies are refused at construction."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=-1)


def test_a_retry_says_how_long_until_it_is_due() -> None:
    tracker = CallTracker(retry=RetryPolicy(seed=3, jitter=0.0, base_delay=2.0))
    failed = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=10.0)
    tracker.start_completed(failed, None, "start_dialout timed out", t=11.0)
    (retry,) = tracker.take_effects()
    assert isinstance(retry, RetryDialout)
    assert (retry.delay, retry.not_before) == (2.0, 13.0)
    assert retry.seconds_until_due(12.5) == 0.5
    assert retry.seconds_until_due(20.0) == 0.0  # overdue: at once
    assert retry.seconds_until_due(None) == 2.0  # no clock: the delay
    untimed = CallTracker(retry=RetryPolicy(seed=3, jitter=0.0, base_delay=2.0))
    untimed.start_completed(untimed.start_dialout({"phoneNumber": "+15551234567"}), None, "start_dialout timed out")
    (no_time,) = untimed.take_effects()
    assert isinstance(no_time, RetryDialout)
    assert no_time.seconds_until_due(50.0) == 2.0  # no not_before: the delay


def _ring_timeout(tracker: CallTracker) -> Any:
    session = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=0.0)
    tracker.start_completed(session, session_id=SID, t=0.5)
    tracker.handle("dialout-connected", {"sessionId": SID}, t=1.0)
    tracker.advance(61.0)
    return session


def test_a_stop_for_a_call_that_ended_before_it_was_taken_is_withdrawn() -> None:
    tracker = CallTracker()
    session = _ring_timeout(tracker)
    tracker.handle("dialout-stopped", {"sessionId": SID}, t=61.5)  # the carrier gave up at the same moment
    assert session.outcome is Outcome.NOT_ANSWERED
    assert tracker.take_effects() == []  # nothing to stop
    withdrawn = tracker.journal[-1]
    assert (withdrawn.name, withdrawn.disposition, withdrawn.message) == (
        "stop withdrawn",
        Disposition.JOURNALED,
        "the call ended before it was stopped",
    )
    assert session.error is None
    late = tracker.stop_completed()  # nothing waits for a stop any more
    assert late.code == AnomalyCode.UNEXPECTED_COMPLETION


def test_a_stop_effect_names_the_stop_its_completion_pairs_with() -> None:
    tracker = CallTracker()
    session = _ring_timeout(tracker)
    (stop,) = tracker.take_effects()
    assert isinstance(stop, StopCall)
    assert stop.ref is not None
    restored = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    for t in (tracker, restored):
        entry = t.stop_completed(ref=stop.ref, t=62.0)
        assert (entry.name, entry.disposition, entry.code) == ("stop_dialout.ok", Disposition.RECORDED, None)
    assert session.state is DialoutState.STOPPING


def test_withdrawing_a_retry_or_something_else() -> None:
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    failed = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(failed, None, "start_dialout timed out")
    (retry,) = tracker._effects
    entry = tracker.withdraw(retry, reason="the campaign ended")
    assert (entry.name, entry.message) == ("retry withdrawn", "the campaign ended")
    assert tracker.take_effects() == []
    junk = tracker.withdraw("not an effect")  # type: ignore[arg-type]
    assert junk.code == AnomalyCode.MALFORMED_INPUT


def test_withdrawing_a_retry_clears_retry_pending() -> None:
    """A retry the bot will not place (withdrawn) is no longer pending on the failed session."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    failed = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=0.0)
    tracker.start_completed(failed, None, "Dialout(NoWorkerForRoom)", t=0.5)
    (retry,) = tracker.take_effects()
    assert isinstance(retry, RetryDialout)
    assert (failed.retry_pending, failed.retry_not_before) == (True, retry.not_before)
    tracker.withdraw(retry, reason="retry refused: DIALOUT_IN_PROGRESS")
    assert (failed.retry_pending, failed.retry_not_before, failed.next_attempt) == (False, None, None)
