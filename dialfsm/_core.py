"""The tracker's state: every field of a :class:`~dialfsm.CallTracker`, and the primitives that change them.

:class:`TrackerCore` holds what one tracker knows: its configuration, its
sessions and the indexes over them, the calls waiting for completions, the
timers, the queued effects, the journal and the listeners.  The public
:class:`~dialfsm.CallTracker` is this class plus its API (a facade, like h11's
``Connection`` over its ``ConnectionState``).

**Who may touch the fields.**  Only these modules read or write a core's
private fields (``_sessions``, ``_live``...) and call its private methods; they
are its friends, and everything else goes through the public API:

* :mod:`dialfsm._step` (hot): applies an input to a session, journals it,
  fires timers, retires finished sessions;
* :mod:`dialfsm._routing` (hot): picks the session an event belongs to;
* :mod:`dialfsm._guards`: the guards of the bot's calls;
* :mod:`dialfsm._guesses`: corrects a binding routing guessed;
* :mod:`dialfsm._snapshot`: saves and restores the fields;
* :mod:`dialfsm._timers`: keeps the sessions' deadlines (their timer fields only);
* :mod:`dialfsm._invariants`: checks that the fields agree (reads only);
* :mod:`dialfsm._records`: names calls and attempts in the records input listeners see (reads only);
* :mod:`dialfsm._tracker`: the facade.

Sessions' own private fields are written by the same modules.  A core is plain,
single-threaded Python: one thread feeds it (see :mod:`dialfsm.threads`).
"""

from __future__ import annotations

import random
import sys
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from transitions import Machine

from dialfsm._calls import PendingCalls
from dialfsm._errors import keep_recent
from dialfsm._inputs import Ref
from dialfsm._journal import JournalItems
from dialfsm._machine import TABLES, build_machine
from dialfsm._policy import Effect, RetryPolicy, Timeouts
from dialfsm._session import JournalEntry, Session
from dialfsm._table import SessionKind, State
from dialfsm._text import short_repr
from dialfsm._timers import TimerHeap

__all__ = ["ADOPTION", "ENGINE_NAMES", "MAX_ENDPOINTS", "MAX_LISTENER_ERRORS", "EngineModel", "TrackerCore"]

#: The values of ``CallTracker(engine=...)``.
ENGINE_NAMES: Final = ("compiled", "transitions")
#: The values of ``CallTracker(adopt_unknown_dialouts=...)`` (see :mod:`dialfsm._routing`).
ADOPTION: Final = ("never", "webhook", "always")
#: How many ``dialin-ready`` endpoints a tracker remembers (the oldest go first); a room has a handful.
MAX_ENDPOINTS: Final = 1024
#: How many exceptions raised by listeners a tracker keeps (the latest; ``listener_error_count`` counts all).
MAX_LISTENER_ERRORS: Final = 10


class EngineModel:
    """A bare model for the ``transitions`` engine (one per live session, on its tracker's ``Machine``)."""

    state: State


def _limit(name: str, value: object) -> int | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= sys.maxsize // 2
    ):
        raise ValueError(f"{name} must be None or an int from 0 to sys.maxsize // 2, got {short_repr(value)}")
    return value


def _check_options(max_dialouts: object, engine: object, adopt_unknown_dialouts: object) -> None:
    if isinstance(max_dialouts, bool) or not isinstance(max_dialouts, int) or max_dialouts < 1:
        raise ValueError(f"max_dialouts must be a positive int, got {short_repr(max_dialouts)}")
    if engine not in ENGINE_NAMES:
        raise ValueError(f"engine must be 'compiled' or 'transitions', got {short_repr(engine)}")
    if adopt_unknown_dialouts not in ADOPTION:
        got = short_repr(adopt_unknown_dialouts)
        raise ValueError(f"adopt_unknown_dialouts must be one of {ADOPTION}, got {got}")


