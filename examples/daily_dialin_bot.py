"""A dial-in bot on daily-python, with dialfsm instead of flags.

It logs each SIP endpoint once (Daily sends ``dialin-ready`` per endpoint, and
sometimes again), greets each caller once their media flows (``joined``),
transfers a caller who presses 0 to an operator, and prints how each call
ended.

Offline (the default), a scripted Daily plays the room against a real
``daily.CallClient`` and ``daily.EventHandler``::

    .venv/bin/python examples/daily_dialin_bot.py [--script examples/daily_dialin_bot.jsonl]

Against a real room::

    .venv/bin/python examples/daily_dialin_bot.py --room https://you.daily.co/room --token TOKEN
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import daily

from dialfsm import CallTracker, DialinState, JournalEntry
from dialfsm.daily import DailyCalls
from dialfsm.scripted import ScriptedDaily

HERE = Path(__file__).resolve().parent
OPERATOR = "+15559990000"


async def run_bot(calls: DailyCalls, calls_expected: int = 1) -> None:
    """Answer ``calls_expected`` dial-ins and follow them to their end."""

    def greet(step: JournalEntry) -> None:
        print(f"caller {step.session and step.session.session_id} joined: greeting them")

    calls.on_enter("joined", greet)
    ended = 0
    async with calls.transitions(every=True) as steps:
        async for step in steps:
            session = step.session
            if session is None:
                continue
            if step.name == "dtmf-event" and step.message == "0" and session.state is DialinState.JOINED:
                print(f"caller {session.session_id} pressed 0: transferring to the operator")
                calls.sip_call_transfer({"sessionId": session.session_id, "toEndPoint": OPERATOR})
            if step.dest is not step.source and session.is_terminal:
                print(f"call {session.session_id} ended {session.state} / {session.outcome}")
                ended += 1
                if ended == calls_expected:
                    return


async def _main(args: argparse.Namespace, script: ScriptedDaily | None) -> int:
    daily.Daily.init()  # once per process
    calls = DailyCalls(CallTracker(), loop=asyncio.get_running_loop())
    client: Any = calls.create_client()  # daily.CallClient(event_handler=calls.event_handler)
    if script is not None:
        client = calls.client = script.wrap(client, calls.event_handler)  # offline: Daily's side is the script
    bot = asyncio.ensure_future(run_bot(calls))
    await asyncio.sleep(0)  # the bot listens before anything arrives
    try:
        client.join(args.room or "https://dialfsm-offline.daily.co/room", args.token)
        await bot
        if script is not None:
            await asyncio.to_thread(script.wait, 5)
            await asyncio.sleep(0.05)  # apply what the engine posted last
    finally:
        bot.cancel()
        await calls.aclose()
        client.leave()
        client.release()
    print("endpoints:", list(calls.tracker.dialin_endpoints))
    print("anomalies:", [str(entry.code) for entry in calls.tracker.anomalies])
    if (script is not None and script.failure) or calls.errors:
        print("script failure:", script and script.failure, calls.errors)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=HERE / "daily_dialin_bot.jsonl", help="Daily's side, offline")
    parser.add_argument("--room", help="a real Daily room URL (then no script is played)")
    parser.add_argument("--token", help="a meeting token for --room")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the bot (offline against the script, or in ``--room``); the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        script = None if args.room else ScriptedDaily(args.script)
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: cannot read the script {args.script}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_main(args, script))


if __name__ == "__main__":
    sys.exit(main())
