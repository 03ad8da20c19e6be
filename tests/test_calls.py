"""dialfsm._calls: the calls table and the calls waiting for completions, on bare sessions."""

from __future__ import annotations

import pytest

from dialfsm import CallTracker, Input, InputKind, SessionKind
from dialfsm._calls import CALL_INPUTS, CALLS, CALLS_BY_NAME, COMPLETION_INPUT, PendingCalls
from dialfsm._guards import GUARDS
from dialfsm._session import Session


def test_the_table_names_every_call_once_with_a_completion_helper_and_a_guard() -> None:
    assert set(CALLS) == set(CALL_INPUTS) == {i for i in Input if i.kind is InputKind.CALL}
    assert set(GUARDS) == set(CALLS)
    for call, spec in CALLS.items():
        assert spec.input is call
        assert spec.typed.input is call
        assert callable(getattr(CallTracker, spec.completed))
        assert CALLS_BY_NAME[spec.name] is spec
        assert COMPLETION_INPUT[call, True].value == f"{spec.name}.ok"
    assert [spec.name for spec in CALLS.values() if spec.returns_id] == ["start_dialout"]
    assert [spec.name for spec in CALLS.values() if spec.parse is None] == ["stop_dialout"]


def _two() -> tuple[Session, Session]:
    return Session(SessionKind.DIALOUT, 0), Session(SessionKind.DIALOUT, 1)


def test_a_completion_pairs_by_ref_then_by_session_then_with_the_oldest() -> None:
    a, b = _two()
    calls = PendingCalls()
    first = calls.register(Input.SEND_DTMF, a, None)
    second = calls.register(Input.SEND_DTMF, b, "x")
    third = calls.register(Input.SEND_DTMF, b, None)
    assert calls.find(Input.SEND_DTMF, "x", None) is second
    assert calls.find(Input.STOP_DIALOUT, "x", None) is None  # a ref pairs only with its own call
    assert calls.find(Input.SEND_DTMF, None, b) is second
    assert calls.find(Input.SEND_DTMF, None, None) is first
    calls.complete(second)
    assert calls.find(Input.SEND_DTMF, None, b) is third
    assert not calls.ref_waiting("x")


def test_withdraw_and_forget_leave_nothing_waiting() -> None:
    a, b = _two()
    calls = PendingCalls()
    calls.register(Input.STOP_DIALOUT, a, "ring")
    calls.register(Input.SEND_DTMF, b, "d")
    assert calls.withdraw("ring") is not None
    assert calls.withdraw("ring") is None
    calls.forget(b)
    assert list(calls.waiting(Input.STOP_DIALOUT)) == []
    assert list(calls.waiting(Input.SEND_DTMF)) == []
    assert not calls.ref_waiting("d")
    assert calls.find(Input.SEND_DTMF, None, None) is None


@pytest.mark.parametrize("stuck", [0, 1, 50])
def test_completed_calls_do_not_pile_up_behind_calls_still_waiting(stuck: int) -> None:
    """A queue stays within twice the calls really waiting, however many complete behind a stuck one."""
    a, _ = _two()
    calls = PendingCalls()
    for i in range(stuck):
        calls.register(Input.SEND_DTMF, a, f"stuck{i}")
    for i in range(5_000):
        calls.complete(calls.register(Input.SEND_DTMF, a, f"d{i}"))
    assert calls.queued(Input.SEND_DTMF) <= max(64, 2 * stuck)
    assert len(list(calls.waiting(Input.SEND_DTMF))) == stuck
