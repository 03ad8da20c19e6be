"""The call tracker: the public facade over a tracker's state and the modules that change it.

:class:`CallTracker` owns the sessions of one Daily room (one ``CallClient`` /
one pipecat ``DailyTransport``).  It reads three kinds of input:

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

Where the work is done (each module says what it owns): parsing payloads in
:mod:`dialfsm._parse`, picking the session in :mod:`dialfsm._routing`, the
guards and completions in :mod:`dialfsm._guards`, the step, timers and
journal in :mod:`dialfsm._step`, all on the fields of :mod:`dialfsm._core`.
This module adds the public API and nothing else, except :meth:`~CallTracker.handle`'s
inline fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from dialfsm._calls import CALLS, CallSpec, PendingCall, PendingCalls
from dialfsm._core import MAX_LISTENER_ERRORS, EngineModel, TrackerCore
from dialfsm._errors import CallRefused, RefusalCode
from dialfsm._guards import (
    GUARDS,
    GuardResult,
    accept,
    accept_unguarded,
    complete,
    completion_name,
    completion_problem,
    guard,
    pair,
    unreadable,
)
from dialfsm._inputs import CallCompleted, CallKey, DailyEvent, Ref
from dialfsm._journal import ENCODERS, copy_items
from dialfsm._machine import STEP_KINDS
from dialfsm._parse import PARSER_BY_NAME, ParseProblem, event_name, from_daily, to_daily
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._records import call_record, completion_record, withdraw_record
from dialfsm._routing import ROUTES
from dialfsm._session import JournalEntry, Session, entries, entry_of
from dialfsm._settings import DialoutSettings, DtmfSettings, SipCallTransferSettings, SipReferSettings
from dialfsm._slots import fields_maker
from dialfsm._step import clock, extra, fire_due, record
from dialfsm._table import AnomalyCode, Disposition, Input
from dialfsm._text import describe_error, finite_float, plain_str, short_repr, type_name
from dialfsm._timers import TimerHeap

__all__ = ["CallTracker", "JournalEntry", "Session"]

#: ``CallCompleted(call=..., session_id=..., error=..., ref=...)`` from its fields in order (dialfsm._slots).
_COMPLETED: Final[Callable[[tuple[Any, ...]], CallCompleted]] = fields_maker(CallCompleted)  # type: ignore[assignment]
_START_DIALOUT: Final = Input.START_DIALOUT
_ANOMALY: Final = Disposition.ANOMALY
_REFUSED: Final = Disposition.REFUSED
_JOURNALED: Final = Disposition.JOURNALED

#: The names pickles written by dialfsm 0.1.0 use for these classes.
_Pending = PendingCall
_Model = EngineModel


def _label(name: object) -> str:
    """An input's name for the journal: a short plain string, whatever ``name`` is."""
    if type(name) is str and len(name) <= 64:
        return name
    try:
        if isinstance(name, str) and len(plain_str(name)) <= 64:
            return plain_str(name)
    except Exception:  # noqa: BLE001  (a hostile str subclass)
        return f"<{type_name(name)}>"
    return short_repr(name)


_ATOMS: Final = (str, int, float, type(None))


def _plain_event(event: object) -> bool:
    """Whether every field of a typed event holds a plain value (no subclass whose methods could run)."""
    encoder = ENCODERS.get(type(event))
    try:
        return encoder is None or all(type(value) in _ATOMS for value in encoder[1](event))
    except Exception:  # noqa: BLE001  (a field never set: routed as it is, which reads only what it needs)
        return True


def _plain_completion(completion: CallCompleted) -> CallCompleted:
    """``completion`` with ``str`` subclasses as the plain strings they hold (their methods never run again)."""
    session_id, error, ref = completion.session_id, completion.error, completion.ref
    if (
        (session_id is None or type(session_id) is str)
        and (error is None or type(error) is str)
        and (ref is None or type(ref) is str or type(ref) is CallKey)
    ):
        return completion  # the common case, at once
    fields = (session_id, error, ref)
    if not any(isinstance(value, str) and type(value) is not str for value in fields):
        return completion
    ref = plain_str(completion.ref) if isinstance(completion.ref, str) else completion.ref
    return CallCompleted(
        call=completion.call,
        session_id=None if completion.session_id is None else plain_str(completion.session_id),
        error=None if completion.error is None else plain_str(completion.error),
        ref=ref,
    )


