"""Path generation over the tables, in the manner of XState's graph paths, as replay logs.

A *path* is a sequence of a table's ``TRANSITION`` rows from the machine's
initial state.  :func:`shortest_paths` finds, by breadth-first search, the
shortest path to every state; :func:`transition_cover` a small set of paths
that takes every transition row at least once; :func:`pair_cover` a set that
takes every feasible pair of transitions back to back.

Each path comes with the replay-log records (see the README's replay contract)
that drive one session of a fresh :class:`~dialfsm.CallTracker` along it: the
inputs of its rows, plus the few the tracker needs to route them (the
``start_dialout`` completion that gives a dial-out its session id, so that
``stop_dialout`` can name it), each with a time ``"t"``; a timer row
(``start_timeout``, ``ring_timeout``, ``stop_timeout``) is a clock tick at the
timer's deadline.  ``dialfsm paths`` prints them, so a bot author
can keep them as regression tests.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from dialfsm._coverage import transition_pairs, transition_rows, untimed_entry
from dialfsm._header import header_record
from dialfsm._machine import TABLES
from dialfsm._policy import Timeouts
from dialfsm._replay import feed_record
from dialfsm._table import Input, InputKind, Row, SessionKind, State, Table
from dialfsm._tracker import CallTracker

__all__ = [
    "PATH_PHONE_NUMBER",
    "PATH_SESSION_ID",
    "PATH_TIMEOUTS",
    "TablePath",
    "pair_cover",
    "path_header",
    "path_records",
    "shortest_paths",
    "state_cover",
    "transition_cover",
]

#: The session id every generated path uses.
PATH_SESSION_ID: Final = "00000000-0000-4000-8000-00000000a7e5"
#: The number every generated dial-out calls (a fictional NANP number).
PATH_PHONE_NUMBER: Final = "+15555550100"
#: The timeouts a path's tracker runs with: the defaults, plus the opt-in ``max_call`` (so its rows
#: can be taken too).  Replay a path's log with ``CallTracker(timeouts=PATH_TIMEOUTS)``.
PATH_TIMEOUTS: Final = Timeouts(max_call=3600.0)
_START_ERROR_TEXT: Final = "Dialout(Properties(UnknownCallClientError))"
_ERROR_TEXT: Final = "SIP 503 Service Unavailable"


@attrs.frozen(kw_only=True)
class TablePath:
    """A sequence of transition rows from the initial state, and a replay log that takes it.

    Attributes:
        kind: The table it runs through.
        rows: The ``TRANSITION`` rows, in order.
        states: The states visited, starting with the initial one (``len(rows) + 1``).
        records: Replay-log records (one dict per log line) driving one session along it.

    """

    kind: SessionKind
    rows: tuple[Row, ...]
    states: tuple[State, ...]
    records: tuple[dict[str, Any], ...]

    @property
    def target(self) -> State:
        """The state the path ends in."""
        return self.states[-1]

    @property
    def name(self) -> str:
        """A short, file-name-safe label: ``dialout-idle-connecting-answered``."""
        return "-".join([self.kind.value, *(s.value for s in self.states)])

    @property
    def file_name(self) -> str:
        """A file name saying what the path covers: each input and the state it leads to.

        ``dialout__start_dialout=connecting__dialout-answered=answered.jsonl``: no
        two different paths share one.
        """
        steps = [f"{row.input.value}={state.value}" for row, state in zip(self.rows, self.states[1:], strict=True)]
        return "__".join([self.kind.value, *steps]) + ".jsonl"

    def to_jsonl(self, *, header: bool = True) -> str:
        """The records as JSON Lines (one object per line, each ending in a newline).

        With ``header`` (the default) the first line is a recording header naming
        :data:`PATH_TIMEOUTS`, so ``dialfsm replay`` and ``dialfsm coverage`` replay the
        log with the tracker it was made for.
        """
        lines = [json.dumps(path_header())] if header else []
        lines.extend(json.dumps(record) for record in self.records)
        return "".join(line + "\n" for line in lines)


def _event_record(input_: Input, session_id: str, *, entry: bool = False) -> dict[str, Any]:
    name = input_.value
    if entry and input_.value.startswith("dialout-"):  # a dial-out started elsewhere: a webhook adopts it
        payload: dict[str, Any] = {"session_id": session_id}
        if input_ is Input.DIALOUT_ERROR:
            payload["error_msg"] = _ERROR_TEXT
        return {"event": name.replace("-", ".", 1), "data": payload}
    if input_ is Input.LEFT_MEETING:
        return {"event": name, "data": {}}
    if input_ in (Input.PARTICIPANT_JOINED, Input.PARTICIPANT_LEFT):
        return {"event": name, "data": {"participant": {"session_id": session_id}}}
    data: dict[str, Any] = {"sessionId": session_id}
    if input_ in (Input.DIALOUT_ERROR, Input.DIALIN_ERROR):
        data["errorMsg"] = _ERROR_TEXT
    if input_ is Input.DIALIN_ERROR and entry:
        data["type"] = "start-failed"  # it never connected: the error creates the dial-in
    if input_ is Input.DTMF_EVENT:
        data["tone"] = "1"
    return {"event": name, "data": data}


def _call_record(input_: Input, session_id: str) -> dict[str, Any]:
    if input_ is Input.START_DIALOUT:
        return {"call": "start_dialout", "settings": {"phoneNumber": PATH_PHONE_NUMBER}, "ref": "start"}
    if input_ is Input.STOP_DIALOUT:
        return {"call": "stop_dialout", "session_id": session_id, "ref": "stop"}
    if input_ is Input.SEND_DTMF:
        return {"call": "send_dtmf", "settings": {"sessionId": session_id, "tones": "1"}}
    if input_ is Input.SIP_CALL_TRANSFER:
        return {"call": "sip_call_transfer", "settings": {"sessionId": session_id, "toEndPoint": "+15555550101"}}
    return {"call": "sip_refer", "settings": {"sessionId": session_id, "toEndPoint": "sip:desk@example.com"}}


def _completion_record(input_: Input, session_id: str) -> dict[str, Any]:
    call, result = input_.value.split(".")
    error = None if result == "ok" else (_START_ERROR_TEXT if call == "start_dialout" else _ERROR_TEXT)
    sid = session_id if call == "start_dialout" and error is None else None
    record: dict[str, Any] = {"completion": call, "session_id": sid, "error": error}
    if call in ("start_dialout", "stop_dialout"):
        record["ref"] = "start" if call == "start_dialout" else "stop"
    return record


def path_header() -> dict[str, Any]:
    """The recording header of a path's log: a default tracker with :data:`PATH_TIMEOUTS`."""
    return header_record(CallTracker(timeouts=PATH_TIMEOUTS), redacted=False)


