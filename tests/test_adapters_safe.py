"""Safe by default: the adapters' own timers and effects, their tasks, and what they tell a bot that goes wrong.

pipecat tests run the real ``DailyTransport`` with :class:`dialfsm.scripted.ScriptedDaily`
as its network; daily-python tests the real ``daily.CallClient`` wrapped the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import logging
import threading
import time
from typing import Any

import pytest
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.daily.transport import DailyTransport

from dialfsm import (
    CallTracker,
    DialoutState,
    ErrorCode,
    Origin,
    Outcome,
    RetryDialout,
    RetryPolicy,
    StopCall,
    Timeouts,
)
from dialfsm.aio import AsyncTracker
from dialfsm.daily import DailyCalls
from dialfsm.pipecat import CHECKED_ON, TRANSPORT_EVENTS, PipecatCalls, track_transport
from dialfsm.scripted import ScriptedDaily
from dialfsm.threads import LockedTracker, LoopHandoff
from tests.sdk import init_daily
from tests.test_pipecat_bot import PHONE, SID, SID2, _ours, _run_pipeline, _transport

ANY_ERROR = RetryPolicy(base_delay=0.2, jitter=0.0, seed=1, retry_on=frozenset(ErrorCode))
NO_WORKER = "Dialout(NoWorkerForRoom)"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dialfsm" and r.levelno == logging.WARNING]


def _withdrawn(tracker: CallTracker) -> list[tuple[str, str | None]]:
    return [(e.name, e.message) for e in tracker.journal if e.name.endswith("withdrawn")]


# --- retries (point 2) -----------------------------------------------------------------------------------------


def test_a_failed_start_is_retried_by_the_adapter_when_due() -> None:
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": None, "error": NO_WORKER},
        {"call": "start_dialout"},  # the adapter's retry, 0.2 s later
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport, CallTracker(retry=ANY_ERROR))

        async def on_joined(transport: DailyTransport, data: object) -> None:
            await transport.start_dialout(PHONE)  # pipecat's own call: the adapter retries it all the same

        transport.add_event_handler("on_joined", on_joined)
        await _run_pipeline(transport, calls, done=lambda step: step.session is not None and step.session.attempt == 2)
        first, second = calls.tracker.sessions
        assert (first.outcome, first.error) == (Outcome.REJECTED, NO_WORKER)
        assert (second.attempt, second.previous, second.outcome) == (2, first, Outcome.COMPLETED)
        assert [name for name, _ in daily.made] == ["start_dialout", "start_dialout"]
        assert calls.tracker.queued_effects == ()
        assert not calls.errors
        await asyncio.sleep(0)
        assert _ours() == []

    asyncio.run(main())


def test_a_retry_the_guards_refuse_is_journaled_and_logged_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    """The bot redials by itself during the back-off: the adapter's retry meets DIALOUT_IN_PROGRESS."""
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": None, "error": NO_WORKER},
        {"call": "start_dialout"},  # the bot's own redial
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"sleep": 0.5},  # the adapter's retry comes due now, and is refused
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport, CallTracker(retry=ANY_ERROR))

        async def on_joined(transport: DailyTransport, data: object) -> None:
            _, error = await transport.start_dialout(PHONE)
            if error:  # pipecat's examples retry a failed start themselves
                await transport.start_dialout(PHONE)

        transport.add_event_handler("on_joined", on_joined)
        await _run_pipeline(transport, calls, done=lambda step: step.dest is DialoutState.STOPPED)
        assert [name for name, _ in daily.made] == ["start_dialout", "start_dialout"]  # no third call
        ((name, message),) = _withdrawn(calls.tracker)
        assert name == "retry withdrawn"
        assert message is not None
        assert message.startswith("retry refused: DIALOUT_IN_PROGRESS")
        assert [e.code for e in calls.tracker.refusals] == ["DIALOUT_IN_PROGRESS"]
        failed = calls.tracker.sessions[0]
        assert (failed.outcome, failed.retry_pending, failed.next_attempt) == (Outcome.REJECTED, False, None)
        assert any("RetryDialout(attempt 2)" in w and "DIALOUT_IN_PROGRESS" in w for w in _warnings(caplog))
        assert not calls.errors

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())


