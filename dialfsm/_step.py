"""Hot: applying one input to a session, journaling it, and what follows (timers, outcomes, retiring).

This module is on the hot path of every input (``handle`` -> parser -> route ->
:func:`step`); it is written for speed first, and says why each trick exists
where it is used.  It implements no rule of its own: every rule it applies is
a literal of :mod:`dialfsm._table`, compiled by :mod:`dialfsm._machine` into
the :data:`~dialfsm._machine.FastCell` the step unpacks.  What a cell names,
this module carries out, with plain functions chosen by dict (h11's
``_readers.py``):

* the bookkeeping an input implies (:data:`BOOKKEEPERS`, one function per
  :class:`~dialfsm._table.Bookkeeping`);
* the timer a state arms on entry (:func:`arm`), and its disarming when the
  state is left or a watchdog sees a sign of life;
* the outcome: a row's own, or decided by history (:func:`decide_outcome`);
* retiring a session that ended (:func:`retire`): it leaves the live sets,
  the retry policy may suggest another attempt, and a ``finished_limit``
  forgets the oldest finished sessions.

It also keeps time (:func:`clock`, :func:`fire_due`) and writes the journal
(:func:`step` for an input that reached one session, :func:`apply_many` for
several, :func:`record` for none).  It is a friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._core import TrackerCore
from dialfsm._errors import ErrorCode, classify_error
from dialfsm._inputs import CallKey, TimerExpired
from dialfsm._journal import CODE_ATOM, ENCODERS
from dialfsm._machine import STEP_CODE
from dialfsm._policy import StopCall, retry_for
from dialfsm._session import JournalEntry, Session, new_entry
from dialfsm._settings import DialoutSettings
from dialfsm._table import (
    ANSWERED_STATES,
    BY_HISTORY,
    LEFT_BY_HISTORY,
    REVISED_BY_HISTORY,
    TIMED_ORIGINS,
    AnomalyCode,
    Bookkeeping,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    Origin,
    Outcome,
    SessionKind,
    State,
    Timer,
    stopped_outcome,
)
from dialfsm._timers import disarm

__all__ = [
    "BOOKKEEPERS",
    "apply_many",
    "apply_sequence",
    "arm",
    "bind",
    "clock",
    "decide_outcome",
    "extra",
    "fire_due",
    "forget",
    "leg_expected",
    "new_session",
    "oldest_waiting",
    "queue_stop",
    "record",
    "retime",
    "retire",
    "sign_of_life",
    "step",
]

# Enum members as module constants: a global lookup is cheaper than an attribute of an Enum class.
_ANOMALY: Final = Disposition.ANOMALY
_TRANSITION: Final = Disposition.TRANSITION
_RECORDED: Final = Disposition.RECORDED
#: Each input's value, looked up without Enum's slow ``.value`` descriptor.
_VALUE: Final[Mapping[Input, str]] = {i: i.value for i in Input}
_ERROR_STATES: Final = (DialoutState.ERROR, DialinState.ERROR)
#: How a transfer's leg ends when the transfer failed (the call never reached the new party).
_LEG_FAILED: Final = frozenset({Outcome.NOT_ANSWERED, Outcome.FAILED, Outcome.REJECTED, Outcome.CANCELLED})


def step(
    core: TrackerCore, session: Session, input_: Input, typed: object, seq: int, t: float | None, commit: bool
) -> JournalEntry:
    """Apply ``input_`` (its typed input ``typed``) to ``session``; journal it too when ``commit``.

    The hot path, kept flat: one unpack of the cell, no call for what the cell
    says is not needed (no bookkeeping, no outcome; no timer to arm, or no time
    known yet to arm it from, and none to disarm; no watchdog armed), and the
    journal row encoded inline.  Returns the entry, which the caller hands back.
    """
    before = session._state
    disposition, after, outcome, code, has_row, kind, book, timer, watch = session._dispatch[before][input_]
    if disposition is _ANOMALY:
        message: str | None = _anomaly_message(session, input_, code)
    else:
        if has_row and session._model is not None:  # engine="transitions": its Machine decides the state
            after, kind = _machine_step(session, input_, disposition, before)
        message = None if book is None else BOOKKEEPERS[book](core, session, typed, after)
        if after is not before:
            session._state = after
            session._states.append(after)
            if (timer is not None and (t is not None or core._now is not None)) or session._timer is not None:
                retime(core, session, timer, t)
        elif watch is not None and session._timer is watch.input and session._session_id is not None:
            sign_of_life(core, session, watch, t)  # the completion, or an event naming the call
        if outcome is not None:
            decide_outcome(core, session, outcome, after is not before, t)
    name, line = _VALUE[input_], core._line
    entry = new_entry(
        JournalEntry, (seq, name, typed, disposition, code, message, t, line, session, before, after, None)
    )
    if core.keep_history or core._journal_limit != 0:
        encoder = ENCODERS.get(typed.__class__)  # inline, not dialfsm._journal.encode(): no call frame per input
        try:
            codec, values = (-1, typed) if encoder is None else (encoder[0], encoder[1](typed))
        except Exception:  # noqa: BLE001  (an odd field: keep the input itself; the step is applied)
            codec, values = -1, typed
        row = (seq, name, kind, code if code is None else CODE_ATOM.get(code, code), message, t, line, codec, values)
        if core.keep_history:
            session._history.append(row)
        if commit:
            core._journal.extend((session, row))
    if commit:
        core._seq, core._last = core._seq + 1, entry
        if core._entry_listeners:
            core._notify_entry(entry)
    return entry


def _machine_step(session: Session, input_: Input, disposition: Disposition, before: State) -> tuple[State, int]:
    """``engine="transitions"``: fire the row's trigger on the session's model; its new state and step code."""
    session._model.trigger(input_.trigger)
    after: State = session._model.state
    return after, STEP_CODE[disposition.value, before.value, after.value]


def _anomaly_message(session: Session, input_: Input, code: str | None) -> str:
    where = f"{session.kind.value} {session.session_id or '#' + str(session.index)}"
    if code == AnomalyCode.LATE_EVENT:
        return f"{_VALUE[input_]} for {where} after it ended ({session.state.value})"
    if code == AnomalyCode.DUPLICATE_EVENT:
        return f"{_VALUE[input_]} again for {where} (already {session.state.value})"
    return f"{_VALUE[input_]} for {where} in state {session.state.value}"


# --- sessions: created, bound to their id ---------------------------------------------------


def extra(session: Session) -> dict[str, Any]:
    """The session's dict of rarely-set fields, made on first use (see ``Session._extra``)."""
    found = session._extra
    if found is None:
        found = session._extra = {}
    return found


