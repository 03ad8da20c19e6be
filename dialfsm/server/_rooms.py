"""A room's calls as a fold over its deliveries: the part of the server with no I/O.

A room's state is what one :class:`~dialfsm.CallTracker` reads when it is fed the
room's deliveries one at a time, in the order the store committed them, each with
the ``t`` recorded for it.  Everything here is deterministic, so any worker process
that applies a room's stream (from the start, or from a snapshot on) holds the same
state, and a test can check the store against a plain replay (:func:`replay_room`).

* :func:`parse_delivery` turns a verified body into a :class:`Delivery`: its room,
  its dedup key and the ``t`` it is fed with.
* :class:`RoomState` holds the tracker and what the server keeps beside it (the
  number of deliveries applied, when each call was first and last seen).
* :func:`new_tracker` is the one place trackers are built.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import attrs

from dialfsm import CallTracker, JournalEntry, Session
from dialfsm.recording import redact_record, redact_text
from dialfsm.webhooks import WebhookError, handle_webhook, parse_webhook

__all__ = [
    "ROOM_FORMAT",
    "Delivery",
    "DeliveryError",
    "RoomState",
    "call_span",
    "new_tracker",
    "parse_delivery",
    "redact_call",
    "redact_journal",
    "replay_room",
]

#: The ``format`` of a saved room state.
ROOM_FORMAT: Final = "dialfsm.server.room"
_ROOM_VERSION: Final = 1
#: Longest room name and delivery id accepted (Daily's room names are at most 128 characters).
_MAX_NAME: Final = 256
#: Payload timestamps above this are milliseconds.
_MILLISECONDS_ABOVE: Final = 1e11


class DeliveryError(ValueError):
    """A verified body that is no Daily webhook delivery (answered 400)."""


def new_tracker(
    *, finished_limit: int = 200, adopt_unknown_dialouts: Literal["never", "webhook", "always"] = "webhook"
) -> CallTracker:
    """The tracker of one room; the only place the server builds one.

    ``timeouts=None``: the server performs no effects (the calls were placed by
    others), and a timer armed on the deliveries' clock would move a call on the
    server's own say-so (a start watchdog firing because an unrelated delivery
    carried a later ``t``), so a room's state would depend on when other events
    happened to arrive instead of on what Daily reported.  ``journal_limit=0``:
    each call's journal lives in the store's stream, not in memory;
    ``finished_limit`` bounds the finished calls a long-lived room keeps (later
    events for a forgotten call are ``UNKNOWN_SESSION``).  Webhooks report every
    dial-out of the room, whoever placed it, so ``adopt_unknown_dialouts``
    defaults to ``"webhook"``: each one is tracked (origin ``adopted``).
    """
    return CallTracker(
        timeouts=None,
        journal_limit=0,
        finished_limit=finished_limit,
        adopt_unknown_dialouts=adopt_unknown_dialouts,
    )


@attrs.frozen(kw_only=True)
class Delivery:
    """One verified webhook delivery, ready to be committed to its room."""

    #: The deduplication key: room, type and id (and ``sip_endpoint`` for ``dialin.ready``).
    key: str
    #: The envelope's ``id`` (``None`` when Daily sent none).
    id: str | None
    #: The event type (``"dialout.answered"``).
    type: str
    #: The room it is about (``payload.room``, or ``payload.room_name``); ``""`` for none.
    room: str
    #: The time it is fed with: the payload's ``timestamp``, else when it was received.
    t: float
    #: The decoded JSON body.
    data: Mapping[str, Any]
    #: The raw body, as received and verified.
    body: bytes


def _payload_time(value: object) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return seconds / 1000.0 if seconds > _MILLISECONDS_ABOVE else seconds


def _dedup_key(room: str, kind: str, webhook_id: str | None, payload: Mapping[str, Any]) -> str:
    if webhook_id is None:
        # No id: the event's content is its identity.  Its payload carries the event's own
        # timestamp; event_ts (when the webhook was *sent*) is left out, as a retry may change it.
        canonical = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"), default=str)
        ident = "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    else:
        ident = "id:" + webhook_id
    endpoint = payload.get("sip_endpoint") if kind == "dialin.ready" else None
    parts = [room, kind, ident] + ([endpoint] if isinstance(endpoint, str) else [])
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def parse_delivery(body: bytes, *, received_at: float) -> Delivery:
    """Read one verified body.

    Raises:
        DeliveryError: not JSON, not an envelope (no ``type`` or ``payload``), or
            a room name or id that is not a short string.

    """
    try:
        data = json.loads(body)
        webhook = parse_webhook(data)
    except (ValueError, RecursionError, WebhookError) as exc:
        raise DeliveryError(str(exc)[:200]) from None
    payload = webhook.payload
    room = payload.get("room")
    if room is None:
        room = payload.get("room_name")  # recording.ready-to-download names it so (research §4.1)
    if room is None:
        room = ""
    if not isinstance(room, str) or len(room) > _MAX_NAME:
        raise DeliveryError("the payload's 'room' must be a short string")
    if webhook.id is not None and len(webhook.id) > _MAX_NAME:
        raise DeliveryError("the webhook's 'id' is too long")
    t = _payload_time(payload.get("timestamp"))
    return Delivery(
        key=_dedup_key(room, webhook.type, webhook.id, payload),
        id=webhook.id,
        type=webhook.type,
        room=room,
        t=received_at if t is None else t,
        data=data,
        body=body,
    )


def call_span(session: Session) -> tuple[float | None, float | None]:
    """When a call was first and last heard of, as far as its session knows.

    The one place call durations come from: the session's ``started_at`` and its
    latest ``t`` (``ended_at`` once it ended; else its last history entry's).
    :class:`RoomState` keeps the earliest and latest over every delivery, since
    webhooks may arrive out of order.
    """
    history = session.history
    last = session.ended_at if session.ended_at is not None else (history[-1].t if history else None)
    first = session.started_at if session.started_at is not None else (history[0].t if history else None)
    return first, last


def _key_of(session: Session) -> str:
    return session.session_id if session.session_id is not None else f"#{session.index}"


def _merge(old: list[float | None] | None, new: tuple[float | None, float | None]) -> list[float | None]:
    if old is None:
        return [new[0], new[1]]
    first = old[0] if new[0] is None or (old[0] is not None and old[0] <= new[0]) else new[0]
    last = old[1] if new[1] is None or (old[1] is not None and old[1] >= new[1]) else new[1]
    return [first, last]


@attrs.define(eq=False)
class RoomState:
    """One room: its tracker, how many deliveries it has read, and when each call was seen."""

    #: The room's name.
    room: str
    #: The room's tracker (see :func:`new_tracker`).
    tracker: CallTracker
    #: How many deliveries were applied (the store's version of the room).
    version: int = 0
    #: Each call's first and last ``t``, kept across snapshots (histories are not).
    spans: dict[str, list[float | None]] = attrs.Factory(dict)
    # Each call's summary and its JSON, rebuilt only for the calls a delivery reaches: a room's
    # calls are written to the store with every delivery, and most of them did not change.
    _summaries: dict[str, tuple[dict[str, Any], str]] = attrs.Factory(dict)

    @classmethod
    def new(cls, room: str, *, finished_limit: int = 200) -> RoomState:
        """An empty room."""
        return cls(room=room, tracker=new_tracker(finished_limit=finished_limit))

    def apply(self, data: Mapping[str, Any], t: float, *, delivery_id: str | None = None) -> dict[str, Any]:
        """Feed one delivery; returns its journal record (what the stream keeps about it).  Never raises."""
        entry = handle_webhook(self.tracker, data, t=t).entry
        self.version += 1
        steps = []
        for step in entry.steps:
            session = step.session
            assert session is not None  # steps are the entries that reached a session
            key = _key_of(session)
            self.spans[key] = _merge(self.spans.get(key), call_span(session))
            self._summaries.pop(key, None)
            steps.append([key, session.kind.value, _value(step.source), _value(step.dest)])
        if len(self.spans) > 2 * len(self.tracker) + 16:  # forgotten calls (finished_limit) leave the spans too
            held = {_key_of(s) for s in self.tracker}
            self.spans = {k: v for k, v in self.spans.items() if k in held}
            self._summaries = {k: v for k, v in self._summaries.items() if k in held}
        return _record(entry, self.version, delivery_id, t, steps)

    def _summary_of(self, session: Session) -> tuple[dict[str, Any], str]:
        key = _key_of(session)
        found = self._summaries.get(key)
        if found is None:
            summary = self.summary(session)
            found = self._summaries[key] = (summary, json.dumps(summary))
        return found

    def calls(self) -> list[dict[str, Any]]:
        """A summary of every call the room holds, oldest first (unredacted; do not change them)."""
        return [self._summary_of(session)[0] for session in self.tracker]

    def calls_json(self) -> str:
        """:meth:`calls` as JSON."""
        return "[" + ",".join(self._summary_of(session)[1] for session in self.tracker) + "]"

    def call(self, key: str) -> dict[str, Any] | None:
        """The summary of the call with this session id (or ``#index``), if the room holds it."""
        session = self.tracker.get(key)
        if session is None and key.startswith("#"):
            session = next((s for s in self.tracker if _key_of(s) == key), None)
        return None if session is None else self._summary_of(session)[0]

    def summary(self, session: Session) -> dict[str, Any]:
        """One call as the API shows it (unredacted)."""
        first, last = self.spans.get(_key_of(session), [None, None])
        terminal = session.is_terminal
        origin = session.origin
        return {
            "session_id": _key_of(session),
            "room": self.room,
            "kind": session.kind.value,
            "state": session.state.value,
            "outcome": None if session.outcome is None else session.outcome.value,
            "states": [s.value for s in session.states],
            "error": session.error,
            "error_code": None if session.error_code is None else session.error_code.value,
            "origin": origin.value,
            "destination": session.destination,
            "caller_id": session.caller_id,
            "live": not terminal,
            "started": first,
            "updated": last,
            "ended": last if terminal else None,
            "duration": None if first is None or last is None or not terminal else round(last - first, 3),
        }

    def dump(self) -> dict[str, Any]:
        """The room as JSON-able data (the tracker's snapshot and the server's fields)."""
        return {
            "format": ROOM_FORMAT,
            "version": _ROOM_VERSION,
            "room": self.room,
            "applied": self.version,
            "spans": self.spans,
            "tracker": self.tracker.snapshot(),
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> RoomState:
        """The room :meth:`dump` saved.

        Raises:
            ValueError: not a saved room of this format (a corrupt tracker snapshot raises
                :class:`~dialfsm.exceptions.SnapshotError`, a ``ValueError`` too).

        """
        if data.get("format") != ROOM_FORMAT or data.get("version") != _ROOM_VERSION:
            raise ValueError("not a saved dialfsm server room")
        spans = {str(k): [v[0], v[1]] for k, v in dict(data["spans"]).items()}
        tracker = CallTracker.restore(data["tracker"])
        return cls(room=str(data["room"]), tracker=tracker, version=int(data["applied"]), spans=spans)


def _value(state: object) -> str | None:
    return None if state is None else str(getattr(state, "value", state))


def _record(entry: JournalEntry, version: int, delivery_id: str | None, t: float, steps: list[Any]) -> dict[str, Any]:
    return {
        "v": version,
        "id": delivery_id,
        "t": t,
        "name": entry.name,
        "disposition": entry.disposition.value,
        "code": None if entry.code is None else str(entry.code),
        "message": entry.message,
        "steps": steps,
    }


def redact_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A call summary with phone numbers and SIP users masked (the recorder's rules)."""
    out = dict(call)
    for field in ("error", "room", "destination", "caller_id"):  # session ids are kept: they name calls, not people
        if isinstance(out.get(field), str):
            out[field] = redact_text(out[field])
    return out


def redact_journal(record: Mapping[str, Any], payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """A journal record (and the delivery's payload, if given) masked by the recorder's rules."""
    out = dict(record)
    if isinstance(out.get("message"), str):
        out["message"] = redact_text(out["message"])
    if payload is not None:
        out["payload"] = redact_record({"event": record.get("name"), "data": dict(payload)})["data"]
    return out


def replay_room(room: str, deliveries: Iterable[tuple[Mapping[str, Any], float]], **options: Any) -> RoomState:
    """A room rebuilt by one process from its deliveries (decoded bodies and ``t``), in order."""
    state = RoomState.new(room, **options)
    for data, t in deliveries:
        state.apply(data, t)
    return state
