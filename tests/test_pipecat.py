"""The pipecat adapter, on a real ``DailyTransport`` (never joined; only the network is absent).

Events enter where daily-python's engine would call them: the transport's own
``DailyTransportClient.on_*`` methods, called from another thread.  From there
pipecat's real machinery runs: its event queue, its consumer task (released
by ``_joined_event``, which a successful ``join()`` would set), and
``_call_event_handler``, which starts one task per registered handler.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pipecat.clocks.system_clock import SystemClock
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.transports.daily.transport import DailyTransport
from pipecat.utils.asyncio.task_manager import TaskManager

from dialfsm import CallRefused, CallTracker, DialinState, DialoutState, Outcome, RetryDialout, RetryPolicy, StopCall
from dialfsm.aio import AsyncTracker
from dialfsm.daily import TELEPHONY_CALLBACKS
from dialfsm.pipecat import TRANSPORT_EVENTS, track_transport
from tests.sdk import init_daily

SID = "5c7f0d2e-0000-4000-8000-000000000001"
DIALIN = "5c7f0d2e-0000-4000-8000-0000000000d1"
PHONE = {"phoneNumber": "+15551234567"}


async def _transport() -> DailyTransport:
    init_daily()
    transport = DailyTransport("https://dialfsm-test.daily.co/room", None, "bot")
    task_manager = TaskManager(loop=asyncio.get_running_loop())
    await transport._client.setup(
        FrameProcessorSetup(clock=SystemClock(), task_manager=task_manager, pipeline_worker=None)
    )
    transport._client._joined_event.set()  # what a successful join() does
    return transport


async def _engine(*calls: tuple[Any, ...]) -> None:
    """Call the transport client's daily-python callbacks from a non-loop thread, as the engine does."""

    def run() -> None:
        for method, *args in calls:
            method(*args)

    thread = threading.Thread(target=run, name="daily-engine")
    thread.start()
    await asyncio.to_thread(thread.join)


async def _settle(transport: DailyTransport) -> None:
    """Wait until pipecat's queue is drained and every handler task it started has finished."""
    await transport._client._event_queue.join()
    for _ in range(5):
        await asyncio.sleep(0)
    tasks = [task for _, task in transport._event_tasks]
    if tasks:
        await asyncio.wait(tasks)


@pytest.fixture
def run() -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def test_every_telephony_event_pipecat_registers_is_tracked(run: Any) -> None:
    async def main() -> None:
        transport = await _transport()
        registered = set(transport._event_handlers)
        telephony = {name for name in registered if name.startswith(("on_dialin", "on_dialout", "on_dtmf"))}
        assert telephony == set(TELEPHONY_CALLBACKS)  # the same eleven as daily-python's
        assert set(TRANSPORT_EVENTS) <= registered
        calls = track_transport(transport)
        for event in TRANSPORT_EVENTS:
            assert transport._event_handlers[event].handlers[0].__name__ == f"dialfsm_{event}"
        calls.detach()
        assert all(not transport._event_handlers[event].handlers for event in TRANSPORT_EVENTS)
        await transport._client.cleanup()

    run(main())


def test_events_through_pipecats_machinery_and_handler_interleaving(run: Any) -> None:
    async def main() -> None:
        transport = await _transport()
        seen: list[tuple[str, str]] = []

        # The bot's handlers, registered *before* wiring, async, each yielding to the loop.
        async def on_connected(transport: object, data: dict[str, Any]) -> None:
            seen.append(("connected", calls.tracker[data["sessionId"]].state.value))
            await asyncio.sleep(0)

        async def on_joined(transport: object, participant: dict[str, Any]) -> None:
            seen.append(("joined", calls.tracker[participant["id"]].state.value))

        transport.add_event_handler("on_dialin_connected", on_connected)
        transport.add_event_handler("on_participant_joined", on_joined)

        tracker = CallTracker()
        calls = track_transport(transport, tracker)
        client = transport._client
        await _engine(
            (client.on_dialin_ready, "sip:room@sip.daily.co"),
            (client.on_dialin_ready, "sip:room@sip.daily.co"),  # once per endpoint: a duplicate
            (client.on_dialin_connected, {"sessionId": DIALIN, "sipFrom": "+15550000001"}),
            (client.on_participant_joined, {"id": DIALIN, "info": {"userName": "+1555"}}),
            (client.on_dtmf_event, {"sessionId": DIALIN, "tone": "5", "method": "telephone-event"}),
            (client.on_dialin_warning, {"sessionId": DIALIN, "message": "codec"}),
            (client.on_participant_left, {"id": DIALIN}, "hungUp"),
            (client.on_dialin_stopped, {"sessionId": DIALIN}),
            (client.on_dialin_error, {"sessionId": DIALIN, "message": "late"}),
            (client.on_call_state_updated, "left"),
        )
        await _settle(transport)
        session = tracker[DIALIN]
        assert session.states == (DialinState.IDLE, DialinState.CONNECTED, DialinState.JOINED, DialinState.STOPPED)
        assert session.dtmf == ("5",)
        assert session.warnings == ("codec",)
        assert [e.code for e in tracker.anomalies] == ["DUPLICATE_EVENT", "LATE_EVENT"]
        assert tracker.inputs_read == 10
        # Each bot handler saw the state its event produced, though it was registered first.
        assert seen == [("connected", "connected"), ("joined", "joined")]
        assert not calls.errors
        await transport._client.cleanup()

    run(main())


