"""dialfsm._session: what a session says of itself, and how it pickles."""

from __future__ import annotations

import pickle

from dialfsm import CallTracker, DialinState, DialoutState, SessionKind
from dialfsm._session import Session
from tests.helpers import PHONE, SID, dialin_in, dialout_in


def test_answered_is_read_from_the_states_visited() -> None:
    assert not Session(SessionKind.DIALOUT, 0).answered
    _, answered = dialout_in(DialoutState.STOPPING)
    _, ringing = dialout_in(DialoutState.CONNECTED)
    _, joined = dialin_in(DialinState.STOPPED)
    _, connected = dialin_in(DialinState.CONNECTED)
    assert (answered.answered, ringing.answered, joined.answered, connected.answered) == (True, False, True, False)


def test_retry_is_an_alias_of_next_attempt() -> None:
    tracker = CallTracker()
    first = tracker.start_dialout(PHONE)
    tracker.start_completed(first, error="No workers available")
    second = tracker.start_dialout(PHONE, retry_of=first)
    assert first.next_attempt is second
    assert first.retry is second
    assert second.previous is first


def test_a_session_pickles_with_its_tracker_and_its_history() -> None:
    _tracker, session = dialout_in(DialoutState.ANSWERED, CallTracker(engine="transitions"))
    back = pickle.loads(pickle.dumps(session))
    assert (back.state, back.session_id, back.history) == (session.state, SID, back.history)
    assert [e.name for e in back.history] == [e.name for e in session.history]
    back_tracker = back._owner
    assert back_tracker[SID] is back
    back_tracker.handle("dialout-stopped", {"sessionId": SID})  # its model was attached to the new tracker's Machine
    assert back.state is DialoutState.STOPPED
