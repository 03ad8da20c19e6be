"""What a reader gets: :class:`Session` (one call) and :class:`JournalEntry` (one input and what it did).

Sessions are changed only by the tracker that created them, through the
modules that own its fields (see :mod:`dialfsm._core`); everything here is
for reading.  Entries are rebuilt from the rows the journal keeps
(:mod:`dialfsm._journal`) each time they are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

from dialfsm._errors import ErrorCode
from dialfsm._inputs import Ref, StartDialout
from dialfsm._journal import CODE_OF, DECODERS, DISPOSITION_OF, INPUT_BY_VALUE, START_CODEC, STATE_OF, JournalRow
from dialfsm._machine import ENGINES, STEP_KINDS, FastCell
from dialfsm._settings import DialoutSettings
from dialfsm._table import (
    ANSWERED_STATES,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    Origin,
    Outcome,
    SessionKind,
    State,
)

__all__ = ["JournalEntry", "Session", "entries", "entry_of"]


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
        return INPUT_BY_VALUE.get(self.name)

    def __repr__(self) -> str:
        where = "" if self.session is None else f" {self.source} -> {self.dest}"
        code = "" if self.code is None else f" {self.code}"
        return f"<JournalEntry #{self.seq} {self.name} {self.disposition.value}{code}{where}>"


#: Builds a JournalEntry from a 12-tuple without NamedTuple's Python-level ``__new__``.
new_entry: Final = tuple.__new__


def _start_of(session: Session, values: tuple[Any, ...]) -> object:
    """The ``start_dialout`` a row of codec ``START_CODEC`` keeps: its ref, with its session's settings."""
    return StartDialout(settings=session._settings, ref=values[0])  # type: ignore[arg-type]


def entry_of(row: JournalRow, session: Session) -> JournalEntry:
    """The JournalEntry a row keeps (``session`` is the one it reached)."""
    seq, name, step, code, message, t, line, codec, values = row
    disposition, source, dest = STEP_KINDS[step]
    states = STATE_OF[session.kind]
    return new_entry(
        JournalEntry,
        (
            seq,
            name,
            values if codec < 0 else _start_of(session, values) if codec == START_CODEC else DECODERS[codec](values),
            DISPOSITION_OF[disposition],
            code if code is None else CODE_OF.get(code, code),
            message,
            t,
            line,
            session,
            states[source],
            states[dest],
            None,
        ),
    )


def entries(items: Iterable[Any] | list[Any] | tuple[Any, ...]) -> tuple[JournalEntry, ...]:
    """The entries of journal items (``(session, row)`` or ``(None, entry)`` pairs, flattened)."""
    items = items if isinstance(items, (list, tuple)) else tuple(items)
    pairs = zip(items[::2], items[1::2], strict=True)
    return tuple([kept if session is None else entry_of(kept, session) for session, kept in pairs])


