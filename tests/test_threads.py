"""One tracker fed from many threads: nothing lost, each session in arrival order, equal to a serial replay."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dialfsm import CallTracker, DialinState, DialoutState, Outcome, replay_lines
from dialfsm.threads import LockedTracker, LoopHandoff

THREADS = 8
INPUTS_PER_THREAD = 10_000


def _script(worker: int, budget: int) -> list[tuple[str, Any]]:
    """``budget`` inputs for one worker's own sessions: ('event', (name, data)) or ('dialout', k).

    Dial-ins: connected, joined, DTMF tones numbered in order, a warning, stopped, then a late event
    and a duplicate (anomalies, also per-session inputs).  Every fifth call is a dial-out instead.
    """
    steps: list[tuple[str, Any]] = []
    k = 0
    while len(steps) < budget:
        sid = f"w{worker}-c{k}"
        if k % 5 == 4:
            steps.append(("dialout", sid))  # start + completion + connected + answered + stop + stopped
        else:
            steps.append(("event", ("on_dialin_connected", {"sessionId": sid})))
            steps.append(("event", ("on_dialin_connected", {"sessionId": sid})))  # duplicate
            steps.append(("event", ("on_participant_joined", {"id": sid})))
            steps.extend(("event", ("on_dtmf_event", {"sessionId": sid, "tone": str(n)})) for n in range(k % 7))
            steps.append(("event", ("on_dialin_warning", {"sessionId": sid, "message": f"codec {k}"})))
            steps.append(("event", ("on_dialin_stopped", {"sessionId": sid})))
            steps.append(("event", ("on_dtmf_event", {"sessionId": sid, "tone": "9"})))  # late
        k += 1
    return steps


def _count(step: tuple[str, Any]) -> int:
    return 6 if step[0] == "dialout" else 1


def _budgeted(worker: int) -> list[tuple[str, Any]]:
    steps, total = [], 0
    for step in _script(worker, INPUTS_PER_THREAD):
        if total + _count(step) > INPUTS_PER_THREAD:
            break
        steps.append(step)
        total += _count(step)
    while total < INPUTS_PER_THREAD:  # pad with unknown-session anomalies to hit the exact count
        steps.append(("event", ("on_dialin_stopped", {"sessionId": f"w{worker}-nobody"})))
        total += 1
    return steps


def _drive(locked: LockedTracker, steps: list[tuple[str, Any]], sent: dict[str, list[str]]) -> None:
    """Feed one worker's steps; record, per session id, the inputs it sent in order."""
    for kind, value in steps:
        if kind == "event":
            name, data = value
            locked.handle(name, data)
            sid = data.get("sessionId") or data.get("id")
            sent.setdefault(sid, []).append(name)
        else:
            sid = value
            session = locked.start_dialout({"phoneNumber": "+15551234567"})
            locked.start_completed(session, session_id=sid)
            locked.handle("on_dialout_connected", {"sessionId": sid})
            locked.handle("on_dialout_answered", {"sessionId": sid})
            locked.stop_dialout(session)
            locked.handle("on_dialout_stopped", {"sessionId": sid})
            sent.setdefault(sid, []).extend(
                [
                    "start_dialout",
                    "start_dialout",
                    "on_dialout_connected",
                    "on_dialout_answered",
                    "stop_dialout",
                    "on_dialout_stopped",
                ]
            )


def _journal_names(name: str) -> str:
    """A journal entry's name in the spelling ``_drive`` records."""
    return {
        "start_dialout.ok": "start_dialout",
        "dialin-connected": "on_dialin_connected",
        "participant-joined": "on_participant_joined",
        "dtmf-event": "on_dtmf_event",
        "dialin-warning": "on_dialin_warning",
        "dialin-stopped": "on_dialin_stopped",
        "dialout-connected": "on_dialout_connected",
        "dialout-answered": "on_dialout_answered",
        "dialout-stopped": "on_dialout_stopped",
    }.get(name, name)


def _summary(tracker: CallTracker) -> list[tuple[object, ...]]:
    return [(s.kind, s.session_id, s.state, s.outcome, s.states, s.dtmf, s.warnings) for s in tracker]


def test_eight_threads_ten_thousand_inputs_each() -> None:
    tracker = CallTracker(max_dialouts=10_000)
    records: list[str] = []
    tracker.add_input_listener(lambda record: records.append(json.dumps(record)))
    locked = LockedTracker(tracker)
    scripts = [_budgeted(w) for w in range(THREADS)]
    sent: list[dict[str, list[str]]] = [{} for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def worker(w: int) -> None:
        start.wait()
        _drive(locked, scripts[w], sent[w])

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Nothing lost: one journal entry per input, no listener or feed error.
    assert tracker.inputs_read == THREADS * INPUTS_PER_THREAD == len(records)
    assert not tracker.listener_errors
    assert not locked.errors
    # Each session's inputs were applied in the order its thread sent them.
    for w in range(THREADS):
        for sid, names in sent[w].items():
            session = tracker.get(sid)
            if session is None:
                assert sid.endswith("nobody")
                continue
            assert [_journal_names(step.name) for step in session.history] == names, sid
    # The threads really interleaved.
    owners = [e.session.session_id.split("-")[0] for e in tracker.journal[:5000] if e.session and e.session.session_id]
    assert len({a for a, b in itertools.pairwise(owners) if a != b}) > 1
    # Every dial-in and dial-out ended as its script says (the budget may cut a worker's last call short).
    by_sid = {sid: names for per_worker in sent for sid, names in per_worker.items()}
    for session in tracker:
        assert session.session_id is not None
        if session.kind.value == "dialin":
            if "on_dialin_stopped" not in by_sid[session.session_id]:
                assert not session.is_terminal
                continue
            assert (session.state, session.outcome) == (DialinState.STOPPED, Outcome.COMPLETED)
            assert session.dtmf == tuple(str(n) for n in range(int(session.session_id.split("c")[1]) % 7))
        else:
            assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.COMPLETED)
    # A serial replay of the journal's inputs ends in the same place.
    replayed = replay_lines(enumerate(records, start=1), CallTracker(max_dialouts=10_000)).tracker
    assert _summary(replayed) == _summary(tracker)
    assert [(e.name, e.disposition, e.code) for e in replayed.journal] == [
        (e.name, e.disposition, e.code) for e in tracker.journal
    ]