def new_session(
    core: TrackerCore, kind: SessionKind, settings: DialoutSettings | None = None, origin: Origin | None = None
) -> Session:
    """A new live session of ``kind`` (``idle``) in ``core``: a dial-out the bot placed (or ``origin``), a dial-in."""
    session = Session(kind, core._created, None, settings)
    if origin is not None:
        session._origin = origin
    core._created += 1
    session._owner = core
    core._sessions[session.index] = session
    core._live[session.index] = session
    if kind is SessionKind.DIALOUT:
        core._live_dialouts += 1
    if core._machines is not None:
        core._attach_model(session)
    return session


def bind(core: TrackerCore, session: Session, session_id: str) -> None:
    """``session`` is Daily's ``session_id`` from now on (it waits for an id no more)."""
    session._session_id = session_id
    core._by_id[session_id] = session
    core._waiting_for_id.pop(session.index, None)
    if session._extra is not None and session._extra.get("stop_on_id") is not None:
        reason, ref = session._extra.pop("stop_on_id")  # a stop asked for before Daily named the call
        stop = StopCall(session=session, session_id=session_id, reason=reason, ref=ref, after_end=True)
        core._effects.append(stop)


def oldest_waiting(core: TrackerCore) -> Session | None:
    """The oldest dial-out still waiting for its id, if any."""
    return next(iter(core._waiting_for_id.values()), None)


