"""dialfsm._step: what the table says an input does besides moving the state, on one session at a time.

Each test takes a session to a state by public inputs (or makes a new one) and
applies one input with :func:`dialfsm._step.step`, as the routes do.
"""

from __future__ import annotations

import attrs
import pytest

from dialfsm import (
    BOOKKEEPING,
    DIALIN_TABLE,
    DIALIN_TIMERS,
    DIALOUT_TABLE,
    DIALOUT_TIMERS,
    Bookkeeping,
    CallCompleted,
    CallTracker,
    DialinState,
    DialoutError,
    DialoutState,
    DialoutWarning,
    DtmfReceived,
    Input,
    JournalEntry,
    Outcome,
    Session,
    StopCall,
    Timeouts,
    TimerExpired,
)
from dialfsm._step import BOOKKEEPERS, step
from tests.helpers import SID, dialin_in, dialout_in


def _apply(tracker: CallTracker, input_: Input, typed: object, t: float | None = None) -> JournalEntry:
    return step(tracker, tracker[SID], input_, typed, tracker.inputs_read, t, True)


def _armed(session: Session) -> tuple[float | None, Input | None]:
    """The session's deadline and timer, read afresh (mypy would keep an earlier narrowing)."""
    return session.deadline, session._timer


def _outcome(session: Session) -> Outcome | None:
    return session.outcome


def test_every_bookkeeping_has_its_function_and_every_timer_its_timeout() -> None:
    used = set(BOOKKEEPING.values()) | {r.records for r in (*DIALOUT_TABLE, *DIALIN_TABLE) if r.records is not None}
    assert set(BOOKKEEPERS) == set(Bookkeeping) == used
    fields = {f.name for f in attrs.fields(Timeouts)}
    assert {timer.timeout for timer in (*DIALOUT_TIMERS.values(), *DIALIN_TIMERS.values())} <= fields


def test_a_warning_and_a_tone_are_kept_and_become_the_message() -> None:
    tracker, session = dialout_in(DialoutState.ANSWERED)
    entry = _apply(tracker, Input.DIALOUT_WARNING, DialoutWarning(session_id=SID, error_msg="codec fallback"))
    assert entry.message == "codec fallback"
    _apply(tracker, Input.DTMF_EVENT, DtmfReceived(session_id=SID, tone="7"))
    assert (session.warnings, session.dtmf) == (("codec fallback",), ("7",))


def test_without_history_warnings_and_tones_are_not_kept() -> None:
    tracker, session = dialout_in(DialoutState.ANSWERED, CallTracker(keep_history=False))
    entry = _apply(tracker, Input.DTMF_EVENT, DtmfReceived(session_id=SID, tone="7"))
    assert entry.message == "7"
    assert session.dtmf == ()


def test_an_error_event_sets_the_error_and_its_code() -> None:
    tracker, session = dialout_in(DialoutState.CONNECTED)
    _apply(tracker, Input.DIALOUT_ERROR, DialoutError(session_id=SID, error_msg="No workers available"))
    assert (session.state, session.outcome, session.error) == (
        DialoutState.ERROR,
        Outcome.FAILED,
        "No workers available",
    )
    assert session.error_code is not None
    assert session.error_code.value == "TEMPORARILY_NOT_AVAILABLE"


def test_a_stop_request_decides_cancelled_and_a_live_transfer_transferred() -> None:
    tracker, session = dialout_in(DialoutState.STOPPING)  # stop requested after the answer: completed
    assert session.stop_requested
    tracker2, session2 = dialout_in(DialoutState.CONNECTED)
    tracker2.stop_dialout(session2)
    tracker2.handle("dialout-stopped", {"sessionId": SID})
    assert session2.outcome is Outcome.CANCELLED
    tracker3, session3 = dialin_in(DialinState.JOINED)
    tracker3.sip_refer({"sessionId": SID, "toEndPoint": "sip:desk@example.com"})
    tracker3.handle("dialin-stopped", {"sessionId": SID})
    assert session3.outcome is Outcome.TRANSFERRED
    assert tracker.handle("dialout-stopped", {"sessionId": SID}).dest is DialoutState.STOPPED
    assert session.outcome is Outcome.COMPLETED


