"""``dialfsm serve``: run the webhook receiver and call board under uvicorn.

Imports nothing heavy: the ``dialfsm`` command builds this parser on every run,
and uvicorn is imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialfsm.server._config import ServerConfig

__all__ = ["add_serve_parser", "run_uvicorn", "serve"]


def add_serve_parser(sub: Any) -> None:
    """Add the ``serve`` sub-command to the ``dialfsm`` command's sub-parsers."""
    serve_parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="receive Daily's webhooks for a whole fleet and show its calls on a live board",
        description="Verify and apply Daily's webhook deliveries per room; serve the calls, a live feed and a board.",
    )
    add = serve_parser.add_argument
    add("--store", default="memory", help="'memory' (one process, the default) or redis://host:port/db")
    add(
        "--secret-env", default="DAILY_WEBHOOK_SECRET", help="variable holding the base64 secret(s): 'NEW' or 'NEW,OLD'"
    )
    add("--insecure", action="store_true", help="take deliveries without checking signatures (the board says so)")
    add("--token-env", default="DIALFSM_TOKEN", help="variable holding the reading endpoints' bearer token, if set")
    add("--show-numbers", action="store_true", help="show phone numbers and SIP users in full (default: masked)")
    add("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    add("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    add("--workers", type=int, default=1, help="worker processes (above 1 needs --store redis://...)")
    add("--keep-finished", type=float, default=3600.0, help="seconds a room without live calls is kept (3600)")
    add("--dedup-ttl", type=float, default=7200.0, help="seconds a delivery id is remembered (7200)")
    add("--prefix", default="dialfsm:", help="Redis key prefix (default: dialfsm:)")
    add("--log-level", default="info", help="uvicorn's log level (default: info)")
    serve_parser.set_defaults(func=serve)


def _config(args: argparse.Namespace) -> ServerConfig:
    from dialfsm.server._config import ServerConfig, StoreOptions  # noqa: PLC0415  (only when serve runs)

    return ServerConfig(
        store=args.store,
        secret_env=args.secret_env,
        insecure=args.insecure,
        token_env=args.token_env,
        show_numbers=args.show_numbers,
        prefix=args.prefix,
        options=StoreOptions(keep_finished=args.keep_finished, dedup_ttl=args.dedup_ttl),
    )


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted; 2 when the settings are refused."""
    from dialfsm.server._config import CONFIG_ENV, ConfigError  # noqa: PLC0415  (only when serve runs)

    try:
        config = _config(args)
        config.check(args.workers)
        config.secrets()  # refuse now, not in every worker
    except (ConfigError, ValueError) as exc:
        print(f"dialfsm serve: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    try:
        import uvicorn  # noqa: F401, PLC0415  (the server extra)
    except ImportError:
        print('dialfsm serve: needs the server extra: pip install "dialfsm[server]"', file=sys.stderr)  # noqa: T201
        return 2
    if config.insecure:
        print("dialfsm serve: --insecure: deliveries are NOT verified", file=sys.stderr)  # noqa: T201
    os.environ[CONFIG_ENV] = config.to_json()
    run_uvicorn(
        "dialfsm.server._app:app_from_env",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def run_uvicorn(app: str, *, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Serve the app factory ``app`` ("module:function") with uvicorn, in ``workers`` processes on one port."""
    import uvicorn  # noqa: PLC0415  (the server extra)
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    config = uvicorn.Config(
        app, factory=True, host=host, port=port, workers=workers, log_level=log_level, proxy_headers=False
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = config.bind_socket()
    # uvicorn makes the shared socket without a protocol number, so asyncio does not set TCP_NODELAY
    # on the connections it accepts, and an answer written in two parts (head, body) then waits for
    # the client's delayed ACK: about 40 ms per request.  Set on the listening socket, Linux passes
    # TCP_NODELAY on to every connection it accepts.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
