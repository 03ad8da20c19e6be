"""The bot's calls through a tracker: the guards, accepting a call, and pairing its completion.

A call runs its guards first; the first that fails raises
:class:`~dialfsm.CallRefused` and nothing changes (the tracker journals the
refusal).  The guards run in :data:`~dialfsm.exceptions.REFUSAL_PRECEDENCE`
order, so the code raised is the first that applies:

1. ``INVALID_SETTINGS``: daily-js's rules for the settings
   (:mod:`dialfsm._settings`); a ``ref`` that is not a string, or names a call
   still waiting for its completion; a ``sessionId`` that is not a non-empty string;
2. ``NOT_FOUND``: a session id, session or ``retry_of`` the tracker does not know;
3. ``NOT_ALLOWED``: ``allow_dialout=False`` (a start or a stop);
4. ``DIALOUT_IN_PROGRESS``: ``max_dialouts`` dial-outs already live (a start);
5. ``INVALID_STATE``: the session's state forbids it (the table's rows, and its
   default rule 3), a stop of a dial-out with no id yet, a ``retry_of`` that
   names a live session or a dial-in.

A guard that fails in any other way (a settings mapping whose methods raise,
a ``str`` subclass that misbehaves) refuses the call ``INVALID_SETTINGS``: a
call ends in :class:`~dialfsm.CallRefused` or is accepted, nothing else.

A call that passes is *accepted*: it registers a pending call
(:class:`~dialfsm._calls.PendingCalls`) under its ``ref`` (a bot's string or a
:class:`~dialfsm.CallKey`) and its ``key`` (the seq of its journal entry), and
steps its session.  Its completion
(:func:`complete`) pairs with it (by ``ref``, else the session's, else the
oldest waiting), binds a start's session id, and steps the session with
``<call>.ok`` or ``<call>.error``; a completion that pairs with nothing is
``UNEXPECTED_COMPLETION``.  A friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._calls import CALL_INPUTS, CALLS, COMPLETION_INPUT, PendingCall
from dialfsm._core import TrackerCore
from dialfsm._errors import CallRefused, InvalidSettings, RefusalCode
from dialfsm._guesses import settle
from dialfsm._inputs import CallCompleted, CallKey, Ref, SendDtmf, SipCallTransfer, SipRefer, StartDialout, StopDialout
from dialfsm._machine import ENGINES
from dialfsm._session import JournalEntry, Session
from dialfsm._settings import parse_dialout_settings
from dialfsm._slots import fields_maker
from dialfsm._step import new_session, record, step
from dialfsm._table import AnomalyCode, Disposition, Input, SessionKind
from dialfsm._text import plain_str, short_repr, type_name

__all__ = [
    "GUARDS",
    "Call",
    "Guard",
    "GuardResult",
    "accept",
    "accept_unguarded",
    "check_state",
    "complete",
    "completion_name",
    "completion_problem",
    "guard",
    "pair",
    "previous_attempt",
    "unreadable",
]

#: Any of the bot's calls, typed.
Call = StartDialout | StopDialout | SendDtmf | SipCallTransfer | SipRefer
#: A guard: ``(core, argument, ref, retry_of) -> (typed call, its session or None for a start, previous attempt)``.
Guard = Callable[[TrackerCore, Any, "Ref | None", object], "tuple[Call, Session | None, Session | None]"]
_DIALOUT: Final = SessionKind.DIALOUT


#: ``StartDialout(settings=..., ref=...)``, built through its slots (see dialfsm._slots): a call per start.
_START: Final = fields_maker(StartDialout)


def _check_ref(core: TrackerCore, ref: object, call: str) -> str | None:
    """The bot's own ``ref`` string for the typed call (``None`` for a :class:`CallKey`), once checked."""
    if ref is None:
        return None
    if type(ref) is not CallKey and not isinstance(ref, str):
        raise InvalidSettings("ref", f"must be a string, got {short_repr(ref)}", call=call)
    if isinstance(ref, str):
        ref = plain_str(ref)
    if core._pending.ref_waiting(ref):
        raise InvalidSettings("ref", f"{short_repr(ref)} names a call still waiting for its completion", call=call)
    return ref if isinstance(ref, str) else None