class Session:
    """One call: a dial-out the bot placed or a dial-in that reached the room.

    Sessions are created and changed only by their :class:`~dialfsm.CallTracker`;
    read them freely.  ``state`` and ``outcome`` answer "where does this call
    stand"; ``history`` says how it got there.
    """

    __slots__ = (
        "_answered_at",
        "_deadline",
        "_dispatch",
        "_dtmf",
        "_ended_at",
        "_error",
        "_error_code",
        "_extra",  # what few sessions have, made on first use: see __init__
        "_history",
        "_live_transfers",
        "_model",
        "_origin",
        "_outcome",
        "_owner",
        "_session_id",
        "_settings",
        "_start_key",
        "_start_ref",
        "_started_at",
        "_state",
        "_states",
        "_stop_requested",
        "_timer",
        "_timer_seq",
        "_warnings",
        "attempt",
        "index",
        "kind",
        "next_attempt",
        "previous",
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
    next_attempt: Session | None

    def __init__(
        self,
        kind: SessionKind,
        index: int,
        dispatch: Mapping[State, Mapping[Input, FastCell]] | None = None,
        settings: DialoutSettings | None = None,
    ) -> None:
        self.kind = kind
        self.index = index
        self._dispatch = ENGINES[kind].fast if dispatch is None else dispatch
        self._settings = settings
        self._session_id: str | None = None
        initial: State = DialoutState.IDLE if kind is SessionKind.DIALOUT else DialinState.IDLE
        self._state: State = initial
        self._states: list[State] = [initial]
        self._outcome: Outcome | None = None
        self._error: str | None = None
        self._error_code: ErrorCode | None = None
        self._history: list[JournalRow] = []  # rows: see dialfsm._journal
        self._warnings: list[str] | None = None  # created on the first warning
        self._dtmf: list[str] | None = None  # created on the first tone
        self._stop_requested = False
        self._live_transfers = 0
        self._model: Any = None  # engine="transitions": this session's model on its tracker's Machine
        self._deadline: float | None = None
        self._timer: Input | None = None
        self._timer_seq = 0  # the arming order, to break ties between equal deadlines
        self._owner: object = None  # the tracker that created it
        self._start_ref: Ref | None = None  # what its start call was registered under: a ref string, a CallKey
        self._start_key: int | None = None  # the seq of its start call's journal entry (names it in a recording)
        self._origin = Origin.BOT if kind is SessionKind.DIALOUT else Origin.CALLER
        self._started_at: float | None = None
        self._answered_at: float | None = None
        self._ended_at: float | None = None
        # On first use: "destination", "caller_id", "room", "details", "transferred_from/_to", "legs", "retry".
        self._extra: dict[str, Any] | None = None
        self.attempt = 1
        self.previous = None
        self.next_attempt = None

    @property
    def session_id(self) -> str | None:
        """Daily's session id (the SIP/PSTN participant's), once known."""
        return self._session_id

    @property
    def origin(self) -> Origin:
        """Where the call came from: placed by this tracker's bot, adopted, a transfer's new leg, or a caller."""
        return self._origin

    @property
    def started_at(self) -> float | None:
        """When the call started (the ``t`` of its first input, on the inputs' clock), if a time was known."""
        return self._started_at

    @property
    def answered_at(self) -> float | None:
        """When it was answered (a dial-in: its caller joined), if it was and a time was known."""
        return self._answered_at

    @property
    def ended_at(self) -> float | None:
        """When it ended, if it has and a time was known."""
        return self._ended_at

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (to the tracker's latest time while live); ``None`` without times."""
        end = self._ended_at
        if end is None and self._outcome is None:
            owner_now = getattr(self._owner, "_now", None)
            end = owner_now if isinstance(owner_now, float) else None
        return None if end is None or self._started_at is None else max(0.0, end - self._started_at)

    @property
    def talk_time(self) -> float | None:
        """Seconds from the answer (dial-in: the join) to the end, or to the latest time while live.

        ``None`` if the call was never answered.
        """
        if self._answered_at is None:
            return None
        end = self._ended_at
        if end is None and self._outcome is None:
            owner_now = getattr(self._owner, "_now", None)
            end = owner_now if isinstance(owner_now, float) else None
        return None if end is None else max(0.0, end - self._answered_at)

    def _get(self, key: str) -> Any:
        return None if self._extra is None else self._extra.get(key)

    @property
    def destination(self) -> str | None:
        """Who was dialled: the settings' phone number or SIP URI, else a payload's ``destination``."""
        settings = self._settings
        if settings is not None:
            return settings.phone_number or settings.sip_uri
        found: str | None = self._get("destination")
        return found

    @property
    def caller_id(self) -> str | None:
        """The caller id: a dial-out's ``callerId`` (settings or payload), a dial-in's SIP From."""
        settings = self._settings
        if settings is not None and settings.caller_id is not None:
            return settings.caller_id
        found: str | None = self._get("caller_id")
        return found

    @property
    def room(self) -> str | None:
        """The Daily room, when a payload named it (webhooks do)."""
        found: str | None = self._get("room")
        return found

    @property
    def error_details(self) -> dict[str, Any] | None:
        """The last error event's ``details`` (``destination``, ``sipHeaders``...), as Daily sent them."""
        text = self._get("details")
        import json  # noqa: PLC0415  (a property few read: json is not loaded at import)

        return None if text is None else json.loads(text)

    @property
    def transferred_from(self) -> Session | None:
        """For a transfer's new leg (origin ``transfer``), the session it was transferred from."""
        found: Session | None = self._get("transferred_from")
        return found

    @property
    def transferred_to(self) -> Session | None:
        """The newest leg a SIP call transfer of this session created, once its events came."""
        found: Session | None = self._get("transferred_to")
        return found

    @property
    def retry_pending(self) -> bool:
        """Whether the retry policy suggested another attempt that has not started (nor been withdrawn)."""
        return self._get("retry") is not None and self.next_attempt is None

    @property
    def retry_not_before(self) -> float | None:
        """When the suggested retry is due (on the inputs' clock), while :attr:`retry_pending`."""
        retry = self._get("retry") if self.next_attempt is None else None
        return None if retry is None else retry.not_before

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
    def answered(self) -> bool:
        """Whether the call was answered (a dial-in: its caller joined), now or earlier."""
        return not ANSWERED_STATES[self.kind].isdisjoint(self._states)

    @property
    def stop_requested(self) -> bool:
        """Whether the bot asked to stop the call (``stop_dialout``); a ring timeout's stop is not the bot's."""
        return self._stop_requested

    @property
    def retry(self) -> Session | None:
        """The attempt that retried this one: an alias of :attr:`next_attempt` (the name of 0.1.0)."""
        return self.next_attempt

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
        return tuple([entry_of(row, self) for row in self._history[:]])

    @property
    def warnings(self) -> tuple[str, ...]:
        """The text of every warning Daily reported for this session."""
        return () if self._warnings is None else tuple(self._warnings)

    @property
    def dtmf(self) -> tuple[str, ...]:
        """Every DTMF tone received from the far end, in order."""
        return () if self._dtmf is None else tuple(self._dtmf)

    def __repr__(self) -> str:
        return (
            f"<Session {self.kind.value} #{self.index} id={self._session_id!r} "
            f"state={self._state.value} outcome={self._outcome and self._outcome.value}>"
        )

    # --- pickling ---------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Every field but the compiled dispatch and the engine model (rebuilt when loaded)."""
        return {name: getattr(self, name) for name in self.__slots__ if name not in ("_dispatch", "_model")}

    def __setstate__(self, state: object) -> None:
        """Load a pickled session: this version's fields, or the slots dialfsm 0.1.0 pickled."""
        fields = dict(state[1]) if isinstance(state, tuple) else dict(state)  # type: ignore[call-overload]
        fields.pop("_answered", None)  # derived from the states since 0.2
        fields.setdefault("_origin", Origin.BOT if fields["kind"] is SessionKind.DIALOUT else Origin.CALLER)
        for name in ("_started_at", "_answered_at", "_ended_at", "_extra"):
            fields.setdefault(name, None)
        if "retry" in fields:
            fields["next_attempt"] = fields.pop("retry")
        fields.pop("_dispatch", None)
        fields.pop("_model", None)
        fields.setdefault("_start_key", None)  # new in 0.3
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        self._dispatch = ENGINES[self.kind].fast
        self._model = None
        # engine="transitions": a live session needs its model on its tracker's Machine.  Whichever of
        # the two is loaded last attaches it (pickle loads them in either order; see CallTracker.__setstate__).
        owner = self._owner
        if getattr(owner, "_machines", None) is not None and self._outcome is None:
            owner._attach_model(self)  # type: ignore[attr-defined]
