"""dialfsm._timers: the deadline heap, on bare sessions (no tracker)."""

from __future__ import annotations

from dialfsm import Input, Outcome, SessionKind
from dialfsm._session import Session
from dialfsm._timers import TimerHeap, disarm


def _sessions(n: int) -> dict[int, Session]:
    return {i: Session(SessionKind.DIALOUT, i) for i in range(n)}


def test_due_timers_come_soonest_first_and_are_disarmed() -> None:
    sessions = _sessions(3)
    heap = TimerHeap()
    heap.arm(sessions[0], Input.RING_TIMEOUT, 30.0)
    heap.arm(sessions[1], Input.START_TIMEOUT, 10.0)
    heap.arm(sessions[2], Input.STOP_TIMEOUT, 50.0)
    assert heap.next_deadline(sessions) == 10.0
    fired = [(s.index, timer, deadline) for s, timer, deadline in heap.pop_due(30.0, sessions)]
    assert fired == [(1, Input.START_TIMEOUT, 10.0), (0, Input.RING_TIMEOUT, 30.0)]
    assert sessions[0].deadline is None
    assert sessions[1].deadline is None
    assert heap.next_deadline(sessions) == 50.0


def test_equal_deadlines_fire_in_arming_order() -> None:
    sessions = _sessions(3)
    heap = TimerHeap()
    for index in (2, 0, 1):
        heap.arm(sessions[index], Input.RING_TIMEOUT, 5.0)
    assert [s.index for s, _, _ in heap.pop_due(5.0, sessions)] == [2, 0, 1]


def test_disarmed_rearmed_ended_and_forgotten_sessions_leave_stale_entries_that_never_fire() -> None:
    sessions = _sessions(4)
    heap = TimerHeap()
    for session in sessions.values():
        heap.arm(session, Input.RING_TIMEOUT, 1.0)
    disarm(sessions[0])
    heap.arm(sessions[1], Input.STOP_TIMEOUT, 9.0)  # re-armed later: its first entry is stale
    sessions[2]._outcome = Outcome.COMPLETED  # ended
    del sessions[3]  # forgotten
    assert list(heap.pop_due(5.0, sessions)) == []
    assert heap.next_deadline(sessions) == 9.0
    assert [(s.index, t) for s, t, _ in heap.pop_due(9.0, sessions)] == [(1, Input.STOP_TIMEOUT)]
    assert heap.next_deadline(sessions) is None
    assert len(heap) == 0


def test_a_timer_armed_while_firing_and_already_due_fires_in_its_turn() -> None:
    sessions = _sessions(2)
    heap = TimerHeap()
    heap.arm(sessions[0], Input.RING_TIMEOUT, 1.0)
    heap.arm(sessions[1], Input.RING_TIMEOUT, 3.0)
    order = []
    for session, timer, deadline in heap.pop_due(10.0, sessions):
        order.append((session.index, timer))
        if timer is Input.RING_TIMEOUT and session.index == 0:
            heap.arm(session, Input.STOP_TIMEOUT, deadline + 1.0)  # due by 10: fires before session 1's
    assert order == [(0, Input.RING_TIMEOUT), (0, Input.STOP_TIMEOUT), (1, Input.RING_TIMEOUT)]


def test_a_restored_timer_keeps_its_arming_order() -> None:
    sessions = _sessions(2)
    first = TimerHeap()
    first.arm(sessions[1], Input.RING_TIMEOUT, 5.0)
    first.arm(sessions[0], Input.RING_TIMEOUT, 5.0)
    restored = TimerHeap.from_entries([], first.seq)
    for session in sessions.values():
        restored.rearm(session)
    assert [s.index for s, _, _ in restored.pop_due(5.0, sessions)] == [1, 0]
    assert restored.seq == 2
