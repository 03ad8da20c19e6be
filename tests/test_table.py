"""Well-formedness of the transition tables and of the machines built from them."""

from __future__ import annotations

import pytest
from transitions import MachineError

from dialfsm import (
    DIALIN_TABLE,
    DIALOUT_TABLE,
    ENGINES,
    TABLES,
    AnomalyCode,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    InputKind,
    Row,
    SessionKind,
    TableError,
)
from dialfsm._machine import build_machine, compile_dispatch
from dialfsm._table import DIALOUT_INPUTS, DIALOUT_TERMINAL, State, build_table


@pytest.mark.parametrize("kind", list(SessionKind))
def test_every_pair_is_resolved(kind: SessionKind) -> None:
    """The compiled dispatch covers the whole state x input product."""
    table = TABLES[kind]
    assert set(ENGINES[kind].dispatch) == {(s, i) for s in table.states for i in table.inputs}


@pytest.mark.parametrize("kind", list(SessionKind))
def test_terminal_states_absorb(kind: SessionKind) -> None:
    """No input leaves a terminal state."""
    table = TABLES[kind]
    for (state, _input), resolution in ENGINES[kind].dispatch.items():
        if state in table.terminal:
            assert resolution.dest == state
            assert resolution.disposition is not Disposition.TRANSITION


@pytest.mark.parametrize("kind", list(SessionKind))
def test_every_state_is_reachable_and_can_end(kind: SessionKind) -> None:
    """Every state is reachable from idle, and every live state can reach a terminal one."""
    table = TABLES[kind]
    edges: dict[State, set[State]] = {s: set() for s in table.states}
    for row in table.rows:
        if row.disposition is Disposition.TRANSITION and row.dest is not None:
            edges[row.source].add(row.dest)
    seen, todo = {table.initial}, [table.initial]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(table.states)


def test_the_state_values_are_the_documented_ones() -> None:
    """State values are exactly the strings of the contract."""
    assert [s.value for s in DialoutState] == [
        "idle",
        "connecting",
        "connected",
        "answered",
        "stopping",
        "stopped",
        "error",
    ]
    assert [s.value for s in DialinState] == ["idle", "connected", "joined", "stopped", "error"]


def test_no_pair_appears_twice() -> None:
    """Each (state, input) pair has at most one row."""
    for rows in (DIALOUT_TABLE, DIALIN_TABLE):
        keys = [(r.source, r.input) for r in rows]
        assert len(keys) == len(set(keys))


def test_calls_are_refused_or_allowed_never_anomalies() -> None:
    """A bot call resolves to a transition, a record, or a refusal."""
    for engine in ENGINES.values():
        for (_state, input_), res in engine.dispatch.items():
            if input_.kind is InputKind.CALL:
                assert res.disposition is not Disposition.ANOMALY


def test_connected_may_be_skipped() -> None:
    """Connecting -> answered is a row (dialout-connected is not guaranteed)."""
    res = ENGINES[SessionKind.DIALOUT].dispatch[DialoutState.CONNECTING, Input.DIALOUT_ANSWERED]
    assert res.dest is DialoutState.ANSWERED


def test_default_rules() -> None:
    """Late, duplicate and out-of-order events follow the written default rules."""
    d = ENGINES[SessionKind.DIALOUT].dispatch
    assert d[DialoutState.STOPPED, Input.DIALOUT_WARNING].code == AnomalyCode.LATE_EVENT
    assert d[DialoutState.CONNECTED, Input.DIALOUT_CONNECTED].code == AnomalyCode.DUPLICATE_EVENT
    assert d[DialoutState.ANSWERED, Input.DIALOUT_CONNECTED].code == AnomalyCode.OUT_OF_ORDER
    assert d[DialoutState.ANSWERED, Input.DIALOUT_ANSWERED].code == AnomalyCode.DUPLICATE_EVENT
    assert d[DialoutState.STOPPED, Input.STOP_DIALOUT].disposition is Disposition.REFUSED
    assert d[DialoutState.STOPPED, Input.STOP_OK].disposition is Disposition.RECORDED
    i = ENGINES[SessionKind.DIALIN].dispatch
    assert i[DialinState.JOINED, Input.PARTICIPANT_JOINED].code == AnomalyCode.DUPLICATE_EVENT
    assert i[DialinState.JOINED, Input.DIALIN_CONNECTED].code == AnomalyCode.OUT_OF_ORDER


