"""The ASGI app: Daily's webhook endpoint, the reading API, the live feed and the board.

Routes:

* ``POST /webhook``: one delivery.  In order: a body over ``max_body`` (1 MB) is
  413; Daily's verification request (``{"test":"test"}``, sent when a webhook is
  created or re-activated, research §2) is 200 and stores nothing, whether or not
  it is signed, since Daily may provision the secret in the very response the
  request precedes; anything else unsigned, badly signed or stale is 401; a body
  that is not a webhook envelope is 400; then the delivery is committed to its
  room and answered 200 (``applied`` or ``duplicate``), or 503 when the store
  fails.  Every refusal is counted (``dialfsm_rejections_total``) and none is
  stored or reaches a tracker.  The answer comes after the commit (a millisecond
  or two), never before: a 200 for a delivery a crashed worker never stored
  would lose it, as Daily does not send it again.
* ``GET /calls`` (``?state=&room=&kind=&live=&limit=``), ``GET /calls/{id}`` (with
  its journal), ``GET /rooms/{room}``, ``GET /events`` (server-sent events),
  ``GET /metrics`` (Prometheus text): behind the bearer token when one is set,
  given as ``Authorization: Bearer`` or as the cookie ``POST /login`` sets
  (``EventSource`` cannot send a header).
* ``GET /`` (the board), ``GET /login``, ``GET /healthz``: open.

Phone numbers and SIP users are masked in every answer and log line by the
recorder's rules (:func:`dialfsm.recording.redact_text`) unless ``show_numbers``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from dialfsm.recording import redact_text
from dialfsm.server._config import CONFIG_ENV, ServerConfig
from dialfsm.server._metrics import render_metrics, series
from dialfsm.server._rooms import DeliveryError, parse_delivery, redact_call, redact_journal
from dialfsm.server._signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verdict, check_signature
from dialfsm.server._store import CallView, MemoryStore, Store, StoreError, StreamItem

__all__ = ["app_from_env", "create_app", "make_store"]

log = logging.getLogger("dialfsm.server")

_COOKIE: Final = "dialfsm_token"
_MAX_STREAMS: Final = 100
_KEEPALIVE: Final = 15.0
_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:",
}
_STATUS_OF: Final = {Verdict.UNSIGNED: "unsigned", Verdict.BAD_SIGNATURE: "bad_signature", Verdict.STALE: "stale"}


def make_store(config: ServerConfig) -> Store:
    """The store ``config`` names (the Redis client is imported only for a redis:// store)."""
    if config.store == "memory":
        return MemoryStore(config.options)
    from dialfsm.server._redis import RedisStore  # noqa: PLC0415  (redis is needed only here)

    return RedisStore(config.store, config.options, prefix=config.prefix)


@attrs.define(eq=False)
class _Server:
    config: ServerConfig
    keys: tuple[bytes, ...]
    token: str | None
    store: Store
    clock: Callable[[], float]
    streams: int = 0

    # --- helpers ---------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return text if self.config.show_numbers else redact_text(text)

    def call_out(self, call: Mapping[str, Any]) -> dict[str, Any]:
        return dict(call) if self.config.show_numbers else redact_call(call)

    def item_out(self, item: StreamItem) -> dict[str, Any]:
        try:
            payload = json.loads(item.body).get("payload")
        except (ValueError, AttributeError):
            payload = None
        payload = payload if isinstance(payload, dict) else None
        if self.config.show_numbers:
            return {**item.record, "payload": payload}
        return redact_journal(item.record, payload)

    def authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.cookies.get(_COOKIE, "")
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            given = header[7:].strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def reject(self, reason: str, status: int) -> JSONResponse:
        self.store.counters.add("dialfsm_rejections_total", reason=reason)
        log.warning("delivery refused: %s (%d)", reason, status)
        return JSONResponse({"error": reason}, status_code=status)

    # --- the webhook ---------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        received = self.clock()
        body = await _read_body(request, self.config.max_body)
        if body is None:
            return self.reject("too_large", 413)
        if _is_verification(body):
            self.store.counters.add("dialfsm_deliveries_total", result="verification")
            return JSONResponse({"status": "verified"})
        if not self.config.insecure:
            verdict = check_signature(
                self.keys,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
                now=received,
                tolerance=self.config.tolerance,
            )
            if verdict is not Verdict.VALID:
                return self.reject(_STATUS_OF[verdict], 401)
        try:
            delivery = parse_delivery(body, received_at=received)
        except DeliveryError:
            return self.reject("malformed", 400)
        return await self.commit(delivery)

    async def commit(self, delivery: Any) -> Response:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.store_timeout):
                commit = await self.store.commit(delivery)
        except (StoreError, TimeoutError) as exc:
            log.error("delivery %s not stored: %s", delivery.id, self.redact(str(exc)))
            return self.reject("store_unavailable", 503)
        self.store.counters.observe_latency(time.perf_counter() - started)
        if commit.status == "duplicate":
            self.store.counters.add("dialfsm_deliveries_total", result="duplicate")
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "delivery %s %s room %s: %s", delivery.type, delivery.id, self.redact(delivery.room), commit.status
            )
        return JSONResponse({"status": commit.status, "room": self.redact(commit.room), "version": commit.version})

    # --- reading ---------------------------------------------------------------------

    async def list_calls(self, request: Request) -> Response:
        q = request.query_params
        try:
            limit = max(1, min(int(q.get("limit", "500")), 5000))
        except ValueError:
            return JSONResponse({"error": "limit must be an integer"}, status_code=400)
        now = self.clock()
        horizon = now - self.config.options.keep_finished  # finished calls are kept this long
        calls = [c for c in await self.store.calls() if c["live"] or (c["updated"] or now) >= horizon]
        wanted = {
            "state": q.get("state"),
            "room": q.get("room"),
            "kind": q.get("kind"),
            "live": None if q.get("live") is None else q.get("live") in ("1", "true", "yes"),
        }
        calls = [c for c in calls if all(v is None or c.get(k) == v for k, v in wanted.items())]
        calls.sort(key=lambda c: (not c["live"], -(c["updated"] or 0.0)))
        return JSONResponse(
            {
                "calls": [self.call_out(c) for c in calls[:limit]],
                "count": len(calls),
                "now": now,
                "insecure": self.config.insecure,
                "redacted": not self.config.show_numbers,
                "store": self.store.kind,
            }
        )

    async def one_call(self, request: Request) -> Response:
        view: CallView | None = await self.store.call(request.path_params["session_id"])
        if view is None:
            return JSONResponse({"error": "no such call"}, status_code=404)
        return JSONResponse({"call": self.call_out(view.call), "journal": [self.item_out(i) for i in view.journal]})

    async def one_room(self, request: Request) -> Response:
        view = await self.store.room(request.path_params["room"])
        if view is None:
            return JSONResponse({"error": "no such room"}, status_code=404)
        return JSONResponse(
            {
                "room": self.redact(view.room),
                "version": view.version,
                "calls": [self.call_out(c) for c in view.calls],
                "journal": [self.item_out(i) for i in view.recent],
            }
        )

    async def metrics(self, request: Request) -> Response:
        totals = await self.store.totals()
        by_state: dict[str, float] = {}
        for call in await self.store.calls():
            key = series("dialfsm_calls", kind=call["kind"], state=call["state"])
            by_state[key] = by_state.get(key, 0.0) + 1
        text = render_metrics(totals, sorted(by_state.items()))
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def healthz(self, request: Request) -> Response:
        ok = await self.store.healthy()
        body = {"ok": ok, "store": self.store.kind, "insecure": self.config.insecure}
        return JSONResponse(body, status_code=200 if ok else 503)

    # --- the live feed ---------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        if self.streams >= _MAX_STREAMS:
            return JSONResponse({"error": "too many event streams"}, status_code=503)
        after = request.headers.get("last-event-id") or request.query_params.get("after") or None
        return StreamingResponse(
            self._event_stream(after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _event_stream(self, after: str | None) -> AsyncIterator[str]:
        self.streams += 1
        try:
            if after is None:  # from now on: fixed before the first line, so nothing after it is missed
                try:
                    after = await self.store.position()
                except StoreError:
                    after = None
            yield "retry: 2000\n: dialfsm live feed\n\n"
            while True:
                try:
                    after, events = await self.store.feed(after, _KEEPALIVE)
                except StoreError:
                    await asyncio.sleep(1.0)
                    events = []
                if not events:
                    yield ": keepalive\n\n"
                    continue
                for n, shared in enumerate(events, start=1):
                    event = dict(shared)  # the memory store hands every subscriber the same event
                    event["calls"] = [self.call_out(c) for c in shared.get("calls", [])]
                    event["room"] = self.redact(shared.get("room") or "")
                    ident = f"id: {after}\n" if n == len(events) else ""
                    yield f"{ident}event: transition\ndata: {json.dumps(event)}\n\n"
        finally:
            self.streams -= 1

    # --- the board and its login ------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(_login_page(""), headers=_HEADERS)
        body = await _read_body(request, 4096)
        given = parse_qs((body or b"").decode("utf-8", "replace")).get("token", [""])[0].strip()
        if self.token is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return HTMLResponse(_login_page("That token is not the one configured."), status_code=401, headers=_HEADERS)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            _COOKIE, given, httponly=True, samesite="strict", secure=request.url.scheme == "https", max_age=86400
        )
        return response


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` when it is over ``limit`` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_verification(body: bytes) -> bool:
    """Whether ``body`` is Daily's verification request, ``{"test":"test"}`` (research §2)."""
    if len(body) > 64:
        return False
    try:
        return bool(json.loads(body) == {"test": "test"})
    except ValueError:
        return False


def _login_page(error: str) -> str:
    note = f'<p class="error">{error}</p>' if error else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>dialfsm: sign in</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:4rem auto;max-width:24rem;color:#1d2433}"
        "input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.5rem 0}"
        "button{font:inherit;padding:.4rem 1rem}.error{color:#b42318}</style></head><body>"
        f"<h1>dialfsm call board</h1>{note}<form method=post action=/login>"
        "<label for=token>Access token</label><input id=token name=token type=password autofocus>"
        "<button type=submit>Sign in</button></form></body></html>"
    )


def _board() -> str:
    return resources.files("dialfsm.server").joinpath("_board.html").read_text(encoding="utf-8")


def _guard(server: _Server, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def guarded(request: Request) -> Response:
        if not server.authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        response: Response = await handler(request)
        return response

    return guarded


def create_app(
    config: ServerConfig | None = None,
    *,
    store: Store | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The ASGI app.

    Args:
        config: The settings (defaults: memory store, secret in ``DAILY_WEBHOOK_SECRET``).
        store: A store to use instead of the one ``config`` names.
        environ: Where the secret and token variables are read (``os.environ``).
        clock: The server's clock (seconds since the epoch), for the signature window.

    Raises:
        ConfigError: no secret without ``insecure``, or a secret that is not base64.

    """
    config = config or ServerConfig()
    server = _Server(
        config=config,
        keys=config.secrets(environ),
        token=config.token(environ),
        store=store or make_store(config),
        clock=clock,
    )
    app = Starlette(routes=_routes(server, _board()), lifespan=_lifespan(server))
    app.state.server = server
    return app


def _lifespan(server: _Server) -> Callable[[Starlette], Any]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.store.start()
        try:
            yield
        finally:
            await server.store.close()

    return lifespan


def _routes(server: _Server, board: str) -> list[Route]:
    async def page(request: Request) -> Response:
        return HTMLResponse(board, headers=_HEADERS)

    return [
        Route("/webhook", server.webhook, methods=["POST"]),
        Route("/", page),
        Route("/login", server.login, methods=["GET", "POST"]),
        Route("/healthz", server.healthz),
        Route("/calls", _guard(server, server.list_calls)),
        Route("/calls/{session_id:path}", _guard(server, server.one_call)),
        Route("/rooms/{room:path}", _guard(server, server.one_room)),
        Route("/events", _guard(server, server.events)),
        Route("/metrics", _guard(server, server.metrics)),
    ]


def app_from_env() -> Starlette:
    """The app for a worker process started by ``dialfsm serve`` (settings in :data:`CONFIG_ENV`)."""
    import os  # noqa: PLC0415

    text = os.environ.get(CONFIG_ENV)
    return create_app(ServerConfig.from_json(text) if text else ServerConfig())
