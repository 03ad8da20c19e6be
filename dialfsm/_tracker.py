"""The call tracker: routes every input to a session, guards the bot's calls, journals all.

The tracker owns the sessions of one Daily room (one ``CallClient`` / one
pipecat ``DailyTransport``).  It reads three kinds of input:

* Daily's events, through :meth:`CallTracker.handle` (name and payload in any
  dialect) or :meth:`CallTracker.receive` (a typed event).  These never raise:
  anything odd becomes an anomaly in the journal.
* The bot's calls: :meth:`~CallTracker.start_dialout`, :meth:`~CallTracker.stop_dialout`,
  :meth:`~CallTracker.send_dtmf`, :meth:`~CallTracker.sip_call_transfer`,
  :meth:`~CallTracker.sip_refer`.  Each runs its guards first and raises
  :class:`~dialfsm.exceptions.CallRefused` (changing nothing) or registers the
  call and returns its session.
* Their completions (daily-python's ``(session_id, error)``), through
  :meth:`~CallTracker.complete` or the per-call helpers.  These never raise.

Routing rules (see the README's "Rules" section):

* Daily's events name a session by ``sessionId``.  A dial-out has no id until
  its start completion returns one or an event carries one: a ``dialout-*``
  event with an unknown id binds to the oldest dial-out still waiting for an
  id, and so does a ``dialout-error`` or ``dialout-warning`` with no id.
* ``dialin-connected`` with an unknown id creates a dial-in session.
* ``participant-joined`` / ``participant-left`` route by the participant's
  session id; for a participant that is no tracked session they are only
  journaled.
* ``dtmf-event`` without ``sessionId`` goes to the only live session, if there
  is exactly one.
* A completion pairs with its call by ``ref``, else (for a call on a named
  session) with that session's oldest call of its kind waiting for one, else
  with the oldest such call in the tracker.
"""

from __future__ import annotations

import heapq
import math
import operator
import random
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Literal, NamedTuple

import attrs

from dialfsm._errors import ErrorCode, classify_error
from dialfsm._inputs import (
    CallCompleted,
    DailyEvent,
    DialinConnected,
    DialinError,
    DialinReady,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
    SendDtmf,
    SipCallTransfer,
    SipRefer,
    StartDialout,
    StopDialout,
    TimerExpired,
)
from dialfsm._machine import ENGINES, STEP_CODE, STEP_KINDS, Engine, FastCell
from dialfsm._parse import (
    PARSER_BY_NAME,
    ParseProblem,
    _slot_setters,
    event_name,
    from_daily,
    short_repr,
    to_daily,
)
from dialfsm._policy import Effect, RetryDialout, RetryPolicy, StopCall, Timeouts
from dialfsm._settings import (
    DialoutSettings,
    DtmfSettings,
    SipCallTransferSettings,
    SipReferSettings,
    parse_dialout_settings,
    parse_dtmf_settings,
    parse_sip_call_transfer_settings,
    parse_sip_refer_settings,
)
from dialfsm._table import (
    BY_HISTORY,
    AnomalyCode,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    InputKind,
    Outcome,
    SessionKind,
    State,
    stopped_outcome,
)
from dialfsm.exceptions import CallRefused, InvalidSettings, RefusalCode

__all__ = ["CallTracker", "JournalEntry", "Session"]

# Enum members as module constants: attribute access on an Enum class is slow in 3.11's hot paths.
_TRANSITION: Final = Disposition.TRANSITION
_RECORDED: Final = Disposition.RECORDED
_ANOMALY: Final = Disposition.ANOMALY
_REFUSED: Final = Disposition.REFUSED
_JOURNALED: Final = Disposition.JOURNALED
_DIALOUT: Final = SessionKind.DIALOUT
_DIALIN: Final = SessionKind.DIALIN
_ANSWERED: Final = DialoutState.ANSWERED
_JOINED: Final = DialinState.JOINED
#: Each input's value, looked up without Enum's slow ``.value`` descriptor.
_VALUE: Final[Mapping[Input, str]] = {i: i.value for i in Input}
_CALL_INPUTS: Final = frozenset(i for i in Input if i.kind is InputKind.CALL)
_COMPLETION_INPUT: Final[Mapping[tuple[Input, bool], Input]] = {
    (call, ok): Input(f"{call.value}.{'ok' if ok else 'error'}") for call in _CALL_INPUTS for ok in (True, False)
}
_TRANSFER_ERRORS: Final = frozenset({Input.TRANSFER_ERROR, Input.REFER_ERROR})
_ERROR_EVENTS: Final = (DialoutError, DialinError)
#: The inputs that need bookkeeping beyond the state (see ``CallTracker._side_effects``).
_EFFECT_INPUTS: Final = frozenset(
    {
        Input.STOP_DIALOUT,
        Input.SIP_CALL_TRANSFER,
        Input.SIP_REFER,
        Input.DIALOUT_WARNING,
        Input.DIALIN_WARNING,
        Input.DTMF_EVENT,
        Input.DIALOUT_ERROR,
        Input.DIALIN_ERROR,
    }
    | {i for i in Input if i.value.endswith(".error")}
    | {Input.START_TIMEOUT, Input.RING_TIMEOUT, Input.STOP_TIMEOUT}
)
_START_TIMEOUT: Final = Input.START_TIMEOUT
_RING_TIMEOUT: Final = Input.RING_TIMEOUT
_STOP_TIMEOUT: Final = Input.STOP_TIMEOUT
_CONNECTING: Final = DialoutState.CONNECTING
_CONNECTED: Final = DialoutState.CONNECTED
_STOPPING: Final = DialoutState.STOPPING
_DISARMING_KINDS: Final = frozenset({InputKind.EVENT, InputKind.COMPLETION})


_INPUT_BY_VALUE: Final[Mapping[str, Input]] = {i.value: i for i in Input}
#: A queue of calls waiting for completions is compacted from this length on (see ``_trim_pending``).
_PENDING_COMPACT_MIN: Final = 64


class JournalEntry(NamedTuple):
    """One input the tracker read, and what it did.  Immutable.

    The journal holds one entry per input.  An input that reached one session
    (almost all do) is also that session's history step: ``session``,
    ``source`` and ``dest`` say which and how.  An input that reached several
    sessions (``left-meeting``) has one step per session in :attr:`steps`.

    The journal and the histories keep entries compactly and build them again
    when read: an entry read back equals the one the tracker returned, and its
    Daily event equals (is not necessarily the same object as) the one it read.

    Attributes:
        seq: Position in the tracker's journal (0-based, counting every input ever read).
        name: Daily's event name, the call (``start_dialout``...), or ``<call>.ok|error``.
        input: The typed input, or for input that could not be parsed, the raw ``(name, data)``.
        disposition: What it did (for several sessions: ``TRANSITION`` if it moved any).
        code: The anomaly or refusal code, if any.
        message: An anomaly's or refusal's explanation, or the step's detail
            (a warning's text, the DTMF tone, Daily's error text).
        t: The time given with the input (seconds), if any.
        line: The replay log line it came from, if any.
        session: The session it reached, when exactly one.
        source: That session's state before.
        dest: That session's state after (``source`` unless ``disposition`` is ``TRANSITION``).
        parts: For an input that reached several sessions, one entry per session; else ``None``.

    """

    seq: int
    name: str
    input: object
    disposition: Disposition
    code: str | None = None
    message: str | None = None
    t: float | None = None
    line: int | None = None
    session: Session | None = None
    source: State | None = None
    dest: State | None = None
    parts: tuple[JournalEntry, ...] | None = None

    @property
    def steps(self) -> tuple[JournalEntry, ...]:
        """One step per session the input reached (each has ``session``, ``source``, ``dest``)."""
        if self.parts is not None:
            return self.parts
        return () if self.session is None else (self,)

    @property
    def table_input(self) -> Input | None:
        """The :class:`~dialfsm.Input` of the transition table this entry read, if any."""
        return _INPUT_BY_VALUE.get(self.name)

    def __repr__(self) -> str:
        where = "" if self.session is None else f" {self.source} -> {self.dest}"
        code = "" if self.code is None else f" {self.code}"
        return f"<JournalEntry #{self.seq} {self.name} {self.disposition.value}{code}{where}>"


#: Builds a JournalEntry from a 12-tuple without NamedTuple's Python-level ``__new__``.
_new_entry: Final = tuple.__new__


