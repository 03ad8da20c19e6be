"""Correcting a guessed binding: a start completion names a call routing gave to another session.

Routing must sometimes guess which session an event with an unknown id belongs
to (:mod:`dialfsm._routing`): daily-python's payloads name no destination, so
the first event of a call goes to the oldest dial-out waiting for its id (rule
4, or rule 2 when two waiting calls have the same destination), to the new leg
of a transfer in flight while a placed call also waits (rule 3), or to a
session adopted for it (rule 6).  A guess is noted on the session it bound
(``_extra["guessed"]``: how long its history, states, warnings and tones were
then); an adopted session is a guess as a whole.

A start completion settles it (:func:`settle`).  The call it names belongs to
the session whose start it completes; the progress another session made with
that call since the guess (states, history, outcome, error, details, tones,
warnings, its timer, the calls and effects aimed at it) moves there
(:func:`move_call`), and the other session goes back to what it was: a dial-out
the bot placed waits for its id again, in ``connecting`` under its start
watchdog; a session the guess created (an adopted call, a transfer's leg) goes
(a transfer then waits for its leg again).  A session whose own guessed call
turns out to be someone else's hands it on (:func:`release`): to the next
dial-out still waiting for an id (a guess again), else to the transfer leg
awaited, else to a session of its own (origin ``adopted``: a call this bot did
not place).  A start the watchdog gave up on that completes late asks for its
call to be hung up wherever the call went (``StopCall`` with ``after_end``).
The journal keeps what was recorded at the time.  A friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from dialfsm._core import TrackerCore
from dialfsm._machine import TABLES
from dialfsm._policy import RetryDialout, StopCall, retry_for
from dialfsm._session import Session
from dialfsm._step import arm, bind, extra, leg_expected, new_session, queue_stop
from dialfsm._table import TIMED_ORIGINS, DialoutState, Input, Origin, SessionKind, State
from dialfsm._text import short_repr
from dialfsm._timers import disarm

__all__ = ["claimable", "guessed", "mark_guess", "settle"]

#: Session fields a call decides, and what they are on a session without one.
_PROGRESS: Final[dict[str, Any]] = {
    "_outcome": None,
    "_error": None,
    "_error_code": None,
    "_stop_requested": False,
    "_live_transfers": 0,
    "_answered_at": None,
    "_ended_at": None,
}
#: ``_extra`` keys that describe the call itself (they move with it).
_CALL_EXTRA: Final = ("details", "left", "legs", "transferred_to", "destination", "user_id", "caller_id", "room")


def guessed(session: Session) -> bool:
    """Whether ``session``'s id was bound by a guess no start completion has confirmed."""
    return session._extra is not None and session._extra.get("guessed") is not None


def claimable(session: Session) -> bool:
    """Whether a start completion naming ``session``'s id may take its call: a guess, or an adopted call."""
    return session._origin is Origin.ADOPTED or guessed(session)


def mark_guess(session: Session) -> None:
    """Note that routing just bound ``session``'s id by a guess (how far its progress went until now)."""
    extra(session)["guessed"] = (
        len(session._history),
        len(session._states),
        len(session._warnings or ()),
        len(session._dtmf or ()),
    )


def _mark_of(session: Session) -> tuple[int, int, int, int]:
    """Where the guessed call's progress starts on ``session`` (an adopted session: all of it)."""
    mark = session._get("guessed")
    if mark is None:
        return (0, 1, 0, 0)
    values: list[int] = [*mark, 0, 0]
    return values[0], values[1], values[2], values[3]


def settle(core: TrackerCore, session: Session, session_id: str) -> str | None:
    """The start of ``session`` completed with ``session_id``: bind it, correcting guesses; a conflict's text.

    Returns ``None`` when the id is bound (or handed over), else why the
    completion cannot be applied (an id the events certainly gave another call).
    """
    if session.session_id == session_id:
        if guessed(session):
            extra(session)["guessed"] = None  # the guess was right
        return None
    if session.session_id is not None:
        if not guessed(session):
            return f"start completion returned {session_id!r} but events bound {session.session_id!r}"
        release(core, session)  # the call events gave it is another's: it waits for its own again
    owner = core._by_id.get(session_id)
    if owner is None:
        if session_id in core._forgotten:  # as for events: a forgotten id never binds again
            return f"start completion returned {short_repr(session_id)}, the id of a session the tracker forgot"
        bind(core, session, session_id)
        return None
    if not claimable(owner):
        return f"start completion returned {session_id!r}, already the id of session #{owner.index}"
    if session._outcome is not None:  # a start the watchdog gave up on: its call is ringing elsewhere
        holder = owner if owner._origin is Origin.ADOPTED else release(core, owner)
        _hang_up_late(core, session, holder)
        return None
    move_call(core, owner, session)
    return None


