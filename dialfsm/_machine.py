"""Building: the ``transitions`` machines from the tables, and the dispatch compiled from them.

Each table in :mod:`dialfsm._table` becomes a :class:`transitions.Machine`
(``auto_transitions=False``, enum states, one trigger per input, internal
transitions for recorded rows).  Building it validates the table a second
time, through transitions' own checks.

The tracker's hot path does not call ``Machine.trigger`` for every input: a
generic trigger costs ~10 us, most of it in callback machinery dialfsm does
not use.  Instead :func:`compile_dispatch` reads the built ``Machine`` back
(its events and their transitions) into a dict from ``(state, input)`` to a
:class:`~dialfsm._table.Resolution`, so the destination of every row is the
one the ``transitions`` engine would choose.  :func:`compile_cells` then adds
what else the table says of each pair (its bookkeeping, the timer the
destination arms, whether it ends a watchdog) into one flat tuple per pair,
the :data:`FastCell` the step reads.  ``CallTracker(engine="transitions")``
drives every session through a real ``Machine`` instead (each tracker builds
its own, so a dropped tracker takes its models with it); the test suite runs
both engines over generated input sequences and requires identical journals.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Final, TypeAlias

import attrs
from transitions import Machine

from dialfsm._table import (
    ANSWERED_STATES,
    BOOKKEEPING,
    DIALIN_INPUTS,
    DIALIN_TABLE,
    DIALIN_TERMINAL,
    DIALIN_TIMERS,
    DIALOUT_INPUTS,
    DIALOUT_TABLE,
    DIALOUT_TERMINAL,
    DIALOUT_TIMERS,
    Bookkeeping,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    InputKind,
    OutcomeSpec,
    Resolution,
    SessionKind,
    State,
    Table,
    TableError,
    Timer,
    build_table,
)

__all__ = [
    "ENGINES",
    "STEP_CODE",
    "STEP_KINDS",
    "TABLES",
    "Engine",
    "FastCell",
    "build_machine",
    "compile_cells",
    "compile_dispatch",
]


def build_machine(table: Table) -> Machine:
    """Build a ``transitions.Machine`` (no models yet) from a validated table."""
    machine = Machine(
        model=None,
        states=list(table.states),
        initial=table.initial,
        auto_transitions=False,
        send_event=False,
        ignore_invalid_triggers=False,
    )
    for row in table.rows:
        if row.disposition is Disposition.TRANSITION:
            machine.add_transition(row.input.trigger, row.source, row.dest)
        elif row.disposition is Disposition.RECORDED:
            machine.add_transition(row.input.trigger, row.source, None)  # internal
    return machine


def compile_dispatch(table: Table, machine: Machine) -> dict[tuple[State, Input], Resolution]:
    """Read ``machine`` back into a total ``(state, input) -> Resolution`` dict.

    Row-backed pairs take their destination from the machine's own
    ``Transition`` objects; pairs no row names keep the table's default
    resolution.

    Raises:
        TableError: the machine and the table disagree (a missing, extra or
            ambiguous transition, or another destination).

    """
    by_name = {s.name: s for s in table.states}  # transitions names enum states by member name
    by_trigger = {i.trigger: i for i in table.inputs}
    dispatch = dict(table.resolve)
    found: set[tuple[State, Input]] = set()
    for trigger, event in machine.events.items():
        input_ = by_trigger.get(trigger)
        if input_ is None:
            raise TableError(f"{table.kind}: machine has unknown trigger {trigger!r}")
        for source_name, transitions in event.transitions.items():
            source = by_name[source_name]
            if len(transitions) != 1:
                raise TableError(f"{table.kind}: {source}/{input_} has {len(transitions)} transitions")
            (transition,) = transitions
            dest = source if transition.dest is None else by_name[transition.dest]
            expected = table.resolve[source, input_]
            if expected.dest != dest or expected.row is None:
                raise TableError(f"{table.kind}: machine and table disagree on {source}/{input_}")
            dispatch[source, input_] = attrs.evolve(expected, dest=dest)
            found.add((source, input_))
    missing = {
        key for key, res in table.resolve.items() if res.row is not None and res.disposition is not Disposition.ANOMALY
    } - found
    if missing:
        raise TableError(f"{table.kind}: machine lacks {sorted(map(str, missing))}")
    return dispatch


#: One cell of :attr:`Engine.fast`: what one input does in one state, flat, for the step::
#:
#:     (disposition, dest, outcome, code, has_row, step, bookkeeping, timer, watch)
#:
#: ``outcome`` is the row's outcome spec; ``code`` the anomaly or refusal code;
#: ``has_row`` whether a table row (not a default rule) decided it; ``step`` the
#: :data:`STEP_CODE` of ``(disposition, state, dest)``, which journal rows keep;
#: ``bookkeeping`` what the input records (``None`` for anomalies and refusals);
#: ``timer`` the :class:`~dialfsm._table.Timer` a transition's ``dest`` arms;
#: ``watch`` the state's watchdog timer when this input, recorded, is a sign of life for it.
FastCell: TypeAlias = tuple[
    Disposition, State, OutcomeSpec, "str | None", bool, int, "Bookkeeping | None", "Timer | None", "Timer | None"
]

_STATE_VALUES: Final = tuple(sorted({s.value for s in DialoutState} | {s.value for s in DialinState}))

#: Every ``(disposition, source state, dest state)`` a step can have, as string values,
#: numbered: a journal row keeps the number (an int, which the cyclic GC does not track)
#: instead of three enum members (which it does).  See :mod:`dialfsm._journal`.
STEP_KINDS: Final[tuple[tuple[str, str, str], ...]] = tuple(
    itertools.product([d.value for d in Disposition], _STATE_VALUES, _STATE_VALUES)
)
#: The number of each of :data:`STEP_KINDS`.
STEP_CODE: Final[Mapping[tuple[str, str, str], int]] = {kind: code for code, kind in enumerate(STEP_KINDS)}

#: The inputs that are a sign of life for a watchdog timer (``Timer.watchdog``).
_SIGNS_OF_LIFE: Final = frozenset({InputKind.EVENT, InputKind.COMPLETION})


def compile_cells(
    table: Table, dispatch: Mapping[tuple[State, Input], Resolution]
) -> dict[State, dict[Input, FastCell]]:
    """The step's view of ``dispatch``: ``{state: {input: FastCell}}``, one unpack per input.

    Nested dicts, not a dict keyed by ``(state, input)``: the step then allocates no
    key tuple per input (allocations drive the cyclic GC).
    """
    fast: dict[State, dict[Input, FastCell]] = {}
    for (state, input_), r in dispatch.items():
        acted = r.disposition is Disposition.TRANSITION or r.disposition is Disposition.RECORDED
        timer = table.timers.get(r.dest) if r.disposition is Disposition.TRANSITION else None
        watch = table.timers.get(state)
        sign_of_life = r.disposition is Disposition.RECORDED and input_.kind in _SIGNS_OF_LIFE
        book = (r.row.records if r.row is not None else None) or BOOKKEEPING.get(input_)
        fast.setdefault(state, {})[input_] = (
            r.disposition,
            r.dest,
            r.outcome,
            r.code,
            r.row is not None,
            STEP_CODE[r.disposition.value, state.value, r.dest.value],
            book if acted else None,
            timer,
            watch if sign_of_life and watch is not None and watch.watchdog else None,
        )
    return fast


@attrs.frozen
class Engine:
    """One machine kind, ready to run: its table, its ``Machine`` and the compiled dispatch."""

    table: Table
    machine: Machine
    dispatch: Mapping[tuple[State, Input], Resolution]
    #: ``dispatch`` with the rest of the table's rules, as :data:`FastCell` s by state then input.
    fast: Mapping[State, Mapping[Input, FastCell]]


def _engine(table: Table) -> Engine:
    machine = build_machine(table)
    dispatch = compile_dispatch(table, machine)
    return Engine(table=table, machine=machine, dispatch=dispatch, fast=compile_cells(table, dispatch))


#: The two validated tables, by session kind.
TABLES: Final[Mapping[SessionKind, Table]] = {
    SessionKind.DIALOUT: build_table(
        SessionKind.DIALOUT,
        tuple(DialoutState),
        DialoutState.IDLE,
        DIALOUT_TERMINAL,
        DIALOUT_INPUTS,
        DIALOUT_TABLE,
        DIALOUT_TIMERS,
        ANSWERED_STATES[SessionKind.DIALOUT],
    ),
    SessionKind.DIALIN: build_table(
        SessionKind.DIALIN,
        tuple(DialinState),
        DialinState.IDLE,
        DIALIN_TERMINAL,
        DIALIN_INPUTS,
        DIALIN_TABLE,
        DIALIN_TIMERS,
        ANSWERED_STATES[SessionKind.DIALIN],
    ),
}

#: The engines (table, machine, compiled dispatch), by session kind.
ENGINES: Final[Mapping[SessionKind, Engine]] = {kind: _engine(t) for kind, t in TABLES.items()}