# --- outcomes and retiring ---------------------------------------------------------------


def decide_outcome(core: TrackerCore, session: Session, outcome: object, entered: bool, t: float | None) -> None:
    """Set the outcome a row names (an :class:`Outcome`, or decided by history); retire a session that ended."""
    if outcome == REVISED_BY_HISTORY and session._outcome is Outcome.TRANSFERRED and session._get("left"):
        session._outcome = Outcome.ABANDONED  # the bot left, and the transfer it left behind failed
    elif outcome == BY_HISTORY or (outcome == REVISED_BY_HISTORY and session._outcome is Outcome.TRANSFERRED):
        # Only a transfer that failed after the call stopped revises an outcome (``transferred``).
        session._outcome = stopped_outcome(
            answered=not ANSWERED_STATES[session.kind].isdisjoint(session._states),  # Session.answered, inline
            stop_requested=session._stop_requested,
            transfer_live=session._live_transfers > 0,
        )
    elif outcome == LEFT_BY_HISTORY:  # the bot left: a transfer's legs were handed over, the rest dropped
        handed_over = session._live_transfers > 0 or session._origin is Origin.TRANSFER
        session._outcome = Outcome.TRANSFERRED if handed_over else Outcome.ABANDONED
        if handed_over:
            extra(session)["left"] = True
    elif outcome != REVISED_BY_HISTORY:
        session._outcome = outcome  # type: ignore[assignment]
    if entered:
        retire(core, session, t)


def retire(core: TrackerCore, session: Session, t: float | None = None) -> None:
    """``session`` just ended: it leaves the live sets, may be retried, and may push an old one out.

    The retry is decided first, before anything changes (:func:`~dialfsm._policy.retry_for`
    never raises on a validated policy, and this keeps a step whole even if it did).
    """
    policy = core.retry_policy
    retry = None
    if policy is not None and session.kind is SessionKind.DIALOUT:
        retry = retry_for(session, policy, core._rng, core._now)
    core._live.pop(session.index, None)
    session._deadline = session._timer = None  # disarm(), inline: once per session
    when = t if t is not None else core._now
    if when is not None:
        session._ended_at = when
        if session._started_at is None and len(session._states) == 2:  # it ends as it begins
            session._started_at = when
    if session._extra is not None:
        _settle_extra(core, session)
    if retry is not None:
        core._effects.append(retry)
        extra(session)["retry"] = retry
    core._waiting_for_id.pop(session.index, None)
    if core.finished_limit is not None:
        core._finished.append(session)
        while len(core._finished) > core.finished_limit:
            forget(core, core._finished.popleft())
    if session.kind is SessionKind.DIALOUT:
        core._live_dialouts -= 1
    if session._model is not None:
        assert core._machines is not None
        core._machines[session.kind].remove_model(session._model)
        session._model = None


def _settle_extra(core: TrackerCore, session: Session) -> None:
    """What an ending session settles: a stop for a call that never started, a transfer whose leg failed."""
    found = session._extra
    assert found is not None
    if found.get("stop_on_id") is not None and session._outcome is Outcome.REJECTED:
        core._pending.withdraw(found.pop("stop_on_id")[1])  # the start failed: there is no call to stop
    # (ended otherwise, a stop still waits for the id: a start completing late names a call that may ring)
    source = found.get("transferred_from")
    if source is not None and session._outcome in _LEG_FAILED:  # the operator never took the call
        source._live_transfers = max(0, source._live_transfers - 1)
        if source._outcome is Outcome.TRANSFERRED:
            decide_outcome(core, source, REVISED_BY_HISTORY, False, None)


