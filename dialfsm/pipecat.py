"""pipecat adapter (``pip install 'dialfsm[pipecat]'``): a ``DailyTransport``'s calls, tracked.

:func:`track_transport` registers handlers on a pipecat ``DailyTransport``
for its telephony events (``on_dialout_connected``, ``on_dialout_answered``,
``on_dialout_stopped``, ``on_dialout_error``, ``on_dialout_warning``,
``on_dialin_ready``, ``on_dialin_connected``, ``on_dialin_stopped``,
``on_dialin_error``, ``on_dialin_warning``, ``on_dtmf_event``), its
participant events (``on_participant_joined``, ``on_participant_left``) and
leaving (``on_left``, which pipecat fires after its own ``leave()``, and
``on_call_state_updated("left")``, which it forwards when the call ends
underneath it; when both arrive, the second finds no live session and is
only journaled).  It returns a :class:`PipecatCalls` whose
:meth:`~PipecatCalls.start_dialout` (and the other four calls) run the
tracker's guards, await the transport's method and report the result it
returns: pipecat does not turn a failed ``start_dialout`` into
``on_dialout_error``, so without this a rejected dial-out is never seen.

**Ordering.**  pipecat delivers every event on its event loop and starts one
task per handler.  The handlers registered here are plain functions, so
each applies its event in the first step of its task, in the order pipecat
created the tasks (the order of the events), and before the bot's own
handlers for the same event run: they are put first in the event's handler
list.  The tracker lives on the transport's loop; read and feed it there.
Nothing here raises into pipecat: failures are kept in :attr:`PipecatCalls.errors`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._settings import parse_dtmf_settings, parse_sip_call_transfer_settings, parse_sip_refer_settings
from dialfsm._tracker import CallTracker, Session
from dialfsm.threads import MAX_ERRORS

__all__ = ["TRANSPORT_EVENTS", "PipecatCalls", "track_transport"]

#: The ``DailyTransport`` events fed to the tracker (pipecat 1.14).
TRANSPORT_EVENTS: Final = (
    "on_dialout_connected",
    "on_dialout_answered",
    "on_dialout_stopped",
    "on_dialout_error",
    "on_dialout_warning",
    "on_dialin_ready",
    "on_dialin_connected",
    "on_dialin_stopped",
    "on_dialin_error",
    "on_dialin_warning",
    "on_dtmf_event",
    "on_participant_joined",
    "on_participant_left",
    "on_left",
    "on_call_state_updated",
)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else value


class PipecatCalls:
    """One tracker wired to one pipecat ``DailyTransport`` (see :func:`track_transport`).

    Attributes:
        tracker: The tracker (read and feed it on the transport's event loop).
        transport: The ``DailyTransport``.

    """

    def __init__(
        self, tracker: CallTracker, transport: Any, *, clock: Callable[[], float] | None = time.monotonic
    ) -> None:
        self.tracker = tracker
        self.transport = transport
        #: The clock every input's ``t`` is read from (``None``: no times, so no timers).
        self.clock = clock
        self._handlers: list[tuple[str, Callable[..., None]]] = []
        self._errors: list[BaseException] = []

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions caught in the handlers (never raised into pipecat)."""
        return self._errors

    def _t(self) -> float | None:
        return None if self.clock is None else self.clock()

    def _keep(self, exc: BaseException) -> None:
        if len(self._errors) < MAX_ERRORS:
            self._errors.append(exc)

    def _handler(self, event: str) -> Callable[..., None]:
        def handler(transport: object, *args: Any) -> None:
            try:
                if event == "on_call_state_updated":
                    if args and args[0] == "left":
                        self.tracker.handle("left-meeting", {"state": "left"}, t=self._t())
                elif event == "on_left":
                    self.tracker.handle("left-meeting", None, t=self._t())
                else:
                    self.tracker.handle(event, _copy(args[0]) if args else None, t=self._t())
            except Exception as exc:  # noqa: BLE001  (the tracker never raises; this guards the rest)
                self._keep(exc)

        handler.__name__ = handler.__qualname__ = f"dialfsm_{event}"
        return handler

    def _attach(self, *, first: bool) -> None:
        for event in TRANSPORT_EVENTS:
            handler = self._handler(event)
            self.transport.add_event_handler(event, handler)
            self._handlers.append((event, handler))
            if first:
                # pipecat keeps each event's handlers in a list and starts one task per handler, in
                # list order; ours goes first so the bot's handlers see the state it produced.
                registry = getattr(self.transport, "_event_handlers", None)
                entry = registry.get(event) if isinstance(registry, dict) else None
                handlers = getattr(entry, "handlers", None)
                if isinstance(handlers, list) and handlers and handlers[-1] is handler:
                    handlers.insert(0, handlers.pop())

    def detach(self) -> None:
        """Remove the handlers :func:`track_transport` registered."""
        for event, handler in self._handlers:
            self.transport.remove_event_handler(event, handler)
        self._handlers.clear()

    # --- the bot's calls ----------------------------------------------------------------

    async def start_dialout(
        self, settings: Mapping[str, Any], *, ref: str | None = None, retry_of: Session | str | None = None
    ) -> Session:
        """Guard, ``await transport.start_dialout(session.settings)``, report its ``(session_id, error)``.

        Returns the session: ``connecting`` with its id bound, or ``error`` /
        ``rejected`` with Daily's text when the start failed.  ``retry_of``
        links it to the failed dial-out it retries (see ``CallTracker.start_dialout``).

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        session = self.tracker.start_dialout(settings, ref=ref, t=self._t(), retry_of=retry_of)
        try:
            result = await self.transport.start_dialout(session.settings)
        except Exception as exc:
            self.tracker.start_completed(
                session, None, f"start_dialout raised {type(exc).__name__}: {exc}", t=self._t()
            )
            raise
        session_id, error = result if isinstance(result, tuple) and len(result) == 2 else (None, result)
        self.tracker.start_completed(session, _text(session_id), _text(error), t=self._t())
        return session

    async def stop_dialout(self, session: Session | str, *, ref: str | None = None) -> Session:
        """Guard, ``await transport.stop_dialout(session_id)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        target = self.tracker.stop_dialout(session, ref=ref, t=self._t())
        await self._run(self.transport.stop_dialout, target.session_id, self.tracker.stop_completed, target)
        return target

    async def send_dtmf(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.send_dtmf(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        target = self.tracker.send_dtmf(settings, ref=ref, t=self._t())
        await self._run(
            self.transport.send_dtmf, parse_dtmf_settings(settings).to_daily(), self.tracker.dtmf_completed, target
        )
        return target

    async def sip_call_transfer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_call_transfer(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        target = self.tracker.sip_call_transfer(settings, ref=ref, t=self._t())
        daily_settings = parse_sip_call_transfer_settings(settings).to_daily()
        await self._run(self.transport.sip_call_transfer, daily_settings, self.tracker.transfer_completed, target)
        return target

    async def sip_refer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_refer(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        target = self.tracker.sip_refer(settings, ref=ref, t=self._t())
        await self._run(
            self.transport.sip_refer,
            parse_sip_refer_settings(settings).to_daily(),
            self.tracker.refer_completed,
            target,
        )
        return target

    async def perform(self, effect: Effect) -> Session | None:
        """Carry out an effect the tracker queued: stop a call at Daily, or place a retry when it is due.

        Hand it to the timers: ``AsyncTracker(calls.tracker).run_timers(on_effect=calls.perform)``.

        * :class:`~dialfsm.StopCall` (the ring timeout passed): ``await
          transport.stop_dialout(session_id)`` and report its completion; the
          tracker already counts the stop as requested.  A call that ended
          meanwhile (or has no id) is not stopped: the effect is withdrawn.
          Returns ``None``.
        * :class:`~dialfsm.RetryDialout`: sleep until it is due on the adapter's
          clock, then :meth:`start_dialout` with its settings and ``retry_of``.
          Returns the new session.

        Raises:
            CallRefused: the tracker refused the retry (another dial-out is live, say).
            TypeError: ``effect`` is not an effect.

        """
        if isinstance(effect, StopCall):
            if effect.session.is_terminal or effect.session_id is None:
                why = "the call ended before it was stopped" if effect.session.is_terminal else "no session id"
                self.tracker.withdraw(effect, reason=why, t=self._t())
                return None
            try:
                error = await self.transport.stop_dialout(effect.session_id)
            except Exception as exc:
                error = f"stop_dialout raised {type(exc).__name__}: {exc}"
                self.tracker.stop_completed(effect.session, error, ref=effect.ref, t=self._t())
                raise
            self.tracker.stop_completed(effect.session, _text(error), ref=effect.ref, t=self._t())
            return None
        if isinstance(effect, RetryDialout):
            await asyncio.sleep(effect.seconds_until_due(self._t()))
            return await self.start_dialout(effect.settings.to_daily(), retry_of=effect.previous)
        raise TypeError(f"not an effect: {effect!r}")

    async def _run(
        self, method: Callable[..., Any], argument: object, completed: Callable[..., object], session: Session
    ) -> None:
        try:
            error = await method(argument)
        except Exception as exc:
            completed(session, f"{getattr(method, '__name__', 'call')} raised {type(exc).__name__}: {exc}", t=self._t())
            raise
        completed(session, _text(error), t=self._t())


def track_transport(
    transport: Any,
    tracker: CallTracker | None = None,
    *,
    first: bool = True,
    clock: Callable[[], float] | None = time.monotonic,
) -> PipecatCalls:
    """Wire ``tracker`` (a fresh ``CallTracker()`` by default) to a pipecat ``DailyTransport``.

    Args:
        transport: A ``pipecat.transports.daily.transport.DailyTransport``
            (anything with its ``add_event_handler`` and call methods).
        tracker: The tracker; it must be fed only on the transport's event loop.
        first: Put dialfsm's handler first in each event's handler list, so
            the bot's handlers, registered before or after, see the state after the event.
        clock: Where every input's ``t`` comes from (``time.monotonic``, the
            clock of :meth:`dialfsm.aio.AsyncTracker.run_timers`); ``None`` feeds
            no times, which leaves the dial-out timers unarmed.

    Returns:
        The :class:`PipecatCalls` with the guarded call wrappers.

    """
    calls = PipecatCalls(CallTracker() if tracker is None else tracker, transport, clock=clock)
    calls._attach(first=first)
    return calls
