"""A pipecat bot wired as the docs show, on the real ``DailyTransport`` and pipeline; only Daily is scripted.

Daily's side is :class:`dialfsm.scripted.ScriptedDaily` inside the transport
(its ``CallClient``): pipecat's own ``join`` / ``leave``, event queue, handler
tasks, pipeline, output transport and frame handling all run as they would
in a room.  No test starts a timers task of its own: the adapter does.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import EndFrame, Frame, OutputDTMFUrgentFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.daily.transport import (
    DailyDialinSettings,
    DailyOutputDTMFFrame,
    DailyParams,
    DailySIPReferFrame,
    DailySIPTransferFrame,
    DailyTransport,
)
from pipecat.workers.runner import WorkerRunner

from dialfsm import CallTracker, DialinState, DialoutState, JournalEntry, Origin, Outcome, Timeouts
from dialfsm.pipecat import PipecatCalls, track_transport
from dialfsm.scripted import ScriptedDaily
from tests.sdk import init_daily

ROOT = Path(__file__).resolve().parent.parent
SID = "5c7f0d2e-0000-4000-8000-000000000001"
SID2 = "5c7f0d2e-0000-4000-8000-000000000002"
DIALIN = "5c7f0d2e-0000-4000-8000-0000000000d1"
PHONE = {"phoneNumber": "+15551234567"}
OPERATOR = "+15559990000"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _transport(script: list[dict[str, Any]]) -> tuple[DailyTransport, ScriptedDaily]:
    init_daily()
    transport = DailyTransport("https://dialfsm-test.daily.co/room", None, "bot", DailyParams())
    daily = ScriptedDaily(script)
    daily.attach(transport)
    return transport, daily


def _ours() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("dialfsm") and not t.done()]


async def _run_pipeline(
    transport: DailyTransport,
    calls: PipecatCalls,
    on_worker: Callable[[PipelineWorker], Awaitable[None]] | None = None,
    *,
    done: Callable[[JournalEntry], bool] | None = None,
) -> PipelineWorker:
    """Run input -> output until a call ends and ``done(step)`` (default: no call is live), as the example bots do."""
    worker = PipelineWorker(
        Pipeline([transport.input(), transport.output()]),
        idle_timeout_secs=None,
        enable_rtvi=False,
        enable_turn_tracking=False,
    )

    async def end(step: JournalEntry) -> None:
        if (done is None and not calls.tracker.live) or (done is not None and done(step)):
            await worker.queue_frame(EndFrame())

    calls.on_enter(["stopped", "error"], end)
    if on_worker is not None:
        await on_worker(worker)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.wait_for(runner.run(), 30)
    return worker


def _journal(calls: PipecatCalls) -> list[tuple[str, str]]:
    return [(e.name, e.disposition.value) for e in calls.tracker.journal]


# --- the bot of the docs (examples/pipecat_dialout_bot.py), wired as shown ---------------------------------


def _watch_states(transport: DailyTransport, tracker: CallTracker, seen: list[tuple[str, str]]) -> None:
    """Handlers of the test's own: what state the tracker reports when each dial-out event reaches the bot."""
    for event in ("on_dialout_connected", "on_dialout_answered", "on_dialout_stopped"):

        async def handler(transport: object, data: dict[str, Any], event: str = event) -> None:
            seen.append((event, tracker[data["sessionId"]].state.value))

        transport.add_event_handler(event, handler)


def test_readme_bot_answered_inside_the_ring_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    """The callee answers: the bot's own handler sees ``answered``; the call ends ``completed``; nothing waits."""
    bot = _example("pipecat_dialout_bot")
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"sleep": 0.1},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"sleep": 0.1},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        tracker = CallTracker()  # the defaults: a 60 s ring timeout
        seen: list[tuple[str, str]] = []
        _watch_states(transport, tracker, seen)
        session = await bot.run_bot(transport, "+15551234567", tracker)
        assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.COMPLETED)
        assert session.origin is Origin.BOT  # pipecat's own transport.start_dialout, tracked
        assert seen == [
            ("on_dialout_connected", "connected"),
            ("on_dialout_answered", "answered"),
            ("on_dialout_stopped", "stopped"),
        ]
        assert [name for name, _ in daily.made] == ["start_dialout"]
        assert daily.failure is None
        assert tracker.queued_effects == ()
        assert not tracker.anomalies
        assert not any("withdrawn" in e.name for e in tracker.journal)
        await asyncio.sleep(0)
        assert _ours() == []

    asyncio.run(main())
    assert "answered: greeting the callee" in capsys.readouterr().out.splitlines()


