"""A dial-in bot on daily-python, with dialfsm instead of flags.

It logs each SIP endpoint once (Daily sends ``dialin-ready`` per endpoint, and
sometimes again), greets each caller once their media flows (``joined``),
transfers a caller who presses 0 to an operator, and prints how each call
ended.  Run it offline against a scripted log (the default)::

    .venv/bin/python examples/dialin_bot.py [examples/dialin_bot.jsonl]

Against a real room, replace ``ScriptedClient`` by ``calls.create_client()``
(after ``daily.Daily.init()``) and join the room.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _scripted import ScriptedClient

from dialfsm import CallTracker, DialinState, JournalEntry
from dialfsm.aio import AsyncTracker
from dialfsm.daily import DailyCalls

HERE = Path(__file__).resolve().parent
OPERATOR = "+15559990000"


async def run_bot(script: Path, calls_expected: int = 1) -> int:
    """Answer ``calls_expected`` dial-ins and follow them to their end; return the exit status."""
    client = ScriptedClient(script)  # the network, scripted
    calls = DailyCalls(CallTracker(), loop=asyncio.get_running_loop(), client=client)
    aio = AsyncTracker(calls.tracker)

    def greet(step: JournalEntry) -> None:
        assert step.session is not None
        print(f"caller {step.session.session_id} joined: greeting them")

    aio.on_enter(DialinState.JOINED, greet)
    ended = 0
    async with aio.transitions(every=True) as steps:
        engine = client.play(calls.event_handler)  # daily-python's engine thread, scripted
        async for step in steps:
            session = step.session
            if session is None:
                continue
            if step.name == "dtmf-event" and step.message == "0" and session.state is DialinState.JOINED:
                print(f"caller {session.session_id} pressed 0: transferring to the operator")
                calls.sip_call_transfer({"sessionId": session.session_id, "toEndPoint": OPERATOR})
            if step.dest is not step.source and session.is_terminal:
                outcome = session.outcome and session.outcome.value
                print(f"call {session.session_id} ended {session.state.value} / {outcome}")
                ended += 1
                if ended == calls_expected:
                    break
    await asyncio.to_thread(engine.join, 5)
    await asyncio.sleep(0)  # apply what the engine posted last (it runs before this task resumes)

    print("endpoints:", list(calls.tracker.dialin_endpoints))
    print("anomalies:", [str(entry.code) for entry in calls.tracker.anomalies])
    if client.failure or calls.errors:
        print("script failure:", client.failure, calls.errors)
        return 1
    return 0


def main(argv: list[str]) -> int:
    """Run the bot against the script named on the command line (or the bundled one)."""
    script = Path(argv[1]) if len(argv) > 1 else HERE / "dialin_bot.jsonl"
    return asyncio.run(run_bot(script))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
