"""A fleet of ``dialfsm serve`` workers on one Redis, fed like Daily feeds them: the fleet test's engine.

:func:`run_fleet` starts 4 worker processes (one port each; the test is the load
balancer), sends signed deliveries built from Daily's payload shapes (dial-ins,
dial-outs started elsewhere, transfers, ordinary participants) with a share
redelivered and each room's order shuffled, kills one worker with SIGKILL part-way
and sends its unanswered deliveries again elsewhere, as Daily would.  Everything
stays on the loopback, and every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from dialfsm.server import RedisStore, StoreOptions, replay_room
from tests.server_support import SECRET, body_of, free_port, serve_process, signed_headers

_SEND_ATTEMPTS = 20
_DEADLINE = 900.0  # seconds: no run may take longer


@attrs.define
class Figures:
    """What one fleet run did and found."""

    rooms: int = 0
    deliveries: int = 0  # distinct deliveries
    redeliveries: int = 0  # extra copies sent on purpose
    sends: int = 0  # requests made, resends after failures included
    resent_after_failure: int = 0
    killed_worker_answered: int = 0
    answered: Counter[str] = attrs.Factory(Counter)
    in_streams: int = 0
    mismatched_rooms: int = 0
    missing: int = 0
    repeated: int = 0
    seconds: float = 0.0
    round_trips: float = 0.0
    script_calls: float = 0.0
    conflicts: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-able data."""
        out = attrs.asdict(self)
        out["answered"] = dict(self.answered)
        return out


def _call(room: str, n: int, stamp: int, rng: random.Random) -> list[dict[str, Any]]:
    """One call's deliveries, of a random kind, in the order Daily would send them."""
    sid = f"{room}-call-{n}"
    base: dict[str, Any] = {"room": room, "domain_id": "04b89420", "session_id": sid}
    kind = rng.choice(["dialin", "dialin", "dialout", "transfer", "error"])
    if kind == "dialout":  # started elsewhere (REST, another bot): this server never saw it placed
        shape = {**base, "destination": f"+1209{rng.randrange(10**7):07d}", "caller_id": "+12095550100"}
        types = ["dialout.connected", "dialout.answered", "dialout.warning", "dialout.stopped"]
        rows = [(t, shape) for t in types if t != "dialout.warning" or rng.random() < 0.3]
    elif kind == "error":
        rows = [("dialout.error", {**base, "error_msg": "Invalid phone number +1209555"})]
    else:
        shape = {**base, "sip_from": f"+1415{rng.randrange(10**7):07d}", "display_name": "Caller", "sip_headers": {}}
        rows = [("dialin.connected", shape), ("participant.joined", {**base, "user_name": "Caller", "owner": False})]
        if kind == "transfer":
            transfer = {**base, "to_endpoint": "+12125550199", "from_endpoint": "sip:bot@example.com"}
            for t in ("calltransfer.initiated", "calltransfer.answered", "calltransfer.completed"):
                rows.append((t, transfer))
        rows.append(("dialin.stopped", shape))
    return [
        {"version": "1.0.0", "type": t, "id": f"{sid}-{i}-{t}", "payload": {**p, "timestamp": str(stamp + i)}}
        for i, (t, p) in enumerate(rows)
    ]


