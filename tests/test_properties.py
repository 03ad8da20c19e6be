"""Hypothesis properties over event orderings: the tracker against a plain dict interpreter.

Each example feeds one session a random sequence of inputs from its machine's
alphabet (Daily's events, the bot's calls, their completions) through the
public API, and checks, input by input, that the tracker does what an
independent reading of the literal table (:class:`tests.helpers.DictInterpreter`)
says: same state, same disposition, same anomaly or refusal code, same outcome.
Terminal states absorb; every input is journaled; both engines agree.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import (
    LEFT_BY_HISTORY,
    AnomalyCode,
    CallCompleted,
    CallRefused,
    CallTracker,
    Disposition,
    Input,
    InputKind,
    Origin,
    Outcome,
    SessionKind,
)
from dialfsm._table import DIALIN_INPUTS, DIALOUT_INPUTS
from dialfsm.testing import adversarial_sequences, machine_sequences, replay
from tests.helpers import PHONE, SID, DictInterpreter, observed

DIALOUT_TOKENS = [i for i in DIALOUT_INPUTS if i is not Input.START_DIALOUT and i.kind is not InputKind.TIMER]
DIALIN_TOKENS = [i for i in DIALIN_INPUTS if i is not Input.DIALIN_CONNECTED and i.kind is not InputKind.TIMER] + [
    Input.DIALIN_CONNECTED
]
_CALL_OF = {i: Input(i.value.split(".")[0]) for i in Input if i.kind is InputKind.COMPLETION}


def _feed(tracker: CallTracker, token: Input) -> Any:
    """Feed one token through the public API; returns the journal entry or the refusal."""
    if token.kind is InputKind.EVENT:
        data = {"sessionId": SID, "errorMsg": "boom", "tone": "1", "participant": {"session_id": SID}}
        return tracker.handle(token.value, data)
    if token.kind is InputKind.CALL:
        settings_by_call = {
            Input.STOP_DIALOUT: SID,
            Input.SEND_DTMF: {"sessionId": SID, "tones": "1"},
            Input.SIP_CALL_TRANSFER: {"sessionId": SID, "toEndPoint": "+15550001111"},
            Input.SIP_REFER: {"sessionId": SID, "toEndPoint": "sip:desk@example.com"},
        }
        method = getattr(tracker, token.value)
        try:
            method(settings_by_call[token])
        except CallRefused as refusal:
            return refusal
        return tracker.journal[-1]
    call = _CALL_OF[token]
    error = "timed out" if token.value.endswith(".error") else None
    sid = SID if call is Input.START_DIALOUT and error is None else None
    return tracker.complete(CallCompleted(call=call, session_id=sid, error=error))


class Model:
    """The expected behaviour of one session, from the dict interpreter plus routing rules."""

    def __init__(self, kind: SessionKind) -> None:
        self.interp = DictInterpreter(kind)
        self.kind = kind
        self.pending: Counter[Input] = Counter()
        self.answered = self.stop_requested = False
        self.transfers = 0
        self.outcome: Outcome | None = None
        self.bound = kind is SessionKind.DIALIN
        if kind is SessionKind.DIALOUT:
            self.state: object = "idle"
            self.state, _, _ = self.interp.resolve(self._initial(), Input.START_DIALOUT)
            self.pending[Input.START_DIALOUT] += 1
        else:
            self.state, _, _ = self.interp.resolve(self._initial(), Input.DIALIN_CONNECTED)

    def _initial(self) -> object:
        from dialfsm import TABLES

        return TABLES[self.kind].initial

    @property
    def terminal(self) -> bool:
        """Whether the modelled session has ended."""
        return self.state in self.interp.terminal

    def expect(self, token: Input) -> tuple[Disposition, str | None]:
        """Apply ``token``; return the (disposition, code) the tracker must report."""
        kind = token.kind
        if kind is InputKind.EVENT:
            if token is Input.LEFT_MEETING and self.terminal:
                return Disposition.JOURNALED, None  # room-wide: reaches live sessions only
            if not self.bound:
                if token in (Input.PARTICIPANT_JOINED, Input.PARTICIPANT_LEFT):
                    return Disposition.JOURNALED, None
                if self.terminal and token is not Input.LEFT_MEETING:
                    return Disposition.ANOMALY, AnomalyCode.UNKNOWN_SESSION
                if token.value.startswith("dialout-"):
                    self.bound = True
                elif token is not Input.LEFT_MEETING:
                    return Disposition.ANOMALY, AnomalyCode.UNKNOWN_SESSION
        elif kind is InputKind.CALL:
            if not self.bound:
                return Disposition.REFUSED, "NOT_FOUND"
            dest, disp, code = self.interp.resolve(self.state, token)
            if disp is Disposition.REFUSED:
                return disp, code
            self.pending[token] += 1
        else:
            call = _CALL_OF[token]
            if self.pending[call] == 0:
                return Disposition.ANOMALY, AnomalyCode.UNEXPECTED_COMPLETION
            self.pending[call] -= 1
            if token is Input.START_OK:
                self.bound = True
        before = self.state
        dest, disp, code = self.interp.resolve(before, token)
        if disp in (Disposition.RECORDED, Disposition.TRANSITION):
            if token is Input.STOP_DIALOUT:
                self.stop_requested = True
            if token in (Input.SIP_CALL_TRANSFER, Input.SIP_REFER):
                self.transfers += 1
            if token in (Input.TRANSFER_ERROR, Input.REFER_ERROR):
                self.transfers = max(0, self.transfers - 1)
            if getattr(dest, "value", None) in ("answered", "joined"):
                self.answered = True
            self.state = dest
            row = self.interp.rows.get((before, token))
            if row is not None and row.outcome == LEFT_BY_HISTORY:  # the bot left: a live transfer hands over
                self.outcome = Outcome.TRANSFERRED if self.transfers else Outcome.ABANDONED
            elif row is not None and row.outcome is not None:
                if not self.interp.outcome_is_by_history(before, token):
                    self.outcome = row.outcome  # type: ignore[assignment]
                elif self.outcome in (None, Outcome.TRANSFERRED):  # once stopped, only transferred is revised
                    self.outcome = self._history_outcome()
        return disp, code

    def _history_outcome(self) -> Outcome:
        if self.transfers:
            return Outcome.TRANSFERRED
        if self.answered:
            return Outcome.COMPLETED
        return Outcome.CANCELLED if self.stop_requested else Outcome.NOT_ANSWERED


def _run(kind: SessionKind, tokens: list[Input], engine: str = "compiled") -> CallTracker:
    tracker = observed(CallTracker(engine=engine), f"properties-{kind.value}")  # type: ignore[arg-type]
    if kind is SessionKind.DIALOUT:
        session = tracker.start_dialout(PHONE)
    else:
        tracker.handle("dialin-connected", {"sessionId": SID})
        session = tracker[SID]
    model = Model(kind)
    fed = 1
    for token in tokens:
        was_terminal, state_before = session.is_terminal, session.state
        result = _feed(tracker, token)
        fed += 1
        disposition, code = model.expect(token)
        if isinstance(result, CallRefused):
            assert disposition is Disposition.REFUSED, (token, result)
            assert result.code.value == code
        else:
            assert (result.disposition, result.code) == (disposition, code), (token, result)
        assert session.state == model.state, (token, tokens)
        assert session.outcome == model.outcome, (token, tokens)
        if was_terminal:
            assert session.state == state_before  # terminal states absorb
        assert len(tracker.journal) == fed  # every input is journaled
    return tracker


@given(st.lists(st.sampled_from(DIALOUT_TOKENS), max_size=25))
def test_dialout_agrees_with_the_dict_interpreter(tokens: list[Input]) -> None:
    """Any ordering of dial-out inputs: the tracker does what the table says."""
    _run(SessionKind.DIALOUT, tokens)


@given(st.lists(st.sampled_from(DIALIN_TOKENS), max_size=25))
def test_dialin_agrees_with_the_dict_interpreter(tokens: list[Input]) -> None:
    """Any ordering of dial-in inputs: the tracker does what the table says."""
    _run(SessionKind.DIALIN, tokens)


def _journal_shape(tracker: CallTracker) -> list[tuple[object, ...]]:
    return [
        (e.name, e.disposition, e.code, tuple((s.source, s.dest, s.disposition) for s in e.steps))
        for e in tracker.journal
    ]


@pytest.mark.parametrize("kind", list(SessionKind))
@given(data=st.data())
def test_compiled_dispatch_equals_the_transitions_engine(kind: SessionKind, data: st.DataObject) -> None:
    """The dispatch compiled from the Machine and the Machine itself give identical journals."""
    tokens = data.draw(st.lists(st.sampled_from(DIALOUT_TOKENS if kind is SessionKind.DIALOUT else DIALIN_TOKENS)))
    assert _journal_shape(_run(kind, tokens)) == _journal_shape(_run(kind, tokens, engine="transitions"))


#: The states a call is in before it is answered (or joined), and the stopping a hang-up waits in.
_BEFORE_THE_END = {
    SessionKind.DIALOUT: {"idle", "connecting", "connected", "stopping"},
    SessionKind.DIALIN: {"idle", "connected"},
}


@given(st.one_of(machine_sequences(), adversarial_sequences()))
def test_no_call_of_the_bots_or_a_callers_is_left_unanswered_once_time_runs_on(records: list[Any]) -> None:
    """Over timed sequences (ticks included), after ``advance(far future)`` no such session is still pre-answer.

    The default :class:`~dialfsm.Timeouts` arm a timer in every state before the
    answer (or the join), so a call Daily stops talking about still ends.  Calls
    this tracker did not see start (adopted, a transfer's new leg) run no timers.
    """
    tracker = replay(records)
    tracker.advance(1e9)
    stuck = [s for s in tracker if s.origin in (Origin.BOT, Origin.CALLER) and s.state.value in _BEFORE_THE_END[s.kind]]
    assert not stuck, stuck
