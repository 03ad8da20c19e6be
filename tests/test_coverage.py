"""Coverage measurement: states, transitions and transition pairs against the tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialfsm import TABLES, CallTracker, DialinState, DialoutState, SessionKind
from dialfsm.testing import Coverage, replay, to_jsonl, transition_cover, transition_pairs, transition_rows
from tests.helpers import PHONE, SID, dialin_in, dialout_in


def drive_dialout_to_stopping(tracker: CallTracker) -> None:
    """Start, completion, connected, answered, stop (helpers.dialout_in treats an empty tracker as none)."""
    session = tracker.start_dialout(PHONE)
    tracker.start_completed(session, session_id=SID)
    tracker.handle("dialout-connected", {"sessionId": SID})
    tracker.handle("dialout-answered", {"sessionId": SID})
    tracker.stop_dialout(session)


def test_an_empty_coverage_reports_zero_of_everything() -> None:
    """Nothing observed: 0 of each, everything missing."""
    report = Coverage().report()[SessionKind.DIALOUT]
    table = TABLES[SessionKind.DIALOUT]
    assert report.states == (0, len(table.states))
    assert report.transitions == (0, len(transition_rows(table)))
    assert report.pairs == (0, len(transition_pairs(table)))
    assert len(report.missing_transitions) == report.transitions[1]


def test_the_tables_have_the_expected_numbers_of_transitions_and_pairs() -> None:
    """30 dial-out transitions (5 adopting a dial-out started elsewhere, 5 timers), 11 dial-in.

    A pair is first dest == second source, less what cannot follow an adoption (a timer, a start's completion).
    """
    assert len(transition_rows(TABLES[SessionKind.DIALOUT])) == 30
    assert len(transition_rows(TABLES[SessionKind.DIALIN])) == 11
    for first, second in transition_pairs(TABLES[SessionKind.DIALOUT]):
        assert first.dest == second.source
        assert not (
            first.source.value == "idle" and first.input.value != "start_dialout" and second.input.kind.value == "timer"
        )


def test_a_live_run_counts_states_transitions_and_pairs() -> None:
    """Start -> connected -> answered -> stopping -> stopped: 5 transitions, 4 pairs, 6 states."""
    coverage = Coverage()
    tracker = CallTracker()
    tracker.add_entry_listener(coverage.observe)
    drive_dialout_to_stopping(tracker)
    tracker.handle("dialout-warning", {"sessionId": SID})  # recorded: no transition, pair not broken
    tracker.handle("dialout-stopped", {"sessionId": SID})
    report = coverage.report()[SessionKind.DIALOUT]
    assert report.transitions[0] == 5
    assert report.pairs[0] == 4
    assert report.states[0] == 6
    assert report.missing_states == ("error",)
    assert "connecting --dialout-error--> error" in report.missing_transitions
    assert "dialout: states 6/7 (85.7%)" in coverage.summary()


def test_observing_live_and_from_history_agree() -> None:
    """A listener and observe_tracker on the finished tracker give the same figures."""
    live, after = Coverage(), Coverage()
    tracker = CallTracker(max_dialouts=2)
    tracker.add_entry_listener(live.observe)
    drive_dialout_to_stopping(tracker)
    dialin_in(DialinState.JOINED, tracker, sid="in-1")
    tracker.handle("left-meeting", {})  # one input, two sessions: two transitions
    after.observe_tracker(tracker)
    assert live.report() == after.report()
    assert live.report()[SessionKind.DIALIN].transitions[0] == 3


def test_anomalies_and_refusals_cover_nothing() -> None:
    """Inputs that move nothing add no transition (but the states they saw count)."""
    coverage = Coverage()
    tracker = CallTracker()
    tracker.add_entry_listener(coverage.observe)
    tracker.handle("dialout-answered", {"sessionId": "nobody"})
    tracker.handle("nonsense", {})
    assert coverage.report()[SessionKind.DIALOUT].transitions[0] == 0
    assert coverage.steps == 0


def test_update_merges_two_coverages() -> None:
    """update() adds another Coverage's findings; complete_transitions needs every row of both tables."""
    a, b = Coverage(), Coverage()
    a.observe_tracker(dialout_in(DialoutState.ANSWERED)[0])
    b.observe_tracker(replay([{"call": "start_dialout", "settings": PHONE}, {"event": "left-meeting", "data": {}}]))
    a.update(b)
    assert a.report()[SessionKind.DIALOUT].transitions[0] == 4
    assert not a.complete_transitions


def test_observe_log_replays_a_log(tmp_path: Path) -> None:
    """observe_log counts a JSON Lines log; a tracker without history is refused by observe_tracker."""
    log = tmp_path / "happy.jsonl"
    path = transition_cover("dialin")[0]
    log.write_text(to_jsonl(path.records))
    coverage = Coverage()
    coverage.observe_log(str(log))
    assert coverage.report()[SessionKind.DIALIN].transitions[0] == len(path.rows) >= 1
    with pytest.raises(ValueError, match="no history"):
        coverage.observe_tracker(CallTracker(keep_history=False))
