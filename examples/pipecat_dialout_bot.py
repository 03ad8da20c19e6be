"""A pipecat dial-out bot, tracked by dialfsm: it dials once it has joined, and ends when the call does.

The bot is pipecat's own dial-out pattern (``transport.start_dialout`` from
``on_joined``) plus one line, ``track_transport(transport)``: every event,
every call the bot or a frame makes, and the ring timeout are then dialfsm's.
A callee who never answers is hung up after the ring timeout by the adapter
itself; a start Daily refuses ends the pipeline too (pipecat reports it to no
handler).

Offline (the default), a scripted Daily plays the room and the callee
against the real ``DailyTransport``::

    .venv/bin/python examples/pipecat_dialout_bot.py      # answered, then the callee hangs up
    .venv/bin/python examples/pipecat_dialout_bot.py --script examples/pipecat_dialout_no_answer.jsonl --ring-timeout 1

Against a real room (a token that may dial out)::

    .venv/bin/python examples/pipecat_dialout_bot.py --room https://you.daily.co/room --token TOKEN --phone +15551234567
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.daily.transport import DailyParams, DailyTransport
from pipecat.workers.runner import WorkerRunner

from dialfsm import CallTracker, JournalEntry, Session, Timeouts
from dialfsm.pipecat import track_transport
from dialfsm.scripted import ScriptedDaily

HERE = Path(__file__).resolve().parent


async def run_bot(transport: DailyTransport, phone_number: str, tracker: CallTracker | None = None) -> Session:
    """Dial ``phone_number`` once joined, greet the callee, and follow the call to its end; return its session."""
    calls = track_transport(transport, tracker)  # events, pipecat's calls, frames, timers: all tracked
    worker = PipelineWorker(Pipeline([transport.input(), transport.output()]))  # STT, LLM, TTS go in between

    @transport.event_handler("on_joined")
    async def on_joined(transport: DailyTransport, data: dict[str, Any]) -> None:
        await transport.start_dialout({"phoneNumber": phone_number})

    @transport.event_handler("on_dialout_answered")
    async def on_dialout_answered(transport: DailyTransport, data: dict[str, Any]) -> None:
        call = calls.tracker[data["sessionId"]]
        print(f"{call.state}: greeting the callee")  # "answered": never a state the call is not in

    async def end(step: JournalEntry) -> None:  # hung up, not answered, refused: the pipeline ends
        print(f"call {step.dest} / {step.session and step.session.outcome}")
        await worker.queue_frame(EndFrame())

    calls.on_enter(["stopped", "error"], end)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()
    return calls.tracker.sessions[-1]


async def _main(args: argparse.Namespace, daily: ScriptedDaily | None) -> int:
    room = args.room or "https://dialfsm-offline.daily.co/room"
    transport = DailyTransport(room, args.token, "dialfsm bot", DailyParams())
    if daily is not None:
        daily.attach(transport)  # offline: Daily's side is the script
    session = await run_bot(transport, args.phone, CallTracker(timeouts=Timeouts(ring=args.ring_timeout)))
    print("states:", " -> ".join(session.states))
    if daily is not None and daily.failure:
        print("script failure:", daily.failure)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=HERE / "pipecat_dialout_bot.jsonl", help="Daily's side, offline")
    parser.add_argument("--phone", default="+15551234567", help="the number to dial")
    parser.add_argument("--ring-timeout", type=float, default=60.0, help="seconds before an unanswered call is stopped")
    parser.add_argument("--room", help="a real Daily room URL (then no script is played)")
    parser.add_argument("--token", help="a meeting token for --room")
    parser.add_argument("--verbose", action="store_true", help="show pipecat's own log")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the bot (offline against the script, or in ``--room``); the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 < args.ring_timeout < math.inf:
        parser.error("--ring-timeout must be a positive number of seconds")
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
