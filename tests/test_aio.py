"""asyncio helpers: wait_for, the transitions iterator, on_enter callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

from dialfsm import CallTracker, DialinState, DialoutState, JournalEntry, Outcome, SessionEnded
from dialfsm.aio import AsyncTracker
from dialfsm.threads import LockedTracker

PHONE = {"phoneNumber": "+15551234567"}


def _dialout(calls: AsyncTracker, sid: str = "s1") -> object:
    session = calls.tracker.start_dialout(PHONE)
    calls.tracker.start_completed(session, session_id=sid)
    return session


def test_wait_for_a_state_already_passed_returns_at_once() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        assert await calls.wait_for(session, state=DialoutState.CONNECTING, timeout=0) is session

    asyncio.run(main())


def test_wait_for_sees_a_state_entered_and_left_before_the_waiter_runs() -> None:
    """Pipecat's interleaving: answered then stopped before the waiting task wakes up."""

    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        calls.tracker.start_completed(session, session_id="s1")
        loop = asyncio.get_running_loop()
        loop.call_soon(calls.tracker.handle, "on_dialout_answered", {"sessionId": "s1"})
        loop.call_soon(calls.tracker.handle, "on_dialout_stopped", {"sessionId": "s1"})
        await calls.wait_for(session, state=DialoutState.ANSWERED, timeout=1)
        assert session.outcome is Outcome.COMPLETED

    asyncio.run(main())


def test_wait_for_an_outcome_and_for_the_end() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        waiter = asyncio.ensure_future(calls.wait_for(session, outcome=[Outcome.REJECTED, Outcome.FAILED], timeout=1))
        ender = asyncio.ensure_future(calls.wait_for(session, timeout=1))
        await asyncio.sleep(0)
        calls.tracker.start_completed(session, error="Dialout(CallState(NotInACall))")
        assert await waiter is session
        assert await ender is session
        assert session.outcome is Outcome.REJECTED

    asyncio.run(main())


def test_wait_for_raises_session_ended_when_the_state_can_no_longer_come() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        asyncio.get_running_loop().call_soon(calls.tracker.start_completed, session, None, "Dialout already exists")
        with pytest.raises(SessionEnded) as info:
            await calls.wait_for(session, state=DialoutState.ANSWERED, timeout=1)
        assert info.value.session is session
        assert "rejected" in str(info.value)
        with pytest.raises(SessionEnded):  # already ended: raises at once
            await calls.wait_for(session, outcome=Outcome.COMPLETED)

    asyncio.run(main())


def test_wait_for_times_out_and_unhooks() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        with pytest.raises(TimeoutError):
            await calls.wait_for(session, state=DialoutState.ANSWERED, timeout=0.01)
        assert not calls.tracker._entry_listeners

    asyncio.run(main())


def test_wait_for_rejects_bad_arguments() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        with pytest.raises(ValueError, match="'joined' names no dialout state"):
            await calls.wait_for(session, state="joined")  # a dial-in's state
        with pytest.raises(ValueError, match="names no outcome"):
            await calls.wait_for(session, outcome="hung up")
        with pytest.raises(TypeError):
            await calls.wait_for(session, state=3)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await calls.wait_for(session, outcome=[])
        assert not calls.tracker._entry_listeners

    asyncio.run(main())


def test_wait_for_and_on_enter_take_plain_strings() -> None:
    """States and outcomes are string enums, so their plain strings name them too."""

    async def main() -> None:
        calls = AsyncTracker()
        tracker = calls.tracker
        entered: list[str] = []
        calls.on_enter("connected", lambda step: entered.append(f"{step.session and step.session.kind} {step.dest}"))
        session = tracker.start_dialout(PHONE)
        tracker.start_completed(session, session_id="s1")
        loop = asyncio.get_running_loop()
        loop.call_soon(tracker.handle, "on_dialout_connected", {"sessionId": "s1"})
        loop.call_soon(tracker.handle, "on_dialin_connected", {"sessionId": "d1"})
        loop.call_soon(tracker.handle, "on_dialout_answered", {"sessionId": "s1"})
        loop.call_soon(tracker.handle, "on_dialout_stopped", {"sessionId": "s1"})
        assert await calls.wait_for(session, state="answered", timeout=1) is session
        assert await calls.wait_for(session, state=["error", "stopped"], outcome="completed", timeout=1) is session
        assert session.outcome is Outcome.COMPLETED
        assert entered == ["dialout connected", "dialin connected"]  # "connected" names both kinds' state

    asyncio.run(main())