def test_leaving_withdraws_a_retry_waiting_for_its_time_and_leaves_nothing_running() -> None:
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": None, "error": NO_WORKER},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        policy = RetryPolicy(base_delay=30.0, jitter=0.0, retry_on=frozenset(ErrorCode))
        calls = track_transport(transport, CallTracker(retry=policy))
        waiting: list[int] = []

        async def setup(worker: Any) -> None:
            async def on_joined(transport: DailyTransport, data: object) -> None:
                await transport.start_dialout(PHONE)
                await asyncio.sleep(0.05)
                waiting.append(len(calls.tasks))  # the retry, sleeping out its back-off
                from pipecat.frames.frames import EndFrame

                await worker.queue_frame(EndFrame())  # the bot leaves

            transport.add_event_handler("on_joined", on_joined)

        await _run_pipeline(transport, calls, setup, done=lambda step: False)
        await asyncio.sleep(0)
        assert waiting == [1]
        assert _withdrawn(calls.tracker) == [("retry withdrawn", "the bot left the room")]
        assert [name for name, _ in daily.made] == ["start_dialout"]
        assert calls.tasks == ()
        assert _ours() == []

    asyncio.run(main())


# --- which calls the adapter acts on ---------------------------------------------------------------------------


def test_effects_for_calls_this_bot_did_not_place_are_withdrawn() -> None:
    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport)
        dialin = calls.tracker.handle("dialin-connected", {"sessionId": "d1"}).session
        assert dialin is not None
        stop = StopCall(session=dialin, session_id="d1", reason="ring_timeout")
        assert await calls.perform(stop) is None
        assert _withdrawn(calls.tracker) == [("stop withdrawn", "not a call this bot placed (origin caller)")]
        with pytest.raises(TypeError):
            await calls.perform("hang up")  # type: ignore[arg-type]
        await calls.aclose()

    asyncio.run(main())


# --- the tasks: detaching, leaving, shutting down ------------------------------------------------------------


def test_the_timers_task_runs_only_while_a_timer_is_armed_and_detaching_ends_it() -> None:
    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport)
        assert not calls.timers_running
        calls.tracker.handle("dialin-connected", {"sessionId": "d1"}, t=time.monotonic())  # arms no dial-out timer
        await asyncio.sleep(0)
        session = calls.tracker.start_dialout(PHONE, t=time.monotonic())  # the start watchdog (20 s)
        assert session.deadline is not None
        await asyncio.sleep(0)
        assert calls.timers_running
        client = transport._client
        assert "start_dialout" in vars(client)  # the transport's own calls are wrapped on the instance
        await calls.aclose()
        assert not calls.timers_running
        assert calls.tasks == ()
        assert _ours() == []
        assert not any(name in vars(client) for name in ("start_dialout", "send_dtmf", "sip_call_transfer"))
        assert all(not transport._event_handlers[e].handlers for e in TRANSPORT_EVENTS)
        calls.detach()  # idempotent
        await client.cleanup()

    asyncio.run(main())


def test_the_timers_task_ends_by_itself_when_the_calls_end() -> None:
    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport, CallTracker(timeouts=Timeouts(start=0.05)))
        calls.tracker.start_dialout(PHONE, t=time.monotonic())
        await asyncio.sleep(0)
        assert calls.timers_running
        await asyncio.sleep(0.3)  # the start watchdog fires: the dial-out ends, no timer is left
        (session,) = calls.tracker.sessions
        assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.REJECTED)
        assert not calls.timers_running
        assert _ours() == []
        await calls.aclose()
        await transport._client.cleanup()

    asyncio.run(main())