def test_dialout_events_and_the_leave_events(run: Any) -> None:
    async def main() -> None:
        transport = await _transport()
        calls = track_transport(transport, CallTracker())
        session = calls.tracker.start_dialout(PHONE)  # the start itself is tested below
        calls.tracker.start_completed(session, session_id=SID)
        client = transport._client
        await _engine(
            (client.on_dialout_connected, {"sessionId": SID}),
            (client.on_dialout_warning, {"sessionId": SID, "message": "codec"}),
            (client.on_dialout_answered, {"sessionId": SID}),
        )
        await _settle(transport)
        assert session.state is DialoutState.ANSWERED
        await transport._on_left()  # what pipecat calls at the end of leave()
        await _engine((client.on_call_state_updated, "left"))  # and the engine's own report: journaled only
        await _settle(transport)
        assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.ABANDONED)
        assert [e.disposition.value for e in calls.tracker.journal[-2:]] == ["transition", "journaled"]
        await _engine((client.on_dialout_error, {"message": "Dialout(Properties(UnknownCallClientError))"}))
        await _settle(transport)
        assert calls.tracker.anomalies[-1].code == "UNKNOWN_SESSION"
        await transport._client.cleanup()

    run(main())


def test_start_dialout_reports_the_error_pipecat_only_logs(run: Any) -> None:
    """The real transport, not joined: daily-python's engine rejects the start; pipecat fires no on_dialout_error."""

    async def main() -> None:
        transport = await _transport()
        errors: list[object] = []
        transport.add_event_handler("on_dialout_error", lambda t, data: errors.append(data))
        calls = track_transport(transport, CallTracker())
        session = await calls.start_dialout(PHONE)
        assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.REJECTED)
        assert session.error == "Dialout(CallState(NotInACall))"
        await _settle(transport)
        assert errors == []  # pipecat did not report it as an event: only dialfsm saw it
        with pytest.raises(CallRefused):
            await calls.send_dtmf({"sessionId": SID, "tones": "1"})
        await transport._client.cleanup()

    run(main())


def test_the_other_calls_go_through_the_real_transport(run: Any) -> None:
    async def main() -> None:
        transport = await _transport()
        calls = track_transport(transport, CallTracker())
        session = calls.tracker.start_dialout(PHONE)
        calls.tracker.start_completed(session, session_id=SID)
        await _engine((transport._client.on_dialout_answered, {"sessionId": SID}))
        await _settle(transport)
        waiter = asyncio.ensure_future(AsyncTracker(calls.tracker).wait_for(session, state=DialoutState.STOPPING))
        await calls.send_dtmf({"sessionId": SID, "tones": "1"})
        await calls.sip_call_transfer({"sessionId": SID, "toEndPoint": "+15550000000"})
        await calls.sip_refer({"sessionId": SID, "toEndPoint": "sip:agent@example.com"})
        await calls.stop_dialout(session)
        await asyncio.wait_for(waiter, 1)
        errors = {e.name: e.message for e in calls.tracker.journal if e.name.endswith(".error")}
        assert errors == {
            "send_dtmf.error": "Dialout(CallState(NotInACall))",
            "sip_call_transfer.error": "Sip(CallState(NotInACall))",
            "sip_refer.error": "Sip(CallState(NotInACall))",
            "stop_dialout.error": "Dialout(CallState(NotInACall))",
        }
        assert not calls.tracker.anomalies
        await transport._client.cleanup()

    run(main())


def test_a_transport_method_that_raises_ends_the_call_it_started(run: Any) -> None:
    class Broken:
        def add_event_handler(self, event: str, handler: object) -> None:
            pass

        async def start_dialout(self, settings: object) -> tuple[str, str | None]:
            raise RuntimeError("missing task manager (pipeline not started?)")

        async def send_dtmf(self, settings: object) -> str | None:
            raise RuntimeError("boom")

    async def main() -> None:
        calls = track_transport(Broken(), CallTracker())
        with pytest.raises(RuntimeError):
            await calls.start_dialout(PHONE)
        (session,) = calls.tracker.sessions
        assert session.outcome is Outcome.REJECTED
        assert session.error == "start_dialout raised RuntimeError: missing task manager (pipeline not started?)"
        other = calls.tracker.start_dialout(PHONE)
        calls.tracker.start_completed(other, session_id=SID)
        calls.tracker.handle("dialout-answered", {"sessionId": SID})
        with pytest.raises(RuntimeError):
            await calls.send_dtmf({"sessionId": SID, "tones": "1"})
        assert other.error == "send_dtmf raised RuntimeError: boom"

    run(main())


