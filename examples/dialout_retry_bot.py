"""A dial-out bot with retries and a ring timeout, run against a scripted Daily (no network).

The bot keeps no flags of its own: it asks the tracker what to do next.
``SCRIPT`` plays Daily's part, one list of (delay, what Daily says) per attempt:

1. the first attempt is refused (``Dialout(Signalling(NoWorkerForRoom))``: transient, so the tracker suggests a retry);
2. the second rings and nobody answers: after 60 s the ring timeout asks the bot
   to hang up, and the call ends ``not_answered``;
3. (not reached: the policy allows 3 attempts, but a call that rang is not a failure to retry).

Run it: ``python examples/dialout_retry_bot.py``.  It prints the journal and the
chain of attempts, and writes the replay log to ``--log PATH`` if given.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dialfsm import CallTracker, RetryDialout, RetryPolicy, Session, StopCall

#: Daily's side of each attempt: (seconds after the start, kind, payload).
SCRIPT: list[list[tuple[float, str, dict[str, Any]]]] = [
    [(0.3, "completion", {"session_id": None, "error": "Dialout(Signalling(NoWorkerForRoom))"})],
    [
        (0.2, "event", {"name": "on_dialout_connected", "data": {"sessionId": "7f3c0000-0000-4000-8000-0000000000b2"}}),
        (0.4, "completion", {"session_id": "7f3c0000-0000-4000-8000-0000000000b2", "error": None}),
    ],
]
#: What Daily says when asked to stop a call: the completion, then the stop event.
ON_STOP: list[tuple[float, str, dict[str, Any]]] = [
    (0.1, "stop_completion", {"error": None}),
    (0.3, "event", {"name": "on_dialout_stopped", "data": {"sessionId": "7f3c0000-0000-4000-8000-0000000000b2"}}),
]


class Bot:
    """A dial-out bot: places one call, retries what the tracker says to retry, hangs up when told."""

    def __init__(self, tracker: CallTracker) -> None:
        self.tracker = tracker
        self.agenda: list[tuple[float, int, str, Any]] = []  # (time, order, kind, payload): Daily's replies
        self.order = 0
        self.now = 0.0

    def later(self, delay: float, kind: str, payload: Any) -> None:
        """Schedule something Daily will say ``delay`` seconds from now."""
        self.order += 1
        self.agenda.append((self.now + delay, self.order, kind, payload))
        self.agenda.sort(key=lambda item: (item[0], item[1]))

    def dial(self, settings: dict[str, Any], retry_of: Session | None = None) -> Session:
        """Start a dial-out (the guards run first), and let the script play Daily's part."""
        session = self.tracker.start_dialout(settings, retry_of=retry_of, t=self.now)
        for delay, kind, payload in SCRIPT[session.attempt - 1]:
            self.later(delay, kind, {**payload, "session": session})
        return session

    def carry_out_effects(self) -> None:
        """Do what the tracker asks: retry a failed attempt, hang up a call that rings too long."""
        for effect in self.tracker.take_effects():
            if isinstance(effect, RetryDialout):
                at = effect.not_before if effect.not_before is not None else self.now + effect.delay
                self.later(at - self.now, "retry", effect)
            elif isinstance(effect, StopCall):
                for delay, kind, payload in ON_STOP:  # Daily's stop_dialout(session_id), then its completion
                    self.later(delay, kind, {**payload, "session": effect.session})

    def run(self) -> None:
        """Play the agenda and the tracker's timers in time order until nothing is left."""
        self.dial({"phoneNumber": "+15551234567", "displayName": "Support Line"})
        while self.agenda or self.tracker.next_deadline is not None:
            deadline = self.tracker.next_deadline
            if not self.agenda or (deadline is not None and deadline < self.agenda[0][0]):
                assert deadline is not None
                self.now = deadline
                self.tracker.advance(deadline)  # a timer is due before Daily says anything
            else:
                self.now, _, kind, payload = self.agenda.pop(0)
                if kind == "event":
                    self.tracker.handle(payload["name"], payload["data"], t=self.now)
                elif kind == "completion":
                    self.tracker.start_completed(
                        payload["session"], session_id=payload["session_id"], error=payload["error"], t=self.now
                    )
                elif kind == "stop_completion":
                    self.tracker.stop_completed(payload["session"], error=payload["error"], t=self.now)
                elif kind == "retry":
                    self.dial(dict(payload.settings.to_daily()), retry_of=payload.previous)
            self.carry_out_effects()


def main(argv: list[str] | None = None) -> int:
    """Run the bot; print what happened; optionally write the replay log."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", help="write the inputs as a replay log (JSON Lines) to this path")
    args = parser.parse_args(argv)
    tracker = CallTracker(retry=RetryPolicy(max_attempts=3, base_delay=2.0, seed=42))
    records: list[dict[str, Any]] = []
    tracker.add_input_listener(records.append)
    Bot(tracker).run()
    for entry in tracker.journal:
        where = "" if entry.session is None else f"  #{entry.session.index} {entry.source} -> {entry.dest}"
        when = "-" if entry.t is None else f"{entry.t:.2f}"
        print(f"t={when:>6}  {entry.name:<22}{where}")
    for session in tracker:
        print(f"attempt {session.attempt}: {session.state} ({session.outcome}) error={session.error!r}")
    if args.log:
        try:
            with open(args.log, "w", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record) + "\n")
        except OSError as exc:
            print(f"{parser.prog}: error: cannot write the log {args.log}: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