def test_loop_handoff_from_threads_keeps_each_threads_order() -> None:
    async def main() -> CallTracker:
        handoff = LoopHandoff(CallTracker())
        done = asyncio.Event()
        loop = asyncio.get_running_loop()

        def worker(w: int) -> None:
            for k in range(200):
                sid = f"w{w}-c{k}"
                handoff.handle("on_dialin_connected", {"sessionId": sid})
                for n in range(3):
                    handoff.handle("on_dtmf_event", {"sessionId": sid, "tone": str(n)})
                handoff.handle("on_dialin_stopped", {"sessionId": sid})

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
        for thread in threads:
            thread.start()

        def join_all() -> None:
            for thread in threads:
                thread.join()

        await asyncio.to_thread(join_all)
        loop.call_soon(done.set)  # queued after every input the threads posted
        await done.wait()
        assert not handoff.errors
        return handoff.tracker

    tracker = asyncio.run(main())
    assert tracker.inputs_read == THREADS * 200 * 5
    for session in tracker:
        assert session.dtmf == ("0", "1", "2")
        assert [step.name for step in session.history] == ["dialin-connected"] + ["dtmf-event"] * 3 + ["dialin-stopped"]


def test_loop_handoff_call_from_a_thread_returns_and_raises() -> None:
    async def main() -> None:
        handoff = LoopHandoff(CallTracker())

        def from_thread() -> tuple[object, BaseException | None]:
            session = handoff.call(handoff.tracker.start_dialout, {"phoneNumber": "+15551234567"})
            try:
                handoff.call(handoff.tracker.start_dialout, {"phoneNumber": "+15551234567"})
            except Exception as exc:  # noqa: BLE001
                return session, exc
            return session, None

        session, refusal = await asyncio.to_thread(from_thread)
        assert session in handoff.tracker.sessions
        assert type(refusal).__name__ == "CallRefused"
        assert handoff.on_loop()

    asyncio.run(main())


def test_feeds_never_raise_into_the_caller() -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("listener bug")

    locked = LockedTracker()
    locked.post(boom)
    assert isinstance(locked.errors[0], RuntimeError)
    locked.tracker.add_entry_listener(boom)
    locked.handle("on_dialin_connected", {"sessionId": "x"})  # the tracker keeps listener errors
    assert locked.tracker.listener_errors

    loop = asyncio.new_event_loop()
    handoff = LoopHandoff(CallTracker(), loop=loop)
    loop.close()
    handoff.handle("on_dialin_connected", {"sessionId": "x"})  # a closed loop: kept, not raised
    assert isinstance(handoff.errors[0], RuntimeError)


def test_locked_tracker_mirrors_the_trackers_input_methods() -> None:
    methods: list[str] = [
        "handle",
        "receive",
        "complete",
        "start_dialout",
        "stop_dialout",
        "send_dtmf",
        "sip_call_transfer",
        "sip_refer",
        "start_completed",
        "stop_completed",
        "dtmf_completed",
        "transfer_completed",
        "refer_completed",
        "advance",
        "take_effects",
        "snapshot",
    ]
    import inspect

    for name in methods:
        ours: Callable[..., object] = getattr(LockedTracker, name)
        theirs: Callable[..., object] = getattr(CallTracker, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert ours.__doc__


def test_locked_tracker_context_manager_holds_the_lock() -> None:
    locked = LockedTracker()
    with locked as tracker:
        assert tracker is locked.tracker
        lock: Any = locked.lock
        assert lock._is_owned()


@pytest.mark.parametrize("calls", [1, 3])
def test_locked_tracker_wrappers_apply(calls: int) -> None:
    locked = LockedTracker(CallTracker(max_dialouts=calls))
    for i in range(calls):
        session = locked.start_dialout({"phoneNumber": "+15551234567"})
        locked.start_completed(session, session_id=f"s{i}")
        locked.handle("dialout-answered", {"sessionId": f"s{i}"})
        locked.send_dtmf({"sessionId": f"s{i}", "tones": "1"})
        locked.dtmf_completed(session)
        locked.sip_call_transfer({"sessionId": f"s{i}", "toEndPoint": "+15550000000"})
        locked.transfer_completed(session, error="nope")
        locked.sip_refer({"sessionId": f"s{i}", "toEndPoint": "sip:a@b.c"})
        locked.refer_completed(session)
        locked.stop_dialout(session)
        locked.stop_completed(session)
        assert session.state is DialoutState.STOPPING
    assert not locked.tracker.anomalies