def room_deliveries(room: str, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """About ``count`` deliveries for one room, each room's order shuffled within a small window."""
    out: list[dict[str, Any]] = [
        {"version": "1.0.0", "type": "dialin.ready", "id": f"{room}-ready", "payload": {"room": room, "timestamp": "1"}}
    ]
    n, stamp = 0, 1_790_000_000
    while len(out) < count:
        out += _call(room, n, stamp, rng)
        n, stamp = n + 1, stamp + rng.randrange(5, 60)
    out = out[:count]
    keyed = sorted(enumerate(out), key=lambda item: item[0] + rng.uniform(0, 4))  # displaced by up to ~4
    return [d for _, d in keyed]


def send_plan(rooms: int, per_room: int, redelivered: float, seed: int) -> tuple[list[dict[str, Any]], int]:
    """Every room's deliveries interleaved at random (each room's order kept), plus redeliveries."""
    rng = random.Random(seed)
    queues = [room_deliveries(f"room-{r:04d}", per_room, rng) for r in range(rooms)]
    order = [r for r, queue in enumerate(queues) for _ in queue]
    rng.shuffle(order)
    iters = [iter(q) for q in queues]
    plan = [next(iters[r]) for r in order]
    extra = rng.sample(range(len(plan)), int(len(plan) * redelivered))
    for index in sorted(extra, reverse=True):  # each copy goes somewhere after its original
        plan.insert(rng.randrange(index + 1, len(plan) + 1), plan[index])
    return plan, len(extra)


class _Connections:
    """One sender's keep-alive HTTP/1.1 connections, one per port.

    A lean client: httpx spends more CPU per request than a worker does, and the
    test shares two cores with the fleet.
    """

    def __init__(self) -> None:
        self._open: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def post(self, port: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST /webhook; raises ``ConnectionError`` when no answer came (the connection is dropped)."""
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        try:
            async with asyncio.timeout(30):
                if port not in self._open:
                    self._open[port] = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = self._open[port]
                writer.write(request.encode() + body)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(h[15:]) for h in head.split(b"\r\n") if h[:15].lower() == b"content-length:")
                return int(head[9:12]), await reader.readexactly(length)
        except (OSError, EOFError, TimeoutError, StopIteration, ValueError, asyncio.IncompleteReadError) as exc:
            self.drop(port)
            raise ConnectionError(str(exc)) from None

    def drop(self, port: int) -> None:
        """Close the connection to ``port``, if open."""
        streams = self._open.pop(port, None)
        if streams is not None:
            streams[1].close()

    def close(self) -> None:
        """Close every connection."""
        for port in list(self._open):
            self.drop(port)


class _Fleet:
    def __init__(self, ports: list[int], processes: list[subprocess.Popen[bytes]]) -> None:
        self.ports = ports
        self.processes = processes
        self.alive = list(range(len(ports)))
        self.turn = 0
        self.figures = Figures()
        self.by_worker: Counter[int] = Counter()

    def pick(self) -> int:
        self.turn += 1
        return self.alive[self.turn % len(self.alive)]

    def kill(self, worker: int) -> None:
        os.kill(self.processes[worker].pid, signal.SIGKILL)
        self.processes[worker].wait(timeout=10)
        self.alive.remove(worker)
        self.figures.killed_worker_answered = self.by_worker[worker]

    async def send(self, connections: _Connections, data: dict[str, Any]) -> None:
        body = body_of(data)
        for attempt in range(_SEND_ATTEMPTS):
            worker = self.pick()
            self.figures.sends += 1
            try:
                status, answer = await connections.post(self.ports[worker], body, signed_headers(body))
            except ConnectionError:
                status, answer = 0, b""
            if status == 200:
                self.figures.answered[json.loads(answer)["status"]] += 1
                self.by_worker[worker] += 1
                return
            self.figures.resent_after_failure += 1  # unanswered: Daily sends it again
            await asyncio.sleep(0.01 * (attempt + 1))
        raise RuntimeError(f"delivery {data['id']} was never answered 200")


async def _drive(fleet: _Fleet, plan: list[dict[str, Any]], kill_at: int, concurrency: int) -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for data in plan:
        queue.put_nowait(data)
    done = 0

    async def worker() -> None:
        nonlocal done
        connections = _Connections()
        try:
            while not queue.empty():
                await fleet.send(connections, queue.get_nowait())
                done += 1
                if done == kill_at:
                    fleet.kill(0)  # mid-run, with requests in flight on it
        finally:
            connections.close()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), _DEADLINE)


async def _check(url: str, plan: list[dict[str, Any]], figures: Figures, finished_limit: int) -> None:
    store = RedisStore(url, StoreOptions())
    await store.start()
    seen: Counter[tuple[str, str]] = Counter()
    for room in await store.rooms():
        items = await store.stream(room)
        seen.update((room, str(i.record["id"])) for i in items)
        loaded = await store.load(room)
        replayed = replay_room(
            room, [(json.loads(i.body), i.record["t"]) for i in items], finished_limit=finished_limit
        )
        one, two = (None, None) if loaded is None else (loaded.tracker.snapshot(), replayed.tracker.snapshot())
        if one is not None and two is not None:
            one.pop("rng")  # an unused retry jitter, seeded at random in a fresh tracker
            two.pop("rng")
        if loaded is None or one != two or loaded.calls() != replayed.calls() or loaded.version != len(items):
            figures.mismatched_rooms += 1
        figures.rooms += 1
    totals = await store.totals()
    await store.close()
    expected = {(d["payload"]["room"], d["id"]) for d in plan}
    figures.in_streams = sum(seen.values())
    figures.missing = len(expected - set(seen))
    figures.repeated = sum(n - 1 for n in seen.values() if n > 1) + len(set(seen) - expected)
    figures.round_trips = totals.get("dialfsm_store_round_trips_total", 0.0)
    figures.script_calls = totals.get("dialfsm_store_script_calls_total", 0.0)
    figures.conflicts = totals.get("dialfsm_store_conflicts_total", 0.0)


def _workers(url: str, logs: Path, count: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    env = {"DAILY_WEBHOOK_SECRET": SECRET, "DIALFSM_TOKEN": ""}
    for n in range(count):
        port = free_port()
        yield port, serve_process(port, url, env, logs / f"worker-{n}.log")


def run_fleet(url: str, logs: Path, *, rooms: int, per_room: int, seed: int = 15, concurrency: int = 32) -> Figures:
    """Run one fleet test; returns its figures (the caller asserts on them)."""
    plan, copies = send_plan(rooms, per_room, 0.10, seed)
    started = [*_workers(url, logs, 4)]
    fleet = _Fleet([port for port, _ in started], [process for _, process in started])
    fleet.figures.deliveries, fleet.figures.redeliveries = len(plan) - copies, copies
    began = time.monotonic()
    try:
        asyncio.run(_drive(fleet, plan, kill_at=int(len(plan) * 0.4), concurrency=concurrency))
        fleet.figures.seconds = round(time.monotonic() - began, 2)
        asyncio.run(_check(url, plan, fleet.figures, StoreOptions().finished_limit))
    finally:
        for process in fleet.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    return fleet.figures
