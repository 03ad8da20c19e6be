"""Coverage of the transition tables: which states, transitions and transition pairs a run exercised.

The figures are measured against the tables themselves (:data:`dialfsm.TABLES`):

* **state coverage**: the states some session was in (``idle`` included, since
  every session starts there);
* **transition coverage** (0-switch): the table's ``TRANSITION`` rows some
  session took;
* **transition-pair coverage** (1-switch): the pairs of ``TRANSITION`` rows
  that can follow each other in the table (the first one's destination is the
  second one's source) and some session took back to back.

Recorded rows (warnings, DTMF, confirmations) and anomalies change no state and
do not count as transitions; they do not break a pair either.

A :class:`Coverage` learns from :class:`~dialfsm.JournalEntry` objects: attach
:meth:`Coverage.observe` with ``tracker.add_entry_listener`` (live), or feed it
finished trackers with :meth:`Coverage.observe_tracker` (their sessions'
histories), or replay logs with :meth:`Coverage.observe_log`.  It needs
nothing but the core, so a replay can be measured without Hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from dialfsm._machine import TABLES
from dialfsm._replay import ReplayResult, replay_path
from dialfsm._table import Disposition, Input, InputKind, Row, SessionKind, State, Table
from dialfsm._tracker import CallTracker

if TYPE_CHECKING:
    from dialfsm._tracker import JournalEntry, Session

__all__ = ["Coverage", "KindCoverage", "transition_pairs", "transition_rows", "untimed_entry"]


def transition_rows(table: Table) -> tuple[Row, ...]:
    """The rows of ``table`` that move a session to another state, in table order."""
    return tuple(row for row in table.rows if row.disposition is Disposition.TRANSITION)


def untimed_entry(table: Table, row: Row) -> bool:
    """Whether ``row`` creates a session whose timers never run: a dial-out adopted from its first event.

    Such a session never reads a timer input, so no path through it does either.
    """
    return (
        row.source == table.initial
        and table.kind is SessionKind.DIALOUT
        and row.input.kind is InputKind.EVENT
        and row.disposition is Disposition.TRANSITION
    )


def transition_pairs(table: Table) -> tuple[tuple[Row, Row], ...]:
    """Every feasible pair of transition rows taken back to back (first's dest is second's source).

    A pair is infeasible when the first row adopts a dial-out started elsewhere and the second
    reads a timer (its timers never run) or a start's completion (the bot never started it).
    """
    rows = transition_rows(table)
    return tuple(
        (first, second)
        for first in rows
        for second in rows
        if first.dest == second.source and not (untimed_entry(table, first) and _needs_the_bots_start(second))
    )


def _needs_the_bots_start(row: Row) -> bool:
    return row.input.kind is InputKind.TIMER or row.input in (Input.START_OK, Input.START_ERROR)


def _label(row: Row) -> str:
    return f"{row.source.value} --{row.input.value}--> {row.dest.value if row.dest is not None else '?'}"


def _pct(covered: int, total: int) -> float:
    return 100.0 if total == 0 else 100.0 * covered / total


@attrs.frozen(kw_only=True)
class KindCoverage:
    """Coverage of one table (``dialout`` or ``dialin``).

    Attributes:
        kind: Which table.
        states: ``(covered, total)`` states.
        transitions: ``(covered, total)`` transition rows.
        pairs: ``(covered, total)`` feasible transition pairs.
        missing_states: States no session was in.
        missing_transitions: Transition rows no session took, as ``source --input--> dest``.
        missing_pairs: Feasible pairs not taken back to back, as ``row ; row``.

    """

    kind: SessionKind
    states: tuple[int, int]
    transitions: tuple[int, int]
    pairs: tuple[int, int]
    missing_states: tuple[str, ...]
    missing_transitions: tuple[str, ...]
    missing_pairs: tuple[str, ...]

    @property
    def state_percent(self) -> float:
        """States covered, in percent."""
        return _pct(*self.states)

    @property
    def transition_percent(self) -> float:
        """Transition rows covered, in percent."""
        return _pct(*self.transitions)

    @property
    def pair_percent(self) -> float:
        """Feasible transition pairs covered, in percent."""
        return _pct(*self.pairs)

    def summary(self) -> str:
        """One line: ``dialout: states 7/7 (100.0%), transitions 20/20 (100.0%), pairs 60/71 (84.5%)``."""
        parts = [
            f"states {self.states[0]}/{self.states[1]} ({self.state_percent:.1f}%)",
            f"transitions {self.transitions[0]}/{self.transitions[1]} ({self.transition_percent:.1f}%)",
            f"transition pairs {self.pairs[0]}/{self.pairs[1]} ({self.pair_percent:.1f}%)",
        ]
        return f"{self.kind.value}: " + ", ".join(parts)


class Coverage:
    """State, transition and transition-pair coverage of the tables, accumulated over runs.

    Feed it journal entries as a tracker applies them::

        cov = Coverage()
        tracker.add_entry_listener(cov.observe)

    or finished trackers that kept their history (``cov.observe_tracker(tracker)``), then read
    :meth:`report` / :meth:`summary`.  One ``Coverage`` may observe any number
    of trackers, live or finished, in any mix; it keeps one "last transition"
    slot per live session to recognise pairs, and forgets it when the session ends.
    """

    def __init__(self, tables: Mapping[SessionKind, Table] = TABLES) -> None:
        self._tables = tables
        self._transition_index: dict[SessionKind, dict[tuple[State, str], Row]] = {
            kind: {(row.source, row.input.value): row for row in transition_rows(table)}
            for kind, table in tables.items()
        }
        self.states: dict[SessionKind, set[State]] = {kind: set() for kind in tables}
        self.transitions: dict[SessionKind, set[Row]] = {kind: set() for kind in tables}
        self.pairs: dict[SessionKind, set[tuple[Row, Row]]] = {kind: set() for kind in tables}
        #: How many session steps (one per session an input reached) were observed.
        self.steps = 0
        self._last: dict[int, tuple[Session, Row | None]] = {}

    # --- feeding --------------------------------------------------------------------

    def observe(self, entry: JournalEntry) -> None:
        """Count one journal entry (an entry listener: ``tracker.add_entry_listener(cov.observe)``)."""
        for step in entry.steps:
            self._step(step)

    def observe_tracker(self, tracker: CallTracker) -> None:
        """Count every session of a tracker, from its history.

        Raises:
            ValueError: the tracker keeps no history (``keep_history=False``, as
                :func:`~dialfsm.replay_lines` makes by default): attach
                :meth:`observe` as an entry listener instead.

        """
        if not tracker.keep_history:
            raise ValueError("the tracker keeps no history: add coverage.observe as an entry listener instead")
        for session in tracker:
            self.observe_session(session)

    def observe_session(self, session: Session) -> None:
        """Count one session from its history (the session must not also be observed live)."""
        table = self._tables[session.kind]
        self.states[session.kind].update(session.states)
        self.states[session.kind].add(table.initial)
        self._last.pop(id(session), None)
        for step in session.history:
            self._step(step)
        self._last.pop(id(session), None)

    def observe_log(self, path: str) -> ReplayResult:
        """Replay the JSON Lines log at ``path`` through a fresh tracker (as its header says) and count what it did.

        Returns the replay's result: its ``unreadable`` lines counted nothing, and say so.

        Raises:
            OSError: the file cannot be read.
            ReplayError: its header is not valid.

        """
        return replay_path(path, listeners=[self.observe])

    def reached(self, kind: SessionKind) -> bool:
        """Whether any session of ``kind`` was observed."""
        return bool(self.states[kind])

    def observe_all(self, trackers: Iterable[CallTracker]) -> None:
        """Count every session of several finished trackers."""
        for tracker in trackers:
            self.observe_tracker(tracker)

    def update(self, other: Coverage) -> None:
        """Add what another ``Coverage`` (of the same tables) saw to this one."""
        for kind in self._tables:
            self.states[kind] |= other.states.get(kind, set())
            self.transitions[kind] |= other.transitions.get(kind, set())
            self.pairs[kind] |= other.pairs.get(kind, set())
        self.steps += other.steps

    def _step(self, step: JournalEntry) -> None:
        session = step.session
        if session is None or step.source is None or step.dest is None:
            return
        kind = session.kind
        self.steps += 1
        states = self.states[kind]
        states.add(self._tables[kind].initial)
        states.add(step.source)
        states.add(step.dest)
        if step.disposition is not Disposition.TRANSITION:
            return
        row = self._transition_index[kind].get((step.source, step.name))
        if row is None or row.dest != step.dest:
            return  # not a table transition (cannot happen with the built-in tables)
        self.transitions[kind].add(row)
        key = id(session)
        previous = self._last.get(key)
        if previous is not None and previous[0] is session and previous[1] is not None:
            self.pairs[kind].add((previous[1], row))
        if step.dest in self._tables[kind].terminal:
            self._last.pop(key, None)
        else:
            self._last[key] = (session, row)

    # --- reading ----------------------------------------------------------------------

    def report(self) -> dict[SessionKind, KindCoverage]:
        """Coverage of each table, with what is missing."""
        result = {}
        for kind, table in self._tables.items():
            rows = transition_rows(table)
            pairs = transition_pairs(table)
            seen_states, seen_rows, seen_pairs = self.states[kind], self.transitions[kind], self.pairs[kind]
            result[kind] = KindCoverage(
                kind=kind,
                states=(sum(s in seen_states for s in table.states), len(table.states)),
                transitions=(sum(r in seen_rows for r in rows), len(rows)),
                pairs=(sum(p in seen_pairs for p in pairs), len(pairs)),
                missing_states=tuple(s.value for s in table.states if s not in seen_states),
                missing_transitions=tuple(_label(r) for r in rows if r not in seen_rows),
                missing_pairs=tuple(f"{_label(a)} ; {_label(b)}" for a, b in pairs if (a, b) not in seen_pairs),
            )
        return result

    def summary(self) -> str:
        """One line per table (see :meth:`KindCoverage.summary`)."""
        return "\n".join(k.summary() for k in self.report().values())

    @property
    def complete_transitions(self) -> bool:
        """Whether every transition row of every table was taken."""
        return all(k.transitions[0] == k.transitions[1] for k in self.report().values())
