"""How the journal and the histories keep entries: one row of atoms per input.

**Why rows.**  A tracker that keeps every entry (the default) grows by one
entry per input, and CPython's cyclic garbage collector charges for growth in
GC-tracked objects: each full collection walks every tracked object, and one
is due whenever the objects that survived into the oldest generation grow by a
quarter.  Kept as :class:`~dialfsm.JournalEntry` tuples (which reference the
session) plus their typed events, every input would leave two tracked objects
behind and pay ~2.5 us for the collections they cause, more than the rest of
``handle()`` together.

So the journal and the histories keep each entry as a *row*: a plain tuple of
atoms (ints, strings, floats, ``None``), with the disposition and the states as
one step number (:data:`~dialfsm._machine.STEP_KINDS`) and a Daily event as its
field values.  CPython stops tracking a plain tuple of atoms at the first young
collection it survives, so rows never reach the oldest generation and cost the
collector nothing.  Entries are built again from rows when they are read
(:func:`dialfsm._session.entry_of`): equal to the ones ``handle()`` returned,
and an event comes back equal, not identical.

**The row** (:data:`ROW_FIELDS`)::

    (seq, name, step, code, message, t, line, codec, values)

``codec >= 0``: ``values`` are the input's field values, rebuilt by
``DECODERS[codec]``; ``codec == -1``: ``values`` is the input object itself
(inputs without a codec: the bot's calls, which carry settings objects, and
user-built events whose fields the encoder cannot read).  Anomaly codes are
kept as strings (an enum member would keep the row tracked).

**The container.**  The tracker's journal holds two items per input:
``(session, row)`` for an input that reached one session, ``(None, entry)``
for any other (no session, or several: those keep their ``JournalEntry``,
which is rare and costs what it did before).  Both items go in with one
``extend()``.

**One writer, readers anywhere.**  Only the thread feeding the tracker writes;
a reader on another thread copies the items with one C call
(:func:`copy_items`), inside which the GIL does not switch threads, so it never
sees half an input (or, with a limit, pairs shifted by an eviction).  Only a
finalizer run by a collection during the copy can let the writer in: a deque
then raises and the copy is taken again; a list only grows, and is sliced.

**Which classes have codecs.**  Every Daily event class (:data:`ATOM_CLASSES`,
derived from the :data:`~dialfsm.DailyEvent` union and checked: every field
holds an atom), ``StopDialout``, and with their own encoders
:class:`~dialfsm.CallCompleted` and :class:`~dialfsm.TimerExpired`, whose
``Input`` is kept as its value.
"""

from __future__ import annotations

import types
import typing
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from dialfsm._inputs import CallCompleted, DailyEvent, StartDialout, StopDialout, TimerExpired
from dialfsm._slots import fields_getter, fields_maker
from dialfsm._table import AnomalyCode, DialinState, DialoutState, Disposition, Input, SessionKind, State

__all__ = [
    "ATOM_CLASSES",
    "CODE_ATOM",
    "CODE_OF",
    "DECODERS",
    "DISPOSITION_OF",
    "ENCODERS",
    "INPUT_BY_VALUE",
    "ROW_FIELDS",
    "START_CODEC",
    "STATE_OF",
    "JournalItems",
    "JournalRow",
    "check_atom_fields",
    "copy_items",
    "encode",
]

#: The fields of a row, in order.
ROW_FIELDS: Final = ("seq", "name", "step", "code", "message", "t", "line", "codec", "values")
#: A kept journal or history row (see the module docstring).
JournalRow = tuple[Any, ...]
#: The journal's container: two items per input (see the module docstring).
JournalItems = list[object] | deque[object]

_ATOM_TYPES: Final = frozenset({str, int, float, type(None)})