def _target(core: TrackerCore, session: object, call: str) -> Session:
    if isinstance(session, Session):
        if core._sessions.get(session.index) is not session:
            raise CallRefused(RefusalCode.NOT_FOUND, "that session belongs to another tracker", call=call)
        return session
    if not isinstance(session, str) or not session:
        raise InvalidSettings("sessionId", f"must be a non-empty string, got {short_repr(session)}", call=call)
    target = core._by_id.get(session)
    if target is None:
        raise CallRefused(
            RefusalCode.NOT_FOUND, f"no session with id {short_repr(session)}", call=call, session_id=session
        )
    return target


def check_state(session: Session, input_: Input, call: str) -> None:
    """Raise ``INVALID_STATE`` unless ``session``'s table allows the call ``input_`` in its state."""
    resolution = ENGINES[session.kind].dispatch.get((session.state, input_))
    if resolution is None or resolution.disposition is Disposition.REFUSED:  # None: not this machine's call
        raise CallRefused(
            RefusalCode.INVALID_STATE,
            f"{call} is not allowed for a {session.kind.value} in state {session.state.value}",
            call=call,
            session_id=session.session_id,
        )


def previous_attempt(core: TrackerCore, retry_of: object) -> Session:
    """The session ``retry_of`` names (a session, its id, or its start call's ref); ``NOT_FOUND`` if none."""
    if isinstance(retry_of, Session):
        if retry_of._owner is not core:
            raise CallRefused(RefusalCode.NOT_FOUND, "retry_of belongs to another tracker", call="start_dialout")
        return retry_of  # possibly forgotten (finished_limit): the chain still links
    if isinstance(retry_of, str):
        retry_of = plain_str(retry_of)
    found = core._by_id.get(retry_of) if type(retry_of) is str else None
    if found is None and (type(retry_of) is str or type(retry_of) is CallKey):
        found = core._start_refs.get(retry_of)
    if found is None:
        raise CallRefused(
            RefusalCode.NOT_FOUND, f"retry_of names no session: {short_repr(retry_of)}", call="start_dialout"
        )
    return found


def _guard_start(
    core: TrackerCore, settings: object, ref: Ref | None, retry_of: object
) -> tuple[Call, None, Session | None]:
    parsed = parse_dialout_settings(settings)
    own = _check_ref(core, ref, "start_dialout")
    previous = None if retry_of is None else previous_attempt(core, retry_of)
    if not core.allow_dialout:
        raise CallRefused(RefusalCode.NOT_ALLOWED, "dial-out is disabled for this tracker", call="start_dialout")
    if core._live_dialouts >= core.max_dialouts:
        raise CallRefused(
            RefusalCode.DIALOUT_IN_PROGRESS,
            f"{core._live_dialouts} dial-out(s) already live (max_dialouts={core.max_dialouts})",
            call="start_dialout",
        )
    if previous is not None and (previous.kind is not _DIALOUT or not previous.is_terminal):
        raise CallRefused(
            RefusalCode.INVALID_STATE,
            f"retry_of must name a finished dial-out, not a {previous.kind.value} in state {previous.state}",
            call="start_dialout",
        )
    return _START((parsed, own)), None, previous  # type: ignore[return-value]


def _guard_stop(core: TrackerCore, session: object, ref: Ref | None, retry_of: object) -> tuple[Call, Session, None]:
    own = _check_ref(core, ref, "stop_dialout")
    target = _target(core, session, "stop_dialout")
    if not core.allow_dialout:
        raise CallRefused(RefusalCode.NOT_ALLOWED, "dial-out is disabled for this tracker", call="stop_dialout")
    if target.session_id is None and not target.is_terminal:
        raise CallRefused(
            RefusalCode.INVALID_STATE,
            "the dial-out has no session id yet: wait for the start completion or its first event",
            call="stop_dialout",
        )
    check_state(target, Input.STOP_DIALOUT, "stop_dialout")
    assert target.session_id is not None
    return StopDialout(session_id=target.session_id, ref=own), target, None


