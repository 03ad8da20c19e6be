"""pipecat adapter (``pip install 'dialfsm[pipecat]'``): every call of a ``DailyTransport``, tracked.

One call wires a bot::

    calls = track_transport(transport)

and returns a :class:`PipecatCalls`: the tracker (``calls.tracker``), the
bot's guarded calls (``await calls.start_dialout(...)``...), and the asyncio
helpers (``await calls.wait_for(session, state="answered")``,
``calls.transitions()``, ``calls.on_enter(...)``).  From then on:

**Every path pipecat 1.14 offers is seen.**

* *Events*: handlers for the transport's telephony events
  (``on_dialout_connected``, ``on_dialout_answered``, ``on_dialout_stopped``,
  ``on_dialout_error``, ``on_dialout_warning``, ``on_dialin_ready``,
  ``on_dialin_connected``, ``on_dialin_stopped``, ``on_dialin_error``,
  ``on_dialin_warning``, ``on_dtmf_event``), its participant events
  (``on_participant_joined``, ``on_participant_left``) and leaving
  (``on_left``, which pipecat fires after its own ``leave()``, and
  ``on_call_state_updated("left")``, which it forwards when the call ends
  underneath it; when both arrive, the second finds no live session and is
  only journaled).
* *The transport's own calls*: ``transport.start_dialout``, ``stop_dialout``,
  ``send_dtmf``, ``sip_call_transfer`` and ``sip_refer``, and the frames that
  reach the same Daily calls from the output transport
  (``DailySIPTransferFrame``, ``DailySIPReferFrame``, ``OutputDTMFFrame``,
  ``OutputDTMFUrgentFrame`` and their ``Daily*`` variants).  All of them go
  through the five methods of the transport's ``DailyTransportClient``; the
  adapter wraps those on the instance (never the class), so each call is
  journaled with :meth:`CallTracker.observe_call <dialfsm.CallTracker.observe_call>`
  and its result reported.  Such a call is never blocked and its return value
  never changes (pipecat's ``(session_id, error)`` / ``error`` contract); what
  dialfsm's guards would have refused is journaled as an ``UNGUARDED_CALL``
  anomaly instead.  A frame transfer therefore ends its call ``transferred``,
  and a frame's error reaches the session.
* *pipecat's* ``sessionId`` *fallback*: a DTMF, transfer or REFER without
  ``sessionId`` goes where pipecat sends it: the active dial-out (the latest
  ``dialout-connected``), then the active dial-in.
* *Dial-in settings errors*: pipecat reports a failed ``pinlessCallUpdate``
  (its own HTTP call on ``dialin-ready``) only through ``on_error``.  No
  session exists yet (Daily has not connected the caller, and may never), so
  the adapter journals it (``dialin-settings.error``, ``JOURNALED``, with
  pipecat's text) and warns on the ``dialfsm`` logger.

**Timers and effects.**  The adapter runs the tracker's timers itself, in a
task on the transport's loop that exists only while a timer is armed or an
effect waits (:mod:`dialfsm._drivers`), and carries out the effects: a
:class:`~dialfsm.StopCall` calls the transport's ``stop_dialout``, a
:class:`~dialfsm.RetryDialout` starts the next attempt when it is due; only
for calls this bot placed (``session.origin`` is ``bot``).  Pass
``perform_effects=False`` to take them yourself.  When the bot leaves, retries
still waiting are withdrawn; :meth:`PipecatCalls.detach` (or ``await
calls.aclose()``) stops everything.

**Ordering.**  pipecat delivers every event on its event loop and starts one
task per handler.  The handlers registered here are plain functions, put
first in each event's handler list (pipecat's private ``_event_handlers``;
checked on pipecat-ai 1.14.0, and a warning on the ``dialfsm`` logger says
so when it cannot be done), so each applies its event before the bot's own
handlers for that event run.  The tracker lives on the transport's loop; read
and feed it there.  Nothing here raises into pipecat: failures are kept in
:attr:`PipecatCalls.errors`.
"""

from __future__ import annotations

import contextvars
import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._adapters import Adapter, copy_payload, daily_argument, text
from dialfsm._calls import CALLS, CALLS_BY_NAME, CallSpec
from dialfsm._drivers import LOGGER, LoopDriver
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session
from dialfsm._table import DialinState, DialoutState, Input, SessionKind
from dialfsm._tracker import CallTracker