def forget(core: TrackerCore, gone: Session) -> None:
    """Drop a finished session (``finished_limit``) and every reference the tracker keeps to it."""
    del core._sessions[gone.index]
    if gone.session_id is not None and core._by_id.get(gone.session_id) is gone:
        del core._by_id[gone.session_id]
        core._forgotten[gone.session_id] = None  # later events for it: UNKNOWN_SESSION, never a re-bind
        if len(core._forgotten) > max(1024, 2 * (core.finished_limit or 0)):
            del core._forgotten[next(iter(core._forgotten))]
    if gone._start_ref is not None and core._start_refs.get(gone._start_ref) is gone:
        del core._start_refs[gone._start_ref]
    core._pending.forget(gone)  # O(its own calls): nothing of them stays behind
    # A StopCall still queued for it is withdrawn by take_effects (its session has ended): not scanned here,
    # so forgetting costs the same however many effects wait.
    core._awaiting_legs.pop(gone.index, None)  # a leg that comes now is a call of its own (rule 6), or unknown


# --- timers --------------------------------------------------------------------------------


def retime(core: TrackerCore, session: Session, timer: Timer | None, t: float | None) -> None:
    """``session`` just entered a live state: note when, and arm the state's ``timer`` (or none) instead of any.

    It is called when the state has a timer and a time is known, or a timer is armed: every
    live state but ``idle`` has a timer, so this is where ``started_at`` and ``answered_at``
    are stamped (``ended_at`` is stamped by :func:`retire`).
    """
    when = t if t is not None else core._now
    if when is not None:
        if session._started_at is None and len(session._states) == 2:  # the call's first state
            session._started_at = when
        if session._answered_at is None and session._state in ANSWERED_STATES[session.kind]:
            session._answered_at = when
    if timer is None:
        disarm(session)
    else:
        arm(core, session, timer, t)


def arm(core: TrackerCore, session: Session, timer: Timer, t: float | None) -> None:
    """Arm ``timer`` on ``session`` from ``t`` (else the tracker's time), or from the call's start (``from_start``)."""
    base = t if t is not None else core._now
    if timer.from_start and session._started_at is not None:
        base = session._started_at
    seconds = None if core.timeouts is None else getattr(core.timeouts, timer.timeout)
    if seconds is None or base is None or session._origin not in TIMED_ORIGINS:
        disarm(session)  # disabled, no time known yet, or a call the bot did not place: nothing to arm
        return
    deadline = base + seconds
    if deadline - deadline != 0.0:  # overflowed to inf: a deadline no clock reaches is no timer
        disarm(session)
        return
    core._timers.arm(session, timer.input, deadline)


def sign_of_life(core: TrackerCore, session: Session, watch: Timer, t: float | None) -> None:
    """A recorded event or completion while ``watch`` (a watchdog) is armed: it ends, and its successor is armed."""
    if watch.after_sign_of_life is None:
        disarm(session)
    else:
        arm(core, session, watch.after_sign_of_life, t)


def clock(core: TrackerCore, now: float) -> None:
    """The time is ``now`` (an input's ``t``): keep the latest, and fire the timers due by then."""
    if core._now is None or now > core._now:
        core._now = now
    if core._timers.due(now):
        fire_due(core, now)


def fire_due(core: TrackerCore, now: float) -> list[JournalEntry]:
    """Feed every timer due by ``now`` to its session, soonest first; their journal entries."""
    fired = []
    for session, timer, deadline in core._timers.pop_due(now, core._sessions):
        event = TimerExpired(timer=timer, session_id=session.session_id, deadline=deadline)
        fired.append(step(core, session, timer, event, core._seq, deadline, True))
    return fired


# --- journaling inputs that reached no session, or several ---------------------------------


def append(core: TrackerCore, entry: JournalEntry) -> JournalEntry:
    """Journal an entry that reached no session or several (kept whole: see dialfsm._journal)."""
    core._journal.extend((None, entry))
    core._seq += 1
    core._last = entry
    if core._entry_listeners:
        core._notify_entry(entry)
    return entry


def record(
    core: TrackerCore,
    name: str,
    typed: object,
    disposition: Disposition,
    code: str | None = None,
    message: str | None = None,
    *,
    t: float | None = None,
) -> JournalEntry:
    """Journal an input that reached no session: an anomaly, a refusal, a note."""
    entry = new_entry(
        JournalEntry, (core._seq, name, typed, disposition, code, message, t, core._line, None, None, None, None)
    )
    return append(core, entry)