def _guard_on_session(call: Input) -> Guard:
    """The guard of a call with settings naming its session (``send_dtmf``, the two transfers)."""
    spec = CALLS[call]
    parse = spec.parse
    assert parse is not None

    def guard(core: TrackerCore, settings: object, ref: Ref | None, retry_of: object) -> tuple[Call, Session, None]:
        parsed = parse(settings)
        own = _check_ref(core, ref, spec.name)
        target = _target(core, parsed.session_id, spec.name)
        check_state(target, call, spec.name)
        return spec.typed(settings=parsed, ref=own), target, None

    return guard


#: The guard of each call.
GUARDS: Final[Mapping[Input, Guard]] = {
    Input.START_DIALOUT: _guard_start,
    Input.STOP_DIALOUT: _guard_stop,
    Input.SEND_DTMF: _guard_on_session(Input.SEND_DTMF),
    Input.SIP_CALL_TRANSFER: _guard_on_session(Input.SIP_CALL_TRANSFER),
    Input.SIP_REFER: _guard_on_session(Input.SIP_REFER),
}


def guard(core: TrackerCore, call: Input, argument: object, ref: object, retry_of: object) -> GuardResult:
    """Run ``call``'s guards: the typed call, its session and previous attempt, or the ``CallRefused`` to raise.

    Never raises: a guard that fails other than by refusing (a hostile settings
    object) is an ``INVALID_SETTINGS`` refusal.
    """
    try:
        return GUARDS[call](core, argument, ref, retry_of)  # type: ignore[arg-type]
    except CallRefused as refusal:
        return refusal
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (hostile settings: refuse, never raise raw)
        return unreadable(call, exc)


def unreadable(call: Input, exc: BaseException) -> CallRefused:
    """The refusal of a call whose guard failed other than by refusing (a hostile settings object)."""
    return InvalidSettings("settings", f"could not be read ({type_name(exc)})", call=CALLS[call].name)


#: What :func:`guard` returns: the accepted call's parts, or its refusal.
GuardResult = tuple[Call, Session | None, Session | None] | CallRefused


def accept(
    core: TrackerCore,
    call: Call,
    target: Session | None,
    previous: Session | None,
    t: float | None,
    ref: Ref | None = None,
    key: int | None = None,
) -> Session:
    """A call passed its guards: create a start's session, register the call as pending, step the session.

    ``ref`` is what the call is registered under (a bot's string, a :class:`CallKey`,
    or ``None``); ``key`` what names it in a recording (by default, the seq of its journal entry).
    """
    if key is None:
        key = core._seq
    if ref is None:
        ref = call.ref
    if isinstance(call, StartDialout):
        target = new_session(core, _DIALOUT, call.settings)
        if previous is not None:
            target.attempt, target.previous, previous.next_attempt = previous.attempt + 1, previous, target
        if ref is not None:
            core._start_refs[ref] = target
            target._start_ref = ref
        target._start_key = key
        core._waiting_for_id[target.index] = target
    assert target is not None
    core._pending.register(call.input, target, ref, key)
    step(core, target, call.input, call, core._seq, t, True)
    return target


