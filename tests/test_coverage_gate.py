"""The gate: the project's own Hypothesis suites take every transition of both tables."""

from __future__ import annotations

import pytest

from tests.helpers import GATE_SUITES, PROJECT_COVERAGE, SUITES_RUN


@pytest.mark.coverage_gate
def test_hypothesis_suites_take_every_transition_of_both_tables() -> None:
    """100% transition coverage of the dial-out and dial-in tables (run last; figures in the summary)."""
    if not GATE_SUITES <= SUITES_RUN:
        pytest.skip(f"only part of the suite ran (missing {sorted(GATE_SUITES - SUITES_RUN)})")
    report = PROJECT_COVERAGE.report()
    for kind in report.values():
        assert kind.transitions[0] == kind.transitions[1], (kind.summary(), kind.missing_transitions)
        assert kind.states[0] == kind.states[1], (kind.summary(), kind.missing_states)