def path_records(rows: Sequence[Row], session_id: str = PATH_SESSION_ID) -> tuple[dict[str, Any], ...]:
    """Replay-log records that drive one session of a fresh tracker (default timeouts) through ``rows``.

    Every record carries a time ``"t"``, starting at 0 and half a second apart,
    so the tracker arms its timers; a timer row becomes a clock tick
    ``{"t": deadline}`` at the moment that timer is due.  A ``start_dialout`` is
    followed by its successful completion (which gives the session its id)
    unless the next row reads ``start_dialout.error`` or ``start_timeout``.
    """
    tracker = CallTracker(timeouts=PATH_TIMEOUTS)
    records: list[dict[str, Any]] = []

    def emit(record: dict[str, Any]) -> None:
        if "t" not in record:
            now = tracker.now
            record["t"] = 0.0 if now is None else now + 0.5
        records.append(record)
        feed_record(tracker, record)

    for index, row in enumerate(rows):
        kind = row.input.kind
        if kind is InputKind.EVENT:
            emit(_event_record(row.input, session_id, entry=index == 0))
        elif kind is InputKind.CALL:
            emit(_call_record(row.input, session_id))
        elif kind is InputKind.COMPLETION:
            emit(_completion_record(row.input, session_id))
        else:
            deadline = tracker.next_deadline
            assert deadline is not None, f"{row.input.value} is not armed on this path"
            emit({"t": deadline})
        if row.input is Input.START_DIALOUT:
            following = rows[index + 1].input if index + 1 < len(rows) else None
            if following not in (Input.START_ERROR, Input.START_TIMEOUT):
                emit(_completion_record(Input.START_OK, session_id))
    return tuple(records)


