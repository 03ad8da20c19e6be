"""daily-python adapter (``pip install 'dialfsm[daily]'``): a ``CallClient``'s calls, tracked.

:class:`DailyCalls` connects one :class:`~dialfsm.CallTracker` to one
``daily.CallClient``:

* :attr:`DailyCalls.event_handler` is a real ``daily.EventHandler`` (a
  subclass built on first use; ``daily`` is imported then, not when dialfsm
  is).  Give it to the ``CallClient``.  It feeds the tracker the eleven
  telephony callbacks (``on_dialin_ready``, ``on_dialin_connected``,
  ``on_dialin_stopped``, ``on_dialin_error``, ``on_dialin_warning``,
  ``on_dialout_connected``, ``on_dialout_answered``, ``on_dialout_stopped``,
  ``on_dialout_error``, ``on_dialout_warning``, ``on_dtmf_event``), the
  participant events (``on_participant_joined``, ``on_participant_left``)
  and leaving the meeting (``on_call_state_updated("left")``; daily-python
  has no ``left-meeting`` callback).  Every callback the installed
  ``daily.EventHandler`` defines, tracked or not, is then passed on to your
  own handler (``delegate``), with the SDK's arguments.
* :meth:`~DailyCalls.start_dialout`, :meth:`~DailyCalls.stop_dialout`,
  :meth:`~DailyCalls.send_dtmf`, :meth:`~DailyCalls.sip_call_transfer` and
  :meth:`~DailyCalls.sip_refer` run the tracker's guards first (raising
  :class:`~dialfsm.CallRefused` and calling nothing when refused), then call
  the ``CallClient`` with the validated settings and report its completion,
  ``(session_id, error)`` or ``(error,)``, to the tracker, paired by ``ref``.

**Threads.**  daily-python runs handlers and completions on its own engine
thread and swallows what they raise.  The adapter copies each payload and
hands it to the tracker's ordered stream: with ``loop=`` to that asyncio loop
(:class:`~dialfsm.threads.LoopHandoff`, so the tracker is read and fed on
the loop), otherwise under a lock (:class:`~dialfsm.threads.LockedTracker`).
Nothing it does raises into the SDK: failures are kept in
:attr:`DailyCalls.errors`.

**Timers and effects.**  The adapter runs the tracker's timers itself, only
while one is armed or an effect waits: with ``loop=``, in a task on that loop;
otherwise in a thread of its own that advances the tracker under the
:class:`~dialfsm.threads.LockedTracker`'s lock, so it never races the engine
thread (:mod:`dialfsm._drivers`).  It carries out the effects (``stop_dialout``
for a ring timeout, the next attempt of a retry) for calls this bot placed;
``perform_effects=False`` leaves them to ``take_effects()``.  The bot leaving
(``on_call_state_updated("left")``) withdraws a retry still waiting;
:meth:`DailyCalls.close` stops everything.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from dialfsm._adapters import Adapter, copy_payload, daily_argument, reporter_args
from dialfsm._calls import CALLS
from dialfsm._drivers import LoopDriver, ThreadDriver
from dialfsm._errors import CallRefused
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session
from dialfsm._table import Input
from dialfsm._tracker import CallTracker
from dialfsm.threads import Feed, LockedTracker, LoopHandoff

if TYPE_CHECKING:
    import daily

__all__ = [
    "PARTICIPANT_CALLBACKS",
    "TELEPHONY_CALLBACKS",
    "TRACKED_CALLBACKS",
    "DailyCalls",
    "event_handler_class",
]

#: daily-python's telephony callbacks (``daily.EventHandler``, 0.36.0), fed to the tracker as they are.
TELEPHONY_CALLBACKS: Final = (
    "on_dialin_ready",
    "on_dialin_connected",
    "on_dialin_stopped",
    "on_dialin_error",
    "on_dialin_warning",
    "on_dialout_connected",
    "on_dialout_answered",
    "on_dialout_stopped",
    "on_dialout_error",
    "on_dialout_warning",
    "on_dtmf_event",
)
#: The participant and meeting callbacks fed to the tracker (``on_call_state_updated`` only for ``"left"``).
PARTICIPANT_CALLBACKS: Final = ("on_participant_joined", "on_participant_left", "on_call_state_updated")
#: Every callback the adapter feeds to the tracker.
TRACKED_CALLBACKS: Final = TELEPHONY_CALLBACKS + PARTICIPANT_CALLBACKS

_HANDLER_CLASS: type[daily.EventHandler] | None = None
_HANDLER_LOCK = threading.Lock()


def _make_callback(name: str) -> Callable[..., None]:
    def callback(self: Any, *args: Any) -> None:
        calls: DailyCalls = self._dialfsm_calls
        calls._deliver(name, args)

    callback.__name__ = callback.__qualname__ = name
    tracked = "feeds the tracker, then calls" if name in TRACKED_CALLBACKS else "calls"
    callback.__doc__ = f"daily-python's ``{name}``: {tracked} the delegate's ``{name}``; never raises."
    return callback


def event_handler_class() -> type[daily.EventHandler]:
    """The ``daily.EventHandler`` subclass behind :attr:`DailyCalls.event_handler`, built on first use.

    It overrides every ``on_*`` callback of the installed ``daily.EventHandler``.

    Raises:
        ImportError: daily-python is not installed (``pip install 'dialfsm[daily]'``).

    """
    global _HANDLER_CLASS  # noqa: PLW0603  (a cache of a class that needs the SDK)
    with _HANDLER_LOCK:
        if _HANDLER_CLASS is None:
            try:
                import daily  # noqa: PLC0415  (the SDK is an optional extra)
            except ImportError as exc:
                raise ImportError("dialfsm.daily needs daily-python: pip install 'dialfsm[daily]'") from exc

            def __init__(self: Any, calls: DailyCalls) -> None:  # noqa: N807
                daily.EventHandler.__init__(self)
                self._dialfsm_calls = calls

            namespace: dict[str, Any] = {
                "__init__": __init__,
                "__module__": __name__,
                "__doc__": "A daily.EventHandler that feeds a dialfsm tracker, then the bot's own handler.",
            }
            for name in dir(daily.EventHandler):
                if name.startswith("on_"):
                    namespace[name] = _make_callback(name)
            _HANDLER_CLASS = type("TrackingEventHandler", (daily.EventHandler,), namespace)
        return _HANDLER_CLASS


class DailyCalls(Adapter):
    """One tracker wired to one daily-python ``CallClient``.

    Args:
        tracker: The tracker, or a feed already serialising one (a
            :class:`~dialfsm.threads.LockedTracker` or
            :class:`~dialfsm.threads.LoopHandoff`); a fresh ``CallTracker()`` by default.
        loop: Hand every input to this asyncio loop (the tracker then lives
            on it); by default inputs are applied under a lock on the thread
            that delivers them.  Ignored when ``tracker`` is already a feed.
        delegate: Your own event handler (any object; typically your existing
            ``daily.EventHandler`` subclass instance): each callback is passed on
            to its method of the same name, if it has one, after the tracker saw it.
        client: The ``daily.CallClient`` to call (or set :attr:`client` later,
            or use :meth:`create_client`).
        clock: Where every input's ``t`` comes from (``time.monotonic``);
            ``None`` feeds no times, which leaves the timers unarmed.
        perform_effects: Carry out the tracker's effects (stop a call nobody
            answered, place a retry); ``False`` leaves them to ``tracker.take_effects()``.
        warn_after: With ``perform_effects=False``, seconds an effect may wait
            before it is logged on the ``dialfsm`` logger.

    The adapter runs the tracker's timers itself: with ``loop=``, in a task on
    that loop; otherwise in a thread of its own that advances the tracker under
    the feed's lock.  Either runs only while a timer is armed or an effect
    waits; :meth:`close` (or ``await``:meth:`aclose`) stops it.

    Example (needs a room, so not run here)::

        calls = DailyCalls(CallTracker(), loop=asyncio.get_running_loop())
        client = calls.create_client()          # daily.CallClient(event_handler=calls.event_handler)
        client.join(room_url, token)
        session = calls.start_dialout({"phoneNumber": "+15551234567"})
        await calls.wait_for(session, state="answered", timeout=60)

    """

    def __init__(
        self,
        tracker: CallTracker | LockedTracker | LoopHandoff | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        delegate: object = None,
        client: Any = None,
        clock: Callable[[], float] | None = time.monotonic,
        perform_effects: bool = True,
        warn_after: float = 10.0,
    ) -> None:
        feed: LockedTracker | LoopHandoff
        if isinstance(tracker, (LockedTracker, LoopHandoff)):
            feed = tracker
        elif loop is not None:
            feed = LoopHandoff(tracker, loop=loop)
        else:
            feed = LockedTracker(tracker)
        on_loop = feed.loop if isinstance(feed, LoopHandoff) else None
        super().__init__(feed.tracker, clock, perform_effects=perform_effects, warn_after=warn_after, loop=on_loop)
        self.feed: Feed = feed
        self.delegate = delegate
        self.client = client
        self._handler: daily.EventHandler | None = None
        # Names for the calls it makes: unique to this adapter, so a new adapter on a tracker restored
        # from a snapshot never reuses the name of a call still waiting from before the restart.
        prefix = f"daily-{secrets.token_hex(4)}#"
        self._refs = (f"{prefix}{n}" for n in itertools.count(1))
        self._driver = self._make_driver(feed, clock)

    def _make_driver(
        self, feed: LockedTracker | LoopHandoff, clock: Callable[[], float] | None
    ) -> LoopDriver | ThreadDriver:
        """The timers' runner: a task on the feed's loop, or a thread advancing under the feed's lock."""
        if isinstance(feed, LoopHandoff):
            return LoopDriver(
                feed.tracker,
                loop=feed.loop,
                clock=clock,
                carry_out=self.perform if self.perform_effects else None,
                errors=self._errors,
                warn_after=self.warn_after,
            )
        return ThreadDriver(
            feed.tracker,
            lock=feed.lock,
            clock=clock,
            carry_out=self._perform_now if self.perform_effects else None,
            errors=self._errors,
            warn_after=self.warn_after,
        )

    @property
    def tracker(self) -> CallTracker:
        """The tracker (with ``loop=``, read it on that loop; otherwise hold ``feed.lock`` for consistent reads)."""
        return self.feed.tracker

    @property
    def errors(self) -> list[BaseException]:
        """Everything that went wrong in an SDK callback, the delegate's exceptions included (never raised)."""
        return self._errors + self.feed.errors

    @property
    def event_handler(self) -> daily.EventHandler:
        """The ``daily.EventHandler`` to give the ``CallClient`` (created on first use)."""
        if self._handler is None:
            self._handler = event_handler_class()(self)  # type: ignore[call-arg]
        return self._handler

    def create_client(self) -> daily.CallClient:
        """Create ``daily.CallClient(event_handler=self.event_handler)`` and use it for the calls.

        ``daily.Daily.init()`` must have been called first, as for any ``CallClient``, and only once
        per process (daily-python 0.36 aborts the process on a second call; pipecat's
        ``DailyTransport`` makes the first itself).
        """
        import daily  # noqa: PLC0415  (the SDK is an optional extra)

        client = daily.CallClient(event_handler=self.event_handler)
        self.client = client
        return client

    # --- callbacks from the SDK (engine thread) ------------------------------------------

    def _deliver(self, name: str, args: tuple[Any, ...]) -> None:
        """Feed one SDK callback to the tracker, then to the delegate.  Never raises."""
        try:
            if name in TRACKED_CALLBACKS:
                if name == "on_call_state_updated":
                    if args and args[0] == "left":
                        self._left = True
                        self._driver.cancel_effects("the bot left the room")
                        self.feed.post(self.tracker.handle, "left-meeting", {"state": "left"}, t=self._t())
                    elif args and args[0] == "joined":
                        self._left = False
                elif args:
                    self.feed.post(self.tracker.handle, name, copy_payload(args[0]), t=self._t())
                else:
                    self.feed.post(self.tracker.handle, name, None, t=self._t())
        except Exception as exc:  # noqa: BLE001  (never raise into the SDK's engine thread)
            self._keep(exc)
        method = getattr(self.delegate, name, None) if self.delegate is not None else None
        if method is not None:
            try:
                method(*args)
            except Exception as exc:  # noqa: BLE001  (daily-python would swallow it; keep it instead)
                self._keep(exc)

    def _completion(self, report: Callable[[tuple[Any, ...]], None]) -> Callable[..., None]:
        def completion(*args: Any) -> None:
            try:
                report(args)
            except Exception as exc:  # noqa: BLE001  (never raise into the SDK's engine thread)
                self._keep(exc)

        return completion

    def _client(self) -> Any:
        if self.client is None:
            raise RuntimeError("DailyCalls has no CallClient: set .client or call create_client()")
        return self.client

    def _ref(self, ref: str | None) -> str:
        return ref if ref is not None else next(self._refs)

    # --- the bot's calls ----------------------------------------------------------------

    def start_dialout(
        self, settings: Mapping[str, Any], *, ref: str | None = None, retry_of: Session | str | None = None
    ) -> Session:
        """Guard, then ``client.start_dialout(session.settings, completion)``; returns the session.

        The completion ``(session_id, error)`` is reported to the tracker when
        daily-python calls it (binding the session's id, or ending it
        ``rejected`` with Daily's error text).  ``retry_of`` links the session
        to the failed dial-out it retries (see ``CallTracker.start_dialout``).

        Raises:
            CallRefused: the tracker refused the call; Daily was not called.

        """
        return self._call(Input.START_DIALOUT, settings, ref, retry_of)

    def stop_dialout(self, session: Session | str, *, ref: str | None = None) -> Session:
        """Guard, then ``client.stop_dialout(session_id, completion)``; the completion ``(error,)`` is reported.

        Raises:
            CallRefused: the tracker refused the call; Daily was not called.

        """
        return self._call(Input.STOP_DIALOUT, session, ref)

    def send_dtmf(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, then ``client.send_dtmf(settings, completion)``; the completion ``(error,)`` is reported.

        Raises:
            CallRefused: the tracker refused the call; Daily was not called.

        """
        return self._call(Input.SEND_DTMF, settings, ref)

    def sip_call_transfer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, then ``client.sip_call_transfer(settings, completion)``; the completion ``(error,)`` is reported.

        Raises:
            CallRefused: the tracker refused the call; Daily was not called.

        """
        return self._call(Input.SIP_CALL_TRANSFER, settings, ref)

    def sip_refer(self, settings: Mapping[str, Any], *, ref: str | None = None) -> Session:
        """Guard, then ``client.sip_refer(settings, completion)``; the completion ``(error,)`` is reported.

        Raises:
            CallRefused: the tracker refused the call; Daily was not called.

        """
        return self._call(Input.SIP_REFER, settings, ref)

    def _call(self, call: Input, argument: object, ref: str | None, retry_of: object = None) -> Session:
        """Guard ``call`` in the feed, then make it on the client with the settings the guards validated."""
        spec = CALLS[call]
        client = self._client()
        ref = self._ref(ref)
        session, typed = self.feed.call(self.tracker.place, call, argument, ref=ref, t=self._t(), retry_of=retry_of)
        completed = getattr(self.tracker, spec.completed)

        def report(args: tuple[Any, ...]) -> None:
            session_id, error = reporter_args(spec.returns_id, args)
            if spec.returns_id:
                self.feed.post(completed, session, session_id, error, ref=ref, t=self._t())
            else:
                self.feed.post(completed, None, error, ref=ref, t=self._t())

        self._invoke(getattr(client, spec.name), daily_argument(typed), report, spec.name, start=spec.returns_id)
        return session

    # --- effects (see Adapter.perform) ---------------------------------------------------------

    def _ended(self, session: Session) -> bool:
        return bool(self.feed.call(getattr, session, "is_terminal"))

    def _withdraw(self, effect: Effect, reason: str) -> None:
        self.feed.call(self.tracker.withdraw, effect, reason=reason, t=self._t())

    async def _send_stop(self, effect: StopCall) -> None:
        self._stop_now(effect)

    def _stop_now(self, effect: StopCall) -> None:
        try:
            client = self._client()
        except RuntimeError:
            self._withdraw(effect, "no CallClient")
            raise

        def report(args: tuple[Any, ...]) -> None:
            error = reporter_args(False, args)[1]
            self.feed.post(self.tracker.stop_completed, effect.session, error, ref=effect.ref, t=self._t())

        self._invoke(client.stop_dialout, effect.session_id, report, "stop_dialout")

    async def _retry(self, effect: RetryDialout) -> Session:
        return self.start_dialout(effect.settings.to_daily(), retry_of=effect.previous)

    def _perform_now(self, effect: Effect) -> None:
        """Carry out a due effect at once (the timers thread's ``carry_out``); like :meth:`perform`."""
        reason = self._screen(effect)
        if reason is not None:
            self._withdraw(effect, reason)
        elif isinstance(effect, StopCall):
            self._stop_now(effect)
        else:
            try:
                self.start_dialout(effect.settings.to_daily(), retry_of=effect.previous)
            except CallRefused as refusal:
                self._retry_refused(effect, refusal)

    # --- the adapter's own activity ----------------------------------------------------------

    @property
    def timers_running(self) -> bool:
        """Whether the timers task or thread runs now (only while a timer is armed or an effect waits)."""
        return self._driver.running

    def close(self) -> None:
        """Stop the timers and the effects (a waiting retry is withdrawn, journaled), and stop listening.

        The event handler still feeds the tracker; nothing fires its timers any
        more.  Idempotent.  On the loop, prefer ``await`` :meth:`aclose`.
        """
        self._driver.close()
        self._unwatch()

    async def aclose(self) -> None:
        """:meth:`close`, then wait until the adapter's tasks have ended (with ``loop=``; on that loop)."""
        self.close()
        if isinstance(self._driver, LoopDriver):
            await self._driver.aclose()

    def _invoke(
        self,
        method: Callable[..., object],
        argument: object,
        report: Callable[[tuple[Any, ...]], None],
        call: str,
        *,
        start: bool = False,
    ) -> None:
        """Call the SDK; if it raises at once, report that as the call's error completion, then re-raise."""
        try:
            method(argument, completion=self._completion(report))
        except Exception as exc:
            error = f"{call} raised {type(exc).__name__}: {exc}"
            report((None, error) if start else (error,))
            raise
