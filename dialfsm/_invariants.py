"""The invariants of a tracker's state: one checker, used by ``restore`` and by the tracker's own tests.

A tracker's fields (:mod:`dialfsm._core`) hold one state several ways: the
sessions, and indexes over them (live, by id, waiting for an id, finished,
start refs), the calls waiting for completions, the timers, the queued
effects.  :func:`problems` checks that they agree, *whole*: not field by field
in isolation, but each index against the sessions it indexes.
:meth:`CallTracker.restore <dialfsm.CallTracker.restore>` refuses a snapshot
whose tracker breaks any of them, and the test suite runs the same checker
after generated input sequences (``tests/test_invariants.py``).

**Per field.**  :data:`CORE_CHECKS` names a check for every field of a tracker,
and :data:`SESSION_CHECKS` one for every slot of a :class:`~dialfsm.Session`
(:func:`_unchecked` for the few with nothing to check); the tests fail when a
field has no entry, so adding a field is adding one line here.  A friend of
:mod:`dialfsm._core`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from dialfsm._calls import PendingCalls
from dialfsm._core import ADOPTION, ENGINE_NAMES, MAX_ENDPOINTS, MAX_LISTENER_ERRORS, TrackerCore
from dialfsm._errors import ErrorCode
from dialfsm._inputs import CallKey
from dialfsm._machine import ENGINES, TABLES
from dialfsm._parse import MAX_ID_LENGTH
from dialfsm._policy import RetryDialout, RetryPolicy, StopCall, Timeouts
from dialfsm._routing import MAX_EARLY_JOINS
from dialfsm._session import JournalEntry, Session
from dialfsm._settings import DialoutSettings
from dialfsm._table import Disposition, Input, Origin, Outcome, SessionKind, State
from dialfsm._timers import TimerHeap

__all__ = ["CORE_CHECKS", "SESSION_CHECKS", "InvariantError", "check", "problems"]

_ERROR_OUTCOMES: Final = frozenset({Outcome.REJECTED, Outcome.FAILED})
#: Each table's transitions as (source, dest) pairs: a session's states must follow them.
_STEPS: Final[Mapping[SessionKind, frozenset[tuple[State, State]]]] = {
    kind: frozenset(
        (row.source, row.dest)
        for row in table.rows
        if row.disposition is Disposition.TRANSITION and row.dest is not None
    )
    for kind, table in TABLES.items()
}
_FORGOTTEN_MIN: Final = 1024

Check = Callable[[TrackerCore], Iterator[str]]
SessionCheck = Callable[[TrackerCore, Session], Iterator[str]]


class InvariantError(AssertionError):
    """A tracker whose fields disagree (raised by :func:`check`)."""


def problems(core: TrackerCore) -> list[str]:
    """Every invariant ``core`` breaks, one sentence each; empty when its state is consistent."""
    found: list[str] = []
    for name, check_field in CORE_CHECKS.items():
        try:
            found.extend(f"{name}: {problem}" for problem in check_field(core))
        except Exception as exc:  # noqa: BLE001  (a field too broken to check is a problem, not a crash)
            found.append(f"{name}: cannot be checked ({type(exc).__name__}: {exc})")
    return found


def check(core: TrackerCore) -> None:
    """Raise :class:`InvariantError` listing every invariant ``core`` breaks (for tests)."""
    found = problems(core)
    if found:
        raise InvariantError("; ".join(found))


def _is_int(value: object, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _unchecked(core: TrackerCore) -> Iterator[str]:
    """A field with nothing to check (code, or a reader's cache)."""
    return iter(())


# --- configuration -----------------------------------------------------------------------


def _max_dialouts(core: TrackerCore) -> Iterator[str]:
    if not _is_int(core.max_dialouts, 1):
        yield f"must be an int >= 1, is {core.max_dialouts!r}"
    # No bound on live dial-outs: the limit guards the bot's start_dialout only; dial-outs adopted
    # from webhooks, transfer legs and the bot's own SDK calls (observe_call) are tracked past it.


def _type_is(name: str, types: tuple[type, ...]) -> Check:
    def check_type(core: TrackerCore) -> Iterator[str]:
        value = getattr(core, name)
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            yield f"must be {' or '.join(t.__name__ for t in types)}, is {type(value).__name__}"

    return check_type


def _engine(core: TrackerCore) -> Iterator[str]:
    if core.engine not in ENGINE_NAMES:
        yield f"unknown engine {core.engine!r}"
    if (core._machines is None) != (core.engine != "transitions"):
        yield "the transitions engine has no Machines, or the compiled one has some"


def _finished_limit(core: TrackerCore) -> Iterator[str]:
    if core.finished_limit is not None and not _is_int(core.finished_limit):
        yield f"must be None or an int >= 0, is {core.finished_limit!r}"


# --- sessions and their indexes ---------------------------------------------------------------


def _sessions(core: TrackerCore) -> Iterator[str]:
    indexes = list(core._sessions)
    if indexes != sorted(indexes):
        yield "not in creation order"
    for index, session in core._sessions.items():
        if not isinstance(session, Session) or session.index != index:
            yield f"entry {index!r} is not the session of that index"
            continue
        for slot, check_slot in SESSION_CHECKS.items():
            yield from (f"session {index} {slot}: {p}" for p in check_slot(core, session))


def _created(core: TrackerCore) -> Iterator[str]:
    if not _is_int(core._created) or (core._sessions and core._created <= max(core._sessions)):
        yield f"{core._created!r} is not beyond every session's index"


def _tracked(core: TrackerCore, session: object) -> bool:
    return isinstance(session, Session) and core._sessions.get(session.index) is session


def _live(core: TrackerCore) -> Iterator[str]:
    expected = [i for i, s in core._sessions.items() if s._outcome is None]
    if list(core._live) != expected or any(core._live[i] is not core._sessions[i] for i in expected):
        yield f"lists {list(core._live)}, but the live sessions are {expected}"


def _live_dialouts(core: TrackerCore) -> Iterator[str]:
    count = sum(1 for s in core._live.values() if s.kind is SessionKind.DIALOUT)
    if core._live_dialouts != count:
        yield f"counts {core._live_dialouts!r}, but {count} dial-outs are live"


def _waiting_for_id(core: TrackerCore) -> Iterator[str]:
    expected = [
        i
        for i, s in core._sessions.items()
        if s.kind is SessionKind.DIALOUT and s._outcome is None and s._session_id is None
    ]
    if list(core._waiting_for_id) != expected or any(
        core._waiting_for_id[i] is not core._sessions[i] for i in expected
    ):
        yield f"lists {list(core._waiting_for_id)}, but the live dial-outs without an id are {expected}"


def _finished(core: TrackerCore) -> Iterator[str]:
    finished = list(core._finished)
    if not isinstance(core._finished, deque):
        yield "must be a deque"
    if core.finished_limit is None:
        if finished:
            yield "must be empty without a finished_limit"
        return
    if len({id(s) for s in finished}) != len(finished):
        yield "lists a session twice"
    if len(finished) > core.finished_limit:
        yield f"holds {len(finished)} sessions, more than the finished_limit {core.finished_limit}"
    ended = {id(s) for s in core._sessions.values() if s._outcome is not None}
    if {id(s) for s in finished} != ended or not all(_tracked(core, s) for s in finished):
        yield "does not hold exactly the finished sessions the tracker keeps"


def _by_id(core: TrackerCore) -> Iterator[str]:
    for sid, session in core._by_id.items():
        if not _tracked(core, session) or session._session_id != sid:
            yield f"{sid!r} names no session with that id"
    named = sum(1 for s in core._sessions.values() if s._session_id is not None)
    if named != len(core._by_id):
        yield f"indexes {len(core._by_id)} ids, but {named} sessions have one"


def _forgotten(core: TrackerCore) -> Iterator[str]:
    bound = max(_FORGOTTEN_MIN, 2 * (core.finished_limit or 0))
    if len(core._forgotten) > bound:
        yield f"holds {len(core._forgotten)} ids, more than {bound}"
    if core._forgotten and core.finished_limit is None:
        yield "must be empty without a finished_limit"
    for sid in core._forgotten:
        if not isinstance(sid, str) or sid in core._by_id:
            yield f"{sid!r} is not the id of a forgotten session"


def _start_refs(core: TrackerCore) -> Iterator[str]:
    for ref, session in core._start_refs.items():
        if not (isinstance(ref, str) or type(ref) is CallKey):
            yield f"{ref!r} is not a ref"
        elif not _tracked(core, session) or session.kind is not SessionKind.DIALOUT or session._start_ref != ref:
            yield f"{ref!r} names no dial-out started with it"


def _endpoints(core: TrackerCore) -> Iterator[str]:
    if len(core._endpoints) > MAX_ENDPOINTS:
        yield f"holds {len(core._endpoints)} endpoints, more than {MAX_ENDPOINTS}"
    if not all(isinstance(e, str) and 0 < len(e) <= MAX_ID_LENGTH for e in core._endpoints):
        yield "holds something that is no endpoint"


def _adoption(core: TrackerCore) -> Iterator[str]:
    if core.adopt_unknown_dialouts not in ADOPTION:
        yield f"must be one of {ADOPTION}, is {core.adopt_unknown_dialouts!r}"


def _awaiting_legs(core: TrackerCore) -> Iterator[str]:
    if list(core._awaiting_legs) != sorted(core._awaiting_legs):
        yield "not in creation order"
    for index, session in core._awaiting_legs.items():
        if not _tracked(core, session) or session.index != index:
            yield f"entry {index!r} is not a session of this tracker"


def _early_joins(core: TrackerCore) -> Iterator[str]:
    if len(core._early_joins) > MAX_EARLY_JOINS:
        yield f"holds {len(core._early_joins)} participants, more than {MAX_EARLY_JOINS}"
    if not all(isinstance(p, str) for p in core._early_joins):
        yield "holds something that is no participant id"


def _reading(core: TrackerCore) -> Iterator[str]:
    if core._input_name is not None or core._input_data is not None:
        yield "the input being read is kept after handle() returned"


# --- time, calls, effects -------------------------------------------------------------------------


def _now(core: TrackerCore) -> Iterator[str]:
    if core._now is not None and not _finite(core._now):
        yield f"must be None or a finite float, is {core._now!r}"


def _timers(core: TrackerCore) -> Iterator[str]:
    if not isinstance(core._timers, TimerHeap):
        yield "must be a TimerHeap"
        return
    entries = set(core._timers.entries())
    for session in core._sessions.values():
        if session._deadline is not None and (session._deadline, session._timer_seq, session.index) not in entries:
            yield f"session {session.index}'s deadline is not in the heap"
        if session._timer_seq > core._timers.seq:
            yield f"session {session.index} was armed after the heap's last arming"


def _pending(core: TrackerCore) -> Iterator[str]:
    pending: PendingCalls = core._pending
    if not isinstance(pending, PendingCalls):
        yield "must be PendingCalls"
        return
    listed = [p for call in pending.calls() for p in pending.waiting(call)]
    for p in listed:
        if p.done or not _tracked(core, p.session):
            yield f"a {p.call.value} call waits on a session the tracker does not hold"
        elif p.call is Input.STOP_DIALOUT and p.session.kind is not SessionKind.DIALOUT:
            yield f"a stop_dialout waits on dial-in {p.session.index}"
        if p.key is not None and not _is_int(p.key):
            yield f"a {p.call.value} call has key {p.key!r}"
    by_session = pending.sessions()
    if sorted(id(p) for calls in by_session.values() for p in calls) != sorted(id(p) for p in listed):
        yield "the per-session index disagrees with the queues"
    refs = pending.refs()
    if {id(p) for p in refs.values()} != {id(p) for p in listed if p.ref is not None}:
        yield "the ref index disagrees with the queues"
    for ref, p in refs.items():
        if p.ref != ref or not (isinstance(ref, str) or type(ref) is CallKey):
            yield f"ref {ref!r} names another call"


def _effects(core: TrackerCore) -> Iterator[str]:
    for effect in core._effects:
        if isinstance(effect, StopCall):
            if effect.session._owner is not core or effect.session.kind is not SessionKind.DIALOUT:
                yield "a StopCall names no dial-out of this tracker"
            if effect.ref is not None and not (isinstance(effect.ref, str) or type(effect.ref) is CallKey):
                yield f"a StopCall has ref {effect.ref!r}"
        elif isinstance(effect, RetryDialout):
            yield from _retry_effect(core, effect)
        else:
            yield f"{type(effect).__name__} is no effect"


def _retry_effect(core: TrackerCore, effect: RetryDialout) -> Iterator[str]:
    previous = effect.previous
    if previous._owner is not core or previous.kind is not SessionKind.DIALOUT or previous._outcome is None:
        yield "a RetryDialout names no finished dial-out of this tracker"
    elif previous._settings is None or effect.settings != previous._settings:
        yield "a RetryDialout's settings are not its previous attempt's"
    if effect.attempt != previous.attempt + 1:
        yield f"a RetryDialout is attempt {effect.attempt!r} after attempt {previous.attempt}"
    if not (_finite(effect.delay) and effect.delay >= 0):
        yield f"a RetryDialout's delay is {effect.delay!r}"
    if effect.not_before is not None and not _finite(effect.not_before):
        yield f"a RetryDialout's not_before is {effect.not_before!r}"


# --- the journal and listeners --------------------------------------------------------------------


def _journal(core: TrackerCore) -> Iterator[str]:
    if len(core._journal) % 2:
        yield "holds an odd number of items"
    limit = core._journal_limit
    if limit is None and not isinstance(core._journal, list):
        yield "must be a list without a journal_limit"
    if limit is not None and (not isinstance(core._journal, deque) or core._journal.maxlen != 2 * limit):
        yield "must be a deque of twice the journal_limit"


def _journal_limit(core: TrackerCore) -> Iterator[str]:
    if core._journal_limit is not None and not _is_int(core._journal_limit):
        yield f"must be None or an int >= 0, is {core._journal_limit!r}"


def _last(core: TrackerCore) -> Iterator[str]:
    if core._last is not None and not isinstance(core._last, JournalEntry):
        yield "must be None or a JournalEntry"


def _line(core: TrackerCore) -> Iterator[str]:
    if core._line is not None and not _is_int(core._line):
        yield f"must be None or an int >= 0, is {core._line!r}"


def _listeners(name: str) -> Check:
    def check_listeners(core: TrackerCore) -> Iterator[str]:
        listeners = getattr(core, name)
        if not isinstance(listeners, list) or not all(callable(f) for f in listeners):
            yield "must be a list of callables"

    return check_listeners


def _listener_errors(core: TrackerCore) -> Iterator[str]:
    if len(core.listener_errors) > MAX_LISTENER_ERRORS:
        yield f"keeps {len(core.listener_errors)} exceptions, more than {MAX_LISTENER_ERRORS}"
    if core.listener_error_count < len(core.listener_errors):
        yield "counts fewer errors than it keeps"


def _counter(name: str) -> Check:
    def check_counter(core: TrackerCore) -> Iterator[str]:
        if not _is_int(getattr(core, name)):
            yield f"must be an int >= 0, is {getattr(core, name)!r}"

    return check_counter


#: The check of every field of a tracker (``tests/test_invariants.py`` checks none is missing).
CORE_CHECKS: Final[Mapping[str, Check]] = {
    "max_dialouts": _max_dialouts,
    "allow_dialout": _type_is("allow_dialout", (bool,)),
    "engine": _engine,
    "keep_history": _type_is("keep_history", (bool,)),
    "finished_limit": _finished_limit,
    "timeouts": _type_is("timeouts", (Timeouts, type(None))),
    "retry_policy": _type_is("retry_policy", (RetryPolicy, type(None))),
    "_sessions": _sessions,
    "_created": _created,
    "_finished": _finished,
    "_by_id": _by_id,
    "_live": _live,
    "_live_dialouts": _live_dialouts,
    "_waiting_for_id": _waiting_for_id,
    "_forgotten": _forgotten,
    "_start_refs": _start_refs,
    "_endpoints": _endpoints,
    "_journal_limit": _journal_limit,
    "_journal": _journal,
    "_seq": _counter("_seq"),
    "_last": _last,
    "_line": _line,
    "_rng": _type_is("_rng", (random.Random,)),
    "_now": _now,
    "_timers": _timers,
    "_pending": _pending,
    "_effects": _effects,
    "_input_listeners": _listeners("_input_listeners"),
    "_entry_listeners": _listeners("_entry_listeners"),
    "listener_errors": _listener_errors,
    "listener_error_count": _counter("listener_error_count"),
    "_machines": _unchecked,  # checked with the engine
    "adopt_unknown_dialouts": _adoption,
    "_awaiting_legs": _awaiting_legs,
    "_early_joins": _early_joins,
    "_input_name": _reading,
    "_input_data": _unchecked,  # with the name
}


# --- one session --------------------------------------------------------------------------------------


def _s_unchecked(core: TrackerCore, session: Session) -> Iterator[str]:
    return iter(())


def _s_kind(core: TrackerCore, session: Session) -> Iterator[str]:
    if not isinstance(session.kind, SessionKind):
        yield f"{session.kind!r} is no kind"
    elif session._dispatch is not ENGINES[session.kind].fast:
        yield "its dispatch is not its kind's"


def _s_index(core: TrackerCore, session: Session) -> Iterator[str]:
    if not _is_int(session.index) or session.index >= core._created:
        yield f"{session.index!r} is not below 'created'"


def _s_settings(core: TrackerCore, session: Session) -> Iterator[str]:
    # A dial-out the bot placed has its settings, unless its SDK call (observed, unguarded) had none that parse.
    if session.kind is SessionKind.DIALOUT and not isinstance(session._settings, (DialoutSettings, type(None))):
        yield "a dial-out whose settings are no DialoutSettings"
    if session._origin in (Origin.ADOPTED, Origin.TRANSFER) and session._settings is not None:
        yield "a call not placed by the bot with settings"
    if session.kind is SessionKind.DIALIN and session._settings is not None:
        yield "a dial-in with dial-out settings"


def _s_session_id(core: TrackerCore, session: Session) -> Iterator[str]:
    sid = session._session_id
    if sid is not None and (not isinstance(sid, str) or not sid or core._by_id.get(sid) is not session):
        yield f"{sid!r} is not indexed as its id"


def _s_states(core: TrackerCore, session: Session) -> Iterator[str]:
    states, table = session._states, TABLES[session.kind]
    if not states or states[0] is not table.initial or any(s not in table.states for s in states):
        yield f"{states!r} does not start at {table.initial.value} in the {session.kind.value} table"
        return
    for before, after in itertools.pairwise(states):
        if (before, after) not in _STEPS[session.kind]:
            yield f"{before.value} -> {after.value} is no transition"
    if session._state is not states[-1]:
        yield f"state {session._state!r} is not the last state visited"


def _s_outcome(core: TrackerCore, session: Session) -> Iterator[str]:
    outcome, terminal = session._outcome, session._state in TABLES[session.kind].terminal
    if (outcome is None) == terminal:
        yield f"outcome {outcome!r} in state {session._state.value}"
    elif outcome is not None and (outcome in _ERROR_OUTCOMES) != (session._state.value == "error"):
        yield f"outcome {outcome.value} in state {session._state.value}"


def _s_error(core: TrackerCore, session: Session) -> Iterator[str]:
    if (session._error is None) != (session._error_code is None):
        yield "an error without a code, or a code without an error"
    if session._error is not None and not isinstance(session._error, str):
        yield "the error is not a string"
    if session._error_code is not None and not isinstance(session._error_code, ErrorCode):
        yield f"{session._error_code!r} is no error code"


def _s_kept(core: TrackerCore, session: Session) -> Iterator[str]:
    for name in ("_warnings", "_dtmf"):
        kept = getattr(session, name)
        if kept is not None and (not core.keep_history or not all(isinstance(x, str) for x in kept)):
            yield f"{name} kept without keep_history, or not strings"
    if session._history and not core.keep_history:
        yield "a history kept without keep_history"


def _s_flags(core: TrackerCore, session: Session) -> Iterator[str]:
    if not isinstance(session._stop_requested, bool):
        yield "stop_requested is not a bool"
    if not _is_int(session._live_transfers):
        yield f"live_transfers is {session._live_transfers!r}"


def _s_model(core: TrackerCore, session: Session) -> Iterator[str]:
    wants = core._machines is not None and session._outcome is None
    if (session._model is not None) != wants:
        yield "a model where none belongs, or none where one does"


def _s_timer(core: TrackerCore, session: Session) -> Iterator[str]:
    timer, deadline = session._timer, session._deadline
    if (timer is None) != (deadline is None):
        yield "a timer without a deadline, or a deadline without a timer"
    if timer is None:
        return
    armed = TABLES[session.kind].timers.get(session._state)
    after = None if armed is None else armed.after_sign_of_life  # a watchdog that saw a sign of life hands over
    if armed is None or (armed.input is not timer and (after is None or after.input is not timer)):
        yield f"{getattr(timer, 'value', timer)} is not the timer state {session._state.value} arms"
    if not _finite(deadline):
        yield f"deadline {deadline!r} is not a finite float"


def _s_timer_seq(core: TrackerCore, session: Session) -> Iterator[str]:
    if not _is_int(session._timer_seq):
        yield f"{session._timer_seq!r} is not an int >= 0"


def _s_owner(core: TrackerCore, session: Session) -> Iterator[str]:
    if session._owner is not core:
        yield "belongs to another tracker"


def _s_start(core: TrackerCore, session: Session) -> Iterator[str]:
    ref, key = session._start_ref, session._start_key
    if ref is not None and not (isinstance(ref, str) or type(ref) is CallKey):
        yield f"start ref {ref!r} is not a ref"
    if (ref is not None or key is not None) and session.kind is not SessionKind.DIALOUT:
        yield "a dial-in with a start call"
    if key is not None and not _is_int(key):
        yield f"start key {key!r} is not an int >= 0"


def _s_attempts(core: TrackerCore, session: Session) -> Iterator[str]:
    if not _is_int(session.attempt, 1):
        yield f"attempt {session.attempt!r}"
    previous, following = session.previous, session.next_attempt
    if previous is not None:
        # A retry follows a finished attempt when it is placed; a start completion settling a guess
        # may revive that attempt later (the call that ended was another's), and the link stays.
        if previous._owner is not core or previous.kind is not SessionKind.DIALOUT:
            yield "retries no dial-out of this tracker"
        elif previous.next_attempt is None or previous.next_attempt.previous is not previous:
            yield "its previous attempt links to no retry of its own"  # retried twice: it links to the latest
        elif session.attempt != previous.attempt + 1:
            yield f"attempt {session.attempt} retries attempt {previous.attempt}"
    if following is not None and (following._owner is not core or following.previous is not session):
        yield "its next attempt does not link back to it"


def _s_origin(core: TrackerCore, session: Session) -> Iterator[str]:
    allowed = _ORIGINS.get(session.kind, ())
    if session._origin not in allowed:
        yield f"origin {session._origin!r} for a {getattr(session.kind, 'value', session.kind)}"


def _s_times(core: TrackerCore, session: Session) -> Iterator[str]:
    times = (session._started_at, session._answered_at, session._ended_at)
    if not all(t is None or _finite(t) for t in times):
        yield f"times {times!r} are not finite floats"
    elif session._ended_at is not None and session._outcome is None:
        yield "an end time on a live session"


def _s_extra(core: TrackerCore, session: Session) -> Iterator[str]:
    found = session._extra
    if found is None:
        return
    if not isinstance(found, dict) or not set(found) <= _EXTRA_KEYS:
        yield f"holds {sorted(map(str, found))}, beyond {sorted(_EXTRA_KEYS)}"
        return
    for key in ("transferred_from", "transferred_to"):
        other = found.get(key)
        if other is not None and (not isinstance(other, Session) or other._owner is not core):
            yield f"{key} names no session of this tracker"
    retry = found.get("retry")
    if retry is not None and (not isinstance(retry, RetryDialout) or retry.previous is not session):
        yield "its suggested retry is not a retry of it"


#: The origins each kind of session may have.
_ORIGINS: Final = {
    SessionKind.DIALOUT: (Origin.BOT, Origin.ADOPTED, Origin.TRANSFER),
    SessionKind.DIALIN: (Origin.CALLER,),
}
#: Every key ``Session._extra`` may hold (see ``Session.__init__``).
_EXTRA_KEYS: Final = frozenset(
    {"destination", "user_id", "caller_id", "room", "details", "legs", "left", "guessed", "stop_on_id"}
    | {"transferred_from", "transferred_to", "retry"}
)


#: The check of every slot of a session (``tests/test_invariants.py`` checks none is missing).
SESSION_CHECKS: Final[Mapping[str, SessionCheck]] = {
    "kind": _s_kind,
    "_dispatch": _s_unchecked,  # with the kind
    "index": _s_index,
    "_settings": _s_settings,
    "_session_id": _s_session_id,
    "_state": _s_unchecked,  # with the states
    "_states": _s_states,
    "_outcome": _s_outcome,
    "_error": _s_error,
    "_error_code": _s_unchecked,  # with the error
    "_history": _s_unchecked,  # with warnings and tones
    "_warnings": _s_kept,
    "_dtmf": _s_unchecked,  # with warnings
    "_stop_requested": _s_flags,
    "_live_transfers": _s_unchecked,  # with the flags
    "_model": _s_model,
    "_deadline": _s_unchecked,  # with the timer
    "_timer": _s_timer,
    "_timer_seq": _s_timer_seq,
    "_owner": _s_owner,
    "_start_ref": _s_start,
    "_start_key": _s_unchecked,  # with the start ref
    "attempt": _s_attempts,
    "previous": _s_unchecked,  # with the attempt
    "next_attempt": _s_unchecked,  # with the attempt
    "_origin": _s_origin,
    "_started_at": _s_times,
    "_answered_at": _s_unchecked,  # with the times
    "_ended_at": _s_unchecked,  # with the times
    "_extra": _s_extra,
}
