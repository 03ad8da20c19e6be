"""CallFlowMachine: Daily played against bots, with the built-in invariants.

``BusyBotFlow`` is the project's own stateful suite: a bot that uses every
call (dial-out, DTMF, transfers, refer, hang-up) while Daily delivers events
and completions in every order the tables allow, with dial-ins arriving too.
It feeds the project coverage gate.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from dialfsm import CallRefused, DialinState, DialoutState, Origin, SessionKind, Timeouts
from dialfsm.testing import CallFlowMachine, Coverage, replay
from tests.helpers import PROJECT_COVERAGE, SUITES_RUN


class BusyBot:
    """Answers every event with a call it is allowed to make (a stress test of the call paths)."""

    def __init__(self, flow: CallFlowMachine) -> None:
        self.flow = flow
        self.handled = 0

    def act(self) -> None:
        """Make the next call the tracker allows, cycling through DTMF, transfer, refer and hang-up."""
        daily, tracker = self.flow.daily, self.flow.tracker
        self.handled += 1
        for session in tracker.live:
            sid = session.session_id
            if sid is None:
                continue
            dialout = session.kind is SessionKind.DIALOUT
            if session.state is DialoutState.ANSWERED or session.state is DialinState.JOINED:
                choice = self.handled % 4
                if choice == 0:
                    daily.send_dtmf({"sessionId": sid, "tones": "1#"})
                elif choice == 1:
                    daily.sip_call_transfer({"sessionId": sid, "toEndPoint": "+15555550111"})
                elif choice == 2:
                    daily.sip_refer({"sessionId": sid, "toEndPoint": "sip:desk@example.com"})
                elif dialout:
                    daily.stop_dialout(sid)
            elif (
                dialout and session.state in (DialoutState.CONNECTING, DialoutState.CONNECTED) and self.handled % 3 == 0
            ):
                daily.stop_dialout(sid)
            return
        if not any(s.kind.value == "dialout" for s in tracker.live) and len(tracker) < 4 and self.handled % 2:
            daily.start_dialout({"phoneNumber": "+15555550100"})


class BusyBotFlow(CallFlowMachine):
    """The project's stateful suite (feeds the coverage gate)."""

    max_dialins = 2
    max_ready_endpoints = 2
    allow_timeouts = True
    allow_webhooks = True  # (also a stress test of adoption next to the bot's own calls)
    shared_coverage = PROJECT_COVERAGE

    def on_start(self) -> None:
        """Start a bot that dials out at once."""
        SUITES_RUN.add("call-flow-machine")
        self.bot = BusyBot(self)
        self.daily.start_dialout({"phoneNumber": "+15555550100"})

    def on_event(self, name: str, data: Any) -> None:
        """Every event prompts the bot to act."""
        self.bot.act()

    def on_completion(self, call: str, session_id: str | None, error: str | None) -> None:
        """So does every completion."""
        self.bot.act()

    @invariant()
    def the_run_replays_to_the_same_states(self) -> None:
        """The run's records, replayed by a fresh tracker, give the same sessions (every few steps)."""
        if len(self.room.records) % 7 == 0:
            again = replay(self.room.records, type(self.tracker)(**self.tracker_options))
            assert [(s.kind, s.states, s.outcome) for s in again] == [
                (s.kind, s.states, s.outcome) for s in self.tracker
            ]


BusyBotFlow.TestCase.settings = settings(stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow])
TestBusyBotFlow = BusyBotFlow.TestCase


class AdversarialBusyBotFlow(BusyBotFlow):
    """The same bot while Daily also misbehaves."""

    adversarial = True


AdversarialBusyBotFlow.TestCase.settings = settings(
    stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]
)
TestAdversarialBusyBotFlow = AdversarialBusyBotFlow.TestCase


