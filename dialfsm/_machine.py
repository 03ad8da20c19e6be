"""The ``transitions`` machines built from the tables, and the dispatch compiled from them.

Each table in :mod:`dialfsm._table` becomes one shared :class:`transitions.Machine`
(``auto_transitions=False``, enum states, one trigger per input, internal
transitions for recorded rows).  Building it validates the table a second
time, through transitions' own checks.

The tracker's hot path does not call ``Machine.trigger`` for every input: a
generic trigger costs ~10 us, most of it in callback machinery dialfsm does
not use.  Instead :func:`compile_dispatch` reads the built ``Machine`` back
(its events and their transitions) into a dict from ``(state, input)`` to a
:class:`~dialfsm._table.Resolution`, so the destination of every row is the
one the ``transitions`` engine would choose.  ``CallTracker(engine="transitions")``
drives every session through the real ``Machine`` instead; the test suite runs
both over generated input sequences and requires identical journals.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Final, TypeAlias

import attrs
from transitions import Machine

from dialfsm._table import (
    DIALIN_INPUTS,
    DIALIN_TABLE,
    DIALIN_TERMINAL,
    DIALOUT_INPUTS,
    DIALOUT_TABLE,
    DIALOUT_TERMINAL,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    OutcomeSpec,
    Resolution,
    SessionKind,
    State,
    Table,
    TableError,
    build_table,
)

__all__ = ["ENGINES", "TABLES", "Engine", "build_machine", "compile_dispatch"]


def build_machine(table: Table) -> Machine:
    """Build a shared ``transitions.Machine`` (no models yet) from a validated table."""
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


@attrs.frozen
class Engine:
    """One machine kind, ready to run: its table, its ``Machine`` and the compiled dispatch."""

    table: Table
    machine: Machine
    dispatch: Mapping[tuple[State, Input], Resolution]
    #: ``dispatch`` as ``{state: {input: (disposition, dest, outcome, code, row is not None, step)}}``
    #: for the tracker's hot path: one unpack instead of five attribute reads, and no
    #: ``(state, input)`` key tuple allocated per input (allocations drive the cyclic GC).
    #: ``step`` is the :data:`STEP_CODE` of ``(disposition, state, dest)``, which journal rows keep.
    fast: Mapping[State, Mapping[Input, FastCell]]


#: A cell of :attr:`Engine.fast`.
FastCell: TypeAlias = tuple[Disposition, State, OutcomeSpec, "str | None", bool, int]

_STATE_VALUES: Final = tuple(sorted({s.value for s in DialoutState} | {s.value for s in DialinState}))

#: Every ``(disposition, source state, dest state)`` a step can have, as string values,
#: numbered: a journal row keeps the number (an int, which the cyclic GC does not track)
#: instead of three enum members (which it does).  See ``_tracker``'s journal notes.
STEP_KINDS: Final[tuple[tuple[str, str, str], ...]] = tuple(
    itertools.product([d.value for d in Disposition], _STATE_VALUES, _STATE_VALUES)
)
#: The number of each of :data:`STEP_KINDS`.
STEP_CODE: Final[Mapping[tuple[str, str, str], int]] = {kind: code for code, kind in enumerate(STEP_KINDS)}


def _engine(table: Table) -> Engine:
    machine = build_machine(table)
    dispatch = compile_dispatch(table, machine)
    fast: dict[State, dict[Input, FastCell]] = {}
    for (state, input_), r in dispatch.items():
        step = STEP_CODE[r.disposition.value, state.value, r.dest.value]
        fast.setdefault(state, {})[input_] = (r.disposition, r.dest, r.outcome, r.code, r.row is not None, step)
    return Engine(table=table, machine=machine, dispatch=dispatch, fast=fast)


#: The two validated tables, by session kind.
TABLES: Final[Mapping[SessionKind, Table]] = {
    SessionKind.DIALOUT: build_table(
        SessionKind.DIALOUT,
        tuple(DialoutState),
        DialoutState.IDLE,
        DIALOUT_TERMINAL,
        DIALOUT_INPUTS,
        DIALOUT_TABLE,
    ),
    SessionKind.DIALIN: build_table(
        SessionKind.DIALIN,
        tuple(DialinState),
        DialinState.IDLE,
        DIALIN_TERMINAL,
        DIALIN_INPUTS,
        DIALIN_TABLE,
    ),
}

#: The engines (table, machine, compiled dispatch), by session kind.
ENGINES: Final[Mapping[SessionKind, Engine]] = {kind: _engine(t) for kind, t in TABLES.items()}
