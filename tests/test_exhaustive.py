"""Every (state, input) pair of each table, through the step on a session in that state (both engines).

Each session reaches its state by public inputs (``tests.helpers``), or is new (``idle``);
the step is :func:`dialfsm._step.step` itself, called as the routes call it.
"""

from __future__ import annotations

import itertools

import pytest

from dialfsm import (
    TABLES,
    CallCompleted,
    CallRefused,
    CallTracker,
    DialinConnected,
    DialinError,
    DialinState,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutState,
    DialoutStopped,
    DialoutWarning,
    Disposition,
    DtmfReceived,
    Input,
    InputKind,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
    Session,
    SessionKind,
    TimerExpired,
)
from dialfsm._guards import check_state
from dialfsm._step import new_session, step
from tests.helpers import SID, DictInterpreter, dialin_in, dialout_in

EVENTS = {
    Input.DIALOUT_CONNECTED: DialoutConnected(session_id=SID),
    Input.DIALOUT_ANSWERED: DialoutAnswered(session_id=SID),
    Input.DIALOUT_STOPPED: DialoutStopped(session_id=SID),
    Input.DIALOUT_ERROR: DialoutError(session_id=SID, error_msg="boom"),
    Input.DIALOUT_WARNING: DialoutWarning(session_id=SID, error_msg="codec"),
    Input.DIALIN_CONNECTED: DialinConnected(session_id=SID),
    Input.DIALIN_STOPPED: DialinStopped(session_id=SID),
    Input.DIALIN_ERROR: DialinError(session_id=SID, error_msg="sdp"),
    Input.DIALIN_WARNING: DialinWarning(session_id=SID, error_msg="codec"),
    Input.DTMF_EVENT: DtmfReceived(session_id=SID, tone="1"),
    Input.PARTICIPANT_JOINED: ParticipantJoined(participant_id=SID),
    Input.PARTICIPANT_LEFT: ParticipantLeft(participant_id=SID),
    Input.LEFT_MEETING: LeftMeeting(),
}

PAIRS = [
    (kind, state, input_)
    for kind, table in TABLES.items()
    for state, input_ in itertools.product(table.states, table.inputs)
]


def _session_in(kind: SessionKind, state: object, engine: str) -> tuple[CallTracker, Session]:
    """A tracker with one session in ``state``: reached by public inputs, or new (``idle``)."""
    tracker = CallTracker(engine=engine, max_dialouts=2)  # type: ignore[arg-type]
    if state in (DialoutState.IDLE, DialinState.IDLE):
        return tracker, new_session(tracker, kind)
    if kind is SessionKind.DIALOUT:
        return dialout_in(state, tracker)  # type: ignore[arg-type]
    return dialin_in(state, tracker)  # type: ignore[arg-type]


def _typed(input_: Input) -> object:
    if input_.kind is InputKind.TIMER:
        return TimerExpired(timer=input_, session_id=SID, deadline=1.0)
    if input_.kind is InputKind.COMPLETION:
        call = Input(input_.value.split(".")[0])
        return CallCompleted(call=call, error="boom" if input_.value.endswith(".error") else None)
    return EVENTS.get(input_)


@pytest.mark.parametrize("engine", ["compiled", "transitions"])
@pytest.mark.parametrize(("kind", "state", "input_"), PAIRS, ids=lambda v: getattr(v, "value", str(v)))
def test_pair(kind: SessionKind, state: object, input_: Input, engine: str) -> None:
    """The step does exactly what the dict interpreter of the literal table says, on a session in any state."""
    expected_dest, expected_disp, expected_code = DictInterpreter(kind).resolve(state, input_)
    tracker, session = _session_in(kind, state, engine)
    assert session.state is state
    if input_.kind is InputKind.CALL and expected_disp is Disposition.REFUSED:
        with pytest.raises(CallRefused) as info:
            check_state(session, input_, input_.value)
        assert info.value.code.value == expected_code
        return
    if input_.kind is InputKind.CALL:
        check_state(session, input_, input_.value)  # allowed: does not raise
    entry = step(tracker, session, input_, _typed(input_), tracker.inputs_read, None, True)
    assert (entry.dest, entry.disposition, entry.code) == (expected_dest, expected_disp, expected_code)
    assert session.state is expected_dest
    assert tracker.last_entry == entry
    if expected_disp is Disposition.TRANSITION:
        assert session.states[-1] is expected_dest