def test_events_carry_the_adapters_clock(run: Any) -> None:
    """Each pipecat event is fed with t from the adapter's clock, so the dial-out timers arm."""

    async def main() -> None:
        transport = await _transport()
        calls = track_transport(transport, CallTracker(), clock=lambda: 500.0)
        session = calls.tracker.start_dialout(PHONE, t=499.0)
        calls.tracker.start_completed(session, session_id=SID, t=499.5)
        await _engine((transport._client.on_dialout_connected, {"sessionId": SID}))
        await _settle(transport)
        assert calls.tracker.journal[-1].t == 500.0
        assert session.deadline == 560.0  # ring timeout armed from the event's time
        await transport._client.cleanup()

    run(main())


def test_perform_stops_a_call_at_the_ring_timeout_and_places_a_due_retry(run: Any) -> None:
    """StopCall goes to the transport's stop_dialout; RetryDialout waits its time, then starts a linked attempt."""

    async def main() -> None:
        transport = await _transport()
        now = [0.0]
        tracker = CallTracker(retry=RetryPolicy(seed=1, jitter=0.0))
        calls = track_transport(transport, tracker, clock=lambda: now[0], perform_effects=False)
        session = tracker.start_dialout(PHONE, t=0.0)
        tracker.start_completed(session, session_id=SID, t=0.5)
        tracker.handle("dialout-connected", {"sessionId": SID}, t=1.0)
        now[0] = 61.0
        tracker.advance(61.0)  # no answer in 60 s: the tracker asks the bot to stop the call
        (stop,) = tracker.take_effects()
        assert isinstance(stop, StopCall)
        assert await calls.perform(stop) is None
        # The real transport, not joined, answers the stop with an error; it pairs with the requested stop.
        assert [(e.name, e.message) for e in tracker.journal[-1:]] == [
            ("stop_dialout.error", "Dialout(CallState(NotInACall))")
        ]
        assert session.state is DialoutState.STOPPING
        assert not tracker.anomalies
        tracker.handle("dialout-stopped", {"sessionId": SID}, t=62.0)
        assert session.outcome is Outcome.NOT_ANSWERED

        failed = tracker.start_dialout(PHONE, t=70.0)
        tracker.start_completed(failed, None, "start_dialout timed out", t=70.5)
        (retry,) = tracker.take_effects()
        assert isinstance(retry, RetryDialout)
        assert retry.not_before == 71.5
        now[0] = 71.499  # due in a millisecond: perform sleeps it off
        second = await calls.perform(retry)
        assert second is not None
        assert (second.attempt, second.previous) == (2, failed)
        assert second.outcome is Outcome.REJECTED  # the real engine, not joined
        assert second.error == "Dialout(CallState(NotInACall))"
        assert tracker.take_effects() == []  # NOT_IN_CALL would fail again: no attempt 3
        with pytest.raises(TypeError):
            await calls.perform("stop it")  # type: ignore[arg-type]
        await transport._client.cleanup()

    run(main())


def test_perform_does_not_stop_a_call_that_ended_meanwhile(run: Any) -> None:
    """The carrier's own no-answer timeout can beat the stop: Daily is not called, the effect is withdrawn."""

    async def main() -> None:
        transport = await _transport()
        sent: list[object] = []
        original = transport.stop_dialout

        async def stop_dialout(participant_id: str) -> object:
            sent.append(participant_id)
            return await original(participant_id)

        transport.stop_dialout = stop_dialout
        tracker = CallTracker()
        calls = track_transport(transport, tracker, clock=lambda: 61.0, perform_effects=False)
        session = tracker.start_dialout(PHONE, t=0.0)
        tracker.start_completed(session, session_id=SID, t=0.5)
        tracker.handle("dialout-connected", {"sessionId": SID}, t=1.0)
        tracker.advance(61.0)
        (stop,) = tracker.take_effects()
        tracker.handle("dialout-stopped", {"sessionId": SID}, t=61.0)  # before perform ran
        assert await calls.perform(stop) is None
        assert sent == []
        assert (tracker.journal[-1].name, tracker.journal[-1].disposition.value) == ("stop withdrawn", "journaled")
        assert (session.outcome, session.error) == (Outcome.NOT_ANSWERED, None)
        await transport._client.cleanup()

    run(main())
