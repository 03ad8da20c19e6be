"""The Redis store: rooms shared by any number of worker processes.

Layout (every key under ``prefix``, ``dialfsm:`` by default):

=========================  =====================================================================
``room:{room}``            hash: ``v`` (deliveries applied), ``last`` (stream id of the latest),
                           ``calls`` (JSON summaries), ``snap`` / ``snap_id`` (the room state
                           saved at that stream entry; written every ``compact_every`` deliveries)
``stream:{room}``          stream, one entry per applied delivery in commit order: ``v``, ``id``,
                           ``type``, ``t`` (the time it was fed with), ``body``, ``j`` (journal record)
``seen:{key}``             the dedup key of an applied delivery, expiring after ``dedup_ttl``
``call:{session_id}``      the room of a call, for ``GET /calls/{id}``
``rooms``                  sorted set of room names, scored by when they expire
``feed``                   stream of transitions across all rooms (the live feed), capped
``stats``                  hash of the fleet's counters
=========================  =====================================================================

A room's state is the fold of its stream; the snapshot only saves replaying it all.

Committing one delivery, with optimistic concurrency on the room's version ``v``:

1. **Read** (one round trip, a Lua script): whether the dedup key exists, ``v``, and the
   stream entries this worker has not applied yet: none when its cached state is current,
   the tail after its cached entry when another worker committed meanwhile, or the
   snapshot and the tail after it when nothing is cached.
2. Apply the missed entries and the new delivery to the state, in memory.
3. **Commit** (one round trip, a Lua compare-and-set): if the dedup key is still absent and
   ``v`` is still the one read, append the delivery to the stream, bump ``v``, write the
   call summaries (and the snapshot, every ``compact_every``), set the dedup key, add to the
   feed and the counters, refresh the expiry times.  Otherwise nothing is written: the
   worker drops its state for the room (it read a delivery that was not committed) and
   starts again from step 1.

So an applied delivery costs 2 script calls, a duplicate 1, and a worker that lost a race
2 more per retry.  A worker applies one room's deliveries one at a time (an asyncio lock per
room), and every worker's state is the fold of the same stream prefix: the result is the
one a single process gets by applying the stream in its commit order.

Round trips: the script calls that a worker's deliveries make in one turn of its event
loop go to Redis as one pipeline (:class:`_Batcher`), so one round trip serves every
delivery in flight.  Alone, a delivery takes 2 round trips; under load, a fraction of one
(``dialfsm_store_round_trips_total`` against ``dialfsm_store_script_calls_total``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, Final

import attrs
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from dialfsm.server._config import StoreOptions
from dialfsm.server._metrics import Counters
from dialfsm.server._rooms import Delivery, RoomState
from dialfsm.server._store import (
    CallView,
    Commit,
    RoomView,
    Store,
    StoreError,
    StreamItem,
    feed_event,
    reached_calls,
)

__all__ = ["RedisStore"]

_CACHE_ROOMS: Final = 4096
_MAX_ATTEMPTS: Final = 50
_FEED_MAX: Final = 10_000

# KEYS: room hash, stream, seen key.  ARGV: cached version, cached last stream id ('' for none).
# Returns {seen, v, snapshot or false, entries}.
_READ: Final = """
local h = redis.call('HMGET', KEYS[1], 'v', 'snap', 'snap_id')
local v = tonumber(h[1] or '0')
if redis.call('EXISTS', KEYS[3]) == 1 then return {1, v, false, {}} end
local cached = tonumber(ARGV[1])
if ARGV[2] ~= '' and cached <= v then
  if cached == v then return {0, v, false, {}} end
  return {0, v, false, redis.call('XRANGE', KEYS[2], '(' .. ARGV[2], '+')}
end
local from = '-'
if h[3] then from = '(' .. h[3] end
return {0, v, h[2] or false, redis.call('XRANGE', KEYS[2], from, '+')}
"""

# KEYS: room hash, stream, seen key, feed, rooms index, stats, then one call key per call reached.
# ARGV: 1 expected v, 2 id, 3 type, 4 t, 5 body, 6 record, 7 calls, 8 snapshot or '', 9 room ttl,
# 10 dedup ttl, 11 feed event, 12 now, 13 stream max, 14 room name, 15 anomaly code or ''.
_COMMIT: Final = (
    """
if redis.call('EXISTS', KEYS[3]) == 1 then return {'dup', 0, ''} end
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return {'conflict', v, ''} end
local nv = v + 1
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[13], '*',
  'v', nv, 'id', ARGV[2], 'type', ARGV[3], 't', ARGV[4], 'body', ARGV[5], 'j', ARGV[6])