def test_shutting_down_with_the_adapter_still_running_leaves_nothing_pending(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio.run ends while a timer is armed and a retry sleeps: both end cleanly, no task is destroyed pending."""
    box: list[PipecatCalls] = []

    async def main() -> None:
        transport, _ = _transport([])
        policy = RetryPolicy(base_delay=30.0, retry_on=frozenset(ErrorCode))
        calls = track_transport(transport, CallTracker(retry=policy))
        box.append(calls)
        failed = calls.tracker.start_dialout(PHONE, t=time.monotonic())
        calls.tracker.start_completed(failed, None, NO_WORKER, t=time.monotonic())  # a retry in 30 s
        calls.tracker.start_dialout(PHONE, t=time.monotonic())  # and a start watchdog
        await asyncio.sleep(0.05)
        assert len(calls.tasks) == 2
        await transport._client.cleanup()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(main())
        gc.collect()
    (calls,) = box
    assert calls.tasks == ()
    assert _withdrawn(calls.tracker) == [
        ("retry withdrawn", "cancelled: the event loop shut down before it was carried out")
    ]
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or "destroyed" in r.getMessage()]
    assert problems == []


# --- telling a bot that goes wrong (point 6), and the fragile coupling (point 4) --------------------------------


def test_the_first_unknown_dialout_is_logged_once_with_a_hint(caplog: pytest.LogCaptureFixture) -> None:
    script: list[dict[str, Any]] = [
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"event": "on_dialout_connected", "data": {"sessionId": SID2}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport)
        await _run_events(transport, daily)
        assert [e.code for e in calls.tracker.anomalies].count("UNKNOWN_SESSION") == 3
        await calls.aclose()

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())
    (warning,) = [w for w in _warnings(caplog) if "did not start through dialfsm" in w]
    assert "dialout-connected" in warning
    assert "Wire dialfsm before the first start_dialout" in warning


async def _run_events(transport: DailyTransport, daily: ScriptedDaily) -> None:
    """Join the scripted room (pipecat's real join), let the script play, leave."""
    from pipecat.clocks.system_clock import SystemClock
    from pipecat.processors.frame_processor import FrameProcessorSetup
    from pipecat.utils.asyncio.task_manager import TaskManager

    client = transport._client
    loop = asyncio.get_running_loop()
    setup = FrameProcessorSetup(clock=SystemClock(), task_manager=TaskManager(loop=loop), pipeline_worker=None)
    await client.setup(setup)
    await client.join()
    await asyncio.to_thread(daily.wait, 10)
    await client._event_queue.join()
    for _ in range(5):
        await asyncio.sleep(0)
    pending = [task for _, task in transport._event_tasks]
    if pending:
        await asyncio.wait(pending)
    await client.leave()
    await client.cleanup()


def test_effects_left_waiting_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"sleep": 0.6},  # the ring timeout (0.1 s) fires; nobody takes the StopCall
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        tracker = CallTracker(timeouts=Timeouts(ring=0.1, stop=5.0))
        calls = track_transport(transport, tracker, perform_effects=False, warn_after=0.2)

        async def on_joined(transport: DailyTransport, data: object) -> None:
            await calls.start_dialout(PHONE)

        transport.add_event_handler("on_joined", on_joined)
        await _run_events(transport, daily)
        (session,) = tracker.sessions
        assert session.states[-2:] == (DialoutState.STOPPING, DialoutState.STOPPED)
        assert [name for name, _ in daily.made] == ["start_dialout"]  # the adapter did not stop it
        await calls.aclose()

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())
    waited = [w for w in _warnings(caplog) if "nobody carried it out" in w]
    assert len(waited) == 1
    assert waited[0].startswith(f"dialfsm: StopCall(ring_timeout) for dial-out {SID} has waited")


def test_reordering_pipecats_handlers_is_checked_on_this_pipecat_version(caplog: pytest.LogCaptureFixture) -> None:
    """The private ``_event_handlers`` coupling was checked on pipecat-ai 1.14.0: pinned here."""
    assert importlib.metadata.version("pipecat-ai") == CHECKED_ON == "1.14.0"

    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport)
        for event in TRANSPORT_EVENTS:
            assert transport._event_handlers[event].handlers[0].__name__ == f"dialfsm_{event}"
        await calls.aclose()
        await transport._client.cleanup()

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())
    assert _warnings(caplog) == []


