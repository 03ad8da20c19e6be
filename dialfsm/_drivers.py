"""What runs an adapter's timers and carries out its effects: a task on an asyncio loop, or a thread.

A tracker only arms timers; something must fire them when nothing else
happens (a callee who never answers sends no event).  The SDK adapters own
one *driver* each, so that wiring an adapter is enough:

* :class:`LoopDriver`: a task on the loop that feeds the tracker (pipecat's
  transport loop; daily-python's ``loop=``).
* :class:`ThreadDriver`: a thread, for a daily-python tracker fed under a
  :class:`~dialfsm.threads.LockedTracker`'s lock (no loop): the tracker is
  advanced under that lock, so the timers never race the engine thread.

Both run only while there is something to wait for: an entry listener starts
them when an input arms a timer or queues an effect, and they end by
themselves when no timer is armed and no effect waits (so a bot that has
left the room, or finished its calls, has nothing of dialfsm's running).
``close()`` stops them at once (detaching).  A loop driver whose task is
cancelled from outside (``asyncio.run`` shutting the loop down) stops for
good, so no task is started while the loop closes, and none is left pending.

**Effects.**  With a ``carry_out`` function, every effect the tracker queues
is taken and carried out (the adapter's ``perform``): a stop at once, a
retry when it is due.  Without one, effects stay queued for the bot's own
``take_effects()``, and one left waiting longer than ``warn_after`` seconds
is logged once on the ``dialfsm`` logger, since the tracker then reports a
call as stopping (or failed) that Daily was never asked to stop (or redial).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dialfsm._errors import keep_error
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import JournalEntry
from dialfsm._tracker import CallTracker

__all__ = ["LOGGER", "LoopDriver", "ThreadDriver"]

#: The logger the adapters warn a bot through (``logging.getLogger("dialfsm")``).
LOGGER = logging.getLogger("dialfsm")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def describe(effect: Effect) -> str:
    """One line naming an effect and its call, for log messages."""
    if isinstance(effect, StopCall):
        return f"StopCall({effect.reason}) for dial-out {effect.session_id or effect.session.index}"
    return f"RetryDialout(attempt {effect.attempt}) of dial-out {effect.previous.session_id or effect.previous.index}"


class _Driver:
    """What both drivers share: the tracker, the clock, and the effects left waiting for the bot."""

    def __init__(
        self,
        tracker: CallTracker,
        *,
        clock: Callable[[], float] | None,
        performs: bool,
        errors: list[BaseException],
        warn_after: float,
    ) -> None:
        self.tracker = tracker
        #: The clock of the inputs' ``t``; ``None``: the bot feeds its own times and fires its own timers.
        self.timer_clock = clock
        self.clock: Callable[[], float] = time.monotonic if clock is None else clock
        self.performs = performs
        self.errors = errors
        self.warn_after = warn_after
        self.closed = False
        self._seen: dict[int, tuple[Effect, float]] = {}  # effects left queued: first seen at
        self._warned: set[int] = set()

    def _due_effects(self, now: float) -> tuple[list[Effect], float | None]:
        """Fire what is due; the effects to carry out, and how long to sleep (``None``: nothing to wait for)."""
        deadline = None if self.timer_clock is None else self.tracker.next_deadline
        if deadline is not None and deadline <= now:
            self.tracker.advance(now)
            deadline = self.tracker.next_deadline
        wait = None if deadline is None else max(0.0, deadline - now)
        if self.performs:
            return self.tracker.take_effects(), wait
        warn_at = self._check_waiting(now)
        if warn_at is not None:
            wait = max(0.0, warn_at - now) if wait is None else min(wait, max(0.0, warn_at - now))
        return [], wait

    def _check_waiting(self, now: float) -> float | None:
        """Log each effect the bot left queued longer than ``warn_after``; when the next one would be due."""
        queued = {id(effect): effect for effect in self.tracker.queued_effects}
        self._seen = {key: seen for key, seen in self._seen.items() if key in queued and seen[0] is queued[key]}
        self._warned &= set(self._seen) | set(queued)
        next_warning = None
        for key, effect in queued.items():
            first = self._seen.setdefault(key, (effect, now))[1]
            if key in self._warned:
                continue
            if now - first >= self.warn_after:
                self._warned.add(key)
                LOGGER.warning(
                    "dialfsm: %s has waited %.1f s in the tracker's queue and nobody carried it out; "
                    "take it with tracker.take_effects() and carry it out, or let the adapter do it "
                    "(perform_effects=True)",
                    describe(effect),
                    now - first,
                )
            else:
                due = first + self.warn_after
                next_warning = due if next_warning is None else min(next_warning, due)
        return next_warning

    def _kept(self, exc: BaseException, effect: Effect) -> None:
        keep_error(self.errors, exc)
        LOGGER.warning("dialfsm: carrying out %s failed: %s: %s", describe(effect), type(exc).__name__, exc)


class LoopDriver(_Driver):
    """Fires a tracker's timers from a task on an asyncio loop, and carries out its effects in tasks.

    Args:
        tracker: The tracker, fed on ``loop`` (read and advanced there only).
        loop: The loop; by default the running loop when the first input arrives.
        clock: The clock the inputs' ``t`` come from; ``None`` fires no timers
            (the bot feeds its own times), and effects are still carried out.
        carry_out: A coroutine function carrying out one effect (the
            adapter's ``perform``); ``None`` leaves effects queued for the bot.
        errors: Where exceptions ``carry_out`` raised are kept.
        warn_after: Seconds an effect may wait for the bot before it is logged.

    """

    def __init__(
        self,
        tracker: CallTracker,
        *,
        loop: asyncio.AbstractEventLoop | None,
        clock: Callable[[], float] | None,
        carry_out: Callable[[Effect], Awaitable[object]] | None,
        errors: list[BaseException],
        warn_after: float,
    ) -> None:
        super().__init__(tracker, clock=clock, performs=carry_out is not None, errors=errors, warn_after=warn_after)
        self.loop = loop
        self.carry_out = carry_out
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._effects: dict[asyncio.Task[None], Effect] = {}
        self._cancelled: dict[asyncio.Task[None], str] = {}  # effects cancel_effects() cancelled, and why
        self._no_loop_warned = False
        tracker.add_entry_listener(self._listen)

    @property
    def running(self) -> bool:
        """Whether the timers task is running (it ends by itself when nothing is left to wait for)."""
        return self._task is not None and not self._task.done()

    @property
    def tasks(self) -> tuple[asyncio.Task[None], ...]:
        """The driver's tasks not yet done: the timers task and the effects being carried out."""
        tasks = [*self._effects, *(() if self._task is None else (self._task,))]
        return tuple(task for task in tasks if not task.done())

    def _listen(self, entry: JournalEntry) -> None:
        if self.closed:
            return
        running = _running_loop()
        if self.loop is None:
            self.loop = running
        if self.loop is None:
            if self.tracker.next_deadline is not None and not self._no_loop_warned:
                self._no_loop_warned = True
                LOGGER.warning(
                    "dialfsm: a timer was armed while no event loop runs; it fires once the adapter's loop "
                    "feeds the tracker (feed it on that loop)"
                )
            return
        if running is self.loop:
            self.poke()
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.poke)

    def poke(self) -> None:
        """Wake the timers task, or start it if an input armed a timer or queued an effect.  On the loop."""
        if self.closed or self.loop is None:
            return
        if self._task is not None and not self._task.done():
            assert self._wake is not None
            self._wake.set()
            return
        if (self.timer_clock is None or self.tracker.next_deadline is None) and not self.tracker.queued_effects:
            return
        self._wake = asyncio.Event()
        self._task = self.loop.create_task(self._run(), name="dialfsm-timers")

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        try:
            while not self.closed:
                wake.clear()
                effects, wait = self._due_effects(self.clock())
                for effect in effects:
                    self._start(effect)
                if wait is None:
                    return  # nothing armed, nothing waiting: started again by the next input that arms a timer
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), wait)
        except asyncio.CancelledError:
            self.closed = True  # cancelled from outside: the loop is shutting down; start no task again
            raise

    def _start(self, effect: Effect) -> None:
        assert self.loop is not None
        task = self.loop.create_task(self._carry(effect), name=f"dialfsm-{type(effect).__name__}")
        self._effects[task] = effect
        task.add_done_callback(self._effects.pop)

    async def _carry(self, effect: Effect) -> None:
        assert self.carry_out is not None
        try:
            await self.carry_out(effect)
        except asyncio.CancelledError:
            reason = self._cancelled.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            if reason is None:  # not cancel_effects(): the loop is shutting down; start no task again
                self.closed = True
                reason = "cancelled: the event loop shut down before it was carried out"
            self.tracker.withdraw(effect, reason=reason)
            raise
        except Exception as exc:  # noqa: BLE001  (kept and logged: a failed effect must not stop the timers)
            self._kept(exc, effect)

    def cancel_effects(self, reason: str) -> None:
        """Cancel the effects being carried out (a retry in its back-off); each is withdrawn with ``reason``.

        From another thread (daily-python's engine), the cancelling is handed to the loop.
        """
        loop = self.loop
        if loop is not None and _running_loop() is not loop:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self.cancel_effects, reason)
            return
        for task in list(self._effects):
            if not task.done() and task not in self._cancelled:
                self._cancelled[task] = reason
                task.cancel()

    def close(self) -> None:
        """Stop listening and cancel the driver's tasks (on the loop: they end at its next iteration)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ValueError):
            self.tracker.remove_entry_listener(self._listen)
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        if _running_loop() is loop:
            self._cancel_all()
        else:
            loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        self.cancel_effects("cancelled: the adapter was detached")
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def aclose(self) -> None:
        """:meth:`close`, then wait until the driver's tasks have ended (on the loop)."""
        self.close()
        pending = self.tasks
        if pending:
            await asyncio.wait(pending)