def test_wait_for_with_inputs_applied_on_another_thread() -> None:
    async def main() -> None:
        locked = LockedTracker()
        calls = AsyncTracker(locked.tracker)
        locked.handle("on_dialin_connected", {"sessionId": "d1"})
        session = locked.tracker["d1"]

        def engine() -> None:
            locked.handle("on_participant_joined", {"id": "d1"})
            locked.handle("on_dialin_stopped", {"sessionId": "d1"})

        threading.Thread(target=engine).start()
        await calls.wait_for(session, state=DialinState.JOINED, timeout=2)
        await calls.wait_for(session, outcome=Outcome.COMPLETED, timeout=2)

    asyncio.run(main())


def test_transitions_iterator_yields_every_step_and_ends_with_the_session() -> None:
    async def main() -> list[tuple[str, str]]:
        calls = AsyncTracker()
        session = calls.tracker.start_dialout(PHONE)
        seen: list[tuple[str, str]] = []

        async def consume() -> None:
            async for step in calls.transitions(session):
                assert step.source is not None
                assert step.dest is not None
                seen.append((step.source.value, step.dest.value))
                await asyncio.sleep(0.001)  # a slow consumer misses nothing

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0)
        tracker = calls.tracker
        tracker.start_completed(session, session_id="s1")
        tracker.handle("on_dialout_connected", {"sessionId": "s1"})
        tracker.handle("on_dialout_warning", {"sessionId": "s1", "message": "codec"})  # recorded, not a move
        tracker.handle("on_dialout_answered", {"sessionId": "s1"})
        tracker.handle("on_dialout_stopped", {"sessionId": "s1"})
        tracker.handle("on_dialout_stopped", {"sessionId": "s1"})  # late: after the end
        await asyncio.wait_for(task, 1)
        return seen

    assert asyncio.run(main()) == [("connecting", "connected"), ("connected", "answered"), ("answered", "stopped")]


def test_transitions_every_and_close() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        async with calls.transitions(every=True) as stream:
            calls.tracker.handle("on_dialin_connected", {"sessionId": "d1"})
            calls.tracker.handle("on_dtmf_event", {"sessionId": "d1", "tone": "5"})
            first = await stream.__anext__()
            second = await stream.__anext__()
            assert (first.name, second.name) == ("dialin-connected", "dtmf-event")
            stream.close()
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()
        session = calls.tracker["d1"]
        calls.tracker.handle("on_dialin_stopped", {"sessionId": "d1"})
        assert [step async for step in calls.transitions(session)] == []  # already ended

    asyncio.run(main())


def test_on_enter_sync_and_async_callbacks_after_the_transition() -> None:
    async def main() -> None:
        calls = AsyncTracker()
        seen: list[str] = []
        done = asyncio.Event()

        def on_joined(step: JournalEntry) -> None:
            assert step.session is not None
            seen.append(f"sync {step.session.session_id} {step.session.state.value}")

        async def on_stopped(step: JournalEntry) -> None:
            await asyncio.sleep(0)
            seen.append("async stopped")
            done.set()

        def broken(step: JournalEntry) -> None:
            raise RuntimeError("bot bug")

        calls.on_enter(DialinState.JOINED, on_joined)
        calls.on_enter(DialinState.STOPPED, on_stopped)
        unsubscribe = calls.on_enter([DialinState.CONNECTED], broken)
        calls.tracker.handle("on_dialin_connected", {"sessionId": "d1"})
        unsubscribe()
        unsubscribe()  # idempotent
        calls.tracker.handle("on_dialin_connected", {"sessionId": "d2"})
        calls.tracker.handle("on_participant_joined", {"id": "d1"})
        calls.tracker.handle("on_participant_joined", {"id": "d1"})  # duplicate: no second call
        calls.tracker.handle("on_dialin_stopped", {"sessionId": "d1"})
        await asyncio.wait_for(done.wait(), 1)
        assert seen == ["sync d1 joined", "async stopped"]
        assert len(calls.callback_errors) == 1

    asyncio.run(main())


def test_on_enter_for_one_session_from_another_thread() -> None:
    async def main() -> None:
        locked = LockedTracker()
        calls = AsyncTracker(locked.tracker)
        locked.handle("on_dialin_connected", {"sessionId": "d1"})
        locked.handle("on_dialin_connected", {"sessionId": "d2"})
        entered = asyncio.Event()
        threads: list[str] = []

        def on_joined(step: JournalEntry) -> None:
            threads.append(threading.current_thread().name)
            entered.set()

        calls.on_enter(DialinState.JOINED, on_joined, session=locked.tracker["d2"])
        worker = threading.Thread(
            target=lambda: [locked.handle("on_participant_joined", {"id": sid}) for sid in ("d1", "d2")],
            name="engine",
        )
        worker.start()
        await asyncio.wait_for(entered.wait(), 1)
        worker.join()
        assert threads == [threading.current_thread().name]  # run on the loop, once

    asyncio.run(main())


