"""The Redis store against a real redis-server that the tests start on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx
import pytest
import redis
from starlette.testclient import TestClient

from dialfsm.server import RedisStore, RoomState, ServerConfig, StoreOptions, create_app, parse_delivery, replay_room
from dialfsm.server._rooms import Delivery
from tests.server_support import (
    SECRET,
    ThreadedServer,
    body_of,
    envelope,
    flush_redis,
    free_port,
    redis_url,
    signed_headers,
)

__all__ = ["redis_url"]  # the fixture, used by name

NOW = int(time.time())
OPTIONS = StoreOptions(compact_every=8, stream_max=200, keep_finished=600, live_ttl=7200, dedup_ttl=900)


@pytest.fixture
def url(redis_url: str) -> str:
    flush_redis(redis_url)
    return redis_url


def delivery(kind: str, room: str, sid: str, stamp: int, ident: str | None = None, **extra: object) -> Delivery:
    data = envelope(kind, ident=ident, room=room, session_id=sid, timestamp=str(stamp), **extra)
    return parse_delivery(body_of(data), received_at=time.time())


def call_flow(room: str, sid: str, stamp: int) -> list[Delivery]:
    return [
        delivery("dialin.connected", room, sid, stamp, sip_from="+15551234567"),
        delivery("participant.joined", room, sid, stamp + 1),
        delivery("dialin.warning", room, sid, stamp + 2, error_msg="jitter"),
        delivery("dialin.stopped", room, sid, stamp + 3),
    ]


async def replay_of(store: RedisStore, room: str) -> RoomState:
    items = await store.stream(room)
    return replay_room(
        room, [(json.loads(i.body), i.record["t"]) for i in items], finished_limit=OPTIONS.finished_limit
    )


def same(a: RoomState, b: RoomState) -> bool:
    one, two = a.tracker.snapshot(), b.tracker.snapshot()
    one.pop("rng")  # a fresh tracker's unused retry jitter is seeded at random
    two.pop("rng")
    return one == two and a.calls() == b.calls() and a.version == b.version


async def stores(url: str, n: int) -> list[RedisStore]:
    out = [RedisStore(url, OPTIONS) for _ in range(n)]
    for store in out:
        await store.start()
    return out


async def close(*items: RedisStore) -> None:
    for store in items:
        await store.close()


def test_commit_dedup_load_and_replay(url: str) -> None:
    async def run() -> None:
        (store,) = await stores(url, 1)
        flow = call_flow("R", "s1", NOW)
        assert [(await store.commit(d)).status for d in flow] == ["applied"] * 4
        assert (await store.commit(flow[1])).status == "duplicate"
        loaded = await store.load("R")
        assert loaded is not None
        assert [c["state"] for c in loaded.calls()] == ["stopped"]
        assert same(loaded, await replay_of(store, "R"))
        view = await store.call("s1")
        assert view is not None
        assert [item.record["name"] for item in view.journal] == [
            "dialin-connected",
            "participant-joined",
            "dialin-warning",
            "dialin-stopped",
        ]
        assert await store.rooms() == ["R"]
        assert await store.load("nowhere") is None
        await close(store)

    asyncio.run(run())


def test_round_trips_per_delivery(url: str) -> None:
    """An applied delivery costs 2 round trips (read, compare-and-set), a duplicate 1."""

    async def run() -> None:
        (store,) = await stores(url, 1)
        flow = [d for n in range(10) for d in call_flow(f"room-{n % 3}", f"s{n}", NOW + n)]
        for d in flow:
            await store.commit(d)
        before = (await store.totals())["dialfsm_store_round_trips_total"]
        assert before == 2 * len(flow)
        for d in flow[:5]:
            assert (await store.commit(d)).status == "duplicate"
        assert (await store.totals())["dialfsm_store_round_trips_total"] == before + 5
        await close(store)

    asyncio.run(run())


def test_deliveries_in_flight_share_round_trips(url: str) -> None:
    """Concurrent deliveries to different rooms: 2 commands each, far fewer round trips (pipelines)."""

    async def run() -> None:
        (store,) = await stores(url, 1)
        flow = [call_flow(f"room-{n}", f"s{n}", NOW)[0] for n in range(40)]
        results = await asyncio.gather(*(store.commit(d) for d in flow))
        assert {r.status for r in results} == {"applied"}
        totals = await store.totals()
        assert totals["dialfsm_store_script_calls_total"] == 80
        assert totals["dialfsm_store_round_trips_total"] <= 10
        for n in range(40):
            loaded = await store.load(f"room-{n}")
            assert loaded is not None
            assert loaded.calls()[0]["state"] == "connected"
        await close(store)

    asyncio.run(run())


def test_scripts_flushed_from_redis_are_loaded_again(url: str) -> None:
    async def run() -> None:
        (store,) = await stores(url, 1)
        flow = call_flow("R", "s1", NOW)
        await store.commit(flow[0])
        redis.Redis.from_url(url).script_flush()  # as a restarted Redis has none
        assert (await store.commit(flow[1])).status == "applied"
        assert (await store.commit(flow[1])).status == "duplicate"
        await close(store)

    asyncio.run(run())


def test_workers_racing_on_one_room_agree_with_a_replay_of_its_stream(url: str) -> None:
    """Four stores (four workers' caches and connections) commit one room's deliveries at once."""

    async def run() -> None:
        workers = await stores(url, 4)
        rng = random.Random(7)
        flows = [d for n in range(30) for d in call_flow("busy", f"s{n}", NOW + n)]
        sends = flows + rng.sample(flows, 20)  # redeliveries
        rng.shuffle(sends)
        results = await asyncio.gather(*(workers[i % 4].commit(d) for i, d in enumerate(sends)))
        assert sum(r.status == "applied" for r in results) == len(flows)
        items = await workers[0].stream("busy")
        assert [i.record["v"] for i in items] == list(range(1, len(flows) + 1))
        assert sorted(i.record["id"] for i in items) == sorted(str(d.id) for d in flows)
        replayed = await replay_of(workers[0], "busy")
        for worker in workers:
            loaded = await worker.load("busy")
            assert loaded is not None
            assert same(loaded, replayed)
        totals = await workers[0].totals()
        assert totals['dialfsm_deliveries_total{result="applied"}'] == len(flows)
        await close(*workers)

    asyncio.run(run())


def test_a_stale_cache_catches_up_from_the_stream_and_snapshots_compact_it(url: str) -> None:
    async def run() -> None:
        a, b = await stores(url, 2)
        flow = [d for n in range(6) for d in call_flow("R", f"s{n}", NOW + n)]
        await a.commit(flow[0])  # a caches the room
        for d in flow[1:-1]:
            await b.commit(d)  # b moves it on; a's cache is behind
        await a.commit(flow[-1])  # a reads the tail it missed, applies it and commits
        assert a._cache["R"].state.version == len(flow)
        client = redis.Redis.from_url(url)
        snap = client.hget("dialfsm:room:R", "snap")
        assert snap is not None
        assert json.loads(snap)["applied"] == (len(flow) // OPTIONS.compact_every) * OPTIONS.compact_every
        client.close()
        loaded = await b.load("R")
        assert loaded is not None
        assert same(loaded, await replay_of(a, "R"))
        await close(a, b)

    asyncio.run(run())


def test_keys_expire_dedup_after_its_ttl_and_rooms_after_their_calls(url: str) -> None:
    async def run() -> None:
        (store,) = await stores(url, 1)
        live, done = call_flow("live-room", "s1", NOW)[:2], call_flow("done-room", "s2", NOW)
        for d in live + done:
            await store.commit(d)
        client = redis.Redis.from_url(url)
        assert 0 < client.ttl(f"dialfsm:seen:{live[0].key}") <= OPTIONS.dedup_ttl
        assert OPTIONS.keep_finished < client.ttl("dialfsm:room:live-room") <= OPTIONS.live_ttl
        assert 0 < client.ttl("dialfsm:stream:done-room") <= OPTIONS.keep_finished
        assert 0 < client.ttl("dialfsm:call:s2") <= OPTIONS.keep_finished
        client.close()
        await close(store)

    asyncio.run(run())


def test_the_live_feed_crosses_workers(url: str) -> None:
    async def run() -> None:
        a, b = await stores(url, 2)
        position, events = await b.feed(None, 0.05)
        assert events == []
        waiting = asyncio.create_task(b.feed(position, 5.0))
        await asyncio.sleep(0.05)
        await a.commit(delivery("dialin.connected", "R", "s9", NOW))
        _, events = await waiting
        assert [(e["room"], e["calls"][0]["state"]) for e in events] == [("R", "connected")]
        await close(a, b)

    asyncio.run(run())


def test_the_app_on_redis_answers_with_the_fleets_figures(url: str) -> None:
    config = ServerConfig(store=url, options=OPTIONS)
    app = create_app(config, environ={"DAILY_WEBHOOK_SECRET": SECRET})
    with TestClient(app) as client:
        for d in call_flow("R", "s1", NOW):
            assert client.post("/webhook", content=d.body, headers=signed_headers(d.body)).status_code == 200
        (call,) = client.get("/calls").json()["calls"]
        assert call["state"] == "stopped"
        assert "+15551234567" not in client.get("/calls/s1").text
        text = client.get("/metrics").text
        assert 'dialfsm_deliveries_total{result="applied"} 4' in text
        assert "dialfsm_store_round_trips_total 8" in text
        assert client.get("/healthz").json()["store"] == "redis"


def test_a_store_that_fails_is_a_503_and_counted() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(ServerConfig(store=dead), environ={"DAILY_WEBHOOK_SECRET": SECRET})
    client = TestClient(app)  # no lifespan: the store is never started, and nothing listens there
    body = call_flow("R", "s1", NOW)[0].body
    response = client.post("/webhook", content=body, headers=signed_headers(body))
    assert (response.status_code, response.json()) == (503, {"error": "store_unavailable"})
    assert client.get("/healthz").status_code == 503


def test_server_sent_events_over_a_real_uvicorn(url: str) -> None:
    config = ServerConfig(store=url, options=OPTIONS)
    app = create_app(config, environ={"DAILY_WEBHOOK_SECRET": SECRET})
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        seen: list[dict[str, Any]] = []
        with client.stream("GET", "/events") as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            for d in call_flow("R", "s1", NOW)[:2]:
                assert client.post("/webhook", content=d.body, headers=signed_headers(d.body)).status_code == 200
            for line in lines:
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                if len(seen) == 2:
                    break
        assert [e["calls"][0]["state"] for e in seen] == ["connected", "joined"]


def test_refused_deliveries_leave_nothing_in_redis(url: str) -> None:
    app = create_app(ServerConfig(store=url, options=OPTIONS), environ={"DAILY_WEBHOOK_SECRET": SECRET})
    good = call_flow("R", "s1", NOW)[0].body
    forged = {**signed_headers(good), "X-Webhook-Signature": signed_headers(b"other")["X-Webhook-Signature"]}
    with TestClient(app) as client:
        for body, headers, status in (
            (good, forged, 401),
            (good, signed_headers(good, at=time.time() - 3600), 401),
            (b"x" * (1 << 20 | 1), signed_headers(b"x"), 413),
            (b"{oops", signed_headers(b"{oops"), 400),
            (b'{"test":"test"}', {}, 200),
        ):
            assert client.post("/webhook", content=body, headers=headers).status_code == status
        keys = redis.Redis.from_url(url).keys("*")
        assert keys == []  # no room, stream, dedup key or feed entry
        text = client.get("/metrics").text
        for reason in ("bad_signature", "stale", "too_large", "malformed"):
            assert f'dialfsm_rejections_total{{reason="{reason}"}} 1' in text
        assert redis.Redis.from_url(url).keys("*") == [b"dialfsm:stats"]  # counted once /metrics flushed them