__all__ = [
    "CHECKED_ON",
    "CLIENT_METHODS",
    "DIALIN_SETTINGS_ERROR",
    "DIALIN_SETTINGS_ERRORS",
    "TRANSPORT_EVENTS",
    "PipecatCalls",
    "track_transport",
]

#: The pipecat-ai version whose private structures the adapter relies on were checked on.
CHECKED_ON: Final = "1.14.0"

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
#: The other ``DailyTransport`` events the adapter listens to: joining (a left bot may act again) and errors.
OTHER_EVENTS: Final = ("on_joined", "on_error")

#: The ``DailyTransportClient`` methods every telephony call of pipecat 1.14 goes through (methods and frames).
CLIENT_METHODS: Final = ("start_dialout", "stop_dialout", "send_dtmf", "sip_call_transfer", "sip_refer")

#: How pipecat 1.14's ``on_error`` texts for a failed dial-in settings update (``pinlessCallUpdate``) begin.
DIALIN_SETTINGS_ERRORS: Final = (
    "Unable to handle dialin-ready event",
    "Timeout handling dialin-ready event",
    "Error handling dialin-ready event",
)

#: The journal name of a failed dial-in settings update (no session exists yet: it is journaled, not a step).
DIALIN_SETTINGS_ERROR: Final = "dialin-settings.error"

#: The calls that take ``sessionId`` and that pipecat fills in when it is missing.
_SESSION_CALLS: Final = frozenset({Input.SEND_DTMF, Input.SIP_CALL_TRANSFER, Input.SIP_REFER})
#: The adapter whose guarded call is in progress in this context (its own calls are not observed twice).
_PLACING: contextvars.ContextVar[object] = contextvars.ContextVar("dialfsm_placing", default=None)
_SLOTS: Final = ("_dial_out_session_id", "_dial_in_session_id")


def _pipecat_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  (only for a warning)

    try:
        return version("pipecat-ai")
    except PackageNotFoundError:
        return "unknown"