class LongCallsFlow(CallFlowMachine):
    """A bot that only dials out, with ``Timeouts(max_call=...)``: its calls run into the call timeout."""

    max_dialins = 0
    allow_timeouts = True
    shared_coverage = PROJECT_COVERAGE
    tracker_options: ClassVar[dict[str, Any]] = {"timeouts": Timeouts(max_call=45)}

    def on_start(self) -> None:
        """Dial out once; Daily and the clock do the rest."""
        SUITES_RUN.add("long-calls")
        self.daily.start_dialout({"phoneNumber": "+15555550100"})

    @invariant()
    def no_call_outlives_max_call(self) -> None:
        """No answered dial-out or joined dial-in of this bot's (or a caller's) is live past ``max_call``.

        Calls the tracker did not see start (adopted, a transfer's leg) run no timers.
        """
        now = self.room.now
        for session in self.tracker.live:
            timed = session.origin in (Origin.BOT, Origin.CALLER)
            if (
                timed
                and session.started_at is not None
                and session.state in (DialoutState.ANSWERED, DialinState.JOINED)
            ):
                assert now - session.started_at <= 45, (session, now)


class LongDialinsFlow(LongCallsFlow):
    """Only callers, with ``Timeouts(max_call=...)``: their calls run into the call timeout."""

    max_dialins = 2
    max_ready_endpoints = 0
    allow_left_meeting = False

    def on_start(self) -> None:
        """No bot: callers and the clock."""
        SUITES_RUN.add("long-calls")


LongCallsFlow.TestCase.settings = settings(stateful_step_count=20, suppress_health_check=[HealthCheck.too_slow])
TestLongCallsFlow = LongCallsFlow.TestCase
# A joined caller outliving max_call takes three actions in a row (arrive, join, the clock): many examples.
LongDialinsFlow.TestCase.settings = settings(
    max_examples=1000, stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]
)
TestLongDialinsFlow = LongDialinsFlow.TestCase


QUICK = settings(max_examples=100, stateful_step_count=15, deadline=None, database=None)


class HastyHangUpFlow(CallFlowMachine):
    """A bot that hangs up on ``dialout-connected`` by the id it *expects*, before Daily named the call."""

    max_dialins = 0
    records: ClassVar[list[Any]] = []

    def on_start(self) -> None:
        """Dial out."""
        self.daily.start_dialout({"phoneNumber": "+15555550100"})

    def on_event(self, name: str, data: Any) -> None:
        """Hang up on the first sign of life, by the session id the data names."""
        if name == "on_dialout_warning":
            self.daily.stop_dialout(data.get("sessionId") or "unknown")


def test_a_bot_making_a_call_daily_would_refuse_fails_with_the_refusal() -> None:
    """The tracker's guards run on the bot's calls: a refused call fails the test, shrunk to its cause."""
    with pytest.raises(CallRefused) as refused:
        run_state_machine_as_test(HastyHangUpFlow, settings=QUICK)
    assert refused.value.code.value in ("NOT_FOUND", "INVALID_STATE", "INVALID_SETTINGS")
    events = [r for r in HastyHangUpFlow.last_records if "event" in r]
    assert [r["event"] for r in events] == ["on_dialout_warning"]


class QuietFlow(CallFlowMachine):
    """No bot at all: Daily brings dial-ins, the invariants hold, coverage is measured per run."""

    max_dialins = 2
    allow_webhooks = True
    runs: ClassVar[list[Coverage]] = []

    def teardown(self) -> None:
        """Keep each run's coverage."""
        super().teardown()
        QuietFlow.runs.append(self.coverage)


def test_builtin_invariants_hold_without_a_bot() -> None:
    """Dial-ins only: every input journaled, terminal states absorb, no anomaly; coverage is per run."""
    QuietFlow.runs.clear()
    run_state_machine_as_test(QuietFlow, settings=QUICK)
    total = Coverage()
    for run in QuietFlow.runs:
        total.update(run)
    assert len(QuietFlow.runs) >= 100
    assert total.report()[SessionKind.DIALIN].transitions[0] >= 4
    # No bot, so no dial-out of its own: only dial-outs started elsewhere, adopted from a webhook delivery.
    assert "idle --start_dialout--> connecting" in total.report()[SessionKind.DIALOUT].missing_transitions