def _is_atom(annotation: object) -> bool:
    """Whether values of ``annotation`` are atoms: ``str``/``int``/``float``/``None``, unions and tuples of them."""
    if annotation in _ATOM_TYPES:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        return all(_is_atom(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)
    return False


def _atom_fields(cls: type[Any]) -> type[Any]:
    """``cls``, after checking that every field is annotated with atoms only (so its row stays untracked)."""
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        if not _is_atom(hints[field.name]):
            raise TypeError(f"{cls.__name__}.{field.name} is not an atom field: its rows would stay GC-tracked")
    return cls


#: The classes whose field values a row keeps: every Daily event, and the bot's stop.  Each must have
#: atom fields only (``check_atom_fields``, run by ``tests/test_journal.py``, not at import: it
#: evaluates every annotation, which costs start-up time).
ATOM_CLASSES: Final[tuple[type[Any], ...]] = (*typing.get_args(DailyEvent), StopDialout)


def check_atom_fields() -> None:
    """Raise ``TypeError`` unless every class of :data:`ATOM_CLASSES` has atom fields only."""
    for cls in ATOM_CLASSES:
        _atom_fields(cls)


#: Each input's value, looked up without Enum's slow ``.value`` descriptor.
_VALUE: Final[Mapping[Input, str]] = {i: i.value for i in Input}
#: Input members by value (completion and timer rows keep the value).
INPUT_BY_VALUE: Final[Mapping[str, Input]] = {i.value: i for i in Input}

#: ``type -> (codec number, field-values getter)``.
ENCODERS: Final[dict[type, tuple[int, Callable[[Any], tuple[Any, ...]]]]] = {
    cls: (code, fields_getter(cls)) for code, cls in enumerate(ATOM_CLASSES)
}
#: ``codec number -> builder of the input from its values``.
DECODERS: Final[list[Callable[[tuple[Any, ...]], object]]] = [fields_maker(cls) for cls in ATOM_CLASSES]
ENCODERS[CallCompleted] = (len(DECODERS), lambda c: (_VALUE[c.call], c.session_id, c.error, c.ref))
DECODERS.append(lambda v: CallCompleted(call=INPUT_BY_VALUE[v[0]], session_id=v[1], error=v[2], ref=v[3]))
ENCODERS[TimerExpired] = (len(DECODERS), lambda e: (e.timer.value, e.session_id, e.deadline))
DECODERS.append(lambda v: TimerExpired(timer=INPUT_BY_VALUE[v[0]], session_id=v[1], deadline=v[2]))
#: A start's row keeps its ref alone: its settings are its session's (the start created the session with
#: them), so the row holds atoms and no object for the collector to walk.  :func:`dialfsm._session.entry_of`
#: builds it again with the session's settings; a row with this codec decodes only there.
START_CODEC: Final = len(DECODERS)
ENCODERS[StartDialout] = (START_CODEC, lambda c: (c.ref,))


def _start_needs_its_session(values: tuple[Any, ...]) -> object:
    raise TypeError("a start_dialout row decodes with its session: use dialfsm._session.entry_of")


DECODERS.append(_start_needs_its_session)

#: Disposition members by value (rows keep dispositions inside their step number).
DISPOSITION_OF: Final[Mapping[str, Disposition]] = {d.value: d for d in Disposition}
#: An anomaly code as the string a row keeps.
CODE_ATOM: Final[Mapping[object, str]] = {c: c._value_ for c in AnomalyCode}
#: The anomaly code a row's string stands for.
CODE_OF: Final[Mapping[str, AnomalyCode]] = {c.value: c for c in AnomalyCode}
#: State members by kind and value.
STATE_OF: Final[Mapping[SessionKind, Mapping[str, State]]] = {
    SessionKind.DIALOUT: {s.value: s for s in DialoutState},
    SessionKind.DIALIN: {s.value: s for s in DialinState},
}


def encode(typed: object) -> tuple[int, object]:
    """``(codec, values)`` for a row: the input's field values, or ``(-1, typed)`` if it has no codec."""
    encoder = ENCODERS.get(typed.__class__)
    if encoder is None:
        return -1, typed
    try:
        return encoder[0], encoder[1](typed)
    except Exception:  # noqa: BLE001  (an odd field: keep the input itself; the step is applied)
        return -1, typed


def copy_items(journal: JournalItems) -> list[Any] | tuple[Any, ...]:
    """The journal's items, copied by one C call (see "one writer, readers anywhere")."""
    if isinstance(journal, list):
        return journal[:]  # reads the items after allocating the copy: a writer cannot move them under it
    for _ in range(1000):
        try:
            return tuple(journal)
        except RuntimeError:  # a writer on another thread ran while a finalizer let go of the GIL: again
            continue
    return tuple(journal)