def test_a_transport_that_keeps_handlers_differently_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    class OtherTransport:  # a future pipecat: handlers kept elsewhere, no DailyTransportClient
        def __init__(self) -> None:
            self.handlers: dict[str, list[object]] = {}

        def add_event_handler(self, event: str, handler: object) -> None:
            self.handlers.setdefault(event, []).append(handler)

        def remove_event_handler(self, event: str, handler: object) -> None:
            self.handlers[event].remove(handler)

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        calls = track_transport(OtherTransport(), clock=None)
        calls.detach()
    first, client = _warnings(caplog)
    assert "could not put its handlers first for on_dialout_connected" in first
    assert "differently from 1.14.0, where this was checked" in first
    assert "calls made on the transport directly or through frames are not tracked" in client


def test_tracking_a_transport_twice_is_refused() -> None:
    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport)
        with pytest.raises(ValueError, match="already tracked"):
            track_transport(transport)
        await calls.aclose()
        again = track_transport(transport)  # once detached, it can be tracked again
        await again.aclose()
        await transport._client.cleanup()

    asyncio.run(main())


# --- daily-python: the timers thread or task (point 3) -------------------------------------------------------


NO_ANSWER: list[dict[str, Any]] = [
    {"call": "start_dialout"},
    {"completion": "start_dialout", "session_id": SID, "error": None},
    {"event": "on_dialout_connected", "data": {"sessionId": SID}},
    {"call": "stop_dialout"},  # the adapter's, at the ring timeout
    {"completion": "stop_dialout", "error": None},
    {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
]


def test_daily_calls_without_a_loop_hang_up_from_their_own_thread_under_the_lock() -> None:
    init_daily()
    locked = LockedTracker(CallTracker(timeouts=Timeouts(ring=0.2)))
    calls = DailyCalls(locked)
    daily = ScriptedDaily(NO_ANSWER)
    client = daily.wrap(calls.create_client(), calls.event_handler)
    calls.client = client
    applied_under_lock: list[bool] = []

    def listener(entry: object) -> None:
        applied_under_lock.append(locked.lock._is_owned())  # type: ignore[union-attr]

    calls.tracker.add_entry_listener(listener)
    try:
        client.join("https://dialfsm-test.daily.co/room")
        session = calls.start_dialout(PHONE)
        assert daily.wait(10)
        deadline = time.monotonic() + 5
        while not session.is_terminal and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.outcome is Outcome.NOT_ANSWERED
        assert daily.made == [("start_dialout", PHONE), ("stop_dialout", SID)]
        assert all(applied_under_lock)  # the timers thread advanced the tracker under the feed's lock
        assert "ring_timeout" in [e.name for e in calls.tracker.journal]
        assert daily.failure is None
        assert not calls.errors
    finally:
        calls.close()
        client.release()
    assert not calls.timers_running
    assert not [t for t in threading.enumerate() if t.name == "dialfsm-timers"]


def test_daily_calls_on_a_loop_hang_up_from_a_task_on_it() -> None:
    async def main() -> None:
        init_daily()
        calls = DailyCalls(CallTracker(timeouts=Timeouts(ring=0.2)), loop=asyncio.get_running_loop())
        daily = ScriptedDaily(NO_ANSWER)
        client = calls.client = daily.wrap(calls.create_client(), calls.event_handler)
        client.join("https://dialfsm-test.daily.co/room")
        session = calls.start_dialout(PHONE)
        await calls.wait_for(session, outcome="not_answered", timeout=10)
        assert daily.made == [("start_dialout", PHONE), ("stop_dialout", SID)]
        assert not calls.errors
        await calls.aclose()
        assert _ours() == []
        client.release()

    asyncio.run(main())


def test_run_timers_takes_a_locked_trackers_lock_and_refuses_another_loop() -> None:
    locked = LockedTracker(CallTracker(timeouts=Timeouts(start=0.05)))
    session = locked.start_dialout(PHONE, t=time.monotonic())
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with locked.lock:
            held.set()
            release.wait(5)

    async def main() -> None:
        timers = asyncio.create_task(AsyncTracker(locked.tracker).run_timers())
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        await asyncio.sleep(0.2)  # the watchdog is due, but the engine holds the lock
        held_back = session.state
        release.set()
        await asyncio.to_thread(holder.join)
        for _ in range(100):
            if session.is_terminal:
                break
            await asyncio.sleep(0.01)
        assert (held_back, session.state) == (DialoutState.CONNECTING, DialoutState.ERROR)
        timers.cancel()
        with pytest.raises(asyncio.CancelledError):
            await timers

    asyncio.run(main())

    other = asyncio.new_event_loop()
    try:
        handoff = LoopHandoff(CallTracker(), loop=other)

        async def elsewhere() -> None:
            with pytest.raises(RuntimeError, match="another event loop"):
                await AsyncTracker(handoff.tracker).run_timers()

        asyncio.run(elsewhere())
    finally:
        other.close()


def test_a_daily_retry_refused_is_journaled(caplog: pytest.LogCaptureFixture) -> None:
    """daily-python's timers thread carries out a due retry with _perform_now; a refusal is journaled, not raised."""
    init_daily()
    calls = DailyCalls(CallTracker(retry=ANY_ERROR), clock=None, perform_effects=False)
    calls.close()  # this test carries out the effect by hand, as the timers thread would
    calls.client = ScriptedDaily([]).wrap(calls.create_client(), calls.event_handler)
    try:
        failed = calls.tracker.start_dialout(PHONE)
        calls.tracker.start_completed(failed, None, NO_WORKER)
        (retry,) = calls.tracker.take_effects()
        assert isinstance(retry, RetryDialout)
        calls.tracker.start_dialout(PHONE)  # the slot is taken meanwhile
        with caplog.at_level(logging.WARNING, logger="dialfsm"):
            calls._perform_now(retry)
        ((name, message),) = _withdrawn(calls.tracker)
        assert name == "retry withdrawn"
        assert message is not None
        assert message.startswith("retry refused: DIALOUT_IN_PROGRESS")
        assert any("RetryDialout(attempt 2)" in w and "not placed" in w for w in _warnings(caplog))
        assert not calls.errors
    finally:
        calls.client.release()


def test_daily_calls_on_a_loop_withdraw_a_waiting_retry_when_the_engine_reports_leaving() -> None:
    """daily-python reports leaving on its engine thread; the retry task on the loop is cancelled there."""
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": None, "error": NO_WORKER},
        {"sleep": 0.1},
        {"event": "on_call_state_updated", "data": "left"},
    ]

    async def main() -> None:
        init_daily()
        policy = RetryPolicy(base_delay=30.0, retry_on=frozenset(ErrorCode))
        calls = DailyCalls(CallTracker(retry=policy), loop=asyncio.get_running_loop())
        daily = ScriptedDaily(script)
        client = calls.client = daily.wrap(calls.create_client(), calls.event_handler)
        client.join("https://dialfsm-test.daily.co/room")
        calls.start_dialout(PHONE)
        assert await asyncio.to_thread(daily.wait, 10)
        for _ in range(100):
            if _withdrawn(calls.tracker):
                break
            await asyncio.sleep(0.01)
        assert _withdrawn(calls.tracker) == [("retry withdrawn", "the bot left the room")]
        await asyncio.sleep(0)
        assert _ours() == []
        assert not calls.errors
        await calls.aclose()
        client.release()

    asyncio.run(main())


