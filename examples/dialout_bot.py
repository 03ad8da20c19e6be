"""A dial-out bot on daily-python, with dialfsm instead of flags.

It calls a number, waits (at most 30 s) for the answer, sends DTMF, hangs up
when the far end presses 9, and prints how the call went.  Run it offline
against a scripted log (the default)::

    .venv/bin/python examples/dialout_bot.py [examples/dialout_bot.jsonl]

Against a real room, replace ``ScriptedClient`` by ``calls.create_client()``
(after ``daily.Daily.init()``) and join the room first.  The timers task
stops a call nobody answers within 60 s at Daily (``calls.perform``); pass
``CallTracker(retry=RetryPolicy())`` to have failed starts retried too.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _scripted import ScriptedClient

from dialfsm import CallTracker, DialoutState, SessionEnded
from dialfsm.aio import AsyncTracker
from dialfsm.daily import DailyCalls

HERE = Path(__file__).resolve().parent


async def run_bot(script: Path) -> int:
    """Place one call and follow it to its end; return the exit status."""
    client = ScriptedClient(script)  # the network, scripted
    calls = DailyCalls(CallTracker(), loop=asyncio.get_running_loop(), client=client)
    aio = AsyncTracker(calls.tracker)
    engine = client.play(calls.event_handler)  # daily-python's engine thread, scripted
    timers = asyncio.create_task(aio.run_timers(on_effect=calls.perform))  # ring timeout: stop at Daily

    session = calls.start_dialout({"phoneNumber": "+15551234567"})  # guards first; raises CallRefused
    try:
        await aio.wait_for(session, state=DialoutState.ANSWERED, timeout=30)
    except SessionEnded:
        print(f"no answer: {session.outcome} {session.error_code} {session.error!r}")
        return 1
    print(f"answered {session.session_id}")

    async with aio.transitions(session, every=True) as steps:
        calls.send_dtmf({"sessionId": session.session_id, "tones": "1234#"})
        async for step in steps:
            if step.name == "dtmf-event" and step.message == "9":
                print("far end pressed 9: hanging up")
                calls.stop_dialout(session)
    await aio.wait_for(session, timeout=10)
    await asyncio.to_thread(engine.join, 5)
    await asyncio.sleep(0)  # apply what the engine posted last (it runs before this task resumes)
    timers.cancel()

    print(f"ended {session.state.value} / {session.outcome and session.outcome.value}")
    print("states:", " -> ".join(state.value for state in session.states))
    print("warnings:", list(session.warnings))
    print("anomalies:", [str(entry.code) for entry in calls.tracker.anomalies])
    if client.failure or calls.errors:
        print("script failure:", client.failure, calls.errors)
        return 1
    return 0


def main(argv: list[str]) -> int:
    """Run the bot against the script named on the command line (or the bundled one)."""
    script = Path(argv[1]) if len(argv) > 1 else HERE / "dialout_bot.jsonl"
    return asyncio.run(run_bot(script))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
