"""Counters, the store-latency histogram, and their Prometheus text.

A worker counts into a local :class:`Counters`; the store adds the counts to
fleet-wide totals (the Redis store every second and before each ``/metrics``
answer, so any worker behind the load balancer answers with the whole fleet's
figures).  Series are kept under their Prometheus name with labels, as text:
``dialfsm_rejections_total{reason="stale"}``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["LATENCY_BUCKETS", "Counters", "render_metrics", "series"]

#: Upper bounds (seconds) of the store-latency histogram's buckets.
LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
_LATENCY: Final = "dialfsm_store_latency_seconds"

_HELP: Final = {
    "dialfsm_deliveries_total": ("counter", "Webhook deliveries answered 200, by result."),
    "dialfsm_rejections_total": ("counter", "Deliveries refused (never stored), by reason."),
    "dialfsm_anomalies_total": ("counter", "Applied deliveries the tracker journaled as anomalies, by code."),
    "dialfsm_store_round_trips_total": (
        "counter",
        "Store round trips made on the delivery path (shared when batched).",
    ),
    "dialfsm_store_script_calls_total": ("counter", "Store commands (Redis scripts) run on the delivery path."),
    "dialfsm_store_conflicts_total": ("counter", "Commits refused because another worker committed first."),
    "dialfsm_calls": ("gauge", "Calls the store holds, by kind and state."),
    _LATENCY: ("histogram", "Time to commit one delivery to the store."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series(name: str, **labels: str) -> str:
    """The key of one series: ``name{label="value",...}`` (labels sorted)."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


class Counters:
    """Counts made by one worker, not yet added to the store's totals."""

    def __init__(self) -> None:
        self._pending: dict[str, float] = {}

    def add(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to one series."""
        key = series(name, **labels)
        self._pending[key] = self._pending.get(key, 0.0) + amount

    def observe_latency(self, seconds: float) -> None:
        """Count one store commit's duration in the latency histogram."""
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        bound = "+Inf" if index == len(LATENCY_BUCKETS) else repr(LATENCY_BUCKETS[index])
        for key, amount in ((series(_LATENCY + "_bucket", le=bound), 1.0), (_LATENCY + "_sum", seconds)):
            self._pending[key] = self._pending.get(key, 0.0) + amount
        self._pending[_LATENCY + "_count"] = self._pending.get(_LATENCY + "_count", 0.0) + 1

    def take(self) -> dict[str, float]:
        """The counts so far, which are forgotten here (the caller adds them to the totals)."""
        taken, self._pending = self._pending, {}
        return taken

    def give_back(self, counts: Mapping[str, float]) -> None:
        """Return counts :meth:`take` handed out that could not be stored."""
        for key, amount in counts.items():
            self._pending[key] = self._pending.get(key, 0.0) + amount


def _family(key: str) -> str:
    name = key.split("{", 1)[0]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in _HELP:
            return name[: -len(suffix)]
    return name


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _histogram(totals: Mapping[str, float]) -> list[str]:
    lines = []
    running = 0.0
    for bound in [*map(repr, LATENCY_BUCKETS), "+Inf"]:
        running += totals.get(series(_LATENCY + "_bucket", le=bound), 0.0)
        lines.append(f"{series(_LATENCY + '_bucket', le=bound)} {_number(running)}")
    lines.append(f"{_LATENCY}_sum {_number(totals.get(_LATENCY + '_sum', 0.0))}")
    lines.append(f"{_LATENCY}_count {_number(totals.get(_LATENCY + '_count', 0.0))}")
    return lines


def render_metrics(totals: Mapping[str, float], gauges: Iterable[tuple[str, float]]) -> str:
    """Prometheus text exposition of the counters' totals and of ``gauges`` (series key, value)."""
    by_family: dict[str, list[str]] = {name: [] for name in _HELP}
    for key, value in sorted(totals.items()):
        family = _family(key)
        if family != _LATENCY:
            by_family.setdefault(family, []).append(f"{key} {_number(value)}")
    for key, value in gauges:
        by_family.setdefault(_family(key), []).append(f"{key} {_number(value)}")
    by_family[_LATENCY] = _histogram(totals)
    out = []
    for family, lines in by_family.items():
        kind, text = _HELP.get(family, ("untyped", family))
        out += [f"# HELP {family} {text}", f"# TYPE {family} {kind}", *lines]
    return "\n".join(out) + "\n"
