"""Fuzzing a pipecat-style dial-out bot with ``dialfsm.testing``: a naive handler, its bug, the fix.

The naive bot is written the way pipecat's dial-out examples are: place the
call when the bot joins, retry on ``dialout-error`` a few times, mark success
on ``dialout-answered``, end on ``dialout-stopped``.  It looks complete, and
it survives every hand-written happy path.  But a ``start_dialout`` that fails
at once is reported only through the call's *completion*: Daily fires no
``dialout-error`` then, so the naive bot neither retries nor gives up.  It waits
forever, with no call live.

:class:`DialoutBotFlow` plays Daily against a bot with
:class:`~dialfsm.testing.CallFlowMachine` and states one invariant: whenever
no call is live, the bot must know it is finished.  Hypothesis finds the
failure in the naive bot and shrinks it to two inputs (the bot's
``start_dialout`` and its error completion); the fixed bot passes.

Run ``python examples/fuzz_naive_bot.py`` to see the shrunk failing sequence.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from dialfsm.testing import CallFlowMachine, to_jsonl

PHONE_NUMBER = "+15555550100"


class Transport(Protocol):
    """The two calls the bot makes (pipecat's ``DailyTransport`` / daily-python's ``CallClient``)."""

    def start_dialout(self, settings: Mapping[str, Any], completion: Any = None) -> None:
        """Place a call; ``completion(session_id, error)`` is called when Daily answers the request."""


class NaiveDialoutBot:
    """Dials out, retries on ``dialout-error``; handlers named as pipecat's transport names events."""

    def __init__(self, transport: Transport, phone_number: str, max_retries: int = 2) -> None:
        self.transport = transport
        self.settings = {"phoneNumber": phone_number}
        self.max_retries = max_retries
        self.retry_count = 0
        self.dialout_successful = False
        #: The bot is done (hung up, gave up, or left): it expects nothing more.
        self.finished = False

    def on_joined(self) -> None:
        """The bot joined the room: place the call."""
        self.dial()

    def dial(self) -> None:
        """Start one dial-out attempt."""
        self.transport.start_dialout(self.settings)

    def on_dialout_answered(self, data: Any) -> None:
        """The far end picked up."""
        self.dialout_successful = True

    def on_dialout_error(self, data: Any) -> None:
        """Retry a failed call a few times, then give up."""
        if self.retry_count < self.max_retries and not self.dialout_successful:
            self.retry_count += 1
            self.dial()
        else:
            self.finished = True

    def on_dialout_stopped(self, data: Any) -> None:
        """The call is over."""
        self.finished = True

    def on_left_meeting(self, data: Any) -> None:
        """The room closed under the bot."""
        self.finished = True


class FixedDialoutBot(NaiveDialoutBot):
    """The same bot, also failing over on the start completion's error, once per attempt."""

    def __init__(self, transport: Transport, phone_number: str, max_retries: int = 2) -> None:
        super().__init__(transport, phone_number, max_retries)
        self.attempt = 0
        self.attempt_failed = False

    def dial(self) -> None:
        """Start one attempt; its completion callback knows which attempt it belongs to."""
        self.attempt += 1
        self.attempt_failed = False
        attempt = self.attempt

        def completed(session_id: str | None, error: str | None) -> None:
            if error is not None and attempt == self.attempt:
                self.fail_attempt()

        self.transport.start_dialout(self.settings, completion=completed)

    def on_dialout_error(self, data: Any) -> None:
        """A ``dialout-error`` ends the current attempt."""
        self.fail_attempt()

    def fail_attempt(self) -> None:
        """Retry or give up, once per attempt (an attempt may fail by event *and* by completion)."""
        if self.finished or self.attempt_failed:
            return
        self.attempt_failed = True
        if self.retry_count < self.max_retries and not self.dialout_successful:
            self.retry_count += 1
            self.dial()
        else:
            self.finished = True


class DialoutBotFlow(CallFlowMachine):
    """Daily against one dial-out bot; the invariant: no call live means the bot knows it is done."""

    bot_class: ClassVar[type[NaiveDialoutBot]] = NaiveDialoutBot
    max_dialins = 0  # this bot only dials out

    def on_start(self) -> None:
        """Create the bot on the fake Daily client and let it join."""
        self.bot = self.bot_class(self.daily, PHONE_NUMBER)
        self.bot.on_joined()

    def on_event(self, name: str, data: Any) -> None:
        """Call the bot's handler for this event, if it has one (``on_dialout_answered``...)."""
        handler = getattr(self.bot, name, None)
        if handler is not None:
            handler(data)

    @invariant()
    def bot_is_never_stranded(self) -> None:
        """While the bot waits for its call, some call must be live."""
        assert self.bot.finished or self.tracker.live, "stranded: no call is live and the bot still waits"


class NaiveBotFlow(DialoutBotFlow):
    """The flow with the naive bot (fails)."""

    bot_class = NaiveDialoutBot


class FixedBotFlow(DialoutBotFlow):
    """The flow with the fixed bot (passes)."""

    bot_class = FixedDialoutBot


#: Enough for both results in well under a second.
QUICK = settings(max_examples=200, stateful_step_count=20, deadline=None, database=None)

if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # no options: a clean usage error
    try:
        run_state_machine_as_test(NaiveBotFlow, settings=QUICK)
    except AssertionError as failure:
        print(f"naive bot: {failure}\nshrunk to this replay log:\n{to_jsonl(NaiveBotFlow.last_records)}")
    run_state_machine_as_test(FixedBotFlow, settings=QUICK)
    print("fixed bot: no failure found")