def test_session_ended_message_names_what_was_awaited() -> None:
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, error="x")
    exc = SessionEnded(session, states=frozenset({DialoutState.ANSWERED}))
    assert "answered" in str(exc)
    assert "#0" in str(exc)


def test_session_ended_survives_pickling() -> None:
    """Exceptions cross process boundaries (multiprocessing, test runners): this one comes back whole."""
    import pickle

    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, error="x")
    exc = SessionEnded(session, states=frozenset({DialoutState.ANSWERED}), outcomes=frozenset({Outcome.COMPLETED}))
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is SessionEnded
    assert str(back) == str(exc)
    assert (back.session.state, back.session.outcome) == (session.state, session.outcome)
    assert (back.states, back.outcomes) == (exc.states, exc.outcomes)


def test_run_timers_fires_the_ring_timeout_and_hands_over_the_effect() -> None:
    """With run_timers on the loop, a call that rings too long is stopped without any further input."""
    from dialfsm import StopCall, Timeouts

    async def main() -> tuple[str, list[object]]:
        loop = asyncio.get_running_loop()
        tracker = CallTracker(timeouts=Timeouts(ring=0.05, stop=0.05))
        calls = AsyncTracker(tracker)
        effects: list[object] = []
        runner = asyncio.create_task(calls.run_timers(clock=loop.time, on_effect=effects.append))
        session = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=loop.time())
        tracker.handle("dialout-connected", {"sessionId": "s1"}, t=loop.time())
        await calls.wait_for(session, outcome=Outcome.NOT_ANSWERED, timeout=2)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        return session.state.value, effects

    state, effects = asyncio.run(main())
    assert state == "stopped"
    assert len(effects) == 1
    assert isinstance(effects[0], StopCall)
    assert effects[0].reason == "ring_timeout"


def test_an_effect_handler_still_waiting_holds_up_no_timer_and_is_cancelled_with_run_timers() -> None:
    """A coroutine on_effect runs as its own task: a retry waiting for its time does not delay the next effect."""
    from dialfsm import RetryDialout, RetryPolicy, StopCall, Timeouts

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tracker = CallTracker(max_dialouts=2, timeouts=Timeouts(ring=0.05), retry=RetryPolicy(base_delay=3600.0))
        calls = AsyncTracker(tracker)
        seen: list[object] = []
        waiting: list[asyncio.Task[object]] = []

        async def on_effect(effect: object) -> None:
            seen.append(effect)
            if isinstance(effect, RetryDialout):
                waiting.append(asyncio.current_task())  # type: ignore[arg-type]
                await asyncio.sleep(effect.seconds_until_due(loop.time()))  # an hour
            else:
                raise RuntimeError("the stop failed")

        runner = asyncio.create_task(calls.run_timers(clock=loop.time, on_effect=on_effect))
        failed = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=loop.time())
        tracker.start_completed(failed, None, "start_dialout timed out", t=loop.time())  # a retry, due in an hour
        ringing = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=loop.time())
        tracker.start_completed(ringing, session_id="s2", t=loop.time())
        tracker.handle("dialout-connected", {"sessionId": "s2"}, t=loop.time())
        await calls.wait_for(ringing, state=DialoutState.STOPPING, timeout=2)  # the ring timeout, 50 ms later
        for _ in range(5):
            await asyncio.sleep(0)
        assert [type(e) for e in seen] == [RetryDialout, StopCall]  # the stop was handed over at once
        assert [str(e) for e in calls.callback_errors] == ["the stop failed"]
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await asyncio.sleep(0)
        assert waiting[0].cancelled()

    asyncio.run(main())


def test_cancelling_run_timers_leaves_the_bots_own_futures_alone() -> None:
    from dialfsm import Timeouts

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tracker = CallTracker(timeouts=Timeouts(ring=0.01))
        calls = AsyncTracker(tracker)
        mine: asyncio.Future[None] = loop.create_future()
        runner = asyncio.create_task(calls.run_timers(clock=loop.time, on_effect=lambda effect: mine))
        session = tracker.start_dialout(PHONE, t=loop.time())
        tracker.start_completed(session, session_id="s1", t=loop.time())
        tracker.handle("dialout-connected", {"sessionId": "s1"}, t=loop.time())
        await calls.wait_for(session, state=DialoutState.STOPPING, timeout=2)
        for _ in range(5):
            await asyncio.sleep(0)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await asyncio.sleep(0)
        assert not mine.cancelled()  # the bot's future is the bot's to cancel

    asyncio.run(main())