redis.call('HSET', KEYS[1], 'v', nv, 'last', sid, 'calls', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'snap', ARGV[8], 'snap_id', sid) end
local ttl = tonumber(ARGV[9])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[3], sid, 'EX', ARGV[10])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '"""
    + str(_FEED_MAX)
    + """', '*', 'e', ARGV[11])
local now = tonumber(ARGV[12])
redis.call('ZADD', KEYS[5], now + ttl, ARGV[14])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
redis.call('HINCRBY', KEYS[6], 'dialfsm_deliveries_total{result="applied"}', 1)
if ARGV[15] ~= '' then redis.call('HINCRBY', KEYS[6], 'dialfsm_anomalies_total{code="' .. ARGV[15] .. '"}', 1) end
for i = 7, #KEYS do redis.call('SET', KEYS[i], ARGV[14], 'EX', ttl) end
return {'ok', nv, sid}
"""
)


@attrs.define(eq=False)
class _Cached:
    state: RoomState
    last: str  # the stream id of the latest delivery the state has applied


def _safe(url: str) -> str:
    """``url`` without its password, for messages."""
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if ':' in credentials else user}@{tail}"


def _text(value: object) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _fields(raw: Sequence[Any]) -> dict[str, bytes]:
    return {_text(raw[i]): raw[i + 1] for i in range(0, len(raw), 2)}


def _item(entry: Sequence[Any]) -> tuple[str, StreamItem]:
    """A stream entry as ``(stream id, item)``."""
    fields = entry[1] if isinstance(entry[1], dict) else _fields(entry[1])
    fields = {_text(k): v for k, v in fields.items()}
    record = json.loads(fields["j"])
    return _text(entry[0]), StreamItem(record=record, body=bytes(fields["body"]))


