"""Hypothesis profiles, and the table-coverage figures of the project's own suites.

Profiles (choose with ``--hypothesis-profile=NAME``):

* ``ci`` (default): bounded and derandomized, so the whole suite runs in well
  under two minutes on two cores and the coverage figures are the same on
  every run;
* ``fuzz``: 20 000 examples per property, no deadline, random seeds; for
  deep runs by hand (see the README).

After the run, the coverage the Hypothesis suites reached on both tables is
printed in the terminal summary; ``tests/test_coverage_gate.py`` (moved to the
end of the run) fails unless every transition of both tables was taken.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import GATE_SUITES, PROJECT_COVERAGE, SUITES_RUN

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the coverage gate last, after the suites that feed it."""
    items.sort(key=lambda item: item.get_closest_marker("coverage_gate") is not None)


def pytest_configure(config: pytest.Config) -> None:
    """Register the gate's marker (the suite runs with ``--strict-markers``)."""
    config.addinivalue_line("markers", "coverage_gate: checks the coverage the Hypothesis suites reached")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the table coverage the project's Hypothesis suites reached."""
    if not PROJECT_COVERAGE.steps:
        return
    terminalreporter.section("dialfsm table coverage (Hypothesis suites)")
    ran = ", ".join(sorted(SUITES_RUN))
    missing = ", ".join(sorted(GATE_SUITES - SUITES_RUN)) or "none"
    terminalreporter.write_line(f"suites: {ran} (not run: {missing}); {PROJECT_COVERAGE.steps} session steps")
    for kind in PROJECT_COVERAGE.report().values():
        terminalreporter.write_line(kind.summary())
        for label in kind.missing_transitions:
            terminalreporter.write_line(f"  missing transition: {label}")