def accept_unguarded(
    core: TrackerCore, call: Input, argument: object, ref: object, t: float | None, key: int | None = None
) -> Session | None:
    """Track, as far as Daily's rules allow, a call the bot made directly that the guards would refuse.

    A start still creates its dial-out (with its settings when they parse) and waits
    for its completion, so its completion and events have a session.  Any other call
    waits for its completion on the session it names, if there is one, without moving
    it.  ``ref`` (a string or a :class:`CallKey`) is kept if no waiting call holds it;
    ``key`` names the call in a recording.  Returns the session.
    """
    if key is None:
        key = core._seq
    ref = ref if isinstance(ref, (str, CallKey)) and not core._pending.ref_waiting(ref) else None
    if call is Input.START_DIALOUT:
        try:
            settings = parse_dialout_settings(argument)
        except CallRefused:
            settings = None
        target = new_session(core, _DIALOUT, settings)
        if ref is not None:
            core._start_refs[ref] = target
            target._start_ref = ref
        target._start_key = key
        core._waiting_for_id[target.index] = target
        core._pending.register(call, target, ref, key)
        own = ref if isinstance(ref, str) else None
        typed = StartDialout(settings=settings, ref=own) if settings is not None else (call.value, argument)
        step(core, target, call, typed, core._seq, t, True)
        return target
    named = argument if isinstance(argument, (Session, str)) else getattr(argument, "session_id", None)
    if named is None and isinstance(argument, Mapping):
        named = argument.get("sessionId")
    try:
        found: Session | None = _target(core, named, call.value)
    except CallRefused:
        found = None
    if found is not None:
        core._pending.register(call, found, ref, key)
    return found


# --- completions ------------------------------------------------------------------------------


def completion_name(completion: CallCompleted) -> str:
    """The journal name of a completion: ``<call>.ok`` or ``<call>.error`` (a bad ``call`` shown short)."""
    call = completion.call
    return f"{getattr(call, 'value', short_repr(call))}.{'ok' if completion.error is None else 'error'}"


def completion_problem(completion: CallCompleted) -> str | None:
    """Why ``completion`` is malformed (a ``call`` that is no call, a field that is no string), or ``None``."""
    if completion.call not in CALL_INPUTS:
        return f"not a call: {short_repr(completion.call)}"
    session_id, error, ref = completion.session_id, completion.error, completion.ref
    if (session_id is None or type(session_id) is str) and (error is None or type(error) is str) and ref is None:
        return None  # the common case, at once
    for field in ("session_id", "error", "ref"):
        value = getattr(completion, field)
        if value is not None and not isinstance(value, str) and not (field == "ref" and type(value) is CallKey):
            return f"completion {field} must be a string or null, got {short_repr(value)}"
    return None


def pair(core: TrackerCore, completion: CallCompleted, session: Session | None) -> PendingCall | None:
    """The waiting call a well-formed completion pairs with: by ``ref``, else ``session``'s (or the named id's).

    A completion naming a session id the tracker does not know pairs with nothing.
    """
    call = completion.call
    if completion.ref is not None:
        return core._pending.find(call, completion.ref, None)
    if session is None and call is not Input.START_DIALOUT and completion.session_id is not None:
        session = core._by_id.get(completion.session_id)
        if session is None:
            return None
    return core._pending.find(call, None, session)


def complete(
    core: TrackerCore, completion: CallCompleted, pending: PendingCall | None, t: float | None
) -> JournalEntry:
    """Apply a well-formed completion that paired with ``pending`` (or journal it as unexpected)."""
    if pending is None:
        name = completion_name(completion)
        message = f"{name} matches no {completion.call.value} waiting for its completion"
        return record(core, name, completion, Disposition.ANOMALY, AnomalyCode.UNEXPECTED_COMPLETION, message, t=t)
    core._pending.complete(pending)
    target = pending.session
    if completion.call is Input.START_DIALOUT and completion.session_id is not None and completion.error is None:
        conflict = _bind_from_completion(core, target, completion.session_id)
        if conflict is not None:
            name = completion_name(completion)
            return record(core, name, completion, Disposition.ANOMALY, AnomalyCode.UNEXPECTED_COMPLETION, conflict, t=t)
    input_ = COMPLETION_INPUT[completion.call, completion.error is None]
    return step(core, target, input_, completion, core._seq, t, True)


def _bind_from_completion(core: TrackerCore, session: Session, session_id: str) -> str | None:
    """Bind the id a start completion returned, correcting a guess that gave it, or this call, to another."""
    return settle(core, session, session_id)