def test_readme_bot_nobody_answers_the_adapter_hangs_up_by_itself(capsys: pytest.CaptureFixture[str]) -> None:
    """Nobody answers: after the ring timeout the adapter calls the transport's stop_dialout once; not_answered."""
    bot = _example("pipecat_dialout_bot")
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"call": "stop_dialout"},  # the adapter's, at the ring timeout
        {"completion": "stop_dialout", "error": None},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        tracker = CallTracker(timeouts=Timeouts(ring=0.3))
        seen: list[tuple[str, str]] = []
        _watch_states(transport, tracker, seen)
        stops: list[object] = []
        transport.add_event_handler("on_dialout_answered", lambda t, data: stops.append("answered?"))
        session = await bot.run_bot(transport, "+15551234567", tracker)
        assert daily.made == [("start_dialout", PHONE), ("stop_dialout", SID)]  # stop_dialout called once
        assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.NOT_ANSWERED)
        assert session.states[-3:] == (DialoutState.CONNECTED, DialoutState.STOPPING, DialoutState.STOPPED)
        assert seen == [("on_dialout_connected", "connected"), ("on_dialout_stopped", "stopped")]
        assert stops == []
        names = [e.name for e in tracker.journal if e.session is session]
        assert names[-3:] == ["ring_timeout", "stop_dialout.ok", "dialout-stopped"]
        assert tracker.queued_effects == ()
        assert not tracker.anomalies
        assert daily.failure is None
        await asyncio.sleep(0)
        assert _ours() == []

    asyncio.run(main())
    assert "call stopped / not_answered" in capsys.readouterr().out.splitlines()


# --- every path pipecat 1.14 offers (point 4) ---------------------------------------------------------------


def test_direct_transport_calls_are_tracked_never_blocked_and_return_what_pipecat_returns() -> None:
    script: list[dict[str, Any]] = [
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"call": "start_dialout"},  # a second, while the first is live: dialfsm would refuse it
        {"completion": "start_dialout", "session_id": None, "error": "Dialout(Properties(DialoutAlreadyExists))"},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"call": "stop_dialout"},
        {"completion": "stop_dialout", "error": None},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport)
        results: list[object] = []

        async def on_joined(transport: DailyTransport, data: object) -> None:
            results.append(await transport.start_dialout(PHONE))
            results.append(await transport.start_dialout(PHONE))

        async def on_answered(transport: DailyTransport, data: dict[str, Any]) -> None:
            results.append(await transport.stop_dialout(data["sessionId"]))

        transport.add_event_handler("on_joined", on_joined)
        transport.add_event_handler("on_dialout_answered", on_answered)
        await _run_pipeline(transport, calls)
        assert results == [(SID, None), (None, "Dialout(Properties(DialoutAlreadyExists))"), None]  # unchanged
        assert [name for name, _ in daily.made] == ["start_dialout", "start_dialout", "stop_dialout"]
        first, second = calls.tracker.sessions
        assert (first.outcome, first.origin) == (Outcome.COMPLETED, Origin.BOT)
        assert first.states[-2:] == (DialoutState.STOPPING, DialoutState.STOPPED)  # the bot's own stop, seen
        assert second.outcome is Outcome.REJECTED
        assert second.error == "Dialout(Properties(DialoutAlreadyExists))"
        (anomaly,) = calls.tracker.anomalies
        assert (anomaly.name, anomaly.code) == ("start_dialout", "UNGUARDED_CALL")
        assert anomaly.message is not None
        assert anomaly.message.startswith("DIALOUT_IN_PROGRESS")
        assert not calls.errors
        await calls.aclose()

    asyncio.run(main())


def _dialin_script(*middle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"event": "on_dialin_connected", "data": {"sessionId": DIALIN}},
        {"event": "on_participant_joined", "data": {"id": DIALIN}},
        *middle,
        {"event": "on_participant_left", "data": {"id": DIALIN}, "args": ["hungUp"]},
        {"event": "on_dialin_stopped", "data": {"sessionId": DIALIN}},
    ]


def _push_when_joined(transport: DailyTransport, frames: list[Frame]) -> Callable[[PipelineWorker], Awaitable[None]]:
    async def setup(worker: PipelineWorker) -> None:
        async def on_joined(transport: object, participant: dict[str, Any]) -> None:
            await worker.queue_frames(frames)

        transport.add_event_handler("on_participant_joined", on_joined)

    return setup