class TrackerCore:
    """The fields of one tracker, and the primitives its friend modules change them with.

    Build a :class:`~dialfsm.CallTracker`, not this; its arguments are documented there.
    """

    def __init__(
        self,
        *,
        max_dialouts: int = 1,
        allow_dialout: bool = True,
        engine: Literal["compiled", "transitions"] = "compiled",
        journal_limit: int | None = None,
        keep_history: bool = True,
        finished_limit: int | None = None,
        timeouts: Timeouts | None = Timeouts(),  # noqa: B008  (frozen, shared safely)
        retry: RetryPolicy | None = None,
        adopt_unknown_dialouts: Literal["never", "webhook", "always"] = "webhook",
    ) -> None:
        journal_limit, finished_limit = _limit("journal_limit", journal_limit), _limit("finished_limit", finished_limit)
        _check_options(max_dialouts, engine, adopt_unknown_dialouts)
        if not isinstance(allow_dialout, bool) or not isinstance(keep_history, bool):
            raise ValueError("allow_dialout and keep_history must be bools")
        if not isinstance(timeouts, Timeouts | None) or not isinstance(retry, RetryPolicy | None):
            raise ValueError("timeouts must be a Timeouts or None, and retry a RetryPolicy or None")
        self.adopt_unknown_dialouts = adopt_unknown_dialouts
        self._init_config(max_dialouts, allow_dialout, engine, keep_history, finished_limit, timeouts, retry)
        self._init_sessions()
        self._init_journal(journal_limit)
        self._init_io()

    def _init_config(
        self,
        max_dialouts: int,
        allow_dialout: bool,
        engine: str,
        keep_history: bool,
        finished_limit: int | None,
        timeouts: Timeouts | None,
        retry: RetryPolicy | None,
    ) -> None:
        self.max_dialouts = max_dialouts
        self.allow_dialout = allow_dialout
        self.engine = engine
        self.keep_history = keep_history
        self.finished_limit = finished_limit
        self.timeouts = timeouts
        self.retry_policy = retry
        # Without a policy the generator is never drawn from: seeded with 0, so a snapshot is the same every run.
        self._rng = random.Random(0 if retry is None else retry.seed)
        self._now: float | None = None

    def _init_io(self) -> None:
        self._timers = TimerHeap()
        self._pending = PendingCalls()
        self._effects: list[Effect] = []
        self._input_listeners: list[Callable[[dict[str, Any]], object]] = []
        self._entry_listeners: list[Callable[[JournalEntry], object]] = []
        #: The latest exceptions raised by listeners (at most :data:`MAX_LISTENER_ERRORS`, without
        #: their tracebacks); they never propagate into the event path.
        self.listener_errors: list[BaseException] = []
        #: How many exceptions listeners raised in all.
        self.listener_error_count = 0
        self._machines = self._own_machines()

    def _init_sessions(self) -> None:
        self._sessions: dict[int, Session] = {}  # index -> session, in creation order
        self._created = 0
        self._finished: deque[Session] = deque()  # with a finished_limit: the ones kept, oldest first
        self._by_id: dict[str, Session] = {}
        self._live: dict[int, Session] = {}  # index -> session, insertion-ordered
        self._live_dialouts = 0
        self._waiting_for_id: dict[int, Session] = {}  # dial-outs with no id yet, oldest first
        self._forgotten: dict[str, None] = {}  # ids of forgotten sessions (finished_limit), newest last, bounded
        self._start_refs: dict[Ref, Session] = {}  # start_dialout refs (strings, CallKeys) -> their sessions
        self._endpoints: dict[str, None] = {}  # dialin-ready endpoints, in order
        self._awaiting_legs: dict[int, Session] = {}  # sessions whose SIP call transfer's new leg has not come
        self._early_joins: dict[str, None] = {}  # participants joined before their dialin-connected (bounded)

    def _init_journal(self, limit: int | None) -> None:
        self._journal_limit = limit
        # Two items per input: see dialfsm._journal ("the container").
        self._journal: JournalItems = [] if limit is None else deque(maxlen=2 * limit)
        self._seq = 0  # inputs read: the next entry's seq
        self._last: JournalEntry | None = None
        self._line: int | None = None  # the replay log line being fed, if any
        self._input_name: object = None  # the name and payload handle() is reading (routing may ask their dialect)
        self._input_data: object = None

    def _own_machines(self) -> Mapping[SessionKind, Machine] | None:
        """With ``engine="transitions"``, this tracker's own Machines (its models go when it goes)."""
        if self.engine != "transitions":
            return None
        return {kind: build_machine(table) for kind, table in TABLES.items()}

    # --- primitives the friend modules share ------------------------------------------------

    def _attach_model(self, session: Session) -> None:
        """Give a live session its model on this tracker's ``Machine`` (``engine="transitions"``)."""
        assert self._machines is not None
        model = EngineModel()
        self._machines[session.kind].add_model(model, initial=session._state)
        session._model = model

    def _notify_input(self, record: dict[str, Any], t: float | None) -> None:
        if t is not None:
            record["t"] = t
        for listener in tuple(self._input_listeners):
            try:
                listener(record)
            except Exception as exc:  # noqa: BLE001  (a listener must not break the event path)
                self._listener_failed(exc)

    def _notify_entry(self, entry: JournalEntry) -> None:
        listeners = self._entry_listeners
        if len(listeners) == 1:  # the common case (a replay's, a recorder's): no copy of the list
            try:
                listeners[0](entry)
            except Exception as exc:  # noqa: BLE001  (a listener must not break the event path)
                self._listener_failed(exc)
            return
        for listener in tuple(listeners):
            try:
                listener(entry)
            except Exception as exc:  # noqa: BLE001  (a listener must not break the event path)
                self._listener_failed(exc)

    def _listener_failed(self, exc: Exception) -> None:
        """Count a listener's exception and keep the latest few, without tracebacks: memory stays flat."""
        self.listener_error_count += 1
        keep_recent(self.listener_errors, exc, MAX_LISTENER_ERRORS)
        if self.listener_error_count == 1:
            self._journal_listener_failure(exc)

    def _journal_listener_failure(self, exc: Exception) -> None:
        """Say in the journal that a listener failed (once: the facade does it)."""
