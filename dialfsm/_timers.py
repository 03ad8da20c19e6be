"""The tracker's deadlines: a heap of the timers its sessions armed.

Which timer a state arms, and for how long, is the table's business
(:data:`~dialfsm._table.DIALOUT_TIMERS`, read from :class:`~dialfsm.Timeouts`);
this module only keeps deadlines in order (aioquic's ``recovery.py`` keeps its
loss timers the same way, apart from the connection).

A session keeps its own armed timer (``_timer``, ``_deadline``, and
``_timer_seq``, the arming order that breaks ties between equal deadlines).
The heap holds ``(deadline, arming order, session index)``: atoms, which the
cyclic GC stops tracking, never the session itself.  Disarming touches only the
session; the heap entry goes stale and is skipped when it reaches the top (a
session disarmed, re-armed, ended or forgotten since).  So arming is
``O(log n)``, disarming ``O(1)``, and the heap holds at most one stale entry per
arming.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping

from dialfsm._session import Session
from dialfsm._table import Input

__all__ = ["TimerHeap", "disarm"]


def disarm(session: Session) -> None:
    """Disarm ``session``'s timer, if any (its heap entry goes stale)."""
    session._deadline = session._timer = None


def _current(entry: tuple[float, int, int], sessions: Mapping[int, Session]) -> Session | None:
    """The session an entry still stands for, or ``None`` for a stale entry."""
    deadline, _, index = entry
    session = sessions.get(index)
    if session is None or session._timer is None or session._deadline != deadline or session._outcome is not None:
        return None
    return session


class TimerHeap:
    """The armed deadlines of one tracker's sessions, soonest first (see the module docstring)."""

    __slots__ = ("_heap", "seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int]] = []
        #: How many timers were ever armed (the next arming order).
        self.seq = 0

    @classmethod
    def from_entries(cls, entries: list[tuple[float, int, int]], seq: int) -> TimerHeap:
        """A heap holding ``entries`` (``(deadline, arming order, index)``) after ``seq`` armings (old pickles)."""
        heap = cls()
        heap._heap = list(entries)
        heapq.heapify(heap._heap)
        heap.seq = seq
        return heap

    def __len__(self) -> int:
        """Heap entries, stale ones included."""
        return len(self._heap)

    def entries(self) -> tuple[tuple[float, int, int], ...]:
        """Every heap entry ``(deadline, arming order, session index)``, stale ones included (for checks)."""
        return tuple(self._heap)

    def arm(self, session: Session, timer: Input, deadline: float) -> None:
        """Arm ``timer`` on ``session`` to fire at ``deadline`` (replacing any timer it had)."""
        self.seq += 1
        session._deadline, session._timer, session._timer_seq = deadline, timer, self.seq
        heapq.heappush(self._heap, (deadline, self.seq, session.index))

    def rearm(self, session: Session) -> None:
        """Put back the timer ``session`` carries (a restored snapshot): its arming order is kept."""
        if session._deadline is not None:
            heapq.heappush(self._heap, (session._deadline, session._timer_seq, session.index))

    def due(self, now: float) -> bool:
        """Whether the soonest entry (possibly stale) is due by ``now``: the cheap check before :meth:`pop_due`."""
        return bool(self._heap) and self._heap[0][0] <= now

    def pop_due(self, now: float, sessions: Mapping[int, Session]) -> Iterator[tuple[Session, Input, float]]:
        """Yield ``(session, timer, deadline)`` for each timer due by ``now``, soonest first, disarming it.

        Lazily: the caller fires each before the next is looked at, so a timer the
        firing arms and that is already due is yielded too, in its turn.
        """
        heap = self._heap
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            session = _current(entry, sessions)
            if session is not None:
                timer = session._timer
                assert timer is not None
                disarm(session)
                yield session, timer, entry[0]

    def next_deadline(self, sessions: Mapping[int, Session]) -> float | None:
        """When the next armed timer fires, or ``None``; drops stale entries from the top."""
        heap = self._heap
        while heap:
            if _current(heap[0], sessions) is not None:
                return heap[0][0]
            heapq.heappop(heap)
        return None
