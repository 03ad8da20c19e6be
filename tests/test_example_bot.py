"""examples/fuzz_naive_bot.py: CallFlowMachine finds the naive bot's bug, shrunk; the fixed bot passes."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from examples.fuzz_naive_bot import QUICK, FixedBotFlow, NaiveBotFlow


def test_the_naive_bot_is_stranded_by_a_failed_start_and_the_failure_shrinks_to_two_inputs() -> None:
    """A start_dialout whose completion fails fires no dialout-error: the naive bot waits forever."""
    with pytest.raises(AssertionError, match="stranded"):
        run_state_machine_as_test(NaiveBotFlow, settings=QUICK)
    assert NaiveBotFlow.last_records == [
        {"call": "start_dialout", "settings": {"phoneNumber": "+15555550100"}, "ref": "c1"},
        {
            "completion": "start_dialout",
            "session_id": None,
            "error": "Dialout(Properties(UnknownCallClientError))",
            "ref": "c1",
        },
    ]


def test_the_fixed_bot_survives_every_ordering() -> None:
    """Retrying on the completion's error too, once per attempt, the bot is never stranded."""
    run_state_machine_as_test(FixedBotFlow, settings=QUICK)