def test_an_adopted_dialout_is_never_stopped_or_redialled_and_is_hinted_once(caplog: pytest.LogCaptureFixture) -> None:
    """A dial-out started elsewhere (adopted): no timers run for it, and a stop aimed at it is withdrawn."""

    async def main() -> None:
        transport, _ = _transport([])
        calls = track_transport(transport, CallTracker(adopt_unknown_dialouts="always"))
        session = calls.tracker.handle("on_dialout_connected", {"sessionId": SID}, t=time.monotonic()).session
        assert session is not None
        assert session.origin is Origin.ADOPTED
        assert session.deadline is None
        await asyncio.sleep(0)
        assert not calls.timers_running  # nothing to fire for it
        stop = StopCall(session=session, session_id=SID, reason="ring_timeout")
        assert await calls.perform(stop) is None
        assert _withdrawn(calls.tracker) == [("stop withdrawn", "not a call this bot placed (origin adopted)")]
        calls.tracker.handle("on_dialout_answered", {"sessionId": SID})
        await calls.aclose()
        await transport._client.cleanup()

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())
    (hint,) = [w for w in _warnings(caplog) if "did not start through dialfsm" in w]
    assert "adopt_unknown_dialouts" in hint


def test_a_start_completed_after_its_watchdog_is_hung_up_by_the_adapter() -> None:
    """The start watchdog gave up; Daily then returns an id: the call may ring, so the adapter stops it."""
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"sleep": 0.4},  # the watchdog (0.1 s) fires first
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"call": "stop_dialout"},  # the adapter's, for a session that has ended
        {"completion": "stop_dialout", "error": None},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport, CallTracker(timeouts=Timeouts(start=0.1)))

        async def on_joined(transport: DailyTransport, data: object) -> None:
            await calls.start_dialout(PHONE)

        transport.add_event_handler("on_joined", on_joined)
        await _run_events(transport, daily)
        assert daily.made == [("start_dialout", PHONE), ("stop_dialout", SID)]
        assert daily.failure is None
        (session,) = calls.tracker.sessions
        assert (session.state, session.session_id) == (DialoutState.ERROR, SID)
        assert "stop_dialout.ok" in [e.name for e in calls.tracker.journal]
        assert calls.tracker.queued_effects == ()
        await calls.aclose()

    asyncio.run(main())


