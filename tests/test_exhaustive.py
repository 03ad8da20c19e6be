"""Every (state, input) pair of each table, through the tracker's session step (both engines)."""

from __future__ import annotations

import itertools

import pytest

from dialfsm import (
    ENGINES,
    TABLES,
    CallCompleted,
    CallRefused,
    CallTracker,
    DialinConnected,
    DialinError,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    Disposition,
    DtmfReceived,
    Input,
    InputKind,
    LeftMeeting,
    Outcome,
    ParticipantJoined,
    ParticipantLeft,
    Session,
    SessionKind,
    TimerExpired,
)
from tests.helpers import SID, DictInterpreter

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


def _forced(kind: SessionKind, state: object, engine: str) -> tuple[CallTracker, Session]:
    tracker = CallTracker(engine=engine)  # type: ignore[arg-type]
    session = tracker._new_session(kind)
    tracker._bind(session, SID)
    session._state = state  # type: ignore[assignment]
    if session._model is not None:
        ENGINES[kind].machine.set_state(state, model=session._model)  # type: ignore[arg-type]
    if state in TABLES[kind].terminal:
        session._outcome = Outcome.COMPLETED
        tracker._retire(session)
    return tracker, session


@pytest.mark.parametrize("engine", ["compiled", "transitions"])
@pytest.mark.parametrize(("kind", "state", "input_"), PAIRS, ids=lambda v: getattr(v, "value", str(v)))
def test_pair(kind: SessionKind, state: object, input_: Input, engine: str) -> None:
    """The tracker's step does exactly what the dict interpreter of the literal table says."""
    expected_dest, expected_disp, expected_code = DictInterpreter(kind).resolve(state, input_)
    tracker, session = _forced(kind, state, engine)
    if input_.kind is InputKind.CALL:
        if expected_disp is Disposition.REFUSED:
            with pytest.raises(CallRefused) as info:
                tracker._check_state(session, input_, input_.value)
            assert info.value.code.value == expected_code
        else:
            tracker._check_state(session, input_, input_.value)  # allowed: does not raise
            step = tracker._step(session, input_, None, 0, None, True)
            assert (step.dest, step.disposition) == (expected_dest, expected_disp)
        return
    if input_.kind is InputKind.TIMER:
        source: object = TimerExpired(timer=input_, session_id=SID, deadline=1.0)
    elif input_.kind is InputKind.COMPLETION:
        call = Input(input_.value.split(".")[0])
        error = "boom" if input_.value.endswith(".error") else None
        source = CallCompleted(call=call, error=error)
    else:
        source = EVENTS[input_]
    step = tracker._step(session, input_, source, 0, None, True)
    assert (step.dest, step.disposition, step.code) == (expected_dest, expected_disp, expected_code)
    assert session.state == expected_dest
    if expected_disp is Disposition.TRANSITION:
        assert session.states[-1] == expected_dest
