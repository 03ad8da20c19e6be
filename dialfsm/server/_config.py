"""The server's settings: what ``dialfsm serve`` passes to every worker process.

Workers are separate processes that import the app by name (uvicorn's
``--workers``), so the settings travel as JSON in one environment variable
(:data:`CONFIG_ENV`); secrets never do: each worker reads them from the
environment variables the settings name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from dialfsm.server._signature import TOLERANCE, decode_secret

__all__ = ["CONFIG_ENV", "MAX_BODY", "ConfigError", "ServerConfig", "StoreOptions", "read_secrets"]

#: The environment variable carrying :class:`ServerConfig` as JSON to worker processes.
CONFIG_ENV: Final = "DIALFSM_SERVE_CONFIG"
#: Daily's bodies are small; anything larger is refused (413).
MAX_BODY: Final = 1 << 20
_SPLIT: Final = re.compile(r"[\s,]+")


@attrs.frozen(kw_only=True)
class StoreOptions:
    """Retention and compaction settings shared by every store."""

    #: Seconds a room without live calls is kept after its last delivery.
    keep_finished: float = 3600.0
    #: Seconds a room with a live call is kept without any delivery.
    live_ttl: float = 86400.0
    #: Seconds a delivery's dedup key is remembered.
    dedup_ttl: float = 7200.0
    #: Finished calls one room's tracker keeps (older ones are forgotten).
    finished_limit: int = 200
    #: Deliveries one room's stream keeps.
    stream_max: int = 10_000
    #: A snapshot is written every this many deliveries to a room.
    compact_every: int = 64

    def __attrs_post_init__(self) -> None:
        if self.stream_max < 4 * self.compact_every:
            raise ValueError("stream_max must be at least 4 * compact_every: a stream keeps what follows its snapshot")


class ConfigError(ValueError):
    """Settings the server refuses to start with."""


def read_secrets(value: str | None) -> tuple[bytes, ...]:
    """The HMAC keys in a secret variable's value: one base64 secret, or two while rotating.

    Base64 has no commas or spaces, so ``"NEW,OLD"`` (or ``"NEW OLD"``) holds two.

    Raises:
        ConfigError: more than two, or one that is not base64.

    """
    parts = [p for p in _SPLIT.split(value or "") if p]
    if len(parts) > 2:
        raise ConfigError("at most two webhook secrets at once (the new one and the one it replaces)")
    try:
        return tuple(decode_secret(p) for p in parts)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@attrs.frozen(kw_only=True)
class ServerConfig:
    """How one server (all of its workers) runs."""

    #: ``"memory"`` or a ``redis://`` URL.
    store: str = "memory"
    #: The environment variable holding the webhook secret(s).
    secret_env: str = "DAILY_WEBHOOK_SECRET"
    #: Take deliveries without checking signatures (the board says so).
    insecure: bool = False
    #: The environment variable holding the bearer token of the reading endpoints ("" for none).
    token_env: str = "DIALFSM_TOKEN"
    #: Show phone numbers and SIP users in full on the board and in the API.
    show_numbers: bool = False
    #: Seconds a delivery's timestamp may be from the server's clock.
    tolerance: float = TOLERANCE
    #: Largest body accepted (bytes).
    max_body: int = MAX_BODY
    #: Key prefix in Redis.
    prefix: str = "dialfsm:"
    #: Seconds a delivery may take to commit before it is answered 503.
    store_timeout: float = 5.0
    #: Retention and compaction.
    options: StoreOptions = attrs.field(factory=StoreOptions)

    def to_json(self) -> str:
        """The settings as JSON (no secrets in them)."""
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        """Settings :meth:`to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        options = StoreOptions(**data.pop("options", {}))
        return cls(options=options, **data)

    def secrets(self, environ: Mapping[str, str] | None = None) -> tuple[bytes, ...]:
        """The HMAC keys, read from :attr:`secret_env`.

        Raises:
            ConfigError: none configured without :attr:`insecure`, or a secret that is not base64.

        """
        env = os.environ if environ is None else environ
        keys = read_secrets(env.get(self.secret_env))
        if not keys and not self.insecure:
            raise ConfigError(
                f"no webhook secret: set {self.secret_env} to the webhook's base64 'hmac' "
                "(or pass --insecure to take deliveries unchecked)"
            )
        return keys

    def token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The bearer token of the reading endpoints, if one is configured."""
        env = os.environ if environ is None else environ
        value = env.get(self.token_env, "").strip() if self.token_env else ""
        return value or None

    def check(self, workers: int) -> None:
        """Refuse settings that cannot work.

        Raises:
            ConfigError: several workers on the in-memory store, or an unknown store.

        """
        if self.store != "memory" and not self.store.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"--store must be 'memory' or a redis:// URL, got {self.store!r}")
        if self.store == "memory" and workers > 1:
            raise ConfigError(
                "the memory store lives in one process: --workers above 1 needs --store redis://..., "
                "or every worker would hold different calls"
            )
        if workers < 1:
            raise ConfigError("--workers must be at least 1")
