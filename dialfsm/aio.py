"""asyncio helpers: wait for a call to reach a state, iterate transitions, react on entry.

The core is sans-I/O, so a :class:`~dialfsm.Session` cannot await anything
itself.  :class:`AsyncTracker` wraps a :class:`~dialfsm.CallTracker` and
listens to its journal (``add_entry_listener``), which is enough for::

    calls = AsyncTracker(tracker)
    await calls.wait_for(session, state=DialoutState.ANSWERED, timeout=60)
    async for step in calls.transitions(session): ...
    calls.on_enter(DialinState.JOINED, greet)

This is the closest the sans-I/O core allows to the issue's
``await session.wait_for(...)``: the session is the first argument instead of
the receiver.

**Interleaving.**  pipecat runs each event handler as its own task, so by the
time a waiter wakes up the call may have moved on (answered, then hung up).
Waiters therefore decide on each *step* as it is applied, not on whatever
``session.state`` is when they get to run: ``wait_for(state=ANSWERED)``
returns once the session has *entered* ``answered``, even if it has already
left it; iterators queue every step; ``on_enter`` callbacks receive the step
that entered the state.

**Threads.**  Entry listeners run on whichever thread applied the input.  On
the loop's thread, futures are resolved at once; from any other thread (a
:class:`~dialfsm.threads.LockedTracker` fed by daily-python's engine), the
result is handed to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from dialfsm._errors import keep_error
from dialfsm._policy import Effect
from dialfsm._session import JournalEntry, Session
from dialfsm._table import DialinState, DialoutState, Disposition, Outcome, SessionKind
from dialfsm._tracker import CallTracker
from dialfsm.exceptions import SessionEnded
from dialfsm.threads import LockedTracker, LoopHandoff, feed_of

__all__ = ["AsyncTracker", "SessionEnded", "TransitionStream"]

State = DialoutState | DialinState

_TRANSITION = Disposition.TRANSITION


def _as_set(value: object, kind: type | tuple[type, ...], what: str) -> frozenset[Any] | None:
    if value is None:
        return None
    if isinstance(value, kind):
        return frozenset({value})
    if isinstance(value, Iterable) and not isinstance(value, str):
        items = frozenset(value)
        bad = [v for v in items if not isinstance(v, kind)]
        if not bad and items:
            return items
    raise TypeError(f"expected a {what} or a non-empty collection of them, got {value!r}")


def _members(value: object, enums: tuple[type[enum.Enum], ...], what: str) -> object:
    """``value`` with every plain string replaced by the members of ``enums`` it names (``"answered"``)."""
    if not isinstance(value, str) and (isinstance(value, enum.Enum) or not isinstance(value, Iterable)):
        return value
    names = (value,) if isinstance(value, str) else tuple(value)
    found: list[object] = []
    for name in names:
        if isinstance(name, str) and not isinstance(name, enum.Enum):
            members = [m for e in enums for m in e if m.value == name]
            if not members:
                valid = sorted({m.value for e in enums for m in e})
                raise ValueError(f"{name!r} names no {what}; expected one of {valid}")
            found.extend(members)
        else:
            found.append(name)
    return found


def _state_set(value: object, kind: SessionKind | None) -> frozenset[Any] | None:
    """The states ``value`` names: enum members, or strings (for a session of ``kind``, its own states only)."""
    enums: tuple[type[enum.Enum], ...] = (
        (DialoutState, DialinState)
        if kind is None
        else ((DialoutState,) if kind is SessionKind.DIALOUT else (DialinState,))
    )
    what = "state" if kind is None else f"{kind.value} state"
    return _as_set(_members(value, enums, what), (DialoutState, DialinState), "state")


def _outcome_set(value: object) -> frozenset[Any] | None:
    return _as_set(_members(value, (Outcome,), "outcome"), Outcome, "Outcome")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _on(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: Any) -> None:
    """Run ``fn(*args)`` on ``loop``: now if this thread runs it, else via ``call_soon_threadsafe``."""
    if _running_loop() is loop:
        fn(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(fn, *args)


class TransitionStream:
    """An async iterator of the steps that moved sessions (see :meth:`AsyncTracker.transitions`).

    Each item is a :class:`~dialfsm.JournalEntry` step with ``session``,
    ``source`` and ``dest``.  Use it in ``async for``; ``close()`` (or leaving
    an ``async with`` block) stops it and unhooks it from the tracker.
    """

    def __init__(
        self,
        tracker: CallTracker,
        loop: asyncio.AbstractEventLoop,
        session: Session | None,
        every: bool,
    ) -> None:
        self._tracker = tracker
        self._loop = loop
        self._session = session
        self._every = every
        self._queue: asyncio.Queue[JournalEntry | None] = asyncio.Queue()
        self._closed = False
        tracker.add_entry_listener(self._listen)
        if session is not None and session.is_terminal:
            self.close()

    def _listen(self, entry: JournalEntry) -> None:
        for step in entry.steps:
            if self._session is not None and step.session is not self._session:
                continue
            if step.disposition is _TRANSITION or self._every:
                _on(self._loop, self._queue.put_nowait, step)
            if self._session is not None and step.session is self._session and self._session.is_terminal:
                self.close()

    def close(self) -> None:
        """Stop the stream: it ends after the steps already queued.  Idempotent; thread-safe."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self._tracker.remove_entry_listener(self._listen)
        _on(self._loop, self._queue.put_nowait, None)

    def __aiter__(self) -> TransitionStream:
        return self

    async def __anext__(self) -> JournalEntry:
        step = await self._queue.get()
        if step is None:
            self._queue.put_nowait(None)  # stay ended for any later __anext__
            raise StopAsyncIteration
        return step

    async def __aenter__(self) -> TransitionStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class _TimerRunner:
    """The state of one :meth:`AsyncTracker.run_timers`: its wake-up event and the effects it awaits."""

    def __init__(
        self, calls: AsyncTracker, loop: asyncio.AbstractEventLoop, on_effect: Callable[[Effect], object] | None
    ) -> None:
        self.calls = calls
        self.loop = loop
        self.on_effect = on_effect
        self.wake = asyncio.Event()
        self.running: set[asyncio.Future[Any]] = set()

    def listen(self, entry: JournalEntry) -> None:
        """An entry listener: wake the loop (a timer may be armed, an effect queued)."""
        _on(self.loop, self.wake.set)

    def hand_over(self, effect: Effect) -> None:
        """Give ``effect`` to ``on_effect``; await what it returns in a task of our own."""
        assert self.on_effect is not None
        try:
            result = self.on_effect(effect)
            if inspect.isawaitable(result):
                # Our own task around it: cancelling run_timers cancels it, never the bot's future.
                task = self.loop.create_task(_awaited(result))
                self.running.add(task)
                task.add_done_callback(self._finished)
        except Exception as exc:  # noqa: BLE001  (a bot's effect handler must not stop the timers)
            keep_error(self.calls.callback_errors, exc)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self.running.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            keep_error(self.calls.callback_errors, error)

    def cancel(self) -> None:
        """Cancel the effects still being awaited."""
        for pending in list(self.running):
            pending.cancel()