def apply_sequence(
    core: TrackerCore, session: Session, inputs: tuple[tuple[Input, object], ...], t: float | None
) -> JournalEntry:
    """Apply several inputs to one session as one journal entry (a join that came before its connect)."""
    seq = core._seq
    steps = tuple(step(core, session, input_, typed, seq, t, False) for input_, typed in inputs)
    return _combined(core, steps, inputs[0][0], inputs[0][1], t)


def _combined(
    core: TrackerCore, steps: tuple[JournalEntry, ...], input_: Input, typed: object, t: float | None
) -> JournalEntry:
    overall, code, message = _RECORDED, None, None
    for one in steps:
        if one.disposition is _TRANSITION:
            overall, code, message = _TRANSITION, None, None
            break
        if one.disposition is _ANOMALY and code is None:
            overall, code, message = _ANOMALY, one.code, one.message
    entry = JournalEntry(steps[0].seq, _VALUE[input_], typed, overall, code, message, t, core._line, parts=steps)
    return append(core, entry)


def apply_many(
    core: TrackerCore, sessions: list[Session], input_: Input, typed: object, t: float | None
) -> JournalEntry:
    """Apply one input to several sessions (``left-meeting``): one entry, with a step per session."""
    seq = core._seq
    steps = tuple(step(core, session, input_, typed, seq, t, False) for session in sessions)
    return _combined(core, steps, input_, typed, t)


# --- bookkeeping: one function per dialfsm._table.Bookkeeping --------------------------------