def release(core: TrackerCore, giver: Session) -> Session:
    """``giver``'s guessed call is not its own: hand it to whom it may belong; that session."""
    waiting = next((s for s in core._waiting_for_id.values() if s is not giver and s._origin is Origin.BOT), None)
    if waiting is not None:
        mark_guess(waiting)
        move_call(core, giver, waiting)
        return waiting
    source = next(iter(core._awaiting_legs.values()), None)
    holder = new_session(core, SessionKind.DIALOUT, origin=Origin.ADOPTED if source is None else Origin.TRANSFER)
    holder._started_at = _first_t(giver)
    if source is not None:
        extra(holder)["transferred_from"] = source
        extra(source)["transferred_to"] = holder
        leg_expected(core, source, -1)
    move_call(core, giver, holder)
    return holder


#: The dial-out transitions the table allows from ``idle`` (how a call tracked from its events begins).
_FROM_IDLE: Final = frozenset(
    (row.source, row.dest)
    for row in TABLES[SessionKind.DIALOUT].rows
    if row.source is DialoutState.IDLE and row.dest is not None and row.dest is not DialoutState.IDLE
)


def _first_t(session: Session) -> float | None:
    """When the guessed call on ``session`` was first heard of."""
    rows = session._history[_mark_of(session)[0] :]  # journal rows: (seq, name, step, code, message, t, ...)
    return next((row[5] for row in rows if row[5] is not None), session._started_at)


def _hang_up_late(core: TrackerCore, late: Session, holder: Session) -> None:
    """A start completed after its watchdog gave up, naming a call ``holder`` tracks: hang it up, retry nothing."""
    holder._origin = Origin.BOT  # the bot did place it: this start's call
    if holder._outcome is None:
        queue_stop(core, holder, "start_timeout", after_end=False)
    retry = late._get("retry")
    if retry is not None and retry in core._effects:  # never two live calls: the retry is withdrawn
        core._effects.remove(retry)
        extra(late)["retry"] = None


def move_call(core: TrackerCore, giver: Session, taker: Session) -> None:
    """The call (id and progress since the guess) moves from ``giver`` to ``taker``; ``giver`` goes back."""
    sid = giver._session_id
    assert sid is not None
    _move_progress(giver, taker)
    del core._by_id[sid]
    giver._session_id = None
    extra(giver)["guessed"] = None
    _move_calls(core, giver, taker)
    bind(core, taker, sid)
    _move_timer(core, giver, taker)
    if giver._origin is Origin.BOT:
        core._waiting_for_id = dict(sorted({**core._waiting_for_id, giver.index: giver}.items()))
    _relive(core, giver, taker)
    if giver._origin is not Origin.BOT:
        _drop(core, giver)
    core._live_dialouts = sum(1 for s in core._live.values() if s.kind is SessionKind.DIALOUT)


def _joined(found: State, moved: list[State], at: State) -> list[State]:
    """The states the call went through since the guess (from ``found``), as they continue from ``at``.

    A state the taker is in already is not entered again (an adopted call's first state,
    ``connecting``, handed to a start that is connecting).  A new session, ``idle``, whose
    first move the table does not allow from ``idle`` (the bot's ``stop_dialout``:
    ``connecting -> stopping``) first enters the state the guess found.
    """
    skip = 0
    while skip < len(moved) and moved[skip] is at:
        skip += 1
    rest = moved[skip:]
    if rest and at is DialoutState.IDLE and (at, rest[0]) not in _FROM_IDLE:
        return [found, *rest]
    return rest


def _move_progress(giver: Session, taker: Session) -> None:
    """States, history, warnings, tones, outcome and the call's details move; ``giver`` is as before the guess."""
    history, states, warnings, tones = _mark_of(giver)
    taker._history.extend(giver._history[history:])
    del giver._history[history:]
    taker._states.extend(_joined(giver._states[states - 1], giver._states[states:], taker._states[-1]))
    del giver._states[states:]
    for name, at in (("_warnings", warnings), ("_dtmf", tones)):
        moved = (getattr(giver, name) or [])[at:]
        if moved:
            setattr(taker, name, (getattr(taker, name) or []) + moved)
            del getattr(giver, name)[at:]
    for name, empty in _PROGRESS.items():
        setattr(taker, name, getattr(giver, name))
        setattr(giver, name, empty)
    taker._state, giver._state = taker._states[-1], giver._states[-1]
    if taker._answered_at is not None and taker._started_at is None:
        taker._started_at = taker._answered_at
    found = giver._extra or {}
    for key in _CALL_EXTRA:
        if found.get(key) is not None:
            extra(taker)[key] = found.pop(key)