class AsyncTracker:
    """asyncio helpers around one :class:`~dialfsm.CallTracker`.

    Args:
        tracker: The tracker (a fresh ``CallTracker()`` by default).
        loop: The loop its waiters and callbacks run on (by default the loop
            running when a helper is first used).

    Example:
        >>> import asyncio
        >>> from dialfsm import CallTracker, DialoutState
        >>> from dialfsm.aio import AsyncTracker
        >>> async def main() -> str:
        ...     calls = AsyncTracker(CallTracker())
        ...     session = calls.tracker.start_dialout({"phoneNumber": "+15551234567"})
        ...     calls.tracker.start_completed(session, session_id="s1")
        ...     asyncio.get_running_loop().call_soon(calls.tracker.handle, "dialout-answered", {"sessionId": "s1"})
        ...     await calls.wait_for(session, state=DialoutState.ANSWERED, timeout=1)
        ...     return session.state.value
        >>> asyncio.run(main())
        'answered'

    """

    def __init__(self, tracker: CallTracker | None = None, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.tracker = CallTracker() if tracker is None else tracker
        self._loop = loop
        #: Exceptions raised by ``on_enter`` callbacks (they never reach the tracker or the SDK).
        self.callback_errors: list[BaseException] = []

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def wait_for(
        self,
        session: Session,
        *,
        state: State | str | Iterable[State | str] | None = None,
        outcome: Outcome | str | Iterable[Outcome | str] | None = None,
        timeout: float | None = None,
    ) -> Session:
        """Wait until ``session`` has reached ``state`` or ended with ``outcome``; return it.

        Args:
            session: A session of this tracker.
            state: A state (or several): done once the session has *entered*
                one, now or earlier (``session.states``), even if it has moved on.
                A plain string names the session's own state (``"answered"``).
            outcome: An outcome (or several, or their strings): done once the session ended with one.
            timeout: Seconds to wait at most (``None``: no limit).

        With neither ``state`` nor ``outcome``, waits for the session to end.

        Raises:
            SessionEnded: the session ended without reaching what was asked.
            TimeoutError: ``timeout`` elapsed first (the session is unchanged).
            ValueError: a string that names no state of the session's kind (or no outcome).

        """
        states = _state_set(state, session.kind)
        outcomes = _outcome_set(outcome)
        loop = self._get_loop()
        future: asyncio.Future[Session] = loop.create_future()

        def decide() -> None:
            if future.done():
                return
            reached = states is not None and not states.isdisjoint(session.states)
            if reached or (outcomes is not None and session.outcome in outcomes):
                future.set_result(session)
            elif session.is_terminal:
                if states is None and outcomes is None:
                    future.set_result(session)
                else:
                    future.set_exception(SessionEnded(session, states=states, outcomes=outcomes))

        def listen(entry: JournalEntry) -> None:
            for step in entry.steps:
                if step.session is session:
                    if states is not None and step.dest in states:
                        _on(loop, _resolve, future, session)
                    else:
                        _on(loop, decide)
                    return

        self.tracker.add_entry_listener(listen)  # before the first look, so no step slips between
        try:
            decide()
            return await asyncio.wait_for(future, timeout)
        finally:
            self.tracker.remove_entry_listener(listen)

    def transitions(self, session: Session | None = None, *, every: bool = False) -> TransitionStream:
        """An async iterator of the steps that move sessions, from now on.

        Args:
            session: Only this session's steps; the iterator then ends after
                the step that makes it terminal (at once if it already is).
            every: Also yield steps that did not move a state (recorded
                warnings and DTMF, anomalies aimed at a session).

        Every step is queued as it is applied, so a slow consumer misses none.

        """
        return TransitionStream(self.tracker, self._get_loop(), session, every)

    async def run_timers(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_effect: Callable[[Effect], object] | None = None,
    ) -> None:
        """Fire the tracker's timers when they are due, and hand its effects to ``on_effect``; until cancelled.

        The adapters run their own timers (:func:`dialfsm.pipecat.track_transport`,
        :class:`dialfsm.daily.DailyCalls`); use this for a tracker you feed yourself.
        Run it as a task on the loop that feeds the tracker: it sleeps until
        :attr:`CallTracker.next_deadline` (woken early by every new journal entry,
        which may arm a timer or queue an effect), then calls
        ``tracker.advance(clock())``.  ``clock`` must be the clock the inputs' ``t``
        come from: the adapters' default, ``time.monotonic``.  ``on_effect`` (a
        function or a coroutine function) receives each
        :class:`~dialfsm.StopCall` / :class:`~dialfsm.RetryDialout`; without it the
        effects stay queued for ``tracker.take_effects()``.  What it returns, if
        awaitable, is awaited in a task of its own, so a retry waiting for its time
        holds up no timer; cancelling ``run_timers`` cancels those tasks (a future
        of the bot's own is shielded, not cancelled).  Exceptions ``on_effect``
        raises are kept in :attr:`callback_errors`.

        A tracker fed through a :class:`~dialfsm.threads.LockedTracker` (from
        daily-python's engine thread) is advanced under that feed's lock, so the
        timers never race the engine.

        Raises:
            RuntimeError: the tracker is fed through a
                :class:`~dialfsm.threads.LoopHandoff` on another loop: run the
                timers on that loop.

        """
        loop = self._get_loop()
        feed = feed_of(self.tracker)
        if isinstance(feed, LoopHandoff) and feed.loop is not loop:
            raise RuntimeError("this tracker is fed on another event loop (a LoopHandoff): run its timers there")
        guard = feed.lock if isinstance(feed, LockedTracker) else contextlib.nullcontext()
        runner = _TimerRunner(self, loop, on_effect)
        self.tracker.add_entry_listener(runner.listen)
        try:
            while True:
                runner.wake.clear()
                with guard:
                    effects = self.tracker.take_effects() if on_effect is not None else []
                    deadline = self.tracker.next_deadline
                for effect in effects:
                    runner.hand_over(effect)
                delay = None if deadline is None else max(0.0, deadline - clock())
                try:
                    await asyncio.wait_for(runner.wake.wait(), delay)
                except TimeoutError:
                    with guard:
                        self.tracker.advance(clock())
        finally:
            runner.cancel()
            with contextlib.suppress(ValueError):
                self.tracker.remove_entry_listener(runner.listen)

    def on_enter(
        self,
        state: State | str | Iterable[State | str],
        callback: Callable[[JournalEntry], object | Awaitable[object]],
        *,
        session: Session | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(step)`` each time a session enters ``state``; returns an unsubscribe function.

        The callback runs after the transition is applied, on the loop: a plain
        function is called at once (from another thread, soon, in order); a
        coroutine function is started as a task.  Its exceptions are kept in
        :attr:`callback_errors`, never raised into the tracker or the SDK.

        Args:
            state: The state (or states) to watch; a plain string (``"connected"``)
                names that state of either kind.
            callback: Called with the :class:`~dialfsm.JournalEntry` step that entered it.
            session: Only for this session.

        """
        states = _state_set(state, None)
        assert states is not None
        loop = self._get_loop()
        is_async = inspect.iscoroutinefunction(callback)

        def run(step: JournalEntry) -> None:
            try:
                result = callback(step)
                if is_async and inspect.isawaitable(result):
                    task = loop.create_task(_guarded(result, self.callback_errors))
                    _TASKS.add(task)
                    task.add_done_callback(_TASKS.discard)
            except Exception as exc:  # noqa: BLE001  (a user callback must not break the event path)
                keep_error(self.callback_errors, exc)

        def listen(entry: JournalEntry) -> None:
            for step in entry.steps:
                if (
                    step.disposition is _TRANSITION
                    and step.dest in states
                    and step.dest is not step.source
                    and (session is None or step.session is session)
                ):
                    _on(loop, run, step)

        self.tracker.add_entry_listener(listen)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self.tracker.remove_entry_listener(listen)

        return unsubscribe


_TASKS: set[asyncio.Task[None]] = set()  # strong references to running callback tasks


async def _guarded(awaitable: Awaitable[object], errors: list[BaseException]) -> None:
    try:
        await awaitable
    except Exception as exc:  # noqa: BLE001  (kept, like a sync callback's)
        keep_error(errors, exc)


def _resolve(future: asyncio.Future[Session], session: Session) -> None:
    if not future.done():
        future.set_result(session)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable`` in a task of its own; a future the bot owns is shielded from our cancellation."""
    if asyncio.iscoroutine(awaitable):
        return await awaitable
    return await asyncio.shield(awaitable)
