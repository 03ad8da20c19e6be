"""Shared pieces of the server's tests: signed deliveries, a real redis-server, a real uvicorn.

The fixtures here are imported by name into the ``test_server*`` modules.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dialfsm.server._signature import sign

#: The research notes' test secret (issue15-research.md §1.6).
SECRET = "ZGlhbGZzbS10ZXN0LXNlY3JldC0zMi1ieXRlcyEhISE="
KEY = base64.b64decode(SECRET)
REDIS_SERVER = shutil.which("redis-server")
_ids = itertools.count(1)


def free_port() -> int:
    """A free TCP port on the loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def envelope(kind: str, *, ident: str | None = None, **payload: object) -> dict[str, Any]:
    """A Daily webhook envelope (a fresh id unless given)."""
    return {
        "version": "1.0.0",
        "type": kind,
        "id": ident if ident is not None else f"evt-{next(_ids)}",
        "payload": payload,
        "event_ts": time.time(),
    }


def body_of(data: Mapping[str, Any]) -> bytes:
    """The body Daily's Node sender would send: compact JSON, as ``JSON.stringify`` writes it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(body: bytes, *, key: bytes = KEY, at: float | None = None) -> dict[str, str]:
    """Daily's two headers for ``body``, timestamped in milliseconds as Daily sends them."""
    stamp = str(int((time.time() if at is None else at) * 1000))
    return {
        "X-Webhook-Timestamp": stamp,
        "X-Webhook-Signature": sign(key, stamp, body),
        "Content-Type": "application/json",
    }


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, started for the module and stopped after it."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server); CI installs it")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="dialfsm-redis-")
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*args, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


def flush_redis(url: str) -> None:
    """Empty the database (between tests sharing one redis-server)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


class ThreadedServer:
    """A real uvicorn serving an ASGI app on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_process(port: int, store: str, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``dialfsm serve`` in its own process (one worker) on ``port``, logging to ``log``."""
    command = [
        os.path.join(os.path.dirname(sys.executable), "dialfsm"),
        "serve",
        "--store",
        store,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    stream = log.open("wb")
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=stream, stderr=subprocess.STDOUT)
    _wait_for_port(port, process)
    return process