def _build(rows: tuple[Row, ...]) -> None:
    build_table(SessionKind.DIALOUT, tuple(DialoutState), DialoutState.IDLE, DIALOUT_TERMINAL, DIALOUT_INPUTS, rows)


def test_build_rejects_an_ambiguous_pair() -> None:
    """Two rows for one (state, input) pair are refused when the table is built."""
    extra = Row(source=DialoutState.CONNECTING, input=Input.DIALOUT_CONNECTED, dest=DialoutState.ANSWERED)
    with pytest.raises(TableError, match="ambiguous"):
        _build((*DIALOUT_TABLE, extra))


def test_build_rejects_a_terminal_state_that_is_left() -> None:
    """A row leaving a terminal state is refused."""
    extra = Row(source=DialoutState.STOPPED, input=Input.DIALOUT_ANSWERED, dest=DialoutState.ANSWERED)
    with pytest.raises(TableError, match="terminal"):
        _build((*DIALOUT_TABLE, extra))


def test_build_rejects_an_unreachable_state() -> None:
    """Dropping every row into 'stopping' makes it unreachable."""
    rows = tuple(r for r in DIALOUT_TABLE if r.dest is not DialoutState.STOPPING or r.source is DialoutState.STOPPING)
    with pytest.raises(TableError, match="unreachable"):
        _build(rows)


def test_build_rejects_a_dead_end() -> None:
    """A live state with no way to a terminal state is refused."""
    rows = tuple(r for r in DIALOUT_TABLE if r.source is not DialoutState.STOPPING or r.dest is None)
    with pytest.raises(TableError, match="cannot reach"):
        _build(rows)


def test_build_rejects_an_input_outside_the_alphabet() -> None:
    """A dial-out row reading a dial-in event is refused."""
    extra = Row(source=DialoutState.CONNECTING, input=Input.DIALIN_CONNECTED, dest=DialoutState.CONNECTED)
    with pytest.raises(TableError, match="alphabet"):
        _build((*DIALOUT_TABLE, extra))


def test_compile_detects_a_machine_that_disagrees() -> None:
    """compile_dispatch refuses a Machine whose transitions differ from the table."""
    table = TABLES[SessionKind.DIALOUT]
    machine = build_machine(table)
    machine.add_transition(Input.DIALOUT_CONNECTED.trigger, DialoutState.ANSWERED, DialoutState.CONNECTED)
    with pytest.raises(TableError):
        compile_dispatch(table, machine)


def test_the_machine_refuses_what_the_table_does_not_allow() -> None:
    """The transitions Machine raises (never returns False) on a trigger the table lacks."""
    engine = ENGINES[SessionKind.DIALOUT]

    class Model:
        pass

    model = Model()
    engine.machine.add_model(model, initial=DialoutState.ANSWERED)
    try:
        with pytest.raises(MachineError):
            model.trigger(Input.DIALOUT_CONNECTED.trigger)  # type: ignore[attr-defined]
        assert model.trigger(Input.DIALOUT_STOPPED.trigger) is True  # type: ignore[attr-defined]
        assert model.state is DialoutState.STOPPED  # type: ignore[attr-defined]
    finally:
        engine.machine.remove_model(model)


def test_machine_transitions_match_the_rows() -> None:
    """Every row the machine knows has the table's destination."""
    for kind, engine in ENGINES.items():
        for row in TABLES[kind].rows:
            res = engine.dispatch[row.source, row.input]
            assert res.row == row
            assert res.dest == (row.dest if row.dest is not None else row.source)
