"""A dial-out bot on daily-python, with dialfsm instead of flags.

It calls a number, waits for the answer, sends DTMF, hangs up when the far
end presses 9, and prints how the call went.  ``DailyCalls`` is all the
wiring: its event handler feeds the tracker, its calls are guarded, and it
runs the timers itself (a callee who never answers is hung up after the ring
timeout).

Offline (the default), a scripted Daily plays the room against a real
``daily.CallClient`` and ``daily.EventHandler``::

    .venv/bin/python examples/daily_dialout_bot.py [--script examples/daily_dialout_bot.jsonl]

Against a real room (a token that may dial out)::

    .venv/bin/python examples/daily_dialout_bot.py --room https://you.daily.co/room --token TOKEN --phone +15551234567
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from pathlib import Path
from typing import Any

import daily

from dialfsm import CallTracker, Session, SessionEnded, Timeouts
from dialfsm.daily import DailyCalls
from dialfsm.scripted import ScriptedDaily

HERE = Path(__file__).resolve().parent


async def run_bot(calls: DailyCalls, phone_number: str) -> Session:
    """Place one call and follow it to its end; return its session."""
    session = calls.start_dialout({"phoneNumber": phone_number})  # guards first; raises CallRefused
    try:
        await calls.wait_for(session, state="answered", timeout=120)
    except SessionEnded:
        print(f"no answer: {session.outcome} {session.error_code} {session.error!r}")
        return session
    print(f"answered {session.session_id}")
    async with calls.transitions(session, every=True) as steps:
        calls.send_dtmf({"sessionId": session.session_id, "tones": "1234#"})
        async for step in steps:
            if step.name == "dtmf-event" and step.message == "9":
                print("far end pressed 9: hanging up")
                calls.stop_dialout(session)
    return session


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _joined(client: Any, room: str, token: str | None) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def completion(data: Any, error: Any) -> None:  # on daily-python's engine thread
        loop.call_soon_threadsafe(_resolve, done, error)

    client.join(room, token, completion=completion)
    error = await done
    if error:
        raise RuntimeError(f"could not join {room}: {error}")


async def _main(args: argparse.Namespace, script: ScriptedDaily | None) -> int:
    daily.Daily.init()  # once per process
    calls = DailyCalls(CallTracker(timeouts=Timeouts(ring=args.ring_timeout)), loop=asyncio.get_running_loop())
    client: Any = calls.create_client()  # daily.CallClient(event_handler=calls.event_handler)
    if script is not None:
        client = calls.client = script.wrap(client, calls.event_handler)  # offline: Daily's side is the script
    try:
        await _joined(client, args.room or "https://dialfsm-offline.daily.co/room", args.token)
        session = await run_bot(calls, args.phone)
        if script is not None:
            await asyncio.to_thread(script.wait, 5)
        await calls.wait_for(session, timeout=30)
    finally:
        await calls.aclose()
        client.leave()
        client.release()
    print(f"ended {session.state} / {session.outcome}")
    print("states:", " -> ".join(session.states))
    print("warnings:", list(session.warnings))
    print("anomalies:", [str(entry.code) for entry in calls.tracker.anomalies])
    if (script is not None and script.failure) or calls.errors:
        print("script failure:", script and script.failure, calls.errors)
        return 1
    return 0 if session.answered else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=HERE / "daily_dialout_bot.jsonl", help="Daily's side, offline")
    parser.add_argument("--phone", default="+15551234567", help="the number to dial")
    parser.add_argument("--ring-timeout", type=float, default=60.0, help="seconds before an unanswered call is stopped")
    parser.add_argument("--room", help="a real Daily room URL (then no script is played)")
    parser.add_argument("--token", help="a meeting token for --room")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the bot (offline against the script, or in ``--room``); the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 < args.ring_timeout < math.inf:
        parser.error("--ring-timeout must be a positive number of seconds")
    try:
        script = None if args.room else ScriptedDaily(args.script)
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: cannot read the script {args.script}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_main(args, script))


if __name__ == "__main__":
    sys.exit(main())
