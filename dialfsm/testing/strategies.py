"""Hypothesis strategies for Daily's inputs, the bot's call settings, and whole event sequences.

Everything a tracker reads can be drawn here, as the replay-log records the
README's replay contract defines (``{"event": ..., "data": ...}``,
``{"call": ...}``, ``{"completion": ...}``), so any example can be fed with
:func:`dialfsm.testing.feed`, written out as JSON Lines, and replayed with
``dialfsm replay``.

* Events: :func:`typed_events`, and :func:`daily_events`,
  :func:`dialout_events`, :func:`dialin_events` rendered in a dialect
  (``daily-js``, ``daily-python``, ``webhook``; ``None`` draws one).
* Settings: :func:`dialout_settings`, :func:`dtmf_settings`,
  :func:`sip_call_transfer_settings`, :func:`sip_refer_settings` (valid by
  daily-js's rules) and :func:`invalid_dialout_settings`,
  :func:`invalid_dtmf_settings` (each breaking exactly one rule, with the
  field :class:`~dialfsm.exceptions.InvalidSettings` will name).
* Sequences: :func:`machine_sequences` (what Daily can really send, following
  the tables) and :func:`adversarial_sequences` (duplicates, drops,
  reorderings, unknown sessions, late events, malformed payloads).
* :func:`json_values`: arbitrary JSON-like values, for robustness tests.

Every strategy is built from Hypothesis primitives that shrink: a failing
sequence shrinks towards fewer steps, earlier choices (completions before
events, the first dialect) and fewer mutations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from hypothesis import strategies as st

from dialfsm._inputs import (
    DailyEvent,
    DialinConnected,
    DialinError,
    DialinReady,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
)
from dialfsm._table import SessionKind
from dialfsm._tracker import CallTracker
from dialfsm.testing._render import DIALECTS, Dialect, render_event
from dialfsm.testing._room import COMPLETION_ERRORS, EVENT_ERRORS, Room
from dialfsm.testing._values import (
    SESSION_IDS,
    InvalidSettingsCase,
    Record,
    dialout_settings,
    dtmf_settings,
    invalid_dialout_settings,
    invalid_dtmf_settings,
    json_values,
    sip_call_transfer_settings,
    sip_refer_settings,
    sip_uris,
)

__all__ = [
    "MUTATIONS",
    "InvalidSettingsCase",
    "adversarial_sequences",
    "daily_events",
    "dialin_events",
    "dialout_events",
    "dialout_settings",
    "dtmf_settings",
    "invalid_dialout_settings",
    "invalid_dtmf_settings",
    "json_values",
    "machine_sequences",
    "sip_call_transfer_settings",
    "sip_refer_settings",
    "typed_events",
]
KindName = SessionKind | Literal["dialout", "dialin"] | None
_messages = st.sampled_from(EVENT_ERRORS) | st.text(min_size=1, max_size=40)

# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


def typed_events(
    kind: KindName = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[DailyEvent]:
    """Typed Daily events: ``kind="dialout"`` the ``dialout-*`` ones, ``"dialin"`` the ``dialin-*`` ones,
    ``None`` every event (room-level ones, DTMF and participants included).
    """  # noqa: D205
    if session_ids is None:
        cached = _TYPED_EVENTS.get(kind)
        if cached is None:
            cached = _TYPED_EVENTS[kind] = _typed_events(kind, SESSION_IDS)
        return cached
    return _typed_events(kind, session_ids)


_TYPED_EVENTS: dict[KindName, st.SearchStrategy[DailyEvent]] = {}


def _typed_events(kind: KindName, sid: st.SearchStrategy[str]) -> st.SearchStrategy[DailyEvent]:
    opt_id = st.none() | SESSION_IDS
    dialout: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialoutConnected, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutAnswered, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutStopped, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutError, session_id=st.none() | sid, error_msg=st.none() | _messages),
        st.builds(DialoutWarning, session_id=st.none() | sid, error_msg=st.none() | _messages),
    ]
    dialin: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialinConnected, session_id=sid, sip_from=st.none() | sip_uris(), sip_call_id=opt_id),
        st.builds(DialinStopped, session_id=sid, sip_call_id=opt_id),
        st.builds(
            DialinError,
            session_id=sid,
            error_msg=st.none() | _messages,
            type=st.none() | st.just("start-failed"),
        ),
        st.builds(DialinWarning, session_id=sid, error_msg=st.none() | _messages),
    ]
    room: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialinReady, sip_endpoint=sip_uris()),
        st.builds(
            DtmfReceived,
            session_id=st.none() | sid,
            tone=st.text(alphabet="0123456789*#ABCD", min_size=1, max_size=4),
            method=st.none() | st.sampled_from(("sip-info", "telephone-event")),
            volume=st.none() | st.floats(min_value=0, max_value=100),
        ),
        st.builds(ParticipantJoined, participant_id=sid),
        st.builds(ParticipantLeft, participant_id=sid),
        st.just(LeftMeeting()),
    ]
    chosen = {"dialout": dialout, "dialin": dialin, None: dialout + dialin + room}[
        None if kind is None else SessionKind(kind).value
    ]
    return st.one_of(chosen)


def _rendered(events: st.SearchStrategy[DailyEvent], dialect: Dialect | None) -> st.SearchStrategy[Record]:
    dialects = st.sampled_from(DIALECTS) if dialect is None else st.just(dialect)
    return st.builds(
        lambda event, chosen, variant: render_event(event, chosen, variant=variant),
        events,
        dialects,
        st.integers(0, 1),
    )


def daily_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """Any valid Daily event, as a record ``{"event": name, "data": payload}`` in ``dialect`` (``None``: any)."""
    return _rendered(typed_events(session_ids=session_ids), dialect)


def dialout_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """A valid ``dialout-*`` event record in ``dialect`` (``None``: any)."""
    return _rendered(typed_events("dialout", session_ids=session_ids), dialect)


def dialin_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """A valid ``dialin-*`` event record in ``dialect`` (``None``: any)."""
    return _rendered(typed_events("dialin", session_ids=session_ids), dialect)


# --------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------


def _kinds(kind: KindName) -> tuple[SessionKind, ...]:
    return tuple(SessionKind) if kind is None else (SessionKind(kind),)


_GO_ON: Final = st.integers(0, 15)


@st.composite
def machine_sequences(
    draw: st.DrawFn,
    kind: KindName = None,
    *,
    max_steps: int = 30,
    max_sessions: int = 2,
    dialect: Dialect | None = None,
) -> list[Record]:
    """Input sequences that follow the tables: what Daily (and a well-behaved bot) can really send.

    The sequence is built step by step against a scratch tracker: at each step
    one of the inputs the current states accept (a transition or a recorded
    row, never an anomaly or a refusal) is drawn, including Daily's documented
    surprises: events before the completion of the call that caused them,
    ``dialout-error`` without a session id, ``dialout-connected`` skipped,
    ``dialin-ready`` once per endpoint, a DTMF event without a session id when
    one call is live.  Replayed through a fresh ``CallTracker()``, such a
    sequence yields no anomaly and no refusal.

    Args:
        draw: Supplied by Hypothesis.
        kind: ``"dialout"`` or ``"dialin"`` for sessions of one kind; ``None`` both.
        max_steps: At most this many records.
        max_sessions: At most this many sessions of each kind.
        dialect: Render every event in this dialect; ``None`` draws one per event.

    """
    room = Room(CallTracker(), kinds=_kinds(kind), max_sessions=max_sessions, dialect=dialect)
    for _ in range(max_steps):
        if not draw(_GO_ON):  # a stop marker per step: a shrinker sets it to 0 to cut the tail
            break
        actions = room.actions(calls=True, new_dialouts=True)
        if not actions:
            break
        action = room.choose(actions, draw)
        room.apply(action, room.render(action, draw))
    return room.records


#: The ways :func:`adversarial_sequences` can spoil a sequence.
MUTATIONS: Final = (
    "duplicate",
    "echo",
    "drop",
    "swap",
    "move",
    "unknown_session",
    "late",
    "malformed_payload",
    "unknown_event",
    "stray_completion",
    "not_a_record",
)
_COMPLETABLE: Final = ("start_dialout", "stop_dialout", "send_dtmf", "sip_call_transfer", "sip_refer")


_JUNK: Final = json_values(max_leaves=4)
_JUNK_NAMES: Final = st.text(max_size=20) | json_values(max_leaves=2)
_GHOSTS: dict[KindName, st.SearchStrategy[DailyEvent]] = {}


def _ghost_events(kind: KindName) -> st.SearchStrategy[DailyEvent]:
    """Events naming sessions no one knows (``ghost-0``...), never ``left-meeting``."""
    if kind not in _GHOSTS:
        ghosts = st.sampled_from(("ghost-0", "ghost-1", "ghost-2"))
        _GHOSTS[kind] = typed_events(kind, session_ids=ghosts).filter(lambda e: not isinstance(e, LeftMeeting))
    return _GHOSTS[kind]


_Mutator = Callable[[list[Any], int, int, st.DrawFn, "KindName", "Dialect | None"], None]


def _duplicate(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    if records:
        records.insert(a % len(records) + 1, records[a % len(records)])


def _echo(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    n = len(records)
    if n:
        i = a % n
        records.insert(i + 1 + b % (n - i), records[i])  # the same record again, later


def _drop(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    if records:
        del records[a % len(records)]


def _swap(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    if len(records) >= 2:
        i = a % (len(records) - 1)
        records[i], records[i + 1] = records[i + 1], records[i]


def _move(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    if len(records) >= 2:
        records.insert(b % len(records), records.pop(a % len(records)))


def _unknown_session(
    records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None
) -> None:
    event = draw(_ghost_events(kind))
    chosen = dialect if dialect is not None else DIALECTS[b % 3]
    records.insert(a % (len(records) + 1), render_event(event, chosen))


def _late(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    events = [r for r in records if isinstance(r, dict) and "event" in r]
    records.append(events[a % len(events)] if events else {"event": "dialout-stopped", "data": {"sessionId": "x"}})


def _malformed_payload(
    records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None
) -> None:
    name = draw(st.sampled_from(("dialout-answered", "on_dialin_connected", "dtmf.event", "dialout-error")))
    records.insert(a % (len(records) + 1), {"event": name, "data": draw(_JUNK)})


def _unknown_event(
    records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None
) -> None:
    name = draw(_JUNK_NAMES)
    records.insert(a % (len(records) + 1), {"event": name, "data": draw(_JUNK)})


def _stray_completion(
    records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None
) -> None:
    completion = {
        "completion": _COMPLETABLE[b % len(_COMPLETABLE)],
        "session_id": draw(st.none() | SESSION_IDS),
        "error": draw(st.none() | st.sampled_from(COMPLETION_ERRORS)),
    }
    records.insert(a % (len(records) + 1), completion)


def _not_a_record(records: list[Any], a: int, b: int, draw: st.DrawFn, kind: KindName, dialect: Dialect | None) -> None:
    records.insert(a % (len(records) + 1), draw(_JUNK))


#: How each of :data:`MUTATIONS` spoils a sequence (in place).
_MUTATORS: dict[str, _Mutator] = {
    "duplicate": _duplicate,
    "echo": _echo,
    "drop": _drop,
    "swap": _swap,
    "move": _move,
    "unknown_session": _unknown_session,
    "late": _late,
    "malformed_payload": _malformed_payload,
    "unknown_event": _unknown_event,
    "stray_completion": _stray_completion,
    "not_a_record": _not_a_record,
}


@st.composite
def adversarial_sequences(
    draw: st.DrawFn,
    kind: KindName = None,
    *,
    max_steps: int = 30,
    max_mutations: int = 6,
    dialect: Dialect | None = None,
) -> list[Any]:
    """A :func:`machine_sequences` sequence spoiled by one or more of :data:`MUTATIONS`.

    Duplicates (at once, or later: an echo), drops, swaps of neighbours and
    moves (reorderings), events for
    sessions no one knows, events after the end of the call, known event names
    with junk payloads, unknown event names, completions of calls never made,
    and log lines that are not records at all.
    """
    records: list[Any] = list(draw(machine_sequences(kind, max_steps=max_steps, dialect=dialect)))
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 1 << 16), st.integers(0, 1 << 16)),
            min_size=1,
            max_size=max_mutations,
        )
    )
    for op, a, b in ops:
        _MUTATORS[op](records, a, b, draw, kind, dialect)
    return records