@pytest.mark.parametrize(
    ("frame", "call", "outcome"),
    [
        (DailySIPTransferFrame(settings={"toEndPoint": OPERATOR}), "sip_call_transfer", Outcome.TRANSFERRED),
        (DailySIPReferFrame(settings={"toEndPoint": "sip:operator@example.com"}), "sip_refer", Outcome.TRANSFERRED),
    ],
    ids=["DailySIPTransferFrame", "DailySIPReferFrame"],
)
def test_transfer_frames_are_tracked_and_the_call_ends_transferred(frame: Frame, call: str, outcome: Outcome) -> None:
    """The frame names no sessionId: pipecat sends it to the dial-in, and dialfsm tracks it there."""
    script = _dialin_script({"call": call}, {"completion": call, "error": None})

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport)
        await _run_pipeline(transport, calls, _push_when_joined(transport, [frame]))
        (session,) = calls.tracker.sessions
        assert (session.state, session.outcome) == (DialinState.STOPPED, outcome)
        assert daily.made[0][0] == call
        assert daily.made[0][1]["sessionId"] == DIALIN  # type: ignore[index]
        assert (call, "recorded") in _journal(calls)
        assert (f"{call}.ok", "recorded") in _journal(calls)
        assert not calls.tracker.anomalies
        assert not calls.errors
        await calls.aclose()

    asyncio.run(main())


def test_a_failed_frame_transfer_reaches_the_session_and_pipecat_still_reports_it() -> None:
    script = _dialin_script({"call": "sip_call_transfer"}, {"completion": "sip_call_transfer", "error": "Sip(Busy)"})

    async def main() -> None:
        transport, _ = _transport(script)
        calls = track_transport(transport)
        pushed: list[str] = []
        transport.output().add_event_handler("on_error", lambda output, error: pushed.append(error.error))
        frame = DailySIPTransferFrame(settings={"toEndPoint": OPERATOR})
        await _run_pipeline(transport, calls, _push_when_joined(transport, [frame]))
        (session,) = calls.tracker.sessions
        assert session.outcome is Outcome.COMPLETED  # not transferred: the transfer failed
        assert ("sip_call_transfer.error", "Sip(Busy)") in [(e.name, e.message) for e in calls.tracker.journal]
        assert pushed == ["Unable to transfer SIP call: Sip(Busy)"]  # pipecat's own report, unchanged
        await calls.aclose()

    asyncio.run(main())


def test_dtmf_frames_are_tracked_with_the_session_pipecat_fills_in() -> None:
    script = _dialin_script(
        {"call": "send_dtmf"},
        {"completion": "send_dtmf", "error": None},
        {"call": "send_dtmf"},
        {"completion": "send_dtmf", "error": None},
    )

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport)
        frames: list[Frame] = [
            OutputDTMFUrgentFrame(button=KeypadEntry.FIVE),
            DailyOutputDTMFFrame(button=KeypadEntry.POUND, method="sip-info"),
        ]
        await _run_pipeline(transport, calls, _push_when_joined(transport, frames))
        assert [(name, arg["tones"], arg["sessionId"]) for name, arg in daily.made] == [  # type: ignore[index]
            ("send_dtmf", "5", DIALIN),
            ("send_dtmf", "#", DIALIN),
        ]
        sent = [e for e in calls.tracker.journal if e.name == "send_dtmf"]
        assert [e.session and e.session.session_id for e in sent] == [DIALIN, DIALIN]
        assert [e.name for e in calls.tracker.journal].count("send_dtmf.ok") == 2
        assert not calls.tracker.anomalies
        await calls.aclose()

    asyncio.run(main())