def test_a_transfer_that_fails_after_the_stop_revises_only_transferred() -> None:
    tracker, session = dialin_in(DialinState.JOINED)
    tracker.sip_refer({"sessionId": SID, "toEndPoint": "sip:desk@example.com"}, ref="r")
    tracker.handle("dialin-stopped", {"sessionId": SID})
    assert session.outcome is Outcome.TRANSFERRED
    tracker.refer_completed(error="Sip(CallState(NotInACall))", ref="r")
    assert _outcome(session) is Outcome.COMPLETED
    tracker, session = dialin_in(DialinState.JOINED)
    tracker.sip_refer({"sessionId": SID, "toEndPoint": "sip:desk@example.com"}, ref="r")
    tracker.handle("left-meeting")
    tracker.refer_completed(error="boom", ref="r")
    assert session.outcome is Outcome.ABANDONED  # not a transfer's outcome: left as it was


def test_entering_a_state_arms_its_timer_and_leaving_disarms_it() -> None:
    tracker = CallTracker(timeouts=Timeouts(start=5, ring=30, stop=2))
    session = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=100.0)
    assert _armed(session) == (105.0, Input.START_TIMEOUT)
    tracker.start_completed(session, session_id=SID, t=101.0)
    assert _armed(session) == (131.0, Input.RING_TIMEOUT)  # a sign of life: the ring timeout replaces the watchdog
    tracker.handle("dialout-connected", {"sessionId": SID}, t=102.0)
    assert _armed(session) == (132.0, Input.RING_TIMEOUT)
    tracker.handle("dialout-answered", {"sessionId": SID}, t=103.0)
    assert session.deadline is None
    assert tracker.next_deadline is None


def test_the_ring_timeout_asks_the_bot_to_stop_and_registers_the_stop() -> None:
    tracker, session = dialout_in(DialoutState.CONNECTED, CallTracker(timeouts=Timeouts(ring=30)))
    entry = _apply(tracker, Input.RING_TIMEOUT, TimerExpired(timer=Input.RING_TIMEOUT, session_id=SID, deadline=1.0))
    assert session.state is DialoutState.STOPPING
    assert not session.stop_requested
    assert "no answer within 30 s" in str(entry.message)
    (effect,) = tracker.take_effects()
    assert isinstance(effect, StopCall)
    assert effect.session is session
    assert effect.ref is not None
    assert tracker.stop_completed(session, ref=effect.ref).code is None  # pairs with the registered stop


def test_a_completion_error_is_kept_unless_the_session_ended_with_one() -> None:
    tracker, session = dialout_in(DialoutState.ERROR)
    first = session.error
    step(tracker, session, Input.STOP_ERROR, CallCompleted(call=Input.STOP_DIALOUT, error="late"), 0, None, True)
    assert session.error == first
    tracker, session = dialout_in(DialoutState.STOPPING)
    _apply(
        tracker, Input.STOP_ERROR, CallCompleted(call=Input.STOP_DIALOUT, error="Dialout(State(NoDialoutInProgress))")
    )
    assert session.error == "Dialout(State(NoDialoutInProgress))"


@pytest.mark.parametrize("journal_limit", [None, 0, 3])
def test_journal_and_history_agree_with_what_step_returns(journal_limit: int | None) -> None:
    tracker, session = dialout_in(DialoutState.ANSWERED, CallTracker(journal_limit=journal_limit))
    entry = _apply(tracker, Input.DTMF_EVENT, DtmfReceived(session_id=SID, tone="1"))
    assert tracker.last_entry == entry
    assert session.history[-1] == entry
    assert (tracker.journal[-1:] if journal_limit != 0 else (entry,)) == (entry,)