# --- how the journal and histories keep entries ---------------------------------------
#
# A tracker that keeps every entry (the default) grows by one entry per input, and
# CPython's cyclic garbage collector charges for growth in GC-tracked objects: each
# full collection walks every tracked object, and one is due whenever the objects
# that survived into the oldest generation grow by a quarter.  Kept as JournalEntry
# tuples (which reference the session) plus their typed events, every input left two
# tracked objects behind and paid ~2.5 us for the collections they caused, more than
# the rest of handle() together.
#
# So the journal and the histories keep each entry as a *row*: a plain tuple of
# atoms (ints, strings, floats, None), with the disposition and the states as one
# step number (_machine.STEP_KINDS) and a Daily event as its field values.  CPython stops tracking a
# plain tuple of atoms at the first young collection it survives, so rows never
# reach the oldest generation and cost the collector nothing.  The journal pairs
# each row with its session (an object that exists anyway); history rows need none.
# JournalEntry objects are built again from rows when they are read (equal to the
# ones handle() returned; an event comes back equal, not identical).  Inputs
# without a codec (the bot's calls, which carry settings objects) keep the object
# itself in the row, and inputs that reached no session or several keep their
# JournalEntry: both are rare and cost what they did before.
#
# row: (seq, name, step, code, message, t, line, codec, values)
#   step: the number of (disposition, source state, dest state) in _machine.STEP_KINDS
#   codec >= 0: values are the input's fields, rebuilt by _DECODERS[codec]
#   codec == -1: values is the input object itself

_Row = tuple[Any, ...]


