"""What the SDK adapters share: one way to place a call, to send its settings, and to carry out effects.

:mod:`dialfsm.daily` (daily-python's ``CallClient``, completion callbacks on
its engine thread) and :mod:`dialfsm.pipecat` (pipecat's ``DailyTransport``,
coroutines returning the result) differ only in how they reach Daily.  What
they do around it is here, once, driven by :data:`~dialfsm._calls.CALLS`:

* :func:`daily_argument`: what a call sends to Daily, from the typed call the
  tracker's guards built (:meth:`CallTracker.place <dialfsm.CallTracker.place>`
  returns it): the settings the tracker already validated, as Daily's
  camelCase dict, or a stop's session id.  Nothing is parsed twice.
* :class:`Adapter`: the clock (``t`` for every input), the errors kept instead
  of raised into an SDK, and :meth:`Adapter.perform`, which carries out a
  :class:`~dialfsm.StopCall` (unless the call ended meanwhile: then it is
  withdrawn) or a :class:`~dialfsm.RetryDialout` (when it is due).  Each
  adapter supplies the three steps that touch its SDK or its feed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from dialfsm._errors import keep_error
from dialfsm._inputs import StopDialout
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session

__all__ = ["Adapter", "copy_payload", "daily_argument", "reporter_args", "text"]


def copy_payload(value: object) -> object:
    """A shallow copy of an SDK payload, so later changes by the SDK or the bot cannot reach the journal."""
    return dict(value) if isinstance(value, Mapping) else value


def text(value: object) -> str | None:
    """An SDK result as ``str | None`` (daily-python's ``CallClientError`` is a string; anything else is shown)."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def daily_argument(typed: object) -> object:
    """What a guarded call sends to Daily: a stop's session id, else its validated settings as Daily's dict."""
    if isinstance(typed, StopDialout):
        return typed.session_id
    return typed.settings.to_daily()  # type: ignore[attr-defined]


class Adapter:
    """The part of an SDK adapter that does not touch the SDK (see the module docstring).

    Args:
        clock: Where every input's ``t`` comes from (``time.monotonic``, the
            clock of :meth:`dialfsm.aio.AsyncTracker.run_timers`); ``None`` feeds
            no times, which leaves the timers unarmed.

    """

    def __init__(self, clock: Callable[[], float] | None) -> None:
        #: The clock every input's ``t`` is read from (``None``: no times, so no timers).
        self.clock = clock
        self._errors: list[BaseException] = []

    def _t(self) -> float | None:
        return None if self.clock is None else self.clock()

    def _keep(self, exc: BaseException) -> None:
        keep_error(self._errors, exc)

    # --- what each adapter supplies -------------------------------------------------------

    def _ended(self, session: Session) -> bool:
        """Whether ``session`` is terminal, read where the tracker lives (under its lock, on its loop)."""
        raise NotImplementedError

    def _withdraw(self, effect: Effect, reason: str) -> None:
        """Tell the tracker ``effect`` will not be carried out."""
        raise NotImplementedError

    async def _send_stop(self, effect: StopCall) -> None:
        """Ask Daily to stop the call, and report the completion with ``effect.ref``."""
        raise NotImplementedError

    async def _retry(self, effect: RetryDialout) -> Session:
        """Place the retry (``start_dialout`` with ``retry_of=effect.previous``); the new session."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------

    async def perform(self, effect: Effect) -> Session | None:
        """Carry out an effect the tracker queued: stop a call at Daily, or place a retry when it is due.

        Hand it to the timers: ``AsyncTracker(calls.tracker).run_timers(on_effect=calls.perform)``.

        * :class:`~dialfsm.StopCall` (the ring timeout passed): Daily's
          ``stop_dialout(session_id)``, its completion reported with the
          effect's ``ref``; the tracker already counts the stop as requested.
          A call that ended meanwhile (or has no id) is not stopped: the effect
          is withdrawn.  Returns ``None``.
        * :class:`~dialfsm.RetryDialout`: sleep until it is due on the adapter's
          clock, then ``start_dialout`` with its settings and ``retry_of``.
          Returns the new session.

        Raises:
            CallRefused: the tracker refused the retry (another dial-out is live, say).
            TypeError: ``effect`` is not an effect.

        """
        if isinstance(effect, StopCall):
            ended = self._ended(effect.session)
            if ended or effect.session_id is None:
                self._withdraw(effect, "the call ended before it was stopped" if ended else "no session id")
                return None
            await self._send_stop(effect)
            return None
        if isinstance(effect, RetryDialout):
            await asyncio.sleep(effect.seconds_until_due(self._t()))
            return await self._retry(effect)
        raise TypeError(f"not an effect: {effect!r}")


def reporter_args(returns_id: bool, args: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """``(session_id, error)`` from an SDK completion: ``(session_id, error)`` for a start, ``(error,)`` otherwise."""
    if returns_id:
        return (text(args[0]) if args else None), (text(args[1]) if len(args) > 1 else None)
    return None, (text(args[-1]) if args else None)  # daily-python passes (error,); be lenient with (value, error)
