"""``dialfsm serve``: a fleet's calls from Daily's webhooks, on one URL, in a store, on a live board.

Install with ``pip install "dialfsm[server]"`` (Starlette, uvicorn, redis).  The app
(:func:`create_app`) verifies Daily's signatures, drops redeliveries, applies each
room's deliveries one at a time in the order the store commits them, and serves the
calls, their journals, a live feed and a call board.  Stores: :class:`MemoryStore`
(one process, the default) and :class:`RedisStore` (any number of worker processes).

The modules of this package are friends: they may import each other's private
names.  Nothing here is imported by ``import dialfsm``; names are loaded lazily,
so ``dialfsm.server`` itself imports neither Starlette nor redis until asked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialfsm.server._app import app_from_env, create_app, make_store
    from dialfsm.server._config import ConfigError, ServerConfig, StoreOptions, read_secrets
    from dialfsm.server._redis import RedisStore
    from dialfsm.server._rooms import (
        Delivery,
        DeliveryError,
        RoomState,
        call_span,
        new_tracker,
        parse_delivery,
        replay_room,
    )
    from dialfsm.server._signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verdict, check_signature, sign
    from dialfsm.server._store import MemoryStore, Store, StoreError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ConfigError",
    "Delivery",
    "DeliveryError",
    "MemoryStore",
    "RedisStore",
    "RoomState",
    "ServerConfig",
    "Store",
    "StoreError",
    "StoreOptions",
    "Verdict",
    "app_from_env",
    "call_span",
    "check_signature",
    "create_app",
    "make_store",
    "new_tracker",
    "parse_delivery",
    "read_secrets",
    "replay_room",
    "sign",
]

_HOME = {
    "app_from_env": "_app",
    "create_app": "_app",
    "make_store": "_app",
    "ConfigError": "_config",
    "ServerConfig": "_config",
    "read_secrets": "_config",
    "RedisStore": "_redis",
    "Delivery": "_rooms",
    "DeliveryError": "_rooms",
    "RoomState": "_rooms",
    "call_span": "_rooms",
    "new_tracker": "_rooms",
    "parse_delivery": "_rooms",
    "replay_room": "_rooms",
    "SIGNATURE_HEADER": "_signature",
    "TIMESTAMP_HEADER": "_signature",
    "Verdict": "_signature",
    "check_signature": "_signature",
    "sign": "_signature",
    "MemoryStore": "_store",
    "Store": "_store",
    "StoreError": "_store",
    "StoreOptions": "_config",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'dialfsm.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dialfsm.server.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
