"""Where rooms live: the store interface, and the in-memory store (one process).

Every store keeps, per room, the deliveries applied to it in commit order (the
room's *stream*: each delivery's body, the ``t`` it was fed with, and the journal
record it produced) and the room's state (:class:`~dialfsm.server._rooms.RoomState`),
which is by construction the fold of the stream.  A delivery whose dedup key was
committed within ``dedup_ttl`` seconds is a duplicate and changes nothing.

Retention: a room with no live call is dropped ``keep_finished`` seconds after
its last delivery; one with a live call after ``live_ttl`` seconds without a
delivery (a call Daily never reported as ended).  Inside a room, the tracker
keeps at most ``finished_limit`` finished calls and the stream at most
``stream_max`` deliveries.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Final

import attrs

from dialfsm.server._config import StoreOptions
from dialfsm.server._metrics import Counters
from dialfsm.server._rooms import Delivery, RoomState

__all__ = [
    "CallView",
    "Commit",
    "MemoryStore",
    "RoomView",
    "Store",
    "StoreError",
    "StreamItem",
    "feed_event",
    "reached_calls",
]

_FEED_KEEP: Final = 2000


class StoreError(Exception):
    """The store could not be reached or answered nonsense (the delivery is answered 503)."""


@attrs.frozen(kw_only=True)
class Commit:
    """What committing one delivery did."""

    #: ``"applied"``, or ``"duplicate"`` (already committed: nothing changed).
    status: str
    #: The room.
    room: str
    #: The room's version after it (deliveries applied).
    version: int
    #: The journal record the delivery produced (``None`` for a duplicate).
    record: dict[str, Any] | None = None
    #: The summaries of the calls it reached.
    calls: tuple[dict[str, Any], ...] = ()


@attrs.frozen(kw_only=True)
class StreamItem:
    """One delivery as a room's stream keeps it."""

    #: The journal record (``v``, ``id``, ``t``, ``name``, ``disposition``, ``code``, ``message``, ``steps``).
    record: dict[str, Any]
    #: The raw body.
    body: bytes


@attrs.frozen(kw_only=True)
class RoomView:
    """A room as the API shows it."""

    room: str
    version: int
    calls: list[dict[str, Any]]
    #: The latest stream items, oldest first.
    recent: list[StreamItem]


@attrs.frozen(kw_only=True)
class CallView:
    """One call and its journal."""

    call: dict[str, Any]
    journal: list[StreamItem]


class Store(abc.ABC):
    """A place rooms live.  Methods raise :class:`StoreError` when the store fails."""

    #: ``"memory"`` or ``"redis"``.
    kind: str = "?"

    def __init__(self, options: StoreOptions) -> None:
        self.options = options
        #: This worker's counts, added to the store's totals by :meth:`totals`.
        self.counters = Counters()

    async def start(self) -> None:  # noqa: B027  (optional hook)
        """Connect (and start background work)."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Disconnect."""

    @abc.abstractmethod
    async def commit(self, delivery: Delivery) -> Commit:
        """Apply ``delivery`` to its room once, after every delivery committed before it."""

    @abc.abstractmethod
    async def calls(self) -> list[dict[str, Any]]:
        """Every call of every room held, unredacted."""

    @abc.abstractmethod
    async def room(self, room: str) -> RoomView | None:
        """One room, or ``None``."""

    @abc.abstractmethod
    async def call(self, session_id: str) -> CallView | None:
        """One call with its journal, or ``None``."""

    @abc.abstractmethod
    async def rooms(self) -> list[str]:
        """The names of the rooms held."""

    @abc.abstractmethod
    async def stream(self, room: str) -> list[StreamItem]:
        """Every delivery the room's stream keeps, in commit order."""

    @abc.abstractmethod
    async def load(self, room: str) -> RoomState | None:
        """The room's state as stored (snapshot and stream tail), or ``None``."""

    @abc.abstractmethod
    async def feed(self, after: str | None, timeout: float) -> tuple[str, list[dict[str, Any]]]:
        """Transitions committed after the position ``after`` (``None``: from now on).

        Waits up to ``timeout`` seconds for one; returns the new position and the events.
        """

    @abc.abstractmethod
    async def position(self) -> str:
        """The live feed's current position (what :meth:`feed` continues from)."""

    @abc.abstractmethod
    async def totals(self) -> dict[str, float]:
        """The fleet's counter totals, this worker's latest counts included."""

    async def healthy(self) -> bool:
        """Whether the store answers."""
        return True


def feed_event(commit: Commit, t: float) -> dict[str, Any]:
    """The live-feed event of one applied delivery (unredacted)."""
    record = commit.record or {}
    return {
        "room": commit.room,
        "v": commit.version,
        "t": t,
        "name": record.get("name"),
        "disposition": record.get("disposition"),
        "code": record.get("code"),
        "steps": record.get("steps", []),
        "calls": list(commit.calls),
    }