def test_session_id_is_filled_in_as_pipecat_does_dialout_first_then_dialin() -> None:
    """The guarded calls accept pipecat's dicts without sessionId (pipecat's cold-transfer example relies on it)."""
    script: list[dict[str, Any]] = [
        {"event": "on_dialin_connected", "data": {"sessionId": DIALIN}},
        {"event": "on_participant_joined", "data": {"id": DIALIN}},
        {"call": "sip_call_transfer"},  # no dial-out yet: to the dial-in
        {"completion": "sip_call_transfer", "error": "Sip(Busy)"},
        {"call": "start_dialout"},
        {"completion": "start_dialout", "session_id": SID, "error": None},
        {"event": "on_dialout_connected", "data": {"sessionId": SID}},
        {"event": "on_dialout_answered", "data": {"sessionId": SID}},
        {"call": "send_dtmf"},  # a dial-out is active: pipecat's choice is the dial-out
        {"completion": "send_dtmf", "error": None},
        {"call": "sip_call_transfer"},  # transport.sip_call_transfer, direct, no sessionId: the dial-out too
        {"completion": "sip_call_transfer", "error": None},
        {"event": "on_dialout_stopped", "data": {"sessionId": SID}},
        {"event": "on_dialin_stopped", "data": {"sessionId": DIALIN}},
    ]

    async def main() -> None:
        transport, daily = _transport(script)
        calls = track_transport(transport)
        picked: list[str | None] = []

        async def on_caller(transport: object, participant: object) -> None:
            picked.append(calls.active_session_id())
            await calls.sip_call_transfer({"toEndPoint": OPERATOR})
            await calls.start_dialout(PHONE)

        async def on_answered(transport: DailyTransport, data: object) -> None:
            picked.append(calls.active_session_id())
            await calls.send_dtmf({"tones": "1"})
            assert await transport.sip_call_transfer({"toEndPoint": OPERATOR}) is None

        transport.add_event_handler("on_participant_joined", on_caller)
        transport.add_event_handler("on_dialout_answered", on_answered)
        await _run_pipeline(transport, calls)
        assert picked == [DIALIN, SID]
        targets = [(name, arg.get("sessionId")) for name, arg in daily.made if isinstance(arg, dict)]
        assert targets == [
            ("sip_call_transfer", DIALIN),
            ("start_dialout", None),
            ("send_dtmf", SID),
            ("sip_call_transfer", SID),
        ]
        dialin, dialout = calls.tracker.sessions
        assert dialin.outcome is Outcome.COMPLETED  # its transfer failed (Sip(Busy))
        assert dialout.outcome is Outcome.TRANSFERRED
        assert not calls.tracker.anomalies
        assert not calls.errors
        await calls.aclose()

    asyncio.run(main())


def test_a_failed_dialin_settings_update_reported_through_on_error_reaches_the_tracker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pinlessCallUpdate pipecat posts on dialin-ready fails: pipecat says so only through on_error."""

    async def main() -> None:
        async def not_found(request: web.Request) -> web.Response:
            return web.Response(status=404, text="not-found")

        app = web.Application()
        app.router.add_post("/v1/dialin/pinlessCallUpdate", not_found)
        server = web.AppRunner(app)
        await server.setup()
        site = web.TCPSite(server, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        init_daily()
        params = DailyParams(
            api_url=f"http://127.0.0.1:{port}/v1",
            api_key="key",
            dialin_settings=DailyDialinSettings(call_id="call-1", call_domain="domain-1"),
        )
        transport = DailyTransport("https://dialfsm-test.daily.co/room", None, "bot", params)
        daily = ScriptedDaily([{"event": "on_dialin_ready", "data": "sip:bot@example.sip.daily.co"}, {"sleep": 0.3}])
        daily.attach(transport)
        calls = track_transport(transport)
        errors: list[str] = []
        transport.add_event_handler("on_error", lambda t, error: errors.append(error))

        async def on_ready(worker: PipelineWorker) -> None:
            async def leave(transport: object, endpoint: object) -> None:
                await worker.queue_frame(EndFrame())

            transport.add_event_handler("on_dialin_ready", leave)

        await _run_pipeline(transport, calls, on_ready, done=lambda step: False)
        await server.cleanup()
        assert errors == ["Unable to handle dialin-ready event (status: 404, error: not-found)"]
        names = [e.name for e in calls.tracker.journal]
        assert names[:2] == ["dialin-settings.error", "dialin-ready"]  # reported before dialin-ready's handlers run
        entry = calls.tracker.journal[0]
        assert (entry.disposition.value, entry.input) == ("journaled", {"errorMsg": errors[0]})
        assert calls.tracker.dialin_endpoints == ("sip:bot@example.sip.daily.co",)
        assert not calls.tracker.sessions  # no caller was connected: there is no session to fail
        await calls.aclose()

    with caplog.at_level(logging.WARNING, logger="dialfsm"):
        asyncio.run(main())
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "dialfsm"]
    assert warning.endswith(
        "may never reach this room: " + "Unable to handle dialin-ready event (status: 404, error: not-found)"
    )
