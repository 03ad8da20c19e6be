"""Shared helpers for the tests: canonical paths to every state, a plain dict interpreter, the coverage gate."""

from __future__ import annotations

from collections.abc import Mapping

from dialfsm import (
    BY_HISTORY,
    DIALIN_TABLE,
    DIALOUT_TABLE,
    TABLES,
    AnomalyCode,
    CallTracker,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    InputKind,
    Row,
    Session,
    SessionKind,
)
from dialfsm.testing import Coverage

SID = "5c7f0d2e-0000-4000-8000-000000000001"
PHONE = {"phoneNumber": "+15551234567"}


def dialout_in(state: DialoutState, tracker: CallTracker | None = None, sid: str = SID) -> tuple[CallTracker, Session]:
    """A tracker with one dial-out driven to ``state`` by public inputs (idle excluded)."""
    tracker = CallTracker() if tracker is None else tracker
    session = tracker.start_dialout(PHONE)
    if state is DialoutState.CONNECTING:
        return tracker, session
    if state is DialoutState.ERROR:
        tracker.start_completed(session, error="Dialout(Properties(UnknownCallClientError))")
        return tracker, session
    tracker.start_completed(session, session_id=sid)
    tracker.handle("dialout-connected", {"sessionId": sid})
    if state is DialoutState.CONNECTED:
        return tracker, session
    if state is DialoutState.STOPPED:
        tracker.handle("dialout-stopped", {"sessionId": sid})
        return tracker, session
    tracker.handle("dialout-answered", {"sessionId": sid})
    if state is DialoutState.ANSWERED:
        return tracker, session
    assert state is DialoutState.STOPPING
    tracker.stop_dialout(session)
    return tracker, session


def dialin_in(state: DialinState, tracker: CallTracker | None = None, sid: str = SID) -> tuple[CallTracker, Session]:
    """A tracker with one dial-in driven to ``state`` by public inputs (idle excluded)."""
    tracker = CallTracker() if tracker is None else tracker
    tracker.handle("dialin-connected", {"sessionId": sid})
    session = tracker[sid]
    if state is DialinState.CONNECTED:
        return tracker, session
    if state is DialinState.ERROR:
        tracker.handle("dialin-error", {"sessionId": sid, "errorMsg": "SDP negotiation failed"})
        return tracker, session
    tracker.handle("participant-joined", {"participant": {"session_id": sid}})
    if state is DialinState.STOPPED:
        tracker.handle("dialin-stopped", {"sessionId": sid})
    return tracker, session


class DictInterpreter:
    """An independent reading of the literal tables: rows, then the README's default rules."""

    def __init__(self, kind: SessionKind) -> None:
        rows = DIALOUT_TABLE if kind is SessionKind.DIALOUT else DIALIN_TABLE
        self.kind = kind
        self.rows: Mapping[tuple[object, Input], Row] = {(r.source, r.input): r for r in rows}
        self.terminal = TABLES[kind].terminal
        self.entering: dict[object, set[Input]] = {}
        for r in rows:
            if r.dest is not None and r.dest != r.source and r.input.kind is InputKind.EVENT:
                self.entering.setdefault(r.dest, set()).add(r.input)

    def resolve(self, state: object, input_: Input) -> tuple[object, Disposition, str | None]:
        """(dest, disposition, code) for one pair."""
        row = self.rows.get((state, input_))
        if row is not None:
            if row.anomaly is not None:
                return state, Disposition.ANOMALY, row.anomaly
            if row.dest is None or row.dest == state:
                return state, Disposition.RECORDED, None
            return row.dest, Disposition.TRANSITION, None
        if input_.kind in (InputKind.COMPLETION, InputKind.TIMER):
            return state, Disposition.RECORDED, None
        if input_.kind is InputKind.CALL:
            return state, Disposition.REFUSED, "INVALID_STATE"
        if state in self.terminal:
            return state, Disposition.ANOMALY, AnomalyCode.LATE_EVENT
        if input_ in self.entering.get(state, set()):
            return state, Disposition.ANOMALY, AnomalyCode.DUPLICATE_EVENT
        return state, Disposition.ANOMALY, AnomalyCode.OUT_OF_ORDER

    def outcome_is_by_history(self, state: object, input_: Input) -> bool:
        """Whether the row for this pair decides the outcome from history."""
        row = self.rows.get((state, input_))
        return row is not None and row.outcome == BY_HISTORY


# --- the project's own coverage gate ---------------------------------------------------

#: Table coverage of the project's own Hypothesis suites, collected over the test session.
PROJECT_COVERAGE = Coverage()
#: The suites that feed :data:`PROJECT_COVERAGE`; the gate runs only when all of them ran.
GATE_SUITES = frozenset(
    {
        "properties-dialout",
        "properties-dialin",
        "machine-sequences",
        "adversarial-sequences",
        "call-flow-machine",
        "long-calls",
    }
)
#: The suites that fed :data:`PROJECT_COVERAGE` in this session.
SUITES_RUN: set[str] = set()


def observed(tracker: CallTracker, suite: str) -> CallTracker:
    """Attach the project coverage collector to ``tracker`` on behalf of ``suite``; returns the tracker."""
    tracker.add_entry_listener(PROJECT_COVERAGE.observe)
    SUITES_RUN.add(suite)
    return tracker