class _Batcher:
    """Sends the script calls that tasks make in one turn of the event loop as one pipeline.

    Under load, the answers to one pipeline wake many deliveries at once, and their next
    calls go out together: one round trip serves many deliveries.  Each script still runs
    atomically on its own; only the trips are shared.  A worker never has two calls for
    one room in a batch (a room's deliveries wait for each other), so nothing changes order.
    """

    def __init__(self, client: aioredis.Redis, counters: Counters) -> None:
        self._client = client
        self._counters = counters
        self._queue: list[tuple[AsyncScript, list[Any], list[Any], asyncio.Future[Any]]] = []

    async def call(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """Run ``script`` with ``keys`` and ``args`` in the next pipeline; its reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)  # after the tasks ready in this turn have queued theirs
        self._queue.append((script, keys, args, future))
        return await future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        task.add_done_callback(_consume)

    async def _send(self, batch: list[tuple[AsyncScript, list[Any], list[Any], asyncio.Future[Any]]]) -> None:
        self._counters.add("dialfsm_store_round_trips_total")
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for script, keys, args, _ in batch:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
            if any(isinstance(r, NoScriptError) for r in replies):  # Redis restarted or flushed its scripts
                for script in {id(item[0]): item[0] for item in batch}.values():
                    await self._client.script_load(script.script)
                async with self._client.pipeline(transaction=False) as pipe:
                    for script, keys, args, _ in batch:
                        pipe.evalsha(script.sha, len(keys), *keys, *args)
                    replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001  (every waiting delivery gets the error, none hangs)
            replies = [exc] * len(batch)
        except BaseException:  # cancelled (the loop is closing): release the waiting deliveries, and stop
            for *_, future in batch:
                if not future.done():
                    future.cancel()
            raise
        for (*_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue  # its delivery gave up waiting
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: _send hands every error to the waiting deliveries


class RedisStore(Store):
    """Rooms in Redis, shared by worker processes (see the module docstring).

    Args:
        url: ``redis://host:port/db``.
        options: Retention and compaction.
        prefix: Prepended to every key.

    """

    kind = "redis"

    def __init__(self, url: str, options: StoreOptions | None = None, *, prefix: str = "dialfsm:") -> None:
        super().__init__(options or StoreOptions())
        self.url = url
        self.prefix = prefix
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=False)
        self._read = self._redis.register_script(_READ)
        self._commit = self._redis.register_script(_COMMIT)
        self._batch = _Batcher(self._redis, self.counters)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}{kind}:{name}" if name or kind not in ("feed", "rooms", "stats") else self.prefix + kind

    async def start(self) -> None:
        """Check the connection, load the scripts, and start flushing counters every second."""
        try:
            await self._redis.ping()
            await self._redis.script_load(_READ)
            await self._redis.script_load(_COMMIT)
        except RedisError as exc:
            raise StoreError(f"cannot reach Redis at {_safe(self.url)}: {exc}") from None
        self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def close(self) -> None:
        """Flush the counters and disconnect."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        with suppress(RedisError):
            await self._flush()
        await self._redis.aclose()

    async def healthy(self) -> bool:
        """Whether Redis answers a PING."""
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    # --- committing ---------------------------------------------------------------------

    @asynccontextmanager
    async def _room_lock(self, room: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(room, (asyncio.Lock(), 0))
        self._locks[room] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[room]
            if users == 1:
                del self._locks[room]
            else:
                self._locks[room] = (lock, users - 1)

    async def commit(self, delivery: Delivery) -> Commit:
        """Apply ``delivery`` once, after every delivery committed to its room before it."""
        async with self._room_lock(delivery.room):
            try:
                for attempt in range(_MAX_ATTEMPTS):
                    commit = await self._attempt(delivery)
                    if commit is not None:
                        return commit
                    self.counters.add("dialfsm_store_conflicts_total")
                    await asyncio.sleep(random.random() * 0.001 * min(attempt + 1, 10))
            except (RedisError, OSError) as exc:
                self._cache.pop(delivery.room, None)
                raise StoreError(f"Redis failed: {exc}") from None
        raise StoreError(f"room {delivery.room!r}: {_MAX_ATTEMPTS} commits lost to other workers in a row")

    async def _attempt(self, delivery: Delivery) -> Commit | None:
        """One read-apply-commit; ``None`` when another worker committed to the room first."""
        room = delivery.room
        cached = self._cache.pop(room, None)
        seen_key = self._key("seen", delivery.key)
        keys = [self._key("room", room), self._key("stream", room), seen_key]
        args: list[int | str] = [0, ""] if cached is None else [cached.state.version, cached.last]
        self.counters.add("dialfsm_store_script_calls_total")
        seen, version, snap, entries = await self._batch.call(self._read, keys, args)
        if seen:
            if cached is not None:
                self._keep(room, cached)
            return Commit(status="duplicate", room=room, version=int(version))
        current = self._catch_up(room, cached, snap, entries, int(version))
        if current is None:
            if cached is None:
                raise StoreError(f"room {room!r}: its stream does not continue its snapshot")
            return await self._attempt(delivery)  # the stream did not continue the cached state: read it all
        record = current.state.apply(delivery.data, delivery.t, delivery_id=delivery.id)
        calls = reached_calls(current.state, record)
        result = await self._write(delivery, current.state, record, calls)
        if result is None:
            return None
        if isinstance(result, Commit):
            return result
        self._keep(room, _Cached(state=current.state, last=result))
        return Commit(status="applied", room=room, version=current.state.version, record=record, calls=calls)

    def _catch_up(
        self, room: str, cached: _Cached | None, snap: bytes | None, entries: Sequence[Any], version: int
    ) -> _Cached | None:
        """The state with the stream's new entries applied, or ``None`` if they do not follow it."""
        if snap is not None:
            current = _Cached(state=RoomState.load(json.loads(snap)), last="")
        elif cached is not None:
            current = cached
        else:
            current = _Cached(state=RoomState.new(room, finished_limit=self.options.finished_limit), last="")
        for entry in entries:
            stream_id, item = _item(entry)
            if item.record["v"] != current.state.version + 1:
                return None
            current.state.apply(json.loads(item.body), float(item.record["t"]), delivery_id=item.record["id"])
            current.last = stream_id
        if current.state.version != version:
            return None
        return current

    async def _write(
        self, delivery: Delivery, state: RoomState, record: dict[str, Any], calls: tuple[dict[str, Any], ...]
    ) -> str | Commit | None:
        """The compare-and-set: the new stream id, a duplicate's Commit, or ``None`` on a conflict."""
        keys = [
            self._key("room", delivery.room),
            self._key("stream", delivery.room),
            self._key("seen", delivery.key),
            self._key("feed"),
            self._key("rooms"),
            self._key("stats"),
            *(self._key("call", c["session_id"]) for c in calls),
        ]
        self.counters.add("dialfsm_store_script_calls_total")
        args = self._commit_args(delivery, state, record, calls)
        status, version, stream_id = await self._batch.call(self._commit, keys, args)
        if status == b"ok":
            return _text(stream_id)
        if status == b"dup":
            return Commit(status="duplicate", room=delivery.room, version=int(version))
        return None

    def _commit_args(
        self, delivery: Delivery, state: RoomState, record: dict[str, Any], calls: tuple[dict[str, Any], ...]
    ) -> list[bytes | str | int | float]:
        """The commit script's ARGV (see ``_COMMIT``)."""
        options = self.options
        commit = Commit(status="applied", room=delivery.room, version=state.version, record=record, calls=calls)
        return [
            state.version - 1,
            delivery.id or "",
            delivery.type,
            repr(delivery.t),
            delivery.body,
            json.dumps(record),
            state.calls_json(),
            json.dumps(state.dump()) if state.version % options.compact_every == 0 else "",  # the snapshot
            int(options.live_ttl if state.tracker.live else options.keep_finished),
            int(options.dedup_ttl),
            json.dumps(feed_event(commit, delivery.t)),
            time.time(),
            options.stream_max,
            delivery.room,
            record["code"] if record["disposition"] == "anomaly" and record["code"] else "",
        ]

    def _keep(self, room: str, cached: _Cached) -> None:
        self._cache[room] = cached
        self._cache.move_to_end(room)
        while len(self._cache) > _CACHE_ROOMS:
            self._cache.popitem(last=False)

    # --- reading -----------------------------------------------------------------------

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except RedisError as exc:
            raise StoreError(f"Redis failed ({what}): {exc}") from None

    async def rooms(self) -> list[str]:
        """The rooms held (not yet expired)."""
        names = await self._call("rooms", self._redis.zrangebyscore(self._key("rooms"), time.time(), "+inf"))
        return [_text(name) for name in names]

    async def calls(self) -> list[dict[str, Any]]:
        """Every call of every room held (one round trip for the rooms, one for their calls)."""
        rooms = await self.rooms()
        if not rooms:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.hget(self._key("room", room), "calls")
            found = await self._call("calls", pipe.execute())
        return [call for raw in found if raw for call in json.loads(raw)]

    async def room(self, room: str) -> RoomView | None:
        """One room, with its latest 200 deliveries."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self._key("room", room), "v", "calls")
            pipe.xrevrange(self._key("stream", room), "+", "-", count=200)
            (version, calls), entries = await self._call("room", pipe.execute())
        if version is None:
            return None
        recent = [_item(entry)[1] for entry in reversed(entries)]
        return RoomView(room=room, version=int(version), calls=json.loads(calls or b"[]"), recent=recent)

    async def call(self, session_id: str) -> CallView | None:
        """One call, with the deliveries of its room's stream that reached it."""
        room = await self._call("call", self._redis.get(self._key("call", session_id)))
        if room is None:
            return None
        items = await self.stream(_text(room))
        view = await self.room(_text(room))
        found = None if view is None else next((c for c in view.calls if c["session_id"] == session_id), None)
        if found is None:
            return None
        journal = [item for item in items if any(step[0] == session_id for step in item.record["steps"])]
        return CallView(call=found, journal=journal)

    async def stream(self, room: str) -> list[StreamItem]:
        """Every delivery the room's stream keeps, in commit order."""
        entries = await self._call("stream", self._redis.xrange(self._key("stream", room), "-", "+"))
        return [_item(entry)[1] for entry in entries]

    async def load(self, room: str) -> RoomState | None:
        """The room's state as stored: its snapshot, and the stream's entries after it applied."""
        keys = [self._key("room", room), self._key("stream", room), self._key("seen", "\x00")]
        _, version, snap, entries = await self._call("load", self._read(keys=keys, args=[0, ""]))
        if int(version) == 0:
            return None
        current = self._catch_up(room, None, snap, entries, int(version))
        if current is None:
            raise StoreError(f"room {room!r}: its stream does not continue its snapshot")
        return current.state

    async def feed(self, after: str | None, timeout: float) -> tuple[str, list[dict[str, Any]]]:
        """Transitions after stream position ``after`` (``None``: the latest), blocking up to ``timeout``."""
        key = self._key("feed")
        if after is None:
            after = await self.position()
        found = await self._call("feed", self._redis.xread({key: after}, count=500, block=int(timeout * 1000)))
        events = []
        for _, entries in found or []:
            for stream_id, fields in entries:
                after = _text(stream_id)
                raw = fields.get(b"e") if isinstance(fields, dict) else _fields(fields).get("e")
                if raw is not None:
                    events.append(json.loads(raw))
        return after, events

    async def position(self) -> str:
        """The id of the feed's latest entry (``0-0`` when empty)."""
        latest = await self._call("feed", self._redis.xrevrange(self._key("feed"), "+", "-", count=1))
        return _text(latest[0][0]) if latest else "0-0"

    # --- counters ----------------------------------------------------------------------

    async def _flush(self) -> None:
        counts = self.counters.take()
        if not counts:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, amount in counts.items():
                    pipe.hincrbyfloat(self._key("stats"), name, amount)
                await pipe.execute()
        except RedisError:
            self.counters.give_back(counts)
            raise

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._flush()
            except RedisError:
                continue

    async def totals(self) -> dict[str, float]:
        """The fleet's counters, after adding this worker's latest counts."""
        try:
            await self._flush()
            raw = await self._redis.hgetall(self._key("stats"))
        except RedisError as exc:
            raise StoreError(f"Redis failed (stats): {exc}") from None
        return {_text(k): float(v) for k, v in raw.items()}