class ThreadDriver(_Driver):
    """Fires a tracker's timers from a thread of its own, under the feed's lock, and carries out its effects.

    Args:
        tracker: The tracker.
        lock: The lock every input to it is applied under (the
            :class:`~dialfsm.threads.LockedTracker`'s); advanced under it too.
        clock: The clock the inputs' ``t`` come from; ``None`` fires no timers.
        carry_out: A function carrying out one *due* effect at once (the
            adapter's); a retry is held until it is due.  ``None`` leaves effects queued.
        errors: Where exceptions ``carry_out`` raised are kept.
        warn_after: Seconds an effect may wait for the bot before it is logged.

    """

    def __init__(
        self,
        tracker: CallTracker,
        *,
        lock: Any,
        clock: Callable[[], float] | None,
        carry_out: Callable[[Effect], object] | None,
        errors: list[BaseException],
        warn_after: float,
    ) -> None:
        super().__init__(tracker, clock=clock, performs=carry_out is not None, errors=errors, warn_after=warn_after)
        self.lock = lock
        self.carry_out = carry_out
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._poked = False
        self._agenda: list[tuple[float, int, RetryDialout]] = []  # retries waiting to be due
        self._order = itertools.count()
        tracker.add_entry_listener(self._listen)

    @property
    def running(self) -> bool:
        """Whether the timers thread is running (it ends by itself when nothing is left to wait for)."""
        with self._changed:
            thread = self._thread
        return thread is not None and thread.is_alive()

    def _listen(self, entry: JournalEntry) -> None:
        # Called under the feed's lock, on whichever thread applied the input; never takes the lock.
        with self._changed:
            if self.closed:
                return
            self._poked = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="dialfsm-timers", daemon=True)
                self._thread.start()
            else:
                self._changed.notify_all()

    def _main(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                effects, wait = self._due_effects(now)
            for effect in effects:
                self._dispatch(effect, now)
            wait = self._run_due_retries(wait)
            with self._changed:
                if self.closed:
                    return
                if self._poked:
                    self._poked = False
                    continue
                if wait is None:
                    self._thread = None
                    return
                self._changed.wait(wait)
                self._poked = False

    def _dispatch(self, effect: Effect, now: float) -> None:
        if isinstance(effect, RetryDialout):
            due = now + effect.seconds_until_due(now)
            with self._changed:
                heapq.heappush(self._agenda, (due, next(self._order), effect))
        else:
            self._carry(effect)

    def _run_due_retries(self, wait: float | None) -> float | None:
        while True:
            now = self.clock()
            with self._changed:
                if not self._agenda or self.closed:
                    return wait
                due, _, effect = self._agenda[0]
                if due > now:
                    return due - now if wait is None else min(wait, due - now)
                heapq.heappop(self._agenda)
            self._carry(effect)

    def _carry(self, effect: Effect) -> None:
        assert self.carry_out is not None
        try:
            self.carry_out(effect)
        except Exception as exc:  # noqa: BLE001  (kept and logged: a failed effect must not stop the timers)
            self._kept(exc, effect)

    def cancel_effects(self, reason: str) -> None:
        """Drop the retries waiting to be due, journaling ``reason``."""
        with self._changed:
            agenda, self._agenda = self._agenda, []
        for _, _, effect in agenda:
            with self.lock:
                self.tracker.withdraw(effect, reason=reason)

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening, drop waiting retries, and end the thread (joined unless called from it)."""
        with self._changed:
            if self.closed:
                return
            self.closed = True
            thread = self._thread
            self._changed.notify_all()
        with contextlib.suppress(ValueError):
            self.tracker.remove_entry_listener(self._listen)
        self.cancel_effects("cancelled: the adapter was detached")
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