def reached_calls(state: RoomState, record: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The summaries of the calls a journal record's steps reached."""
    found = (state.call(key) for key, *_ in record["steps"])
    return tuple(call for call in found if call is not None)


@attrs.define(eq=False)
class _MemoryRoom:
    state: RoomState
    stream: deque[StreamItem]
    expires: float = 0.0


class MemoryStore(Store):
    """Rooms in this process's memory: the default, for one worker process.

    Deliveries are applied synchronously inside the event loop, so one room's
    are applied one at a time in the order they arrive.
    """

    kind = "memory"

    def __init__(self, options: StoreOptions | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(options or StoreOptions())
        self._clock = clock
        self._rooms: dict[str, _MemoryRoom] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expiry, oldest first (one TTL for all)
        self._call_rooms: dict[str, str] = {}
        self._totals: dict[str, float] = {}
        self._feed: deque[tuple[int, dict[str, Any]]] = deque(maxlen=_FEED_KEEP)
        self._feed_seq = 0
        self._changed: asyncio.Event | None = None
        self._swept = 0.0

    async def commit(self, delivery: Delivery) -> Commit:
        """Apply ``delivery`` now, unless its key was seen (see :class:`Store`)."""
        now = self._clock()
        self._expire(now)
        held = self._rooms.get(delivery.room)
        if delivery.key in self._seen:
            return Commit(status="duplicate", room=delivery.room, version=0 if held is None else held.state.version)
        if held is None:
            state = RoomState.new(delivery.room, finished_limit=self.options.finished_limit)
            held = self._rooms[delivery.room] = _MemoryRoom(state=state, stream=deque(maxlen=self.options.stream_max))
        record = held.state.apply(delivery.data, delivery.t, delivery_id=delivery.id)
        held.stream.append(StreamItem(record=record, body=delivery.body))
        self._seen[delivery.key] = now + self.options.dedup_ttl
        live = bool(held.state.tracker.live)
        held.expires = now + (self.options.live_ttl if live else self.options.keep_finished)
        self.counters.add("dialfsm_deliveries_total", result="applied")
        if record["disposition"] == "anomaly" and record["code"]:
            self.counters.add("dialfsm_anomalies_total", code=record["code"])
        calls = reached_calls(held.state, record)
        for call in calls:
            self._call_rooms[call["session_id"]] = delivery.room
        commit = Commit(status="applied", room=delivery.room, version=held.state.version, record=record, calls=calls)
        self._publish(feed_event(commit, delivery.t))
        return commit

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen and next(iter(seen.values())) <= now:
            seen.popitem(last=False)
        if now - self._swept < 5.0:
            return
        self._swept = now
        for name in [name for name, room in self._rooms.items() if room.expires <= now]:
            del self._rooms[name]
        self._call_rooms = {sid: room for sid, room in self._call_rooms.items() if room in self._rooms}

    def _publish(self, event: dict[str, Any]) -> None:
        self._feed_seq += 1
        self._feed.append((self._feed_seq, event))
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def calls(self) -> list[dict[str, Any]]:
        """Every call of every room held."""
        self._expire(self._clock())
        return [call for room in self._rooms.values() for call in room.state.calls()]

    async def room(self, room: str) -> RoomView | None:
        """One room, with its latest 200 deliveries."""
        held = self._rooms.get(room)
        if held is None:
            return None
        recent = list(held.stream)[-200:]
        return RoomView(room=room, version=held.state.version, calls=held.state.calls(), recent=recent)

    async def call(self, session_id: str) -> CallView | None:
        """One call, with the deliveries that reached it."""
        held = self._rooms.get(self._call_rooms.get(session_id, "\x00"))
        if held is None:
            return None
        found = next((c for c in held.state.calls() if c["session_id"] == session_id), None)
        if found is None:
            return None
        journal = [item for item in held.stream if any(step[0] == session_id for step in item.record["steps"])]
        return CallView(call=found, journal=journal)

    async def rooms(self) -> list[str]:
        """The rooms held."""
        return list(self._rooms)

    async def stream(self, room: str) -> list[StreamItem]:
        """The room's deliveries, in commit order."""
        held = self._rooms.get(room)
        return [] if held is None else list(held.stream)

    async def load(self, room: str) -> RoomState | None:
        """The room's state (a copy, through its saved form)."""
        held = self._rooms.get(room)
        return None if held is None else RoomState.load(held.state.dump())

    async def feed(self, after: str | None, timeout: float) -> tuple[str, list[dict[str, Any]]]:
        """The events after ``after``, waiting up to ``timeout`` seconds for one."""
        last = self._feed_seq if after is None else _int_or(after, self._feed_seq)
        if last >= self._feed_seq:
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return str(last), []
        events = [event for seq, event in self._feed if seq > last]
        return str(self._feed_seq), events

    async def position(self) -> str:
        """The latest event's number."""
        return str(self._feed_seq)

    async def totals(self) -> dict[str, float]:
        """The counters' totals."""
        for key, value in self.counters.take().items():
            self._totals[key] = self._totals.get(key, 0.0) + value
        return dict(self._totals)


def _int_or(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