class CallTracker(TrackerCore):
    """Tracks every dial-out and dial-in of one Daily room.

    Args:
        max_dialouts: How many dial-outs may be live (not terminal) at once;
            one more is refused with ``DIALOUT_IN_PROGRESS``.
        allow_dialout: ``False`` refuses every ``start_dialout`` / ``stop_dialout``
            with ``NOT_ALLOWED`` (a room without ``enable_dialout``).
        engine: ``"compiled"`` (default) runs the dispatch compiled from the
            ``transitions`` machines; ``"transitions"`` fires every row through
            a ``transitions.Machine`` of the tracker's own (slower; same results).
        journal_limit: Keep only the latest N journal entries (``None``: all).
            Sessions keep their own history either way; an entry listener can
            offload the full journal (a recorder, a log).
        keep_history: ``False`` keeps no per-session history, warnings or DTMF
            tones (``states`` still records every state visited, and the journal
            and entry listeners see everything): memory per session stays
            constant however many inputs it reads, as replaying huge logs needs.
        finished_limit: Forget the oldest finished sessions beyond N (``None``:
            keep all).  Events for a forgotten session are ``UNKNOWN_SESSION``.
        timeouts: The timers (start watchdog, ring, stop); ``None`` disables them.
            They run on the inputs' ``t`` and :meth:`advance`.
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

    # --- reading the tracker ---------------------------------------------------------

    def __iter__(self) -> Iterator[Session]:
        """Every session, in order of creation (a copy taken at once: safe while another thread feeds it)."""
        return iter(tuple(self._sessions.values()))

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
        """Every session, in order of creation (copied at once: safe while another thread feeds the tracker)."""
        return tuple(self._sessions.values())

    @property
    def live(self) -> tuple[Session, ...]:
        """The sessions not yet in a terminal state, in order of creation (copied at once, like :attr:`sessions`)."""
        return tuple(self._live.values())

    @property
    def journal(self) -> tuple[JournalEntry, ...]:
        """Every input read, in order, with what it did (the last ``journal_limit`` with a limit).

        Each read builds every entry (a microsecond or a few each); to follow a long
        journal, read only what is new with :meth:`journal_since` or use an entry listener.
        """
        return entries(copy_items(self._journal))

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
        items: list[Any] | tuple[Any, ...] = (
            self._journal if isinstance(self._journal, list) else copy_items(self._journal)
        )
        if not items:
            return ()
        return entries(items[2 * max(0, seq - items[1][0]) :])

    def _kept_with(self, disposition: Disposition) -> tuple[JournalEntry, ...]:
        atom = disposition.value
        found: list[JournalEntry] = []
        items = copy_items(self._journal)
        for session, kept in zip(items[::2], items[1::2], strict=True):
            if session is None:
                if kept.disposition is disposition:
                    found.append(kept)
            elif STEP_KINDS[kept[2]][0] == atom:
                found.append(entry_of(kept, session))
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

    @property
    def line(self) -> int | None:
        """The replay-log line being read, which journal entries record (set by replay; ``None`` live)."""
        return self._line

    @line.setter
    def line(self, number: int | None) -> None:
        self._line = number

    # --- Daily's events ---------------------------------------------------------------

    def handle(self, name: object, data: object = None, *, t: float | None = None) -> JournalEntry:
        """Read one Daily event, by name and payload, in any dialect.  Never raises.

        Args:
            name: ``"dialout-answered"``, ``"on_dialout_answered"`` or ``"dialout.answered"``.
            data: The payload as the SDK or webhook delivered it.
            t: When it happened (seconds, any epoch), for the journal and the timers.

        Returns:
            The journal entry recording what it did.

        """
        # Hot: the parser is found with one dict lookup (every spelling of every name is a key),
        # and the route with one more; nothing else runs between them and the step.
        if t is not None:
            t = finite_float(t)
        if self._input_listeners:
            self._notify_input({"event": name, "data": data}, t)
        if t is not None:
            clock(self, t)
        try:
            found = PARSER_BY_NAME.get(name) if type(name) is str else None
            event = found[1](found[0], data) if found is not None else from_daily(name, data)
        except ParseProblem as problem:
            return record(self, _label(name), (name, data), _ANOMALY, problem.code, problem.message, t=t)
        except Exception as exc:  # noqa: BLE001  (a payload no parser foresaw must not raise into the SDK)
            message = f"payload could not be read: {type(exc).__name__}: {short_repr(str(exc))}"
            return record(self, _label(name), (name, data), _ANOMALY, AnomalyCode.MALFORMED_INPUT, message, t=t)
        self._input_name, self._input_data = name, data  # routing may ask their dialect (adoption)
        try:
            return ROUTES[type(event)](self, event, t)
        except Exception as exc:  # noqa: BLE001  (the event path must never raise into an SDK)
            return self._internal_error(event, exc, t)
        finally:
            self._input_name = self._input_data = None  # never kept: a payload is the caller's

    def receive(self, event: DailyEvent, *, t: float | None = None) -> JournalEntry:
        """Read one typed Daily event.  Never raises.

        An event whose fields are not plain values (a ``str`` subclass, a number
        where a string belongs) is read back through its payload, as
        :meth:`handle` would read it.

        Returns:
            The journal entry recording what it did.

        """
        if t is not None:
            t = finite_float(t)
        route = ROUTES.get(type(event))
        if self._input_listeners:
            try:
                record_: dict[str, Any] = {"event": event_name(event), "data": to_daily(event)}
            except Exception:  # noqa: BLE001  (not a typed event: the tracker journals it as malformed)
                record_ = {"event": type_name(event), "data": short_repr(event)}
            if route is None:
                record_["anomaly"] = AnomalyCode.MALFORMED_INPUT.value
            self._notify_input(record_, t)
        if t is not None:
            clock(self, t)
        self._input_name = self._input_data = None  # a typed event: the SDK's dialect
        try:
            if route is None:
                raise TypeError(f"not a Daily event: {short_repr(event)}")
            if not _plain_event(event):
                name = event_name(event)
                try:
                    event = from_daily(name, to_daily(event))
                except ParseProblem as problem:
                    return record(self, name, event, _ANOMALY, problem.code, problem.message, t=t)
            return route(self, event, t)
        except Exception as exc:  # noqa: BLE001  (the event path must never raise into an SDK)
            return self._internal_error(event, exc, t)

    def _internal_error(self, event: object, exc: Exception, t: float | None) -> JournalEntry:
        message = f"internal error handling {type_name(event)}: {describe_error(exc)}"
        return record(self, type_name(event), event, _ANOMALY, AnomalyCode.MALFORMED_INPUT, message, t=t)

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
        return self.place(Input.START_DIALOUT, settings, ref=ref, t=t, retry_of=retry_of)[0]

    def stop_dialout(self, session: Session | str, *, ref: str | None = None, t: float | None = None) -> Session:
        """Guard and register the bot's ``stop_dialout`` of a session (or its id).

        Raises:
            CallRefused: ``INVALID_SETTINGS`` (not a session id), ``NOT_FOUND``,
                ``NOT_ALLOWED``, ``INVALID_STATE`` (already stopped, no id yet, a dial-in).

        """
        return self.place(Input.STOP_DIALOUT, session, ref=ref, t=t)[0]

    def send_dtmf(
        self, settings: Mapping[str, Any] | DtmfSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``send_dtmf``; the session must be answered (dial-in: joined).

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        return self.place(Input.SEND_DTMF, settings, ref=ref, t=t)[0]

    def sip_call_transfer(
        self, settings: Mapping[str, Any] | SipCallTransferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``sip_call_transfer``; the session must be answered or joined.

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        return self.place(Input.SIP_CALL_TRANSFER, settings, ref=ref, t=t)[0]

    def sip_refer(
        self, settings: Mapping[str, Any] | SipReferSettings, *, ref: str | None = None, t: float | None = None
    ) -> Session:
        """Guard and register the bot's ``sip_refer``; the session must be answered or joined.

        Raises:
            CallRefused: ``INVALID_SETTINGS``, ``NOT_FOUND``, ``INVALID_STATE``.

        """
        return self.place(Input.SIP_REFER, settings, ref=ref, t=t)[0]

    def place(
        self,
        call: Input,
        argument: object,
        *,
        ref: Ref | None = None,
        t: float | None = None,
        retry_of: Session | Ref | None = None,
        refused: RefusalCode | None = None,
    ) -> tuple[Session, object]:
        """Guard and register any of the bot's calls: the one path the five call methods share.

        Args:
            call: Which call (``Input.SEND_DTMF``...; see ``dialfsm._calls.CALLS``).
            argument: Its settings (a mapping or the settings class), or for
                ``stop_dialout`` the session (or its id).
            ref: A name pairing this call with its completion (optional): a
                string, or a :class:`~dialfsm.CallKey` (a replayed log's ``"key"``).
            t: When the call was made (seconds).
            retry_of: For ``start_dialout``, the failed attempt it retries.
            refused: Refuse the call with this code whatever the guards say now
                (replay: the log says it was refused live, and redaction may have
                made its settings valid).

        Returns:
            The session, and the typed call (:class:`~dialfsm.SendDtmf`...) whose
            ``settings`` are the validated settings to send to Daily.

        Raises:
            CallRefused: as the call's own method says; nothing changed.
            KeyError: ``call`` is not one of the bot's calls.

        """
        spec = CALLS[call]
        if t is not None:
            t = finite_float(t)
            if t is not None:
                clock(self, t)
        try:  # the guards, inline (guard() without its call frame: one per call the bot makes)
            outcome: GuardResult = GUARDS[call](self, argument, ref, retry_of)
        except CallRefused as refusal:
            outcome = refusal
        except (Exception, RecursionError) as exc:  # noqa: BLE001  (hostile settings: refused, never raised raw)
            outcome = unreadable(call, exc)
        if refused is not None and (not isinstance(outcome, CallRefused) or outcome.code is not refused):
            outcome = CallRefused(refused, f"refused when it was recorded ({refused.value})", call=spec.name)
        key = self._seq  # what names the call in a recording (a failing listener may journal before it)
        if self._input_listeners:
            self._notify_input(call_record(spec, argument, ref, retry_of, outcome, key), t)
        if isinstance(outcome, CallRefused):
            raw = argument.session_id if isinstance(argument, Session) else argument
            record(self, spec.name, raw, _REFUSED, outcome.code.value, outcome.message, t=t)
            raise outcome
        typed, target, previous = outcome
        return accept(self, typed, target, previous, t, ref if type(ref) is CallKey else None, key), typed

    def observe_call(
        self,
        call: Input,
        argument: object,
        *,
        ref: Ref | None = None,
        t: float | None = None,
        retry_of: Session | Ref | None = None,
        refused: RefusalCode | None = None,
    ) -> Session | None:
        """Journal a call the bot made on its SDK directly, past dialfsm's guards.  Never raises.

        The SDK adapters call it when a bot keeps calling ``transport.start_dialout``
        (or the other four) itself: such a call is never blocked, since it has already
        gone to Daily.  When its guards pass, it is tracked exactly as :meth:`place`
        tracks it.  When they would have refused it, the refusal is journaled as an
        ``UNGUARDED_CALL`` anomaly (its message names the refusal's code), and the call
        is still tracked as far as it can be: a start creates its dial-out, so its
        completion and Daily's events have a session; another call waits for its
        completion on the session it names, without moving it.

        ``refused`` (replay): the guards refused it with this code when it was recorded,
        whatever they say now (a name it was given may be free again on replay).

        Returns:
            The session the call acts on (a start's new one), or ``None`` if it names none.

        """
        spec = CALLS[call]
        try:
            if t is not None:
                t = finite_float(t)
                if t is not None:
                    clock(self, t)
            outcome = guard(self, call, argument, ref, retry_of)
            if refused is not None and (not isinstance(outcome, CallRefused) or outcome.code is not refused):
                outcome = CallRefused(refused, f"refused when it was recorded ({refused.value})", call=spec.name)
            key = self._seq  # what names the call in a recording
            if self._input_listeners:
                self._notify_input(self._unguarded_record(spec, argument, ref, retry_of, outcome, key), t)
            if isinstance(outcome, CallRefused):
                raw = argument.session_id if isinstance(argument, Session) else argument
                message = f"{outcome.code.value}: {outcome.message}"
                record(self, spec.name, raw, _ANOMALY, AnomalyCode.UNGUARDED_CALL, message, t=t)
                return accept_unguarded(self, call, argument, ref, t, key)
            typed, target, previous = outcome
            return accept(self, typed, target, previous, t, ref if type(ref) is CallKey else None, key)
        except Exception as exc:  # noqa: BLE001  (the bot's call already went to Daily: never raise here)
            message = f"internal error observing {spec.name}: {type(exc).__name__}"
            raw = short_repr(argument)
            return record(self, spec.name, raw, _ANOMALY, AnomalyCode.MALFORMED_INPUT, message, t=t).session

    def _unguarded_record(
        self, spec: CallSpec, argument: object, ref: object, retry_of: object, outcome: object, key: int
    ) -> dict[str, Any]:
        """The record of an observed call: a refusal says its code; it is named as it is registered."""
        line = call_record(spec, argument, ref, retry_of, outcome, key)
        kept = ref  # the name it is registered under: accept_unguarded drops one a waiting call holds
        if isinstance(outcome, CallRefused) and not (
            isinstance(ref, (str, CallKey)) and not self._pending.ref_waiting(ref)
        ):
            kept = None
            line.pop("ref", None)
        line["key"] = kept.value if type(kept) is CallKey else key
        line["unguarded"] = True
        return line

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
            t = finite_float(t)
        try:
            if t is not None:
                clock(self, t)  # timers due first: one may end (and forget) the session the call was on
            problem = completion_problem(completion)
            if problem is None:
                completion = _plain_completion(completion)
            pending = None if problem is not None else pair(self, completion, session)
            if self._input_listeners:
                self._notify_input(completion_record(completion, pending, problem), t)
            if problem is not None:
                name = completion_name(completion)
                return record(self, name, completion, _ANOMALY, AnomalyCode.MALFORMED_INPUT, problem, t=t)
            return complete(self, completion, pending, t)
        except Exception as exc:  # noqa: BLE001  (completions come from SDK callbacks)
            message = f"internal error handling a completion: {describe_error(exc)}"
            return record(self, "completion", completion, _ANOMALY, AnomalyCode.MALFORMED_INPUT, message, t=t)

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
        completion = _COMPLETED((_START_DIALOUT, session_id, error, ref))  # CallCompleted(...), through its slots
        return self.complete(completion, session=session, t=t)

    def stop_completed(
        self,
        session: Session | None = None,
        error: str | None = None,
        *,
        ref: Ref | None = None,
        t: float | None = None,
    ) -> JournalEntry:
        """Report ``stop_dialout``'s completion ``(error,)``.  Never raises.

        ``ref`` is the stop's ref: a string the bot gave it, or a ring timeout's
        :attr:`StopCall.ref <dialfsm.StopCall.ref>` (a :class:`~dialfsm.CallKey`).
        """
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

    # --- time ----------------------------------------------------------------------------

    def advance(self, now: float) -> tuple[JournalEntry, ...]:
        """Tell the tracker the time is ``now``; fire every timer due by then.  Never raises.

        Inputs with a ``t`` do this too, before they are applied; call ``advance``
        from the bot's own clock (an asyncio timer at :attr:`next_deadline`, say)
        when no input may come.  Input listeners see ``{"t": now}``, which a
        replay log reads back as the same tick.

        Returns:
            The journal entries of the timers that fired, in order.

        """
        valid = finite_float(now)
        if valid is None:
            return ()
        if self._input_listeners:
            self._notify_input({}, valid)
        if self._now is None or valid > self._now:
            self._now = valid
        return tuple(fire_due(self, valid))

    @property
    def now(self) -> float | None:
        """The latest time the tracker was told (the greatest ``t`` seen), if any."""
        return self._now

    @property
    def next_deadline(self) -> float | None:
        """When the next armed timer fires (seconds on the inputs' clock), or ``None``."""
        return self._timers.next_deadline(self._sessions)

    # --- saved state ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The tracker's state as JSON-able data, with a format version, to :meth:`restore` later.

        Carries every session, pending call, timer, queued effect and the journal
        position; not the journal's entries, histories or listeners.
        """
        from dialfsm._snapshot import snapshot  # noqa: PLC0415  (cold: loaded when first used)

        return snapshot(self)

    @classmethod
    def restore(cls, data: object) -> CallTracker:
        """A tracker resuming exactly where :meth:`snapshot` left off.

        Raises:
            SnapshotError: a snapshot of a newer format version, or a corrupt one;
                no tracker is returned half-restored.

        """
        from dialfsm._snapshot import restore  # noqa: PLC0415  (cold: loaded when first used)

        return restore(data, cls)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle every field but the ``transitions`` Machines (rebuilt, with their models, when loaded)."""
        state = dict(self.__dict__)
        state.pop("_machines", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load a pickled tracker: this version's fields, or those of a tracker pickled by dialfsm 0.1.0."""
        state = dict(state)
        if "_engines" in state:
            _migrate_0_1_0(state)
        for name, default in _ADDED_FIELDS.items():  # fields newer than the pickle
            state.setdefault(name, default())
        errors = state.get("listener_errors", [])
        state.setdefault("listener_error_count", len(errors))  # new in 0.3
        state["listener_errors"] = errors[-MAX_LISTENER_ERRORS:]
        self.__dict__.update(state)
        self._machines = self._own_machines()
        if self._machines is not None:
            for session in self._live.values():
                if hasattr(session, "kind") and session._model is None:  # a session not yet loaded attaches itself
                    self._attach_model(session)

    # --- effects -------------------------------------------------------------------------

    @property
    def queued_effects(self) -> tuple[Effect, ...]:
        """The effects queued and not yet taken, oldest first; reading them takes none (see :meth:`take_effects`)."""
        return tuple(self._effects)

    def take_effects(self) -> list[Effect]:
        """The effects queued since the last call (stop a call, retry a dial-out), oldest first.

        A stop whose call has ended meanwhile is withdrawn (see :meth:`withdraw`), not handed over,
        unless it is marked ``after_end`` (a start Daily completed late may be ringing).
        """
        effects, self._effects = self._effects, []
        kept = []
        for effect in effects:
            if isinstance(effect, StopCall) and effect.session.is_terminal and not effect.after_end:
                self.withdraw(effect, reason="the call ended before it was stopped")
            else:
                kept.append(effect)
        return kept

    def withdraw(self, effect: Effect, *, reason: str = "not carried out", t: float | None = None) -> JournalEntry:
        """Tell the tracker an effect will not be carried out; journaled (``JOURNALED``).  Never raises.

        For a :class:`StopCall`, the stop the tracker registered then waits for
        no completion (a stop for a call that already ended is never sent).  The
        effect leaves the queue if it is still there.  For a :class:`RetryDialout`, the
        failed session's ``retry_pending`` turns false.  No session changes state.
        """
        t = None if t is None else finite_float(t)
        text = plain_str(reason) if type(reason) is str and len(reason) <= 200 else short_repr(reason)
        if self._input_listeners:
            self._notify_input(withdraw_record(effect, text), t)
        if t is not None:
            clock(self, t)
        if not isinstance(effect, (StopCall, RetryDialout)):
            return record(self, "withdraw", effect, _ANOMALY, AnomalyCode.MALFORMED_INPUT, "not an effect", t=t)
        self._effects = [e for e in self._effects if e is not effect]
        if isinstance(effect, StopCall) and effect.ref is not None:
            self._pending.withdraw(effect.ref)
        if isinstance(effect, RetryDialout) and effect.previous._get("retry") is effect:
            extra(effect.previous)["retry"] = None  # no longer retry_pending: no attempt will follow
        kind = "stop" if isinstance(effect, StopCall) else "retry"
        return record(self, f"{kind} withdrawn", effect, _JOURNALED, message=text, t=t)

    # --- the journal, for what the machines do not model -----------------------------------

    def note(self, name: str, source: object = None, *, t: float | None = None) -> JournalEntry:
        """Journal something the machines do not model (a ``calltransfer.*`` webhook, an app marker).

        Disposition ``JOURNALED``; no session changes.  Never raises.  Input
        listeners see it as ``{"note": name, "data": source}``.
        """
        t = None if t is None else finite_float(t)
        label = _label(name)
        if self._input_listeners:
            self._notify_input({"note": label, "data": source}, t)
        if t is not None:
            clock(self, t)
        return record(self, label, source, _JOURNALED, t=t)

    def record_anomaly(
        self, code: AnomalyCode, message: str, *, name: str = "input", source: object = None, t: float | None = None
    ) -> JournalEntry:
        """Journal an anomaly found outside the tracker (a log line that is not JSON, say).  Never raises.

        Input listeners see it as ``{"anomaly": code, "name": name, "message": message, "data": source}``.
        """
        t = None if t is None else finite_float(t)
        code = code if isinstance(code, AnomalyCode) else AnomalyCode.MALFORMED_INPUT
        label = _label(name)
        text = plain_str(message) if type(message) is str else short_repr(message)
        if self._input_listeners:
            self._notify_input({"anomaly": code.value, "name": label, "message": text, "data": source}, t)
        if t is not None:
            clock(self, t)
        return record(self, label, source, _ANOMALY, code, text, t=t)

    def _journal_listener_failure(self, exc: Exception) -> None:
        message = (
            f"a listener raised {describe_error(exc)}; later failures are only counted "
            f"(listener_error_count) and the latest {MAX_LISTENER_ERRORS} kept (listener_errors)"
        )
        record(self, "listener error", None, _JOURNALED, message=message)


#: Fields added since 0.1.0, with how to make their value for a tracker pickled without them.
_ADDED_FIELDS: Final[Mapping[str, Callable[[], object]]] = {
    "adopt_unknown_dialouts": lambda: "webhook",
    "_awaiting_legs": dict,
    "_early_joins": dict,
    "_input_name": lambda: None,
    "_input_data": lambda: None,
}


def _migrate_0_1_0(state: dict[str, Any]) -> None:
    """Turn the fields of a tracker pickled by dialfsm 0.1.0 into this version's, in place."""
    state.pop("_engines")
    pending = PendingCalls()
    for queue in state.pop("_pending").values():
        for old in queue:
            if not old.done:
                pending.register(old.call, old.session, old.ref)
    state.pop("_pending_compact_at", None)
    state.pop("_refs", None)
    state["_pending"] = pending
    state["_timers"] = TimerHeap.from_entries(state.pop("_timers"), state.pop("_timer_seq"))
    state["listener_errors"] = state.get("listener_errors", [])[-MAX_LISTENER_ERRORS:]