def _fields_getter(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning an all-atom event's field values as a plain tuple (C-speed where it can)."""
    names = tuple(f.name for f in attrs.fields(cls))
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if len(names) == 1:
        (name,) = names
        return lambda event: (getattr(event, name),)
    return lambda event: ()


def _fields_maker(cls: type[Any]) -> Callable[[tuple[Any, ...]], object]:
    """The inverse of :func:`_fields_getter`: the event again, built through its slots (see ``_slot_setters``)."""
    setters = _slot_setters(cls)
    new = object.__new__
    if len(setters) == 2:  # most events: unrolled, as a loop costs more than the rest of reading an entry
        first, second = setters

        def make_two(values: tuple[Any, ...]) -> object:
            event = new(cls)
            first(event, values[0])
            second(event, values[1])
            return event

        return make_two

    def make(values: tuple[Any, ...]) -> object:
        event = new(cls)
        for set_field, value in zip(setters, values, strict=True):
            set_field(event, value)
        return event

    return make


_ATOM_CLASSES: Final = (
    DialoutConnected,
    DialoutAnswered,
    DialoutStopped,
    DialoutError,
    DialoutWarning,
    DialinReady,
    DialinConnected,
    DialinStopped,
    DialinError,
    DialinWarning,
    DtmfReceived,
    ParticipantJoined,
    ParticipantLeft,
    LeftMeeting,
    StopDialout,
)
_ENCODERS: Final[dict[type, tuple[int, Callable[[Any], tuple[Any, ...]]]]] = {
    cls: (code, _fields_getter(cls)) for code, cls in enumerate(_ATOM_CLASSES)
}
_DECODERS: Final[list[Callable[[tuple[Any, ...]], object]]] = [_fields_maker(cls) for cls in _ATOM_CLASSES]
# Completions and timers name their Input: kept as its value.
_ENCODERS[CallCompleted] = (len(_DECODERS), lambda c: (_VALUE[c.call], c.session_id, c.error, c.ref))
_DECODERS.append(lambda v: CallCompleted(call=_INPUT_BY_VALUE[v[0]], session_id=v[1], error=v[2], ref=v[3]))
_ENCODERS[TimerExpired] = (len(_DECODERS), lambda e: (e.timer.value, e.session_id, e.deadline))
_DECODERS.append(lambda v: TimerExpired(timer=_INPUT_BY_VALUE[v[0]], session_id=v[1], deadline=v[2]))

_DISPOSITION_OF: Final[Mapping[str, Disposition]] = {d.value: d for d in Disposition}
_CODE_ATOM: Final[Mapping[object, str]] = {c: c._value_ for c in AnomalyCode}
_CODE_OF: Final[Mapping[str, AnomalyCode]] = {c.value: c for c in AnomalyCode}
_STATE_OF: Final[Mapping[SessionKind, Mapping[str, State]]] = {
    SessionKind.DIALOUT: {s.value: s for s in DialoutState},
    SessionKind.DIALIN: {s.value: s for s in DialinState},
}


def _entry_of(row: _Row, session: Session) -> JournalEntry:
    """The JournalEntry a row keeps (``session`` is the one it reached)."""
    seq, name, step, code, message, t, line, codec, values = row
    disposition, source, dest = STEP_KINDS[step]
    states = _STATE_OF[session.kind]
    return _new_entry(
        JournalEntry,
        (
            seq,
            name,
            values if codec < 0 else _DECODERS[codec](values),
            _DISPOSITION_OF[disposition],
            code if code is None else _CODE_OF.get(code, code),
            message,
            t,
            line,
            session,
            states[source],
            states[dest],
            None,
        ),
    )


@attrs.define(eq=False)
class _Pending:
    call: Input
    session: Session
    ref: str | None
    done: bool = False


class Session:
    """One call: a dial-out the bot placed or a dial-in that reached the room.

    Sessions are created and changed only by their :class:`CallTracker`; read
    them freely.  ``state`` and ``outcome`` answer "where does this call stand";
    ``history`` says how it got there.
    """

    __slots__ = (
        "_answered",
        "_deadline",
        "_dispatch",
        "_dtmf",
        "_error",
        "_error_code",
        "_history",
        "_live_transfers",
        "_model",
        "_outcome",
        "_owner",
        "_session_id",
        "_settings",
        "_start_ref",
        "_state",
        "_states",
        "_stop_requested",
        "_timer",
        "_timer_seq",
        "_warnings",
        "attempt",
        "index",
        "kind",
        "previous",
        "retry",
    )

    #: ``dialout`` or ``dialin``.
    kind: SessionKind
    #: Creation order within the tracker (0-based).
    index: int
    #: 1 for a first dial-out, n for the n-th attempt of a retried one.
    attempt: int
    #: The failed attempt this dial-out retries, if it is a retry.
    previous: Session | None
    #: The attempt that retried this one, once there is one.
    retry: Session | None

    def __init__(
        self,
        kind: SessionKind,
        index: int,
        dispatch: Mapping[State, Mapping[Input, FastCell]],
        settings: DialoutSettings | None = None,
    ) -> None:
        self.kind = kind
        self.index = index
        self._dispatch = dispatch
        self._settings = settings
        self._session_id: str | None = None
        initial: State = DialoutState.IDLE if kind is _DIALOUT else DialinState.IDLE
        self._state: State = initial
        self._states: list[State] = [initial]
        self._outcome: Outcome | None = None
        self._error: str | None = None
        self._error_code: ErrorCode | None = None
        self._history: list[_Row] = []  # rows: see "how the journal and histories keep entries"
        self._warnings: list[str] | None = None  # created on the first warning
        self._dtmf: list[str] | None = None  # created on the first tone
        self._answered = False
        self._stop_requested = False
        self._live_transfers = 0
        self._model: Any = None
        self._deadline: float | None = None
        self._timer: Input | None = None
        self._timer_seq = 0  # the arming order, to break ties between equal deadlines
        self._owner: object = None  # the tracker that created it
        self._start_ref: str | None = None
        self.attempt = 1
        self.previous = None
        self.retry = None

    @property
    def session_id(self) -> str | None:
        """Daily's session id (the SIP/PSTN participant's), once known."""
        return self._session_id

    @property
    def state(self) -> State:
        """The current :class:`~dialfsm.DialoutState` or :class:`~dialfsm.DialinState`."""
        return self._state

    @property
    def outcome(self) -> Outcome | None:
        """How the call ended; ``None`` while it is live."""
        return self._outcome

    @property
    def error(self) -> str | None:
        """Daily's error text, verbatim (from an ``*-error`` event or a completion)."""
        return self._error

    @property
    def error_code(self) -> ErrorCode | None:
        """The code classified from :attr:`error` (see ``ERROR_PATTERNS``)."""
        return self._error_code

    @property
    def deadline(self) -> float | None:
        """When this session's armed timer fires (seconds on the inputs' clock), if one is armed."""
        return self._deadline

    @property
    def is_terminal(self) -> bool:
        """Whether the session is ``stopped`` or ``error``."""
        return self._outcome is not None

    @property
    def settings(self) -> dict[str, Any] | None:
        """For a dial-out, the validated settings as Daily's camelCase dict, to pass to ``start_dialout``."""
        return None if self._settings is None else self._settings.to_daily()

    @property
    def dialout_settings(self) -> DialoutSettings | None:
        """For a dial-out, the validated settings as a typed object."""
        return self._settings

    @property
    def states(self) -> tuple[State, ...]:
        """Every state visited, in order, starting with ``idle``."""
        return tuple(self._states)

    @property
    def history(self) -> tuple[JournalEntry, ...]:
        """Every input that reached this session and what it did, in order (empty with ``keep_history=False``)."""
        return tuple([_entry_of(row, self) for row in self._history[:]])

    @property
    def warnings(self) -> tuple[str, ...]:
        """The text of every warning Daily reported for this session."""
        return () if self._warnings is None else tuple(self._warnings)

    @property
    def dtmf(self) -> tuple[str, ...]:
        """Every DTMF tone received from the far end, in order."""
        return () if self._dtmf is None else tuple(self._dtmf)

    def _add_warning(self, text: str) -> None:
        if self._warnings is None:
            self._warnings = []
        self._warnings.append(text)

    def _add_dtmf(self, tone: str) -> None:
        if self._dtmf is None:
            self._dtmf = []
        self._dtmf.append(tone)

    def __repr__(self) -> str:
        return (
            f"<Session {self.kind.value} #{self.index} id={self._session_id!r} "
            f"state={self._state.value} outcome={self._outcome and self._outcome.value}>"
        )


class CallTracker:
    """Tracks every dial-out and dial-in of one Daily room.

    Args:
        max_dialouts: How many dial-outs may be live (not terminal) at once;
            one more is refused with ``DIALOUT_IN_PROGRESS``.
        allow_dialout: ``False`` refuses every ``start_dialout`` / ``stop_dialout``
            with ``NOT_ALLOWED`` (a room without ``enable_dialout``).
        engine: ``"compiled"`` (default) runs the dispatch compiled from the
            ``transitions`` machines; ``"transitions"`` fires every row through
            the ``transitions.Machine`` itself (slower; same results).
        journal_limit: Keep only the latest N journal entries (``None``: all).
            Sessions keep their own history either way; an entry listener can
            offload the full journal (a recorder, a log).
        keep_history: ``False`` keeps no per-session history, warnings or DTMF
            tones (``states`` still records every state visited, and the journal
            and entry listeners see everything): memory per session stays
            constant however many inputs it reads, as replaying huge logs needs.
        finished_limit: Forget the oldest finished sessions beyond N (``None``:
            keep all).  Events for a forgotten session are ``UNKNOWN_SESSION``.
        timeouts: The dial-out timers (start watchdog, ring, stop); ``None``
            disables them.  They run on the inputs' ``t`` and :meth:`advance`.
        retry: A :class:`RetryPolicy` to suggest retries of failed dial-outs
            (:class:`RetryDialout` effects); ``None`` (default) suggests none.

    Example:
        >>> from dialfsm import CallTracker
        >>> tracker = CallTracker()
        >>> session = tracker.start_dialout({"phoneNumber": "+15551234567"})
        >>> _ = tracker.start_completed(session, session_id="5c7f", error=None)
        >>> _ = tracker.handle("dialout-answered", {"sessionId": "5c7f"})
        >>> session.state.value
        'answered'

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
    ) -> None:
        for name, limit in (("journal_limit", journal_limit), ("finished_limit", finished_limit)):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= sys.maxsize // 2
            ):
                raise ValueError(f"{name} must be None or an int from 0 to sys.maxsize // 2, got {short_repr(limit)}")
        if isinstance(max_dialouts, bool) or not isinstance(max_dialouts, int) or max_dialouts < 1:
            raise ValueError(f"max_dialouts must be a positive int, got {max_dialouts!r}")
        if engine not in ("compiled", "transitions"):
            raise ValueError(f"engine must be 'compiled' or 'transitions', got {engine!r}")
        self.max_dialouts = max_dialouts
        self.allow_dialout = allow_dialout
        self.engine = engine
        self.keep_history = keep_history
        self.finished_limit = finished_limit
        self._engines: Mapping[SessionKind, Engine] = ENGINES
        self._sessions: dict[int, Session] = {}  # index -> session, in creation order
        self._created = 0
        self._finished: deque[Session] = deque()
        self._by_id: dict[str, Session] = {}
        self._live: dict[int, Session] = {}  # index -> session, insertion-ordered
        self._live_dialouts = 0
        self._waiting_for_id: dict[int, Session] = {}  # dial-outs with no id yet, oldest first
        #: Session ids of forgotten sessions (``finished_limit``), newest last, bounded.
        self._forgotten: dict[str, None] = {}
        self._pending: dict[Input, deque[_Pending]] = {call: deque() for call in _CALL_INPUTS}
        self._pending_compact_at: dict[Input, int] = dict.fromkeys(_CALL_INPUTS, _PENDING_COMPACT_MIN)
        self._refs: dict[str, _Pending] = {}
        self._journal_limit = journal_limit
        # Two items per input: (session, row) for an input that reached one session,
        # (None, JournalEntry) for any other.  See "how the journal and histories keep entries".
        # Both go in with one extend() and are read from one copy (_journal_copy): C calls
        # the GIL does not switch threads inside, so a reader on another thread never sees
        # half an input (or, with a limit, pairs shifted by an eviction).  Only a finalizer
        # run by a collection during the copy can let a writer in: a deque then raises and
        # the copy is taken again; a list only grows, and its slice reads it afterwards.
        self._journal: deque[object] | list[object] = [] if journal_limit is None else deque(maxlen=2 * journal_limit)
        self._seq = 0
        self._last: JournalEntry | None = None
        self._endpoints: dict[str, None] = {}
        self._line: int | None = None  # set by replay for the entries it feeds
        self.timeouts = timeouts
        self.retry_policy = retry
        self._rng = random.Random(None if retry is None else retry.seed)
        self._now: float | None = None
        # heap of (deadline, tiebreak, session index): atoms, which the cyclic GC stops tracking
        self._timers: list[tuple[float, int, int]] = []
        self._timer_seq = 0
        self._effects: list[Effect] = []
        self._start_refs: dict[str, Session] = {}
        self._input_listeners: list[Callable[[dict[str, Any]], object]] = []
        self._entry_listeners: list[Callable[[JournalEntry], object]] = []
        #: Exceptions raised by listeners (they never propagate into the event path).
        self.listener_errors: list[BaseException] = []

    # --- listeners ----------------------------------------------------------------------

    def add_input_listener(self, listener: Callable[[dict[str, Any]], object]) -> None:
        """Call ``listener`` with every input, as a replay-log record, before it is applied.

        The record is what a line of a replay log holds: ``{"event": name, "data": payload}``,
        ``{"call": ..., "settings"/"session_id": ..., "ref": ...}`` or
        ``{"completion": ..., "session_id": ..., "error": ..., "ref": ...}``, plus ``"t"``
        when the input carried a time.  A recorder is such a listener.  Exceptions
        it raises are kept in :attr:`listener_errors`, never propagated.
        """
        self._input_listeners.append(listener)

    def remove_input_listener(self, listener: Callable[[dict[str, Any]], object]) -> None:
        """Stop calling an input listener; ``ValueError`` if it was not added."""
        self._input_listeners.remove(listener)

    def add_entry_listener(self, listener: Callable[[JournalEntry], object]) -> None:
        """Call ``listener`` with every journal entry, right after its input was applied.

        Exceptions it raises are kept in :attr:`listener_errors`, never propagated.
        """
        self._entry_listeners.append(listener)

    def remove_entry_listener(self, listener: Callable[[JournalEntry], object]) -> None:
        """Stop calling an entry listener; ``ValueError`` if it was not added."""
        self._entry_listeners.remove(listener)

    def _notify_input(self, record: dict[str, Any], t: float | None) -> None:
        if t is not None:
            record["t"] = t
        for listener in tuple(self._input_listeners):
            try:
                listener(record)
            except Exception as exc:  # noqa: BLE001  (a listener must not break the event path)
                self.listener_errors.append(exc)

    def _append(self, entry: JournalEntry) -> JournalEntry:
        self._journal.extend((None, entry))
        self._seq += 1
        self._last = entry
        if self._entry_listeners:
            self._notify_entry(entry)
        return entry

    def _notify_entry(self, entry: JournalEntry) -> None:
        for listener in tuple(self._entry_listeners):
            try:
                listener(entry)
            except Exception as exc:  # noqa: BLE001  (a listener must not break the event path)
                self.listener_errors.append(exc)

    # --- reading the tracker ---------------------------------------------------------

    def __iter__(self) -> Iterator[Session]:
        """Every session, in order of creation."""
        return iter(self._sessions.values())

    def __len__(self) -> int:
        """How many sessions the tracker holds."""
        return len(self._sessions)

    def __getitem__(self, session_id: str) -> Session:
        """The session with Daily's ``session_id``; ``KeyError`` if none."""
        return self._by_id[session_id]

    def __contains__(self, session_id: object) -> bool:
        """Whether a session has Daily's ``session_id``."""
        return isinstance(session_id, str) and session_id in self._by_id

    def get(self, session_id: str) -> Session | None:
        """The session with Daily's ``session_id``, or ``None``."""
        return self._by_id.get(session_id)

    @property
    def sessions(self) -> tuple[Session, ...]:
        """Every session, in order of creation."""
        return tuple(self._sessions.values())

    @property
    def live(self) -> tuple[Session, ...]:
        """The sessions not yet in a terminal state, in order of creation."""
        return tuple(self._live.values())

    @property
    def journal(self) -> tuple[JournalEntry, ...]:
        """Every input read, in order, with what it did (the last ``journal_limit`` with a limit).

        Each read builds every entry (a microsecond or a few each); to follow a long
        journal, read only what is new with :meth:`journal_since` or use an entry listener.
        """
        return self._entries(self._journal_copy())

    def _journal_copy(self) -> list[Any] | tuple[Any, ...]:
        """The journal's items, copied by one C call (see the constructor's note on threads)."""
        journal = self._journal
        if isinstance(journal, list):
            return journal[:]  # reads the items after allocating the copy: a writer cannot move them under it
        for _ in range(1000):
            try:
                return tuple(journal)
            except RuntimeError:  # a writer on another thread ran while a finalizer let go of the GIL: again
                continue
        return tuple(journal)

    def journal_since(self, seq: int) -> tuple[JournalEntry, ...]:
        """The journal entries from input ``seq`` on (``seq`` as in :attr:`inputs_read`), oldest first.

        Reading only the new entries after each step costs what they cost, however
        long the journal is (with a ``journal_limit``, plus a copy of the kept
        references): ``before = tracker.inputs_read; ...; tracker.journal_since(before)``.
        Entries a ``journal_limit`` dropped are not there.  Read while another
        thread feeds the tracker, it sees whole inputs from ``seq`` on (a copy a
        write interrupts is taken again); to read several things consistently,
        hold the feed's lock (:class:`~dialfsm.threads.LockedTracker`).

        Raises:
            TypeError: ``seq`` is not an int.

        """
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise TypeError(f"seq must be an int, got {short_repr(seq)}")
        # The oldest kept entry's seq is read from the same items as the entries: a writer
        # on another thread can neither shift it nor add between the two.  A list only
        # grows (its first entry stays) and is sliced in one C call; a deque is copied.
        items: list[Any] | tuple[Any, ...] = self._journal if isinstance(self._journal, list) else self._journal_copy()
        if not items:
            return ()
        return self._entries(items[2 * max(0, seq - items[1][0]) :])

    @staticmethod
    def _entries(items: tuple[Any, ...] | list[Any]) -> tuple[JournalEntry, ...]:
        pairs = zip(items[::2], items[1::2], strict=True)
        return tuple([kept if session is None else _entry_of(kept, session) for session, kept in pairs])

    def _kept_with(self, disposition: Disposition) -> tuple[JournalEntry, ...]:
        atom = disposition.value
        found: list[JournalEntry] = []
        items = self._journal_copy()
        for session, kept in zip(items[::2], items[1::2], strict=True):
            if session is None:
                if kept.disposition is disposition:
                    found.append(kept)
            elif STEP_KINDS[kept[2]][0] == atom:
                found.append(_entry_of(kept, session))
        return tuple(found)

    @property
    def journal_limit(self) -> int | None:
        """How many journal entries the tracker keeps (``None``: all)."""
        return self._journal_limit

    @property
    def last_entry(self) -> JournalEntry | None:
        """The journal entry of the latest input (kept even with ``journal_limit=0``)."""
        return self._last

    @property
    def inputs_read(self) -> int:
        """How many inputs the tracker has read (the next entry's ``seq``)."""
        return self._seq

    @property
    def anomalies(self) -> tuple[JournalEntry, ...]:
        """The journal entries recorded as anomalies."""
        return self._kept_with(_ANOMALY)

    @property
    def refusals(self) -> tuple[JournalEntry, ...]:
        """The journal entries of refused calls."""
        return self._kept_with(_REFUSED)

    @property
    def dialin_endpoints(self) -> tuple[str, ...]:
        """The SIP endpoints Daily reported ready (``dialin-ready``), in order."""
        return tuple(self._endpoints)

    # --- Daily's events ---------------------------------------------------------------

    def handle(self, name: object, data: object = None, *, t: float | None = None) -> JournalEntry:
        """Read one Daily event, by name and payload, in any dialect.  Never raises.

        Args:
            name: ``"dialout-answered"``, ``"on_dialout_answered"`` or ``"dialout.answered"``.
            data: The payload as the SDK or webhook delivered it.
            t: When it happened (seconds, any epoch), for the journal.

        Returns:
            The journal entry recording what it did.

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            self._notify_input({"event": name, "data": data}, t)
        if t is not None:
            self._clock(t)
        try:
            found = PARSER_BY_NAME.get(name) if type(name) is str else None
            event = found[1](found[0], data) if found is not None else from_daily(name, data)
        except ParseProblem as problem:
            label = name if isinstance(name, str) and len(name) <= 64 else short_repr(name)
            return self._record(label, (name, data), _ANOMALY, problem.code, problem.message, t=t)
        except Exception as exc:  # noqa: BLE001  (a payload no parser foresaw must not raise into the SDK)
            label = name if isinstance(name, str) and len(name) <= 64 else short_repr(name)
            message = f"payload could not be read: {type(exc).__name__}: {short_repr(str(exc))}"
            return self._record(label, (name, data), _ANOMALY, AnomalyCode.MALFORMED_INPUT, message, t=t)
        try:
            return _ROUTES[type(event)](self, event, t)
        except Exception as exc:  # noqa: BLE001  (the event path must never raise into an SDK)
            return self._internal_error(event, exc, t)

    def receive(self, event: DailyEvent, *, t: float | None = None) -> JournalEntry:
        """Read one typed Daily event.  Never raises.

        Returns:
            The journal entry recording what it did.

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            try:
                record: dict[str, Any] = {"event": event_name(event), "data": to_daily(event)}
            except Exception:  # noqa: BLE001  (not a typed event: the tracker journals it as malformed)
                record = {"event": type(event).__name__, "data": short_repr(event)}
            self._notify_input(record, t)
        if t is not None:
            self._clock(t)
        return self._receive_safe(event, t)

    def _receive_safe(self, event: DailyEvent, t: float | None) -> JournalEntry:
        try:
            return self._receive(event, t)
        except Exception as exc:  # noqa: BLE001  (the event path must never raise into an SDK)
            return self._internal_error(event, exc, t)

    def _internal_error(self, event: object, exc: Exception, t: float | None) -> JournalEntry:
        return self._record(
            type(event).__name__,
            event,
            _ANOMALY,
            AnomalyCode.MALFORMED_INPUT,
            f"internal error handling {type(event).__name__}: {exc!r}",
            t=t,
        )

    def _receive(self, event: DailyEvent, t: float | None) -> JournalEntry:
        route = _ROUTES.get(type(event))
        if route is None:
            raise TypeError(f"not a Daily event: {short_repr(event)}")
        return route(self, event, t)

    def _dialin_connected(self, event: DialinConnected, t: float | None) -> JournalEntry:
        session = self._by_id.get(event.session_id)
        if session is None:
            session = self._new_session(_DIALIN)
            self._bind(session, event.session_id)
        elif session.kind is not _DIALIN:
            return self._unknown(event, f"dialin-connected names dial-out session {event.session_id!r}", t)
        return self._step(session, event.input, event, self._seq, t, True)

    def _dialin_event(self, event: DialinStopped | DialinError | DialinWarning, t: float | None) -> JournalEntry:
        session = self._by_id.get(event.session_id)
        if session is None or session.kind is not _DIALIN:
            return self._unknown(event, f"{event.input.value} for unknown dial-in {event.session_id!r}", t)
        return self._step(session, event.input, event, self._seq, t, True)

    def _participant_event(self, event: ParticipantJoined | ParticipantLeft, t: float | None) -> JournalEntry:
        session = self._by_id.get(event.participant_id)
        if session is None:
            return self._record(_VALUE[event.input], event, _JOURNALED, t=t)
        return self._step(session, event.input, event, self._seq, t, True)

    def _left_meeting(self, event: LeftMeeting, t: float | None) -> JournalEntry:
        live = list(self._live.values())
        if not live:
            return self._record(_VALUE[event.input], event, _JOURNALED, t=t)
        return self._apply(live, event.input, event, t)

    def _dialin_ready(self, event: DialinReady, t: float | None) -> JournalEntry:
        if event.sip_endpoint in self._endpoints:
            return self._record(
                "dialin-ready",
                event,
                _ANOMALY,
                AnomalyCode.DUPLICATE_EVENT,
                f"dialin-ready for endpoint {short_repr(event.sip_endpoint)} again",
                t=t,
            )
        self._endpoints[event.sip_endpoint] = None
        return self._record("dialin-ready", event, _RECORDED, t=t)

    def _dialout_event(
        self,
        event: DialoutConnected | DialoutAnswered | DialoutStopped | DialoutError | DialoutWarning,
        t: float | None,
    ) -> JournalEntry:
        sid = event.session_id
        session = None if sid is None else self._by_id.get(sid)
        if session is None:
            if sid is not None and sid in self._forgotten:
                return self._unknown(event, f"{_VALUE[event.input]} for forgotten session {short_repr(sid)}", t)
            session = self._oldest_waiting()
            if session is None:
                what = "no sessionId" if sid is None else f"unknown sessionId {short_repr(sid)}"
                return self._unknown(event, f"{event.input.value} with {what} and no dial-out waiting for one", t)
            if sid is not None:
                self._bind(session, sid)
        elif session.kind is not _DIALOUT:
            return self._unknown(event, f"{event.input.value} names dial-in session {sid!r}", t)
        return self._step(session, event.input, event, self._seq, t, True)

    def _dtmf_event(self, event: DtmfReceived, t: float | None) -> JournalEntry:
        if event.session_id is not None:
            session = self._by_id.get(event.session_id)
            if session is None:
                return self._unknown(event, f"dtmf-event for unknown session {short_repr(event.session_id)}", t)
        elif len(self._live) == 1:
            (session,) = self._live.values()
        else:
            return self._unknown(event, f"dtmf-event without sessionId and {len(self._live)} live sessions", t)
        return self._step(session, event.input, event, self._seq, t, True)

    def _unknown(self, event: object, message: str, t: float | None) -> JournalEntry:
        name = event.input.value if hasattr(event, "input") and event.input is not None else type(event).__name__
        return self._record(name, event, _ANOMALY, AnomalyCode.UNKNOWN_SESSION, message, t=t)

    # --- the bot's calls ---------------------------------------------------------------

    def start_dialout(
        self,
        settings: Mapping[str, Any] | DialoutSettings,
        *,
        ref: str | None = None,
        t: float | None = None,
        retry_of: Session | str | None = None,
    ) -> Session:
        """Guard and register the bot's ``start_dialout``; returns the new session (``connecting``).

        Pass ``session.settings`` to Daily's ``start_dialout``, then report its
        completion with :meth:`start_completed`.

        Args:
            settings: Daily's camelCase settings dict, or a :class:`DialoutSettings`.
            ref: A name pairing this call with its completion (optional).
            t: When the call was made (seconds), for the journal and the timers.
            retry_of: The failed dial-out (a session, its id, or its start call's
                ``ref``) this one retries: the new session's ``attempt`` follows it.

        Raises:
            CallRefused: ``INVALID_SETTINGS`` (daily-js's rules), ``NOT_FOUND``
                (an unknown ``retry_of``), ``NOT_ALLOWED`` (dial-out disabled),
                ``DIALOUT_IN_PROGRESS`` (``max_dialouts`` live), ``INVALID_STATE``
                (``retry_of`` names a live session or a dial-in).

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            ref = self._notify_call("start_dialout", "settings", settings, ref, t, self._retry_label(retry_of))
        if t is not None:
            self._clock(t)
        try:
            parsed = parse_dialout_settings(settings)
            self._check_ref(ref, "start_dialout")
            previous = None if retry_of is None else self._previous_attempt(retry_of)
            if not self.allow_dialout:
                raise CallRefused(
                    RefusalCode.NOT_ALLOWED, "dial-out is disabled for this tracker", call="start_dialout"
                )
            if self._live_dialouts >= self.max_dialouts:
                raise CallRefused(
                    RefusalCode.DIALOUT_IN_PROGRESS,
                    f"{self._live_dialouts} dial-out(s) already live (max_dialouts={self.max_dialouts})",
                    call="start_dialout",
                )
            if previous is not None and (previous.kind is not _DIALOUT or not previous.is_terminal):
                raise CallRefused(
                    RefusalCode.INVALID_STATE,
                    f"retry_of must name a finished dial-out, not a {previous.kind.value} in state {previous.state}",
                    call="start_dialout",
                )
        except CallRefused as refusal:
            self._refuse("start_dialout", settings, refusal, t)
            raise
        call = StartDialout(settings=parsed, ref=ref)
        session = self._new_session(_DIALOUT, parsed)
        if previous is not None:
            session.attempt, session.previous, previous.retry = previous.attempt + 1, previous, session
        if ref is not None:
            self._start_refs[ref] = session
            session._start_ref = ref
        self._waiting_for_id[session.index] = session
        self._accept_call(session, call, t)
        return session

    def _previous_attempt(self, retry_of: object) -> Session:
        if isinstance(retry_of, Session):
            if retry_of._owner is not self:
                raise CallRefused(RefusalCode.NOT_FOUND, "retry_of belongs to another tracker", call="start_dialout")
            return retry_of  # possibly forgotten (finished_limit): the chain still links
        found = self._by_id.get(retry_of) if isinstance(retry_of, str) else None
        if found is None and isinstance(retry_of, str):
            found = self._start_refs.get(retry_of)
        if found is None:
            raise CallRefused(
                RefusalCode.NOT_FOUND, f"retry_of names no session: {short_repr(retry_of)}", call="start_dialout"
            )
        return found

    def _retry_label(self, retry_of: object) -> object:
        """How a recording names ``retry_of``: the session's id, else its start call's ref."""
        if not isinstance(retry_of, Session):
            return retry_of
        return retry_of.session_id if retry_of.session_id is not None else retry_of._start_ref

    def stop_dialout(self, session: Session | str, *, ref: str | None = None, t: float | None = None) -> Session:
        """Guard and register the bot's ``stop_dialout`` of a session (or its id).

        Raises:
            CallRefused: ``INVALID_SETTINGS`` (not a session id), ``NOT_FOUND``,
                ``NOT_ALLOWED``, ``INVALID_STATE`` (already stopped, no id yet, a dial-in).

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            sid = session.session_id if isinstance(session, Session) else session
            ref = self._notify_call("stop_dialout", "session_id", sid, ref, t)
        if t is not None:
            self._clock(t)
        try:
            self._check_ref(ref, "stop_dialout")
            target = self._target(session, "stop_dialout")
            if not self.allow_dialout:
                raise CallRefused(RefusalCode.NOT_ALLOWED, "dial-out is disabled for this tracker", call="stop_dialout")
            if target.session_id is None and not target.is_terminal:
                raise CallRefused(
                    RefusalCode.INVALID_STATE,
                    "the dial-out has no session id yet: wait for the start completion or its first event",
                    call="stop_dialout",
                )
            self._check_state(target, Input.STOP_DIALOUT, "stop_dialout")
        except CallRefused as refusal:
            self._refuse("stop_dialout", session.session_id if isinstance(session, Session) else session, refusal, t)
            raise
        assert target.session_id is not None
        self._accept_call(target, StopDialout(session_id=target.session_id, ref=ref), t)
        return target

    def send_dtmf(
        self, settings: Mapping[str, Any] | DtmfSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``send_dtmf``; the session must be answered (dial-in: joined).

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            ref = self._notify_call("send_dtmf", "settings", settings, ref, t)
        if t is not None:
            self._clock(t)
        try:
            parsed = parse_dtmf_settings(settings)
            self._check_ref(ref, "send_dtmf")
            target = self._target(parsed.session_id, "send_dtmf")
            self._check_state(target, Input.SEND_DTMF, "send_dtmf")
        except CallRefused as refusal:
            self._refuse("send_dtmf", settings, refusal, t)
            raise
        self._accept_call(target, SendDtmf(settings=parsed, ref=ref), t)
        return target

    def sip_call_transfer(
        self, settings: Mapping[str, Any] | SipCallTransferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``sip_call_transfer``; the session must be answered or joined.

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            ref = self._notify_call("sip_call_transfer", "settings", settings, ref, t)
        if t is not None:
            self._clock(t)
        try:
            parsed = parse_sip_call_transfer_settings(settings)
            self._check_ref(ref, "sip_call_transfer")
            target = self._target(parsed.session_id, "sip_call_transfer")
            self._check_state(target, Input.SIP_CALL_TRANSFER, "sip_call_transfer")
        except CallRefused as refusal:
            self._refuse("sip_call_transfer", settings, refusal, t)
            raise
        self._accept_call(target, SipCallTransfer(settings=parsed, ref=ref), t)
        return target

    def sip_refer(
        self, settings: Mapping[str, Any] | SipReferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``sip_refer``; the session must be answered or joined.

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        if t is not None:
            t = _valid_time(t)
        if self._input_listeners:
            ref = self._notify_call("sip_refer", "settings", settings, ref, t)
        if t is not None:
            self._clock(t)
        try:
            parsed = parse_sip_refer_settings(settings)
            self._check_ref(ref, "sip_refer")
            target = self._target(parsed.session_id, "sip_refer")
            self._check_state(target, Input.SIP_REFER, "sip_refer")
        except CallRefused as refusal:
            self._refuse("sip_refer", settings, refusal, t)
            raise
        self._accept_call(target, SipRefer(settings=parsed, ref=ref), t)
        return target

    def _target(self, session: object, call: str) -> Session:
        if isinstance(session, Session):
            if self._sessions.get(session.index) is not session:
                raise CallRefused(RefusalCode.NOT_FOUND, "that session belongs to another tracker", call=call)
            return session
        if not isinstance(session, str) or not session:
            raise InvalidSettings("sessionId", f"must be a non-empty string, got {short_repr(session)}", call=call)
        target = self._by_id.get(session)
        if target is None:
            raise CallRefused(
                RefusalCode.NOT_FOUND, f"no session with id {short_repr(session)}", call=call, session_id=session
            )
        return target

    def _check_ref(self, ref: object, call: str) -> None:
        if ref is None:
            return
        if not isinstance(ref, str):
            raise InvalidSettings("ref", f"must be a string, got {short_repr(ref)}", call=call)
        if ref in self._refs:
            raise InvalidSettings("ref", f"{short_repr(ref)} names a call still waiting for its completion", call=call)

    def _check_state(self, session: Session, input_: Input, call: str) -> None:
        resolution = self._engines[session.kind].dispatch.get((session.state, input_))
        if resolution is None or resolution.disposition is _REFUSED:  # None: not this machine's call at all
            raise CallRefused(
                RefusalCode.INVALID_STATE,
                f"{call} is not allowed for a {session.kind.value} in state {session.state.value}",
                call=call,
                session_id=session.session_id,
            )

    def _refuse(self, call: str, raw: object, refusal: CallRefused, t: float | None) -> None:
        self._record(call, raw, _REFUSED, refusal.code.value, refusal.message, t=t)

    def _notify_call(
        self, call: str, key: str, payload: object, ref: str | None, t: float | None, retry_of: object = None
    ) -> str:
        """Tell input listeners about a call; give it a ref (``#<seq>``) so its completion pairs on replay."""
        if ref is None:
            ref = f"#{self._seq}"
        to_dict = getattr(payload, "to_daily", None)
        record = {"call": call, key: to_dict() if callable(to_dict) else payload, "ref": ref}
        if retry_of is not None:
            record["retry_of"] = retry_of
        self._notify_input(record, t)
        return ref

    def _accept_call(
        self,
        session: Session,
        call: StartDialout | StopDialout | SendDtmf | SipCallTransfer | SipRefer,
        t: float | None,
    ) -> None:
        pending = _Pending(call=call.input, session=session, ref=call.ref)
        self._pending[call.input].append(pending)
        if call.ref is not None:
            self._refs[call.ref] = pending
        self._apply_one(session, call.input, call, t)

    # --- completions --------------------------------------------------------------------

    def complete(
        self, completion: CallCompleted, *, session: Session | None = None, t: float | None = None
    ) -> JournalEntry:
        """Read the completion of one of the bot's calls.  Never raises.

        Args:
            completion: Which call, the session id it returned or names, the error text.
            session: The session whose call completed, when the caller knows it.
            t: When it happened, for the journal.

        """
        if t is not None:
            t = _valid_time(t)
        try:
            return self._complete(completion, session, t)
        except Exception as exc:  # noqa: BLE001  (completions come from SDK callbacks)
            return self._record(
                "completion",
                completion,
                _ANOMALY,
                AnomalyCode.MALFORMED_INPUT,
                f"internal error handling a completion: {exc!r}",
                t=t,
            )

    def _complete(self, completion: CallCompleted, session: Session | None, t: float | None) -> JournalEntry:
        call = completion.call
        name = f"{getattr(call, 'value', short_repr(call))}.{'ok' if completion.error is None else 'error'}"
        problem = _check_completion(completion)
        pending = None if problem is not None else self._find_pending(completion, session)
        if self._input_listeners:
            ref = completion.ref if pending is None else pending.ref
            record = {"completion": getattr(call, "value", call), "session_id": completion.session_id}
            self._notify_input({**record, "error": completion.error, "ref": ref}, t)
        if t is not None:
            self._clock(t)
        if problem is not None:
            return self._record(name, completion, _ANOMALY, AnomalyCode.MALFORMED_INPUT, problem, t=t)
        if pending is None:
            return self._record(
                name,
                completion,
                _ANOMALY,
                AnomalyCode.UNEXPECTED_COMPLETION,
                f"{name} matches no {call.value} waiting for its completion",
                t=t,
            )
        pending.done = True
        if pending.ref is not None and self._refs.get(pending.ref) is pending:
            del self._refs[pending.ref]
        self._trim_pending(call)
        target = pending.session
        if call is Input.START_DIALOUT and completion.session_id is not None and completion.error is None:
            conflict = self._bind_from_completion(target, completion.session_id)
            if conflict is not None:
                return self._record(name, completion, _ANOMALY, AnomalyCode.UNEXPECTED_COMPLETION, conflict, t=t)
        input_ = _COMPLETION_INPUT[call, completion.error is None]
        return self._apply_one(target, input_, completion, t)

    def _trim_pending(self, call: Input) -> None:
        """Drop the completed calls from a queue of calls waiting for completions.

        From the front at once; the ones stuck behind a call still waiting (its
        completion may yet come) when they outnumber the waiting ones, so the
        queue stays within twice the calls really waiting, at O(1) amortised.
        """
        queue = self._pending[call]
        while queue and queue[0].done:
            queue.popleft()
        if len(queue) >= self._pending_compact_at[call]:
            waiting = deque(p for p in queue if not p.done)
            self._pending[call] = waiting
            self._pending_compact_at[call] = max(_PENDING_COMPACT_MIN, 2 * len(waiting))

    def _bind_from_completion(self, session: Session, session_id: str) -> str | None:
        if session.session_id == session_id:
            return None
        if session.session_id is not None:
            return f"start completion returned {session_id!r} but events bound {session.session_id!r}"
        owner = self._by_id.get(session_id)
        if owner is not None:
            return f"start completion returned {session_id!r}, already the id of session #{owner.index}"
        self._bind(session, session_id)
        return None

    def _find_pending(self, completion: CallCompleted, session: Session | None) -> _Pending | None:
        if completion.ref is not None:
            pending = self._refs.get(completion.ref)
            return pending if pending is not None and pending.call is completion.call else None
        self._trim_pending(completion.call)
        queue = self._pending[completion.call]
        if session is None and completion.call is not Input.START_DIALOUT and completion.session_id is not None:
            session = self._by_id.get(completion.session_id)
            if session is None:
                return None
        for pending in queue:
            if not pending.done and (session is None or pending.session is session):
                return pending
        return None

    def start_completed(
        self,
        session: Session | None = None,
        session_id: str | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report daily-python's ``start_dialout`` completion ``(session_id, error)``.  Never raises.

        Args:
            session: The session :meth:`start_dialout` returned; ``None`` pairs
                with ``ref`` or the oldest start waiting for its completion.
            session_id: The id Daily returned (binds the session if it has none).
            error: Daily's error text; a start that failed ends ``error`` / ``rejected``.
            ref: The ``ref`` given to :meth:`start_dialout`, to pair with that call.
            t: When it happened, for the journal.

        """
        return self.complete(
            CallCompleted(call=Input.START_DIALOUT, session_id=session_id, error=error, ref=ref), session=session, t=t
        )

    def stop_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report ``stop_dialout``'s completion ``(error,)``.  Never raises."""
        return self.complete(CallCompleted(call=Input.STOP_DIALOUT, error=error, ref=ref), session=session, t=t)

    def dtmf_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report ``send_dtmf``'s completion ``(error,)``.  Never raises."""
        return self.complete(CallCompleted(call=Input.SEND_DTMF, error=error, ref=ref), session=session, t=t)

    def transfer_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report ``sip_call_transfer``'s completion ``(error,)``.  Never raises."""
        return self.complete(CallCompleted(call=Input.SIP_CALL_TRANSFER, error=error, ref=ref), session=session, t=t)

    def refer_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: str | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report ``sip_refer``'s completion ``(error,)``.  Never raises."""
        return self.complete(CallCompleted(call=Input.SIP_REFER, error=error, ref=ref), session=session, t=t)

    # --- the core: applying one input to sessions ---------------------------------------

    def _new_session(self, kind: SessionKind, settings: DialoutSettings | None = None) -> Session:
        session = Session(kind, self._created, self._engines[kind].fast, settings)
        self._created += 1
        session._owner = self
        self._sessions[session.index] = session
        self._live[session.index] = session
        if kind is _DIALOUT:
            self._live_dialouts += 1
        if self.engine == "transitions":
            self._attach_model(session)
        return session

    def _attach_model(self, session: Session) -> None:
        """Give a live session its model on the shared ``transitions.Machine`` (``engine="transitions"``)."""
        model = _Model()
        self._engines[session.kind].machine.add_model(model, initial=session._state)
        session._model = model

    def _bind(self, session: Session, session_id: str) -> None:
        session._session_id = session_id
        self._by_id[session_id] = session
        self._waiting_for_id.pop(session.index, None)

    def _oldest_waiting(self) -> Session | None:
        return next(iter(self._waiting_for_id.values()), None)

    def _apply_one(self, session: Session, input_: Input, source: object, t: float | None) -> JournalEntry:
        return self._step(session, input_, source, self._seq, t, True)

    def _apply(self, sessions: list[Session], input_: Input, source: object, t: float | None) -> JournalEntry:
        seq = self._seq
        steps = tuple(self._step(session, input_, source, seq, t, False) for session in sessions)
        overall = _RECORDED
        code = message = None
        for step in steps:
            if step.disposition is _TRANSITION:
                overall, code, message = _TRANSITION, None, None
                break
            if step.disposition is _ANOMALY and code is None:
                overall, code, message = _ANOMALY, step.code, step.message
        entry = JournalEntry(seq, _VALUE[input_], source, overall, code, message, t, self._line, parts=steps)
        return self._append(entry)

    def _step(
        self, session: Session, input_: Input, source: object, seq: int, t: float | None, commit: bool
    ) -> JournalEntry:
        """Apply one input to one session; journal it too when ``commit`` (the hot path, kept flat)."""
        before = session._state
        disposition, after, outcome, code, has_row, step = session._dispatch[before][input_]
        if disposition is _ANOMALY:
            note: str | None = _anomaly_note(session, input_, code)
        else:
            if has_row and session._model is not None:
                session._model.trigger(input_.trigger)  # the transitions engine decides the state
                after = session._model.state
                step = STEP_CODE[disposition.value, before.value, after.value]
            note = self._side_effects(session, input_, source, after) if input_ in _EFFECT_INPUTS else None
            if after is not before:
                if after is _ANSWERED or after is _JOINED:
                    session._answered = True
                session._state = after
                session._states.append(after)
                if (
                    self.timeouts is not None
                    and session.kind is _DIALOUT
                    and (t is not None or self._now is not None or session._timer is not None)
                ):  # with no time known and no timer armed, arming would change nothing
                    self._arm(session, after, t)
            elif session._timer is _START_TIMEOUT and input_.kind in _DISARMING_KINDS:
                session._deadline = session._timer = None  # the start watchdog saw a sign of life
            if outcome is not None:
                if outcome != BY_HISTORY:
                    session._outcome = outcome
                elif session._outcome is None or session._outcome is Outcome.TRANSFERRED:
                    # Decided from history on entering stopped; once stopped, only a failed
                    # transfer's completion may revise it (``transferred`` -> ``completed``).
                    session._outcome = stopped_outcome(
                        answered=session._answered,
                        stop_requested=session._stop_requested,
                        transfer_live=session._live_transfers > 0,
                    )
                if after is not before:
                    self._retire(session)
        name = _VALUE[input_]
        line = self._line
        entry = _new_entry(
            JournalEntry, (seq, name, source, disposition, code, note, t, line, session, before, after, None)
        )
        keep_history = self.keep_history
        if keep_history or self._journal_limit != 0:
            encoder = _ENCODERS.get(source.__class__)
            codec, values = -1, source
            if encoder is not None:
                try:
                    codec, values = encoder[0], encoder[1](source)
                except Exception:  # noqa: BLE001  (an odd field: keep the input itself; the step is applied)
                    codec, values = -1, source
            # An anomaly's code is kept as its string: the enum member would keep the row tracked.
            row = (seq, name, step, code if code is None else _CODE_ATOM.get(code, code), note, t, line, codec, values)
            if keep_history:
                session._history.append(row)
            if commit:
                self._journal.extend((session, row))
        if commit:
            self._seq += 1
            self._last = entry
            if self._entry_listeners:
                self._notify_entry(entry)
        return entry

    def _side_effects(self, session: Session, input_: Input, source: object, after: State) -> str | None:
        """Session bookkeeping an accepted input implies; returns the step's note."""
        if isinstance(source, TimerExpired):
            return self._timer_effects(session, input_)
        if input_ is Input.STOP_DIALOUT:
            session._stop_requested = True
        elif input_ is Input.SIP_CALL_TRANSFER or input_ is Input.SIP_REFER:
            session._live_transfers += 1
        elif input_ in _TRANSFER_ERRORS:
            session._live_transfers = max(0, session._live_transfers - 1)
        if isinstance(source, (DialoutWarning, DialinWarning)):
            text = source.error_msg or ""
            if self.keep_history:
                session._add_warning(text)
            return text
        if isinstance(source, DtmfReceived):
            if self.keep_history:
                session._add_dtmf(source.tone)
            return source.tone
        if isinstance(source, _ERROR_EVENTS):
            text = source.error_msg or ""
            if session._error is None or after in (DialoutState.ERROR, DialinState.ERROR):
                session._error, session._error_code = text, classify_error(text)
            return text
        if isinstance(source, CallCompleted) and source.error is not None:
            if session._error is None or session._outcome is None:
                session._error, session._error_code = source.error, classify_error(source.error)
            return source.error
        return None

    def _timer_effects(self, session: Session, timer: Input) -> str:
        timeouts = self.timeouts
        assert timeouts is not None
        if timer is _START_TIMEOUT:
            text = f"start_dialout timed out: no completion and no event within {timeouts.start:g} s"
            session._error, session._error_code = text, classify_error(text)
            return text
        if timer is _RING_TIMEOUT:
            # The tracker stops the call on the bot's behalf: a stop call now waits for its completion.
            ref = f"ring_timeout#{self._seq}"
            pending = _Pending(call=Input.STOP_DIALOUT, session=session, ref=ref)
            self._pending[Input.STOP_DIALOUT].append(pending)
            self._refs[ref] = pending
            self._effects.append(
                StopCall(session=session, session_id=session.session_id, reason="ring_timeout", ref=ref)
            )
            return f"no answer within {timeouts.ring:g} s: the bot is asked to stop the call"
        return f"no dialout-stopped within {timeouts.stop:g} s: taken as stopped"

    def _arm(self, session: Session, state: State, t: float | None) -> None:
        """Arm the timer of ``state`` (or none) for a dial-out that just entered it."""
        timeouts = self.timeouts
        assert timeouts is not None
        if state is _CONNECTING:
            timer, seconds = _START_TIMEOUT, timeouts.start
        elif state is _CONNECTED:
            timer, seconds = _RING_TIMEOUT, timeouts.ring
        elif state is _STOPPING:
            timer, seconds = _STOP_TIMEOUT, timeouts.stop
        else:
            session._deadline = session._timer = None
            return
        base = t if t is not None else self._now
        if seconds is None or base is None:  # disabled, or no time known yet: nothing to arm
            session._deadline = session._timer = None
            return
        session._deadline, session._timer = base + seconds, timer
        self._timer_seq += 1
        session._timer_seq = self._timer_seq
        heapq.heappush(self._timers, (base + seconds, self._timer_seq, session.index))

    def _clock(self, now: float) -> None:
        if self._now is None or now > self._now:
            self._now = now
        if self._timers and self._timers[0][0] <= now:
            self._fire_due(now)

    def _fire_due(self, now: float) -> list[JournalEntry]:
        fired = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, index = heapq.heappop(timers)
            session = self._sessions.get(index)
            timer = None if session is None else session._timer
            if session is None or timer is None or session._deadline != deadline or session.is_terminal:
                continue  # disarmed, re-armed or forgotten since: a stale heap entry
            session._deadline = session._timer = None
            event = TimerExpired(timer=timer, session_id=session.session_id, deadline=deadline)
            fired.append(self._apply_one(session, timer, event, deadline))
        return fired

    def advance(self, now: float) -> tuple[JournalEntry, ...]:
        """Tell the tracker the time is ``now``; fire every timer due by then.  Never raises.

        Inputs with a ``t`` do this too, before they are applied; call ``advance``
        from the bot's own clock (an asyncio timer at :attr:`next_deadline`, say)
        when no input may come.  Input listeners see ``{"t": now}``, which a
        replay log reads back as the same tick.

        Returns:
            The journal entries of the timers that fired, in order.

        """
        valid = _valid_time(now)
        if valid is None:
            return ()
        now = valid
        if self._input_listeners:
            self._notify_input({}, float(now))
        if self._now is None or now > self._now:
            self._now = float(now)
        return tuple(self._fire_due(now))

    @property
    def now(self) -> float | None:
        """The latest time the tracker was told (the greatest ``t`` seen), if any."""
        return self._now

    @property
    def next_deadline(self) -> float | None:
        """When the next armed timer fires (seconds on the inputs' clock), or ``None``."""
        timers = self._timers
        while timers:
            deadline, _, index = timers[0]
            session = self._sessions.get(index)
            if (
                session is not None
                and session._timer is not None
                and session._deadline == deadline
                and not session.is_terminal
            ):
                return deadline
            heapq.heappop(timers)
        return None

    def snapshot(self) -> dict[str, Any]:
        """The tracker's state as JSON-able data, with a format version, to :meth:`restore` later.

        Carries every session, pending call, timer, queued effect and the journal
        position; not the journal's entries, histories or listeners.
        """
        from dialfsm._snapshot import snapshot  # noqa: PLC0415  (keeps the hot module's imports small)

        return snapshot(self)

    @classmethod
    def restore(cls, data: object) -> CallTracker:
        """A tracker resuming exactly where :meth:`snapshot` left off.

        Raises:
            SnapshotError: a snapshot of a newer format version, or a corrupt one;
                no tracker is returned half-restored.

        """
        from dialfsm._snapshot import restore  # noqa: PLC0415  (keeps the hot module's imports small)

        return restore(data)

    def take_effects(self) -> list[Effect]:
        """The effects queued since the last call (stop a call, retry a dial-out), oldest first.

        A stop whose call has ended meanwhile is withdrawn (see :meth:`withdraw`), not handed over.
        """
        effects, self._effects = self._effects, []
        kept = []
        for effect in effects:
            if isinstance(effect, StopCall) and effect.session.is_terminal:
                self.withdraw(effect, reason="the call ended before it was stopped")
            else:
                kept.append(effect)
        return kept

    def withdraw(self, effect: Effect, *, reason: str = "not carried out", t: float | None = None) -> JournalEntry:
        """Tell the tracker an effect will not be carried out; journaled (``JOURNALED``).  Never raises.

        For a :class:`StopCall`, the stop the tracker registered then waits for
        no completion (a stop for a call that already ended is never sent).  The
        effect leaves the queue if it is still there.  No session changes.
        """
        t = None if t is None else _valid_time(t)
        if not isinstance(effect, (StopCall, RetryDialout)):
            return self._record("withdraw", effect, _ANOMALY, AnomalyCode.MALFORMED_INPUT, "not an effect", t=t)
        self._effects = [e for e in self._effects if e is not effect]
        if isinstance(effect, StopCall) and effect.ref is not None:
            pending = self._refs.pop(effect.ref, None)
            if pending is not None:
                pending.done = True
                self._trim_pending(Input.STOP_DIALOUT)
        kind = "stop" if isinstance(effect, StopCall) else "retry"
        text = reason if isinstance(reason, str) and len(reason) <= 200 else short_repr(reason)
        return self._record(f"{kind} withdrawn", effect, _JOURNALED, message=text, t=t)

    def _retire(self, session: Session) -> None:
        self._live.pop(session.index, None)
        session._deadline = session._timer = None
        policy = self.retry_policy
        if policy is not None and session.kind is _DIALOUT:
            self._maybe_retry(session, policy)
        self._waiting_for_id.pop(session.index, None)
        if self.finished_limit is not None:
            self._finished.append(session)
            while len(self._finished) > self.finished_limit:
                self._forget(self._finished.popleft())
        if session.kind is _DIALOUT:
            self._live_dialouts -= 1
        if session._model is not None:
            self._engines[session.kind].machine.remove_model(session._model)
            session._model = None

    def _forget(self, gone: Session) -> None:
        """Drop a finished session (``finished_limit``) and every reference the tracker keeps to it."""
        del self._sessions[gone.index]
        if gone.session_id is not None and self._by_id.get(gone.session_id) is gone:
            del self._by_id[gone.session_id]
            self._forgotten[gone.session_id] = None  # later events for it: UNKNOWN_SESSION, never a re-bind
            if len(self._forgotten) > max(1024, 2 * (self.finished_limit or 0)):
                del self._forgotten[next(iter(self._forgotten))]
        if gone._start_ref is not None and self._start_refs.get(gone._start_ref) is gone:
            del self._start_refs[gone._start_ref]
        for queue in self._pending.values():
            for pending in queue:
                if pending.session is gone and not pending.done:
                    pending.done = True  # its completion, if it still comes, is UNEXPECTED_COMPLETION
                    if pending.ref is not None and self._refs.get(pending.ref) is pending:
                        del self._refs[pending.ref]
        self._effects = [e for e in self._effects if not isinstance(e, StopCall) or e.session is not gone]

    def _record(
        self,
        name: str,
        source: object,
        disposition: Disposition,
        code: str | None = None,
        message: str | None = None,
        *,
        t: float | None = None,
    ) -> JournalEntry:
        entry = _new_entry(
            JournalEntry, (self._seq, name, source, disposition, code, message, t, self._line, None, None, None, None)
        )
        return self._append(entry)

    def _maybe_retry(self, session: Session, policy: RetryPolicy) -> None:
        if (
            session._answered
            or _STOPPING in session._states  # the bot (or the ring timeout) hung it up: no redial
            or session._outcome not in (Outcome.REJECTED, Outcome.FAILED)
            or session._error_code not in policy.retry_on
            or session.attempt >= policy.max_attempts
            or session._settings is None
        ):
            return
        delay = policy.delay(session.attempt, self._rng)
        now = self._now
        self._effects.append(
            RetryDialout(
                previous=session,
                settings=session._settings,
                attempt=session.attempt + 1,
                delay=delay,
                not_before=None if now is None else now + delay,
            )
        )

    def note(self, name: str, source: object = None, *, t: float | None = None) -> JournalEntry:
        """Journal something the machines do not model (a ``calltransfer.*`` webhook, an app marker).

        Disposition ``JOURNALED``; no session changes.  Never raises.
        """
        label = name if isinstance(name, str) and len(name) <= 64 else short_repr(name)
        return self._record(label, source, _JOURNALED, t=t)

    def record_anomaly(
        self, code: AnomalyCode, message: str, *, name: str = "input", source: object = None, t: float | None = None
    ) -> JournalEntry:
        """Journal an anomaly found outside the tracker (a log line that is not JSON, say)."""
        return self._record(name, source, _ANOMALY, code, message, t=t)


_ROUTES: Final[Mapping[type, Callable[[CallTracker, Any, float | None], JournalEntry]]] = {
    DialoutConnected: CallTracker._dialout_event,
    DialoutAnswered: CallTracker._dialout_event,
    DialoutStopped: CallTracker._dialout_event,
    DialoutError: CallTracker._dialout_event,
    DialoutWarning: CallTracker._dialout_event,
    DialinConnected: CallTracker._dialin_connected,
    DialinStopped: CallTracker._dialin_event,
    DialinError: CallTracker._dialin_event,
    DialinWarning: CallTracker._dialin_event,
    DtmfReceived: CallTracker._dtmf_event,
    ParticipantJoined: CallTracker._participant_event,
    ParticipantLeft: CallTracker._participant_event,
    LeftMeeting: CallTracker._left_meeting,
    DialinReady: CallTracker._dialin_ready,
}


class _Model:
    """A bare model object for the ``transitions`` engine (one per live session)."""

    state: State


def _valid_time(t: object) -> float | None:
    """``t`` as a finite float, or ``None`` for anything else (a time that is not one is ignored)."""
    if type(t) is float and t - t == 0.0:  # finite: inf - inf and nan - nan are nan
        return t
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        return None
    try:
        value = float(t)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _anomaly_note(session: Session, input_: Input, code: str | None) -> str:
    where = f"{session.kind.value} {session.session_id or '#' + str(session.index)}"
    if code == AnomalyCode.LATE_EVENT:
        return f"{_VALUE[input_]} for {where} after it ended ({session.state.value})"
    if code == AnomalyCode.DUPLICATE_EVENT:
        return f"{_VALUE[input_]} again for {where} (already {session.state.value})"
    return f"{_VALUE[input_]} for {where} in state {session.state.value}"


def _check_completion(completion: CallCompleted) -> str | None:
    if completion.call not in _CALL_INPUTS:
        return f"not a call: {short_repr(completion.call)}"
    for field in ("session_id", "error", "ref"):
        value = getattr(completion, field)
        if value is not None and not isinstance(value, str):
            return f"completion {field} must be a string or null, got {short_repr(value)}"
    return None
