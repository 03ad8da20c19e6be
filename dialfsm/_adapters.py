"""What the SDK adapters share: one way to place a call, to send its settings, to carry out effects, to wait.

:mod:`dialfsm.daily` (daily-python's ``CallClient``, completion callbacks on
its engine thread) and :mod:`dialfsm.pipecat` (pipecat's ``DailyTransport``,
coroutines returning the result) differ only in how they reach Daily.  What
they do around it is here, once, driven by :data:`~dialfsm._calls.CALLS`:

* :func:`daily_argument`: what a call sends to Daily, from the typed call the
  tracker's guards built (:meth:`CallTracker.place <dialfsm.CallTracker.place>`
  returns it): the settings the tracker already validated, as Daily's
  camelCase dict, or a stop's session id.  Nothing is parsed twice.
* :class:`Adapter`: the clock (``t`` for every input), the errors kept instead
  of raised into an SDK, the asyncio helpers a bot uses on the adapter itself
  (``wait_for``, ``transitions``, ``on_enter``: one object for the bot), and
  :meth:`Adapter.perform`, which carries out a :class:`~dialfsm.StopCall` or a
  :class:`~dialfsm.RetryDialout` (when it is due), or withdraws it with the
  reason: a call this bot did not place (``session.origin``), a bot that left,
  a call that ended meanwhile, a retry the guards refuse.  It also logs, once,
  the first event for a dial-out the bot did not start through dialfsm.  Each
  adapter supplies the steps that touch its SDK or its feed; the task or
  thread that calls ``perform`` is :mod:`dialfsm._drivers`'.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from dialfsm._drivers import LOGGER, describe
from dialfsm._errors import CallRefused, keep_error
from dialfsm._inputs import StopDialout
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import JournalEntry, Session
from dialfsm._table import Origin, Outcome, State
from dialfsm._tracker import CallTracker
from dialfsm.aio import AsyncTracker, TransitionStream

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
        tracker: The tracker the adapter feeds.
        clock: Where every input's ``t`` comes from (``time.monotonic``);
            ``None`` feeds no times, which leaves the timers unarmed.
        perform_effects: Carry out the tracker's effects (the default), or
            leave them queued for the bot's own ``take_effects()``.
        warn_after: With ``perform_effects=False``, seconds an effect may wait
            for the bot before it is logged on the ``dialfsm`` logger.

    """

    def __init__(
        self,
        tracker: CallTracker,
        clock: Callable[[], float] | None,
        *,
        perform_effects: bool = True,
        warn_after: float = 10.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        #: The clock every input's ``t`` is read from (``None``: no times, so no timers).
        self.clock = clock
        #: Whether the adapter carries out the tracker's effects itself.
        self.perform_effects = perform_effects
        self.warn_after = warn_after
        self._errors: list[BaseException] = []
        self._aio = AsyncTracker(tracker, loop=loop)
        self._left = False
        self._hinted = False
        self._watched = tracker
        tracker.add_entry_listener(self._watch)

    def _t(self) -> float | None:
        return None if self.clock is None else self.clock()

    def _keep(self, exc: BaseException) -> None:
        keep_error(self._errors, exc)

    # --- one object for the bot: the asyncio helpers ---------------------------------------

    async def wait_for(
        self,
        session: Session,
        *,
        state: State | str | Iterable[State | str] | None = None,
        outcome: Outcome | str | Iterable[Outcome | str] | None = None,
        timeout: float | None = None,
    ) -> Session:
        """Wait until ``session`` has entered ``state`` or ended with ``outcome`` (strings allowed: ``"answered"``).

        See :meth:`dialfsm.aio.AsyncTracker.wait_for`.

        Raises:
            SessionEnded: the session ended without reaching what was asked.
            TimeoutError: ``timeout`` elapsed first.
            ValueError: a string that names no state of the session's kind (or no outcome).

        """
        return await self._aio.wait_for(session, state=state, outcome=outcome, timeout=timeout)

    def transitions(self, session: Session | None = None, *, every: bool = False) -> TransitionStream:
        """An async iterator of the steps that move sessions (see :meth:`dialfsm.aio.AsyncTracker.transitions`)."""
        return self._aio.transitions(session, every=every)

    def on_enter(
        self,
        state: State | str | Iterable[State | str],
        callback: Callable[[JournalEntry], object | Awaitable[object]],
        *,
        session: Session | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(step)`` each time a session enters ``state``; returns an unsubscribe function.

        See :meth:`dialfsm.aio.AsyncTracker.on_enter`; the callback's exceptions are kept in :attr:`callback_errors`.
        """
        return self._aio.on_enter(state, callback, session=session)

    @property
    def callback_errors(self) -> list[BaseException]:
        """Exceptions raised by ``on_enter`` callbacks (never raised into the tracker or the SDK)."""
        return self._aio.callback_errors

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

    def _screen(self, effect: object) -> str | None:
        """Why ``effect`` must not be carried out (it is then withdrawn), or ``None``.

        Raises:
            TypeError: ``effect`` is not an effect.

        """
        if not isinstance(effect, (StopCall, RetryDialout)):
            raise TypeError(f"not an effect: {effect!r}")
        session = effect.session if isinstance(effect, StopCall) else effect.previous
        if session.origin is not Origin.BOT:
            return f"not a call this bot placed (origin {session.origin.value})"
        if self._left:
            return "the bot left the room"
        if isinstance(effect, StopCall):
            # after_end: a start that completed after its watchdog gave up may be ringing: stop it anyway.
            if self._ended(session) and not effect.after_end:
                return "the call ended before it was stopped"
            if effect.session_id is None:
                return "no session id"
        return None

    def _retry_refused(self, effect: RetryDialout, refusal: CallRefused) -> None:
        """A retry the guards refused: journaled as withdrawn, with the refusal, and logged."""
        reason = f"retry refused: {refusal.code.value}: {refusal.message}"
        self._withdraw(effect, reason)
        LOGGER.warning("dialfsm: %s not placed: %s", describe(effect), reason)

    async def perform(self, effect: Effect) -> Session | None:
        """Carry out an effect the tracker queued: stop a call at Daily, or place a retry when it is due.

        The adapter does this by itself (``perform_effects=True``, the default);
        call it yourself only for the effects you took with ``take_effects()``.

        * :class:`~dialfsm.StopCall` (the ring timeout passed): Daily's
          ``stop_dialout(session_id)``, its completion reported with the
          effect's ``ref``; the tracker already counts the stop as requested.
          Returns ``None``.
        * :class:`~dialfsm.RetryDialout`: sleep until it is due on the adapter's
          clock, then ``start_dialout`` with its settings and ``retry_of``.
          Returns the new session.

        An effect is withdrawn instead (journaled ``stop withdrawn`` /
        ``retry withdrawn`` with the reason; ``None`` returned) when its call was
        not placed by this bot (adopted, a transfer's leg), when the bot has left
        the room, when a call to stop ended meanwhile (unless the stop is marked
        ``after_end``: a start that completed after its watchdog gave up may be
        ringing) or has no id, and when the tracker's guards refuse the retry
        (another dial-out took the slot: the refusal is journaled too, and logged
        on the ``dialfsm`` logger).

        Raises:
            TypeError: ``effect`` is not an effect.

        """
        reason = self._screen(effect)
        if reason is not None:
            self._withdraw(effect, reason)
            return None
        if isinstance(effect, StopCall):
            await self._send_stop(effect)
            return None
        await asyncio.sleep(effect.seconds_until_due(self._t()))
        reason = self._screen(effect)
        if reason is not None:
            self._withdraw(effect, reason)
            return None
        try:
            return await self._retry(effect)
        except CallRefused as refusal:
            self._retry_refused(effect, refusal)
            return None

    # --- telling a bot that goes wrong --------------------------------------------------------

    def _watch(self, entry: JournalEntry) -> None:
        """Log, once, the first event for a dial-out this bot did not start through dialfsm."""
        if self._hinted:
            return
        unknown = entry.code == "UNKNOWN_SESSION" and entry.name.startswith("dialout")
        adopted = any(step.session is not None and step.session.origin is Origin.ADOPTED for step in entry.steps)
        if unknown or adopted:
            self._hinted = True
            LOGGER.warning(
                "dialfsm: Daily reported %s for a dial-out this bot did not start through dialfsm (%s). "
                "Wire dialfsm before the first start_dialout: the adapter then tracks the SDK's own "
                "start_dialout too. A dial-out started by another process or the REST API is tracked only "
                "when the tracker adopts it (CallTracker(adopt_unknown_dialouts='always'), or its webhooks), "
                "and the adapter never stops or redials it. This is logged once.",
                entry.name,
                entry.message or "adopted",
            )

    def _unwatch(self) -> None:
        with contextlib.suppress(ValueError):
            self._watched.remove_entry_listener(self._watch)


def reporter_args(returns_id: bool, args: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """``(session_id, error)`` from an SDK completion: ``(session_id, error)`` for a start, ``(error,)`` otherwise."""
    if returns_id:
        return (text(args[0]) if args else None), (text(args[1]) if len(args) > 1 else None)
    return None, (text(args[-1]) if args else None)  # daily-python passes (error,); be lenient with (value, error)