def _path(table: Table, rows: Sequence[Row]) -> TablePath:
    states = [table.initial]
    for row in rows:
        assert row.dest is not None
        states.append(row.dest)
    return TablePath(kind=table.kind, rows=tuple(rows), states=tuple(states), records=path_records(rows))


def _bfs(table: Table) -> dict[State, tuple[Row, ...]]:
    """The shortest row sequence to each reachable state (ties broken by table order).

    Through a session the bot placed (or a caller), whose timers run, wherever one reaches
    the state: an adopted dial-out's first row only where nothing else does.
    """
    found: dict[State, tuple[Row, ...]] = {table.initial: ()}
    queue = deque([table.initial])
    rows = transition_rows(table)
    timed = [row for row in rows if not untimed_entry(table, row)]
    while queue:
        state = queue.popleft()
        for row in timed:
            if row.source == state and row.dest is not None and row.dest not in found:
                found[row.dest] = (*found[state], row)
                queue.append(row.dest)
    for row in rows:
        if untimed_entry(table, row) and row.dest is not None and row.dest not in found:
            found[row.dest] = (row,)
    return found


def _table(kind: SessionKind | str) -> Table:
    return TABLES[SessionKind(kind)]


def shortest_paths(kind: SessionKind | str) -> dict[State, TablePath]:
    """The shortest path to every state of a table (the initial state's is empty), in table order of states."""
    table = _table(kind)
    prefixes = _bfs(table)
    return {state: _path(table, prefixes[state]) for state in table.states}


def state_cover(kind: SessionKind | str) -> tuple[TablePath, ...]:
    """The shortest path to every state but the initial one."""
    return tuple(path for path in shortest_paths(kind).values() if path.rows)


def _greedy(candidates: Iterable[tuple[tuple[Row, ...], frozenset[Any]]]) -> list[tuple[Row, ...]]:
    """Pick candidates, longest first, while each adds a goal; return them in their original order."""
    indexed = list(enumerate(candidates))
    indexed.sort(key=lambda item: -len(item[1][0]))
    covered: set[Any] = set()
    chosen: list[tuple[int, tuple[Row, ...]]] = []
    for index, (rows, goals) in indexed:
        if goals - covered:
            covered |= goals
            chosen.append((index, rows))
    return [rows for _, rows in sorted(chosen, key=lambda item: item[0])]


def transition_cover(kind: SessionKind | str) -> tuple[TablePath, ...]:
    """Paths that together take every transition row of the table at least once.

    Each candidate is the shortest path to a row's source followed by the row;
    candidates are kept longest first while they add a row not yet taken.
    """
    table = _table(kind)
    prefixes = _bfs(table)
    candidates = []
    for row in transition_rows(table):
        rows = (row,) if untimed_entry(table, row) else (*prefixes[row.source], row)
        candidates.append((rows, frozenset(rows)))
    return tuple(_path(table, rows) for rows in _greedy(candidates))


def pair_cover(kind: SessionKind | str) -> tuple[TablePath, ...]:
    """Paths that together take every feasible pair of transitions back to back."""
    table = _table(kind)
    prefixes = _bfs(table)
    candidates = []
    for first, second in transition_pairs(table):
        rows = (first, second) if untimed_entry(table, first) else (*prefixes[first.source], first, second)
        candidates.append((rows, frozenset(itertools.pairwise(rows))))
    return tuple(_path(table, rows) for rows in _greedy(candidates))
