"""examples/fuzz_naive_bot.py: CallFlowMachine finds the naive bot's bug, shrunk; the fixed bot passes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "fuzz_naive_bot.py"


def _load() -> Any:
    """Import examples/fuzz_naive_bot.py (the examples folder is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("fuzz_naive_bot", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load()
QUICK, FixedBotFlow, NaiveBotFlow = example.QUICK, example.FixedBotFlow, example.NaiveBotFlow


def test_the_naive_bot_is_stranded_by_a_failed_start_and_the_failure_shrinks_to_two_inputs() -> None:
    """A start_dialout whose completion fails fires no dialout-error: the naive bot waits forever."""
    NaiveBotFlow.last_records = []
    with pytest.raises(AssertionError, match="stranded"):
        run_state_machine_as_test(NaiveBotFlow, settings=QUICK)
    assert [{k: v for k, v in r.items() if k != "t"} for r in NaiveBotFlow.last_records] == [
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