# --- a bot restarted from a snapshot (review D4) -----------------------------------------------------------------


def test_a_new_adapter_on_a_restored_tracker_never_reuses_a_waiting_calls_name() -> None:
    """The previous process's direct start still waits; the new adapter's own start pairs with its own completion."""
    before = CallTracker(max_dialouts=2)
    script: list[dict[str, Any]] = [{"call": "start_dialout"}]
    saved: list[dict[str, Any]] = []

    async def crashed() -> None:  # the old bot: its direct start is observed, and it dies before the completion
        transport, _ = _transport(script)
        calls = track_transport(transport, before)

        workers: list[PipelineWorker] = []
        started: list[asyncio.Task[Any]] = []

        async def on_joined(transport: DailyTransport, data: object) -> None:
            started.append(asyncio.create_task(transport.start_dialout({"phoneNumber": "+15550001111"})))
            while not before.sessions:
                await asyncio.sleep(0.01)
            saved.append(before.snapshot())  # what the bot saved last before its process died
            await workers[0].queue_frame(EndFrame())

        async def keep(worker: PipelineWorker) -> None:
            workers.append(worker)

        transport.add_event_handler("on_joined", on_joined)
        await _run_pipeline(transport, calls, keep)
        started[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await started[0]

    asyncio.run(crashed())
    tracker = CallTracker.restore(saved[0])
    assert tracker.sessions[0].state is DialoutState.CONNECTING  # its completion never came
    script = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def restarted() -> None:
        transport, _ = _transport(script)
        calls = track_transport(transport, tracker)

        async def on_joined(transport: DailyTransport, data: object) -> None:
            await transport.start_dialout(PHONE)

        transport.add_event_handler("on_joined", on_joined)
        await _run_pipeline(transport, calls, done=lambda step: tracker.sessions[-1].is_terminal)

    asyncio.run(restarted())
    new = tracker.sessions[-1]
    assert (new.session_id, new.outcome) == (SID, Outcome.COMPLETED)
    assert tracker.sessions[0].session_id is None
    assert [e.code for e in tracker.anomalies] == []
