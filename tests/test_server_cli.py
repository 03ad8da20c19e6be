"""``dialfsm serve``: what it refuses, and that it runs with no options and takes signed deliveries."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dialfsm._cli import main
from dialfsm.server import RedisStore, StoreError
from tests.server_support import SECRET, body_of, envelope, free_port, redis_url, serve_process, signed_headers

__all__ = ["redis_url"]  # the fixture, used by name

DIALFSM = str(Path(sys.executable).parent / "dialfsm")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "no webhook secret: set DAILY_WEBHOOK_SECRET"),
        (["--secret-env", "MY_SECRET"], {"DAILY_WEBHOOK_SECRET": SECRET}, "set MY_SECRET"),
        (["--workers", "2"], {"DAILY_WEBHOOK_SECRET": SECRET}, "--workers above 1 needs --store redis://"),
        (["--store", "postgres://x"], {"DAILY_WEBHOOK_SECRET": SECRET}, "must be 'memory' or a redis:// URL"),
        ([], {"DAILY_WEBHOOK_SECRET": "not base64!"}, "must be base64"),
    ],
)
def test_serve_refuses_settings_that_cannot_work(
    args: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DAILY_WEBHOOK_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err


def test_serve_with_no_options_runs_on_memory_and_takes_signed_deliveries(tmp_path: Path) -> None:
    port = free_port()
    process = serve_process(port, "memory", {"DAILY_WEBHOOK_SECRET": SECRET, "DIALFSM_TOKEN": ""}, tmp_path / "log")
    try:
        body = body_of(envelope("dialin.connected", room="r", session_id="s1", timestamp=str(int(time.time()))))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.post("/webhook", content=body).status_code == 401
            response = client.post("/webhook", content=body, headers=signed_headers(body))
            assert response.json()["status"] == "applied"
            assert client.get("/calls").json()["calls"][0]["state"] == "connected"
            assert client.get("/healthz").json() == {"ok": True, "store": "memory", "insecure": False}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_runs_several_workers_on_one_port_with_redis(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DAILY_WEBHOOK_SECRET": SECRET, "DIALFSM_TOKEN": ""}
    command = [DIALFSM, "serve", "--store", redis_url, "--workers", "2", "--port", str(port), "--prefix", "cli:"]
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        answered = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for attempt in range(200):  # the workers start in their own time (bounded)
                stamp = str(int(time.time()))
                body = body_of(envelope("dialin.connected", room="r", session_id=f"s{attempt}", timestamp=stamp))
                try:
                    response = client.post("/webhook", content=body, headers=signed_headers(body))
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                answered.append(response.json()["status"])
                if len(answered) == 20:
                    break
            assert answered == ["applied"] * 20
            assert client.get("/calls").json()["count"] == 20
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_messages_never_show_a_redis_password() -> None:
    async def start(url: str) -> str:
        store = RedisStore(url)
        try:
            await store.start()
        except StoreError as exc:
            return str(exc)
        finally:
            await store.close()
        return ""

    port = free_port()  # nothing listens there
    message = asyncio.run(start(f"redis://user:hunter2@127.0.0.1:{port}/0"))
    assert f"redis://user:***@127.0.0.1:{port}/0" in message
    assert "hunter2" not in message
    assert "hunter2" not in asyncio.run(start(f"redis://:hunter2@127.0.0.1:{port}/0"))