class PipecatCalls(Adapter):
    """One tracker wired to one pipecat ``DailyTransport`` (see :func:`track_transport`).

    Attributes:
        tracker: The tracker (read and feed it on the transport's event loop).
        transport: The ``DailyTransport``.

    """

    def __init__(
        self,
        tracker: CallTracker,
        transport: Any,
        *,
        clock: Callable[[], float] | None = time.monotonic,
        perform_effects: bool = True,
        warn_after: float = 10.0,
    ) -> None:
        super().__init__(tracker, clock, perform_effects=perform_effects, warn_after=warn_after)
        self.tracker = tracker
        self.transport = transport
        self._handlers: list[tuple[str, Callable[..., None]]] = []
        self._wrapped: list[tuple[Any, str, Callable[..., Any]]] = []
        # Names for the calls it makes: unique to this adapter, so a new adapter on a tracker restored
        # from a snapshot never reuses the name of a call still waiting from before the restart.
        prefix = f"pipecat-{secrets.token_hex(4)}#"
        self._refs = (f"{prefix}{n}" for n in itertools.count(1))
        self._driver = LoopDriver(
            tracker,
            loop=None,
            clock=clock,
            carry_out=self.perform if perform_effects else None,
            errors=self._errors,
            warn_after=warn_after,
        )

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions caught in the handlers, the wrapped calls and the effects (never raised into pipecat)."""
        return self._errors

    @property
    def tasks(self) -> tuple[Any, ...]:
        """The adapter's asyncio tasks not yet done (its timers task, effects being carried out)."""
        return self._driver.tasks

    @property
    def timers_running(self) -> bool:
        """Whether the timers task runs now (only while a timer is armed or an effect waits)."""
        return self._driver.running

    # --- events ------------------------------------------------------------------------

    def _handler(self, event: str) -> Callable[..., None]:
        def handler(transport: object, *args: Any) -> None:
            try:
                self._on_event(event, args)
            except Exception as exc:  # noqa: BLE001  (the tracker never raises; this guards the rest)
                self._keep(exc)

        handler.__name__ = handler.__qualname__ = f"dialfsm_{event}"
        return handler

    def _on_event(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "on_call_state_updated":
            if args and args[0] == "left":
                self._leaving()
                self.tracker.handle("left-meeting", {"state": "left"}, t=self._t())
        elif event == "on_left":
            self._leaving()
            self.tracker.handle("left-meeting", None, t=self._t())
        elif event == "on_joined":
            self._left = False
        elif event == "on_error":
            error = args[0] if args else None
            if isinstance(error, str) and error.startswith(DIALIN_SETTINGS_ERRORS):
                self._dialin_settings_failed(error)
        else:
            self.tracker.handle(event, copy_payload(args[0]) if args else None, t=self._t())

    def _dialin_settings_failed(self, error: str) -> None:
        """A failed dial-in settings update (``pinlessCallUpdate``): journaled (no session exists yet), and logged."""
        self.tracker.note(DIALIN_SETTINGS_ERROR, {"errorMsg": error}, t=self._t())
        LOGGER.warning(
            "dialfsm: pipecat could not update the dial-in settings (pinlessCallUpdate), so the caller may "
            "never reach this room: %s",
            error,
        )

    def _leaving(self) -> None:
        self._left = True
        self._driver.cancel_effects("the bot left the room")

    def _attach(self, *, first: bool) -> None:
        misplaced: list[str] = []
        for event in TRANSPORT_EVENTS + OTHER_EVENTS:
            handler = self._handler(event)
            self.transport.add_event_handler(event, handler)
            self._handlers.append((event, handler))
            if first and event in TRANSPORT_EVENTS and not self._put_first(event, handler):
                misplaced.append(event)
        if misplaced:
            LOGGER.warning(
                "dialfsm: could not put its handlers first for %s: pipecat-ai %s keeps DailyTransport's event "
                "handlers differently from %s, where this was checked. Your own handlers for these events may "
                "run before dialfsm's and see the state before the event.",
                ", ".join(misplaced),
                _pipecat_version(),
                CHECKED_ON,
            )
        self._wrap_client()

    def _put_first(self, event: str, handler: Callable[..., None]) -> bool:
        """Move ``handler`` to the front of ``event``'s handlers in pipecat's private registry; whether it could."""
        # pipecat keeps each event's handlers in a list and starts one task per handler, in
        # list order; ours goes first so the bot's handlers see the state it produced.
        registry = getattr(self.transport, "_event_handlers", None)
        entry = registry.get(event) if isinstance(registry, dict) else None
        handlers = getattr(entry, "handlers", None)
        if not (isinstance(handlers, list) and handlers and handlers[-1] is handler):
            return False
        handlers.insert(0, handlers.pop())
        return True

    # --- the transport's own calls and frames (the DailyTransportClient's five methods) --------

    def _wrap_client(self) -> None:
        client = getattr(self.transport, "_client", None)
        methods = [getattr(client, name, None) for name in CLIENT_METHODS]
        if client is None or not all(callable(m) for m in methods) or not hasattr(client, "__dict__"):
            LOGGER.warning(
                "dialfsm: %r has no DailyTransportClient with %s (pipecat-ai %s; checked on %s): calls made on "
                "the transport directly or through frames are not tracked; use the adapter's calls.",
                type(self.transport).__name__,
                ", ".join(CLIENT_METHODS),
                _pipecat_version(),
                CHECKED_ON,
            )
            return
        if any(getattr(m, "dialfsm_adapter", None) is not None for m in methods):
            raise ValueError("this transport is already tracked by dialfsm: detach() the other adapter first")
        if not all(hasattr(client, slot) for slot in _SLOTS):
            LOGGER.warning(
                "dialfsm: pipecat-ai %s's DailyTransportClient has no %s (checked on %s): a call without "
                "sessionId is given the session the tracker sees as active instead.",
                _pipecat_version(),
                " / ".join(_SLOTS),
                CHECKED_ON,
            )
        for name in CLIENT_METHODS:
            wrapper = self._observer(CALLS_BY_NAME[name], getattr(client, name))
            setattr(client, name, wrapper)  # an instance attribute: it shadows the class's method
            self._wrapped.append((client, name, wrapper))

    def _observer(self, spec: CallSpec, original: Callable[..., Any]) -> Callable[..., Any]:
        async def observed(*args: Any, **kwargs: Any) -> Any:
            if _PLACING.get() is self:  # the adapter's own guarded call: it reports the completion itself
                return await original(*args, **kwargs)
            argument = args[0] if args else next(iter(kwargs.values()), None)
            ref = self._observe(spec, argument)
            try:
                result = await original(*args, **kwargs)
            except Exception as exc:
                self._observed(spec, ref, (None, f"{spec.name} raised {type(exc).__name__}: {exc}"))
                raise
            self._observed(spec, ref, result)
            return result

        observed.__name__ = observed.__qualname__ = spec.name
        observed.__doc__ = f"pipecat's ``{spec.name}``, journaled by dialfsm (result unchanged)."
        observed.dialfsm_adapter = self  # type: ignore[attr-defined]
        return observed

    def _observe(self, spec: CallSpec, argument: object) -> str | None:
        """Journal a call made past the adapter; its ref, or ``None`` if no session waits for its completion."""
        try:
            if spec.input is Input.START_DIALOUT and argument is None:
                argument = {}
            elif spec.input in _SESSION_CALLS:
                argument = self._with_session(argument)
            ref = next(self._refs)
            session = self.tracker.observe_call(spec.input, argument, ref=ref, t=self._t())
            return None if session is None else ref
        except Exception as exc:  # noqa: BLE001  (never raise into pipecat: a frame's audio task would die)
            self._keep(exc)
            return None

    def _observed(self, spec: CallSpec, ref: str | None, result: object) -> None:
        """Report what the observed call returned, paired by ``ref``.  Never raises."""
        if ref is None:
            return
        try:
            if spec.returns_id:
                session_id, error = result if isinstance(result, tuple) and len(result) == 2 else (None, result)
                self.tracker.start_completed(None, text(session_id), text(error), ref=ref, t=self._t())
            else:
                error = result[1] if isinstance(result, tuple) and len(result) == 2 else result
                getattr(self.tracker, spec.completed)(None, text(error), ref=ref, t=self._t())
        except Exception as exc:  # noqa: BLE001  (never raise into pipecat)
            self._keep(exc)

    def _unwrap_client(self) -> None:
        for client, name, wrapper in self._wrapped:
            if vars(client).get(name) is wrapper:
                delattr(client, name)
        self._wrapped.clear()

    # --- pipecat's sessionId fallback -----------------------------------------------------

    def active_session_id(self) -> str | None:
        """The session a call without ``sessionId`` goes to, as pipecat 1.14 picks it.

        The active dial-out (the latest ``dialout-connected`` not yet stopped),
        then the active dial-in; pipecat's own record of them when the transport
        has one, else the tracker's live sessions.  ``None`` when there is none.
        """
        client = getattr(self.transport, "_client", None)
        if client is not None and all(hasattr(client, slot) for slot in _SLOTS):
            for slot in _SLOTS:
                value = getattr(client, slot)
                if isinstance(value, str) and value:
                    return value
            return None
        for kind, states in (
            (SessionKind.DIALOUT, (DialoutState.CONNECTED, DialoutState.ANSWERED)),
            (SessionKind.DIALIN, (DialinState.CONNECTED, DialinState.JOINED)),
        ):
            live = [s for s in self.tracker.live if s.kind is kind and s.session_id and s.state in states]
            if live:
                return live[-1].session_id
        return None

    def _with_session(self, settings: object) -> object:
        if isinstance(settings, Mapping) and not settings.get("sessionId"):
            session_id = self.active_session_id()
            if session_id is not None:
                return {**settings, "sessionId": session_id}
        return settings

    def detach(self) -> None:
        """Stop tracking: remove the handlers, unwrap the transport's calls, stop the timers and effects.

        After this, nothing fires the tracker's timers: advance it yourself if you
        keep feeding it.  Effects being carried out are cancelled (a waiting retry
        is withdrawn, journaled).  Use :meth:`aclose` on the loop to also wait
        until the adapter's tasks have ended.  Idempotent.
        """
        for event, handler in self._handlers:
            self.transport.remove_event_handler(event, handler)
        self._handlers.clear()
        self._unwrap_client()
        self._driver.close()
        self._unwatch()

    async def aclose(self) -> None:
        """:meth:`detach`, then wait until the adapter's tasks have ended (nothing is left pending)."""
        self.detach()
        await self._driver.aclose()

    async def __aenter__(self) -> PipecatCalls:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the bot's calls ----------------------------------------------------------------

    async def start_dialout(
        self, settings: Mapping[str, Any], *, ref: str | None = None, retry_of: Session | str | None = None
    ) -> Session:
        """Guard, ``await transport.start_dialout(session.settings)``, report its ``(session_id, error)``.

        Returns the session: ``connecting`` with its id bound, or ``error`` /
        ``rejected`` with Daily's text when the start failed.  ``retry_of``
        links it to the failed dial-out it retries (see ``CallTracker.start_dialout``).
        ``await transport.start_dialout(settings)`` is tracked too (never refused).

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

        Without ``sessionId``, the tones go where pipecat sends them (:meth:`active_session_id`).

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SEND_DTMF, self._with_session(settings), ref)

    async def sip_call_transfer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_call_transfer(settings)``, report its error.

        Without ``sessionId``, the call transferred is the one pipecat picks (:meth:`active_session_id`).
        To transfer after the bot has finished speaking, push a ``DailySIPTransferFrame``: it is tracked too.

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SIP_CALL_TRANSFER, self._with_session(settings), ref)

    async def sip_refer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, ``await transport.sip_refer(settings)``, report its error.

        Without ``sessionId``, the call referred is the one pipecat picks (:meth:`active_session_id`).

        Raises:
            CallRefused: the tracker refused the call; pipecat was not called.

        """
        return await self._call(Input.SIP_REFER, self._with_session(settings), ref)

    async def _call(self, call: Input, argument: object, ref: str | None, retry_of: object = None) -> Session:
        """Guard ``call``, await the transport's method of the same name with the validated settings, report it."""
        spec = CALLS[call]
        session, typed = self.tracker.place(call, argument, ref=ref, t=self._t(), retry_of=retry_of)  # type: ignore[arg-type]
        method = getattr(self.transport, spec.name)
        completed = getattr(self.tracker, spec.completed)
        token = _PLACING.set(self)
        try:
            result = await method(daily_argument(typed))
        except Exception as exc:
            error = f"{spec.name} raised {type(exc).__name__}: {exc}"
            if spec.returns_id:
                completed(session, None, error, t=self._t())
            else:
                completed(session, error, t=self._t())
            raise
        finally:
            _PLACING.reset(token)
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
        token = _PLACING.set(self)
        try:
            error = await self.transport.stop_dialout(effect.session_id)
        except Exception as exc:
            error = f"stop_dialout raised {type(exc).__name__}: {exc}"
            self.tracker.stop_completed(effect.session, error, ref=effect.ref, t=self._t())
            raise
        finally:
            _PLACING.reset(token)
        self.tracker.stop_completed(effect.session, text(error), ref=effect.ref, t=self._t())

    async def _retry(self, effect: RetryDialout) -> Session:
        return await self.start_dialout(effect.settings.to_daily(), retry_of=effect.previous)


def track_transport(
    transport: Any,
    tracker: CallTracker | None = None,
    *,
    first: bool = True,
    clock: Callable[[], float] | None = time.monotonic,
    perform_effects: bool = True,
    warn_after: float = 10.0,
) -> PipecatCalls:
    """Wire ``tracker`` (a fresh ``CallTracker()`` by default) to a pipecat ``DailyTransport``; all a bot needs.

    Call it right after creating the transport, before the pipeline runs (on
    the loop that will run it, or before any loop: the adapter's task starts on
    the loop of the first event).

    Args:
        transport: A ``pipecat.transports.daily.transport.DailyTransport``
            (anything with its ``add_event_handler`` and call methods).
        tracker: The tracker; it must be fed only on the transport's event loop.
        first: Put dialfsm's handler first in each event's handler list, so
            the bot's handlers, registered before or after, see the state after the event.
        clock: Where every input's ``t`` comes from (``time.monotonic``);
            ``None`` feeds no times, which leaves the timers unarmed.
        perform_effects: Carry out the tracker's effects (stop a call nobody
            answered, place a retry); ``False`` leaves them to ``tracker.take_effects()``.
        warn_after: With ``perform_effects=False``, seconds an effect may wait
            before it is logged on the ``dialfsm`` logger.

    Returns:
        The :class:`PipecatCalls`: ``tracker``, the guarded calls, ``wait_for``,
        ``transitions``, ``on_enter``, ``detach`` / ``aclose``.

    Raises:
        ValueError: the transport is already tracked by another adapter.

    """
    calls = PipecatCalls(
        CallTracker() if tracker is None else tracker,
        transport,
        clock=clock,
        perform_effects=perform_effects,
        warn_after=warn_after,
    )
    try:
        calls._attach(first=first)
    except Exception:
        calls.detach()
        raise
    return calls