def _move_calls(core: TrackerCore, giver: Session, taker: Session) -> None:
    """The calls waiting on the call (a stop, tones, a transfer) and the effects aimed at it follow it."""
    core._pending.move(giver, taker, keep=Input.START_DIALOUT)
    if giver.index in core._awaiting_legs:  # the bot transferred the call: its leg is awaited for it
        del core._awaiting_legs[giver.index]
        core._awaiting_legs = dict(sorted({**core._awaiting_legs, taker.index: taker}.items()))
    moved: list[Any] = []
    for effect in core._effects:
        if isinstance(effect, StopCall) and effect.session is giver:
            moved.append(attrs.evolve(effect, session=taker))
        elif isinstance(effect, RetryDialout) and effect.previous is giver:
            extra(giver)["retry"] = None  # the failure was the call's, not the giver's
        else:
            moved.append(effect)
    core._effects = moved
    policy = core.retry_policy
    if policy is not None and taker._outcome is not None and taker._get("retry") is None:
        retry = retry_for(taker, policy, core._rng, core._now)
        if retry is not None:
            core._effects.append(retry)
            extra(taker)["retry"] = retry


def _move_timer(core: TrackerCore, giver: Session, taker: Session) -> None:
    """The call's timer goes with it (or the taker's state arms its own); a giver placed by the bot is watched again."""
    deadline, timer = giver._deadline, giver._timer
    disarm(giver)
    disarm(taker)
    table = TABLES[SessionKind.DIALOUT].timers
    if taker._outcome is None and taker._origin in TIMED_ORIGINS:
        state_timer = table.get(taker._state)
        if deadline is not None and timer is not None and state_timer is not None and timer in _inputs(state_timer):
            core._timers.arm(taker, timer, deadline)
        elif state_timer is not None:
            arm(core, taker, state_timer.after_sign_of_life or state_timer, core._now)
    watchdog = table.get(DialoutState.CONNECTING)
    if giver._origin is Origin.BOT and giver._outcome is None and watchdog is not None:
        arm(core, giver, watchdog, core._now)
    for session in (giver, taker):
        if session._model is not None and core._machines is not None:
            core._machines[session.kind].set_state(session._state, model=session._model)


def _inputs(timer: Any) -> tuple[Input, ...]:
    after = timer.after_sign_of_life
    return (timer.input,) if after is None else (timer.input, after.input)


def _relive(core: TrackerCore, giver: Session, taker: Session) -> None:
    """The live and finished sets, and the engine's models, follow the sessions' new states."""
    for session in (giver, taker):
        if session._outcome is None:
            core._live = dict(sorted({**core._live, session.index: session}.items()))
        else:
            core._live.pop(session.index, None)
        if core._machines is not None:  # engine="transitions": a live session's model is in its (new) state
            if session._model is not None:
                core._machines[session.kind].remove_model(session._model)
                session._model = None
            if session._outcome is None:
                core._attach_model(session)
    if giver in core._finished:
        core._finished = type(core._finished)(taker if s is giver else s for s in core._finished)
    elif taker._outcome is not None and core.finished_limit is not None and taker not in core._finished:
        core._finished.append(taker)


def _drop(core: TrackerCore, gone: Session) -> None:
    """A session the guess created, now empty, goes; a transfer it was the leg of waits for its leg again."""
    core._sessions.pop(gone.index, None)
    core._live.pop(gone.index, None)
    core._waiting_for_id.pop(gone.index, None)
    if gone in core._finished:
        core._finished = type(core._finished)(s for s in core._finished if s is not gone)
    if gone._model is not None and core._machines is not None:
        core._machines[gone.kind].remove_model(gone._model)
        gone._model = None
    source = gone._get("transferred_from")
    if source is not None:
        leg_expected(core, source, +1)
        core._awaiting_legs = dict(sorted({**core._awaiting_legs, source.index: source}.items()))
        if source._get("transferred_to") is gone:
            extra(source)["transferred_to"] = None