def _stop_requested(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    session._stop_requested = True
    return None


def _transfer_started(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    session._live_transfers += 1
    return None


def _call_transfer_started(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    session._live_transfers += 1
    leg_expected(core, session, +1)
    core._awaiting_legs[session.index] = session  # its new leg's events bind to a session of its own
    return None


def _transfer_failed(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    session._live_transfers = max(0, session._live_transfers - 1)
    return _call_failed(core, session, typed, after)


def _call_transfer_failed(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    leg_expected(core, session, -1)
    return _transfer_failed(core, session, typed, after)


def leg_expected(core: TrackerCore, session: Session, change: int) -> None:
    """One transfer leg less (``change=-1``: it came, or its transfer failed) for ``session``."""
    legs = max(0, (session._get("legs") or 0) + change)
    extra(session)["legs"] = legs
    if legs == 0:
        core._awaiting_legs.pop(session.index, None)


def _call_failed(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    text = getattr(typed, "error", None)
    if not isinstance(text, str):
        return None
    if session._error is None or session._outcome is None:
        call = getattr(getattr(typed, "call", None), "value", None)
        session._error, session._error_code = text, classify_error(text, call=call)
    return text


def _error_reported(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    text = getattr(typed, "error_msg", None) or ""
    details = getattr(typed, "details", None)
    if session._error is None or after in _ERROR_STATES:
        code = classify_error(text)
        if code is ErrorCode.UNKNOWN and details is not None:
            code = classify_error(details)  # a SIP hang-up reason in the details' sipHeaders, say
        session._error, session._error_code = text, code
        if details is not None:
            extra(session)["details"] = details
    return text


def _warning(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    text = getattr(typed, "error_msg", None) or ""
    if core.keep_history:
        if session._warnings is None:
            session._warnings = []
        session._warnings.append(text)
    return text


def _dtmf(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    tone: str = getattr(typed, "tone", "")
    if core.keep_history:
        if session._dtmf is None:
            session._dtmf = []
        session._dtmf.append(tone)
    return tone


def _seconds(core: TrackerCore, name: str) -> str:
    value = None if core.timeouts is None else getattr(core.timeouts, name)
    return "?" if value is None else f"{value:g}"


def _start_timed_out(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    text = f"start_dialout timed out: no completion and no event within {_seconds(core, 'start')} s"
    session._error, session._error_code = text, classify_error(text)
    return text


def _ask_bot_to_stop(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    # The tracker stops the call on the bot's behalf: a stop call now waits for its completion.
    timer = getattr(typed, "timer", Input.RING_TIMEOUT)
    reason = "max_call" if timer is Input.CALL_TIMEOUT else "ring_timeout"
    queue_stop(core, session, reason, after_end=False)
    once = "" if session.session_id is not None else " (once Daily names it)"
    if reason == "max_call":
        return f"the call lasted {_seconds(core, 'max_call')} s (max_call): the bot is asked to stop it"
    return f"no answer within {_seconds(core, 'ring')} s: the bot is asked to stop the call{once}"


def queue_stop(core: TrackerCore, session: Session, reason: str, *, after_end: bool) -> None:
    """Register a stop the tracker asks for; a call Daily has not named yet is stopped once it is (:func:`bind`).

    Its name is a :class:`~dialfsm.CallKey`, which no bot ref can equal, made of what a replay
    reproduces (one stop per reason per session at most).
    """
    name = session.session_id if session.session_id is not None else f"#{session.index}"
    ref = CallKey(f"{reason}:{name}")
    core._pending.register(Input.STOP_DIALOUT, session, ref, core._seq)
    if session.session_id is None:  # stop_dialout needs the id: the effect waits for it
        extra(session)["stop_on_id"] = (reason, ref)
        return
    stop = StopCall(session=session, session_id=session.session_id, reason=reason, ref=ref, after_end=after_end)
    core._effects.append(stop)


def _stop_timed_out(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    return f"no dialout-stopped within {_seconds(core, 'stop')} s: taken as stopped"


def _join_timed_out(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    text = f"join timed out: no participant-joined within {_seconds(core, 'join')} s (the caller's media never flowed)"
    session._error, session._error_code = text, classify_error(text)
    return text


def _call_timed_out(core: TrackerCore, session: Session, typed: object, after: State) -> str:
    return f"the call lasted {_seconds(core, 'max_call')} s (max_call): taken as stopped"


def _hang_up_given_up(core: TrackerCore, session: Session, typed: object, after: State) -> str | None:
    if session._outcome is not Outcome.REJECTED or session._origin is not Origin.BOT or session.session_id is None:
        return None  # not a start its watchdog gave up on: nothing can be ringing
    queue_stop(core, session, "start_timeout", after_end=True)
    retry = session._get("retry")
    if retry is not None and retry in core._effects:  # never two live calls: the retry is withdrawn
        core._effects.remove(retry)
        extra(session)["retry"] = None
    return f"{session.session_id} started after the start watchdog gave up on it: the bot is asked to hang it up"


#: The function carrying out each bookkeeping; it returns the step's message (a text, a tone) or ``None``.
BOOKKEEPERS: Final[Mapping[Bookkeeping, Callable[[TrackerCore, Session, object, State], str | None]]] = {
    Bookkeeping.STOP_REQUESTED: _stop_requested,
    Bookkeeping.TRANSFER_STARTED: _transfer_started,
    Bookkeeping.CALL_TRANSFER_STARTED: _call_transfer_started,
    Bookkeeping.TRANSFER_FAILED: _transfer_failed,
    Bookkeeping.CALL_TRANSFER_FAILED: _call_transfer_failed,
    Bookkeeping.CALL_FAILED: _call_failed,
    Bookkeeping.ERROR_REPORTED: _error_reported,
    Bookkeeping.WARNING: _warning,
    Bookkeeping.DTMF: _dtmf,
    Bookkeeping.START_TIMED_OUT: _start_timed_out,
    Bookkeeping.ASK_BOT_TO_STOP: _ask_bot_to_stop,
    Bookkeeping.STOP_TIMED_OUT: _stop_timed_out,
    Bookkeeping.JOIN_TIMED_OUT: _join_timed_out,
    Bookkeeping.CALL_TIMED_OUT: _call_timed_out,
    Bookkeeping.HANG_UP_GIVEN_UP: _hang_up_given_up,
}
