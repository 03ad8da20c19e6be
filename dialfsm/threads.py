"""Handing inputs from other threads to one tracker, in one ordered stream.

A :class:`~dialfsm.CallTracker` is plain, single-threaded Python: it must see
its inputs one at a time.  daily-python calls its event handlers and its
completion callbacks on its own engine thread (a thread Python did not
create), and silently swallows whatever they raise
(``sys.unraisablehook``).  This module offers the two ways to serialise them:

* :class:`LockedTracker` applies every input *on the calling thread*, under
  one re-entrant lock.  For bots without an event loop, or whose tracker is
  read from several threads.
* :class:`LoopHandoff` *posts* every input to an asyncio event loop with
  ``loop.call_soon_threadsafe`` (the hand-off daily-python's maintainers
  recommend), so the tracker lives on the loop and the bot's coroutines read
  it without locks.  Inputs posted from the loop's own thread are applied at
  once.

Both are *feeds*: ``post(fn, *args)`` runs ``fn`` in the tracker's ordered
stream and never raises (errors are kept in ``errors``), and
``call(fn, *args)`` runs it and returns its result or raises its exception
(the bot's guarded calls, which raise :class:`~dialfsm.CallRefused`).
Inputs posted from one thread are applied in the order that thread posted
them.

Each feed registers itself as its tracker's feed (:func:`feed_of`), so code
that only holds the tracker can still reach it on the right thread:
:meth:`AsyncTracker.run_timers <dialfsm.aio.AsyncTracker.run_timers>` takes a
:class:`LockedTracker`'s lock around ``advance`` and ``take_effects``, and
refuses to run on a loop other than a :class:`LoopHandoff`'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar

from dialfsm._errors import MAX_ERRORS, keep_error
from dialfsm._inputs import CallCompleted, DailyEvent, Ref
from dialfsm._policy import Effect
from dialfsm._session import JournalEntry, Session
from dialfsm._settings import DialoutSettings, DtmfSettings, SipCallTransferSettings, SipReferSettings
from dialfsm._table import AnomalyCode
from dialfsm._tracker import CallTracker

__all__ = ["MAX_ERRORS", "Feed", "LockedTracker", "LoopHandoff", "feed_of"]

_R = TypeVar("_R")
_FEEDS: weakref.WeakKeyDictionary[CallTracker, weakref.ref[Any]] = weakref.WeakKeyDictionary()
_FEEDS_LOCK = threading.Lock()


def _register(tracker: CallTracker, feed: object) -> None:
    with _FEEDS_LOCK:
        _FEEDS[tracker] = weakref.ref(feed)


def feed_of(tracker: CallTracker) -> LockedTracker | LoopHandoff | None:
    """The feed most recently built around ``tracker`` (still alive), or ``None`` if it has none.

    A tracker fed through a feed must be advanced through it too: under a
    :class:`LockedTracker`'s lock, or on a :class:`LoopHandoff`'s loop.
    """
    with _FEEDS_LOCK:
        ref = _FEEDS.get(tracker)
    feed = None if ref is None else ref()
    return feed if isinstance(feed, (LockedTracker, LoopHandoff)) else None


class Feed(Protocol):
    """Where an adapter sends inputs: one ordered stream into one tracker."""

    @property
    def tracker(self) -> CallTracker:
        """The tracker fed."""

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions caught while posting (never raised into the SDK)."""

    def post(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` in the ordered stream, now or soon; never raises."""

    def call(self, fn: Callable[..., _R], /, *args: Any, **kwargs: Any) -> _R:
        """Run ``fn(*args, **kwargs)`` in the ordered stream and return its result (or raise)."""


class LockedTracker:
    """A :class:`~dialfsm.CallTracker` whose every input runs under one lock.

    It has the tracker's input methods (``handle``, ``receive``, the five
    calls, ``complete`` and the ``*_completed`` helpers, ``advance``,
    ``withdraw``, ``note``, ``record_anomaly``, ``take_effects``) with the same
    signatures and results; each holds the lock while the tracker applies it,
    so inputs from any number of threads form one stream, each thread's in the
    order it made them.

    **Reading from another thread.**  Read through the wrapper: it has the
    tracker's reads too (``snapshot()``, ``sessions``, ``live``, ``get``,
    ``locked[session_id]``, ``in``, ``len``, iteration, ``journal``,
    ``journal_since``, ``anomalies``, ``refusals``, ``dialin_endpoints``,
    ``queued_effects``, ``now``, ``next_deadline``, ``inputs_read``), each
    under the lock.  To read several things consistently, hold the lock
    (``with locked as tracker:``).  :attr:`tracker` itself may be read without
    the lock only for what the tracker documents as safe from any thread
    (iterating it, ``sessions``, ``live``, ``journal``, ``journal_since``:
    each copies at once); ``tracker.snapshot()`` from another thread needs the
    lock (``locked.snapshot()``), or it may see an input half applied.

    Args:
        tracker: The tracker to guard (a fresh ``CallTracker()`` by default).
        lock: The lock to use (a new ``threading.RLock`` by default).  It must
            be re-entrant if listeners feed the tracker again.

    Example:
        >>> from dialfsm.threads import LockedTracker
        >>> locked = LockedTracker()
        >>> entry = locked.handle("on_dialin_connected", {"sessionId": "a1"})
        >>> locked.tracker["a1"].state.value
        'connected'

    """

    def __init__(self, tracker: CallTracker | None = None, *, lock: Any = None) -> None:
        self._tracker = CallTracker() if tracker is None else tracker
        self.lock = threading.RLock() if lock is None else lock
        self._errors: list[BaseException] = []
        _register(self._tracker, self)

    @property
    def tracker(self) -> CallTracker:
        """The tracker guarded (read it freely; hold the lock for consistent reads)."""
        return self._tracker

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions :meth:`post` caught (the tracker's own input methods never raise)."""
        return self._errors

    def __enter__(self) -> CallTracker:
        self.lock.__enter__()
        return self._tracker

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.lock.__exit__(exc_type, exc, tb)

    def post(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` under the lock now; exceptions go to :attr:`errors`."""
        try:
            with self.lock:
                fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (called from SDK threads: never raise there)
            keep_error(self._errors, exc)

    def call(self, fn: Callable[..., _R], /, *args: Any, **kwargs: Any) -> _R:
        """Run ``fn(*args, **kwargs)`` under the lock and return its result (exceptions propagate)."""
        with self.lock:
            return fn(*args, **kwargs)

    # --- the tracker's input methods, under the lock ---------------------------------

    def handle(self, name: object, data: object = None, *, t: float | None = None) -> JournalEntry:
        """:meth:`CallTracker.handle <dialfsm.CallTracker.handle>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.handle(name, data, t=t)

    def receive(self, event: DailyEvent, *, t: float | None = None) -> JournalEntry:
        """:meth:`CallTracker.receive <dialfsm.CallTracker.receive>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.receive(event, t=t)

    def complete(
        self, completion: CallCompleted, *, session: Session | None = None, t: float | None = None
    ) -> JournalEntry:
        """:meth:`CallTracker.complete <dialfsm.CallTracker.complete>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.complete(completion, session=session, t=t)

    def start_dialout(
        self,
        settings: Mapping[str, Any] | DialoutSettings,
        *,
        ref: str | None = None,
        t: float | None = None,
        retry_of: Session | str | None = None,
    ) -> Session:
        """:meth:`CallTracker.start_dialout <dialfsm.CallTracker.start_dialout>` under the lock."""
        with self.lock:
            return self._tracker.start_dialout(settings, ref=ref, t=t, retry_of=retry_of)

    def stop_dialout(self, session: Session | str, *, ref: str | None = None, t: float | None = None) -> Session:
        """:meth:`CallTracker.stop_dialout <dialfsm.CallTracker.stop_dialout>` under the lock."""
        with self.lock:
            return self._tracker.stop_dialout(session, ref=ref, t=t)

    def send_dtmf(
        self, settings: Mapping[str, Any] | DtmfSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """:meth:`CallTracker.send_dtmf <dialfsm.CallTracker.send_dtmf>` under the lock."""
        with self.lock:
            return self._tracker.send_dtmf(settings, ref=ref, t=t)

    def sip_call_transfer(
        self, settings: Mapping[str, Any] | SipCallTransferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """:meth:`CallTracker.sip_call_transfer <dialfsm.CallTracker.sip_call_transfer>` under the lock."""
        with self.lock:
            return self._tracker.sip_call_transfer(settings, ref=ref, t=t)

    def sip_refer(
        self, settings: Mapping[str, Any] | SipReferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """:meth:`CallTracker.sip_refer <dialfsm.CallTracker.sip_refer>` under the lock."""
        with self.lock:
            return self._tracker.sip_refer(settings, ref=ref, t=t)

    def start_completed(
        self,
        session: Session | None = None,
        session_id: str | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """:meth:`CallTracker.start_completed <dialfsm.CallTracker.start_completed>` under the lock."""
        with self.lock:
            return self._tracker.start_completed(session, session_id, error, ref=ref, t=t)

    def stop_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: Ref | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """:meth:`CallTracker.stop_completed <dialfsm.CallTracker.stop_completed>` under the lock."""
        with self.lock:
            return self._tracker.stop_completed(session, error, ref=ref, t=t)

    def dtmf_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """:meth:`CallTracker.dtmf_completed <dialfsm.CallTracker.dtmf_completed>` under the lock."""
        with self.lock:
            return self._tracker.dtmf_completed(session, error, ref=ref, t=t)

    def transfer_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """:meth:`CallTracker.transfer_completed <dialfsm.CallTracker.transfer_completed>` under the lock."""
        with self.lock:
            return self._tracker.transfer_completed(session, error, ref=ref, t=t)

    def refer_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """:meth:`CallTracker.refer_completed <dialfsm.CallTracker.refer_completed>` under the lock."""
        with self.lock:
            return self._tracker.refer_completed(session, error, ref=ref, t=t)

    def advance(self, now: float) -> tuple[JournalEntry, ...]:
        """:meth:`CallTracker.advance <dialfsm.CallTracker.advance>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.advance(now)

    def take_effects(self) -> list[Effect]:
        """:meth:`CallTracker.take_effects <dialfsm.CallTracker.take_effects>` under the lock."""
        with self.lock:
            return self._tracker.take_effects()

    def withdraw(self, effect: Effect, *, reason: str = "not carried out", t: float | None = None) -> JournalEntry:
        """:meth:`CallTracker.withdraw <dialfsm.CallTracker.withdraw>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.withdraw(effect, reason=reason, t=t)

    def note(self, name: str, source: object = None, *, t: float | None = None) -> JournalEntry:
        """:meth:`CallTracker.note <dialfsm.CallTracker.note>` under the lock.  Never raises."""
        with self.lock:
            return self._tracker.note(name, source, t=t)

    def record_anomaly(
        self, code: AnomalyCode, message: str, *, name: str = "input", source: object = None, t: float | None = None
    ) -> JournalEntry:
        """:meth:`CallTracker.record_anomaly <dialfsm.CallTracker.record_anomaly>` under the lock."""
        with self.lock:
            return self._tracker.record_anomaly(code, message, name=name, source=source, t=t)

    # --- the tracker's reads, under the lock ------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """:meth:`CallTracker.snapshot <dialfsm.CallTracker.snapshot>` under the lock."""
        with self.lock:
            return self._tracker.snapshot()

    def read(self, name: str) -> Any:
        """The tracker's attribute ``name`` (a property such as ``"journal"``), read under the lock."""
        with self.lock:
            return getattr(self._tracker, name)

    sessions = property(lambda self: self.read("sessions"), doc="``tracker.sessions`` under the lock.")
    live = property(lambda self: self.read("live"), doc="``tracker.live`` under the lock.")
    journal = property(lambda self: self.read("journal"), doc="``tracker.journal`` under the lock.")
    anomalies = property(lambda self: self.read("anomalies"), doc="``tracker.anomalies`` under the lock.")
    refusals = property(lambda self: self.read("refusals"), doc="``tracker.refusals`` under the lock.")
    dialin_endpoints = property(lambda self: self.read("dialin_endpoints"), doc="The endpoints, under the lock.")
    queued_effects = property(lambda self: self.read("queued_effects"), doc="The queued effects, under the lock.")
    now = property(lambda self: self.read("now"), doc="``tracker.now`` under the lock.")
    next_deadline = property(lambda self: self.read("next_deadline"), doc="``tracker.next_deadline`` under the lock.")
    inputs_read = property(lambda self: self.read("inputs_read"), doc="``tracker.inputs_read`` under the lock.")

    def journal_since(self, seq: int) -> tuple[JournalEntry, ...]:
        """:meth:`CallTracker.journal_since <dialfsm.CallTracker.journal_since>` under the lock."""
        with self.lock:
            return self._tracker.journal_since(seq)

    def get(self, session_id: str) -> Session | None:
        """``tracker.get(session_id)`` under the lock."""
        with self.lock:
            return self._tracker.get(session_id)

    def __getitem__(self, session_id: str) -> Session:
        with self.lock:
            return self._tracker[session_id]

    def __contains__(self, session_id: object) -> bool:
        with self.lock:
            return session_id in self._tracker

    def __len__(self) -> int:
        with self.lock:
            return len(self._tracker)

    def __iter__(self) -> Iterator[Session]:
        with self.lock:
            return iter(self._tracker.sessions)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LoopHandoff:
    """Feeds a tracker that lives on an asyncio event loop, from any thread.

    :meth:`post` applies an input at once when called on the loop's thread
    (pipecat's handlers, the bot's coroutines), and otherwise schedules it with
    ``loop.call_soon_threadsafe`` (daily-python's engine thread), which
    preserves each thread's order.  Nothing it does raises into the caller's
    thread: a closed loop or a failing input lands in :attr:`errors`.

    Args:
        tracker: The tracker, to be read and fed only on ``loop``.
        loop: The loop (by default the running loop; constructing it outside
            a running loop then raises ``RuntimeError``).

    """

    def __init__(self, tracker: CallTracker | None = None, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._tracker = CallTracker() if tracker is None else tracker
        self.loop = asyncio.get_running_loop() if loop is None else loop
        self._errors: list[BaseException] = []
        _register(self._tracker, self)

    @property
    def tracker(self) -> CallTracker:
        """The tracker fed (read it on the loop)."""
        return self._tracker

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions caught while posting or applying inputs."""
        return self._errors

    def on_loop(self) -> bool:
        """Whether the calling thread is running :attr:`loop` right now."""
        return _running_loop() is self.loop

    def _run(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (inputs arrive from SDK callbacks: never raise there)
            keep_error(self._errors, exc)

    def post(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on the loop: now if on its thread, else soon, in order.  Never raises."""
        if self.on_loop():
            self._run(fn, args, kwargs)
            return
        try:
            self.loop.call_soon_threadsafe(self._run, fn, args, kwargs)
        except Exception as exc:  # noqa: BLE001  (a closed loop: keep it, do not raise into the SDK)
            keep_error(self._errors, exc)

    def call(self, fn: Callable[..., _R], /, *args: Any, **kwargs: Any) -> _R:
        """Run ``fn(*args, **kwargs)`` on the loop and return its result or raise its exception.

        On the loop's thread it runs at once; from another thread it blocks
        until the loop has run it (do not call it from a thread the loop waits for).
        """
        if self.on_loop():
            return fn(*args, **kwargs)
        future: concurrent.futures.Future[_R] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001  (handed to the waiting thread)
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result()

    def handle(self, name: object, data: object = None, *, t: float | None = None) -> None:
        """Post :meth:`CallTracker.handle <dialfsm.CallTracker.handle>`.  Never raises."""
        self.post(self._tracker.handle, name, data, t=t)

    def complete(self, completion: CallCompleted, *, session: Session | None = None, t: float | None = None) -> None:
        """Post :meth:`CallTracker.complete <dialfsm.CallTracker.complete>`.  Never raises."""
        self.post(self._tracker.complete, completion, session=session, t=t)
