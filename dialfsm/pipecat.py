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

import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._adapters import Adapter, copy_payload, daily_argument, text
from dialfsm._calls import CALLS
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session
from dialfsm._table import Input
from dialfsm._tracker import CallTracker

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


class PipecatCalls(Adapter):
    """One tracker wired to one pipecat ``DailyTransport`` (see :func:`track_transport`).

    Attributes:
        tracker: The tracker (read and feed it on the transport's event loop).
        transport: The ``DailyTransport``.

    """

    def __init__(
        self, tracker: CallTracker, transport: Any, *, clock: Callable[[], float] | None = time.monotonic
    ) -> None:
        super().__init__(clock)
        self.tracker = tracker
        self.transport = transport
        self._handlers: list[tuple[str, Callable[..., None]]] = []

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions caught in the handlers (never raised into pipecat)."""
        return self._errors

    def _handler(self, event: str) -> Callable[..., None]:
        def handler(transport: object, *args: Any) -> None:
            try:
                if event == "on_call_state_updated":
                    if args and args[0] == "left":
                        self.tracker.handle("left-meeting", {"state": "left"}, t=self._t())
                elif event == "on_left":
                    self.tracker.handle("left-meeting", None, t=self._t())
                else:
                    self.tracker.handle(event, copy_payload(args[0]) if args else None, t=self._t())
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
        return await self._call(Input.START_DIALOUT, settings, ref, retry_of)

    async def stop_dialout(self, session: Session | str, *, ref: str | None = None) -> Session:
        """Guard, ``await transport.stop_dialout(session_id)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.STOP_DIALOUT, session, ref)

    async def send_dtmf(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.send_dtmf(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SEND_DTMF, settings, ref)

    async def sip_call_transfer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_call_transfer(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SIP_CALL_TRANSFER, settings, ref)

    async def sip_refer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_refer(settings)``, report its error.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SIP_REFER, settings, ref)

    async def _call(self, call: Input, argument: object, ref: str | None, retry_of: object = None) -> Session:
        """Guard ``call``, await the transport's method of the same name with the validated settings, report it."""
        spec = CALLS[call]
        session, typed = self.tracker.place(call, argument, ref=ref, t=self._t(), retry_of=retry_of)  # type: ignore[arg-type]
        method = getattr(self.transport, spec.name)
        completed = getattr(self.tracker, spec.completed)
        try:
            result = await method(daily_argument(typed))
        except Exception as exc:
            error = f"{spec.name} raised {type(exc).__name__}: {exc}"
            if spec.returns_id:
                completed(session, None, error, t=self._t())
            else:
                completed(session, error, t=self._t())
            raise
        if spec.returns_id:
            session_id, error = result if isinstance(result, tuple) and len(result) == 2 else (None, result)
            completed(session, text(session_id), text(error), t=self._t())
        else:
            completed(session, text(result), t=self._t())
        return session

    # --- effects (see Adapter.perform) ---------------------------------------------------------

    def _ended(self, session: Session) -> bool:
        return session.is_terminal

    def _withdraw(self, effect: Effect, reason: str) -> None:
        self.tracker.withdraw(effect, reason=reason, t=self._t())

    async def _send_stop(self, effect: StopCall) -> None:
        try:
            error = await self.transport.stop_dialout(effect.session_id)
        except Exception as exc:
            error = f"stop_dialout raised {type(exc).__name__}: {exc}"
            self.tracker.stop_completed(effect.session, error, ref=effect.ref, t=self._t())
            raise
        self.tracker.stop_completed(effect.session, text(error), ref=effect.ref, t=self._t())

    async def _retry(self, effect: RetryDialout) -> Session:
        return await self.start_dialout(effect.settings.to_daily(), retry_of=effect.previous)


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
