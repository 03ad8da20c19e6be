"""The real SDKs, set up once per test process (``daily.Daily.init()`` aborts the process if called twice)."""

from __future__ import annotations

import threading

_LOCK = threading.Lock()


def init_daily() -> None:
    """Initialise daily-python once, in agreement with pipecat's own once-only flag."""
    import daily
    from pipecat.transports.daily.transport import DailyTransportClient

    with _LOCK:
        if not DailyTransportClient._daily_initialized:
            DailyTransportClient._daily_initialized = True
            daily.Daily.init()
