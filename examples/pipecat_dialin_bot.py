"""A pipecat dial-in bot, tracked by dialfsm: it greets the caller, transfers on "0", and ends with the call.

The transfer is pipecat's recommended ``DailySIPTransferFrame``: it waits until
the bot has finished speaking, names no ``sessionId`` (pipecat sends it to the
caller's session), and is tracked like any call, so the call ends
``transferred`` and a failed transfer's error lands on the session.

Offline (the default), a scripted Daily plays the room and the caller against
the real ``DailyTransport``::

    .venv/bin/python examples/pipecat_dialin_bot.py

Against a real room, with the dial-in details Daily's webhook gave your server
(``DAILY_API_KEY`` in the environment)::

    .venv/bin/python examples/pipecat_dialin_bot.py --room URL --token TOKEN --call-id ID --call-domain DOMAIN
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.daily.transport import (
    DailyDialinSettings,
    DailyParams,
    DailySIPTransferFrame,
    DailyTransport,
)
from pipecat.workers.runner import WorkerRunner

from dialfsm import CallTracker, JournalEntry, Session
from dialfsm.pipecat import track_transport
from dialfsm.scripted import ScriptedDaily

HERE = Path(__file__).resolve().parent


async def run_bot(transport: DailyTransport, operator: str, tracker: CallTracker | None = None) -> Session:
    """Greet the caller once their media flows, transfer them on "0", end with the call; return its session."""
    calls = track_transport(transport, tracker)  # events, pipecat's calls, frames, timers: all tracked
    worker = PipelineWorker(Pipeline([transport.input(), transport.output()]))  # STT, LLM, TTS go in between

    @transport.event_handler("on_dtmf_event")
    async def on_dtmf_event(transport: DailyTransport, data: dict[str, Any]) -> None:
        if data.get("tone") == "0":  # after what the bot is saying: a frame, tracked like a call
            print("caller pressed 0: transferring to the operator")
            await worker.queue_frame(DailySIPTransferFrame(settings={"toEndPoint": operator}))

    async def greet(step: JournalEntry) -> None:
        print(f"caller {step.session and step.session.session_id} {step.dest}: greeting them")

    async def end(step: JournalEntry) -> None:
        print(f"call {step.dest} / {step.session and step.session.outcome}")
        await worker.queue_frame(EndFrame())

    calls.on_enter("joined", greet)
    calls.on_enter(["stopped", "error"], end)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()
    return calls.tracker.sessions[-1]


def _params(args: argparse.Namespace) -> DailyParams:
    if args.room is None:
        return DailyParams()  # offline: the scripted room needs no pinlessCallUpdate
    settings = DailyDialinSettings(call_id=args.call_id, call_domain=args.call_domain)
    return DailyParams(api_key=os.environ.get("DAILY_API_KEY", ""), dialin_settings=settings)


async def _main(args: argparse.Namespace, daily: ScriptedDaily | None) -> int:
    room = args.room or "https://dialfsm-offline.daily.co/room"
    transport = DailyTransport(room, args.token, "dialfsm bot", _params(args))
    if daily is not None:
        daily.attach(transport)  # offline: Daily's side is the script
    session = await run_bot(transport, args.operator)
    print("states:", " -> ".join(session.states))
    if daily is not None and daily.failure:
        print("script failure:", daily.failure)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=HERE / "pipecat_dialin_bot.jsonl", help="Daily's side, offline")
    parser.add_argument("--operator", default="+15559990000", help="where a caller who presses 0 is transferred")
    parser.add_argument("--room", help="a real Daily room URL (then no script is played)")
    parser.add_argument("--token", help="a meeting token for --room")
    parser.add_argument("--call-id", help="the dial-in's callId (with --room)")
    parser.add_argument("--call-domain", help="the dial-in's callDomain (with --room)")
    parser.add_argument("--verbose", action="store_true", help="show pipecat's own log")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the bot (offline against the script, or in ``--room``); the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.room is not None and not (args.call_id and args.call_domain):
        parser.error("--room needs --call-id and --call-domain (from Daily's dial-in webhook)")
    if not args.verbose:
        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    try:
        daily = None if args.room else ScriptedDaily(args.script)
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: cannot read the script {args.script}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_main(args, daily))


if __name__ == "__main__":
    sys.exit(main())
