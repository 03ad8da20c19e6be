"""Correcting a guessed binding: a start completion that names a call routing gave to another session.

Routing must sometimes guess which session an event with an unknown id belongs
to (:mod:`dialfsm._routing`, rules 3 and 4): daily-python's payloads name no
destination, so the first event of a call goes to the oldest dial-out waiting
for its id, or to the new leg of a transfer in flight.  The guess is noted on
the session (``_extra["guessed"]``: how long its history and its list of
states were when the guess bound it).

When the start completions then return the ids the other way round, the call
is given to the session it belongs to, so no completion is stranded
(:func:`take_over`): the progress the guessed session made since the guess
(states, history, outcome, error, timer, times) moves to the session the
completion names, and the guessed session goes back to where it was: a
dial-out the bot placed waits for its id again, in ``connecting`` with its
start watchdog armed; a transfer leg made by the guess is dropped (its
transfer waits for a leg again).  The journal keeps what was recorded at the
time.  A friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from typing import Any

from dialfsm._core import TrackerCore
from dialfsm._machine import TABLES
from dialfsm._session import Session
from dialfsm._step import arm, bind, extra, leg_expected
from dialfsm._table import Origin, SessionKind
from dialfsm._timers import disarm

__all__ = ["guessed", "take_over", "waiting_placed_dialout"]

#: What moves with a call from the session a guess gave it to: everything Daily's events decided.
_PROGRESS = ("_outcome", "_error", "_error_code", "_stop_requested", "_live_transfers", "_answered_at", "_ended_at")


def guessed(session: Session) -> bool:
    """Whether ``session``'s id was bound by a guess a start completion has not confirmed."""
    return session._extra is not None and session._extra.get("guessed") is not None


def waiting_placed_dialout(core: TrackerCore, besides: Session) -> Session | None:
    """The oldest dial-out the bot placed that waits for its id, other than ``besides``."""
    return next((s for s in core._waiting_for_id.values() if s is not besides and s._origin is Origin.BOT), None)


def take_over(core: TrackerCore, taker: Session, giver: Session) -> None:
    """Give ``taker`` (waiting for its id) the call a guess gave ``giver``: its id and the progress since."""
    history_at, states_at = giver._extra["guessed"]  # type: ignore[index]
    sid = giver._session_id
    assert sid is not None
    taker._history.extend(giver._history[history_at:])
    del giver._history[history_at:]
    taker._states.extend(giver._states[states_at:])
    del giver._states[states_at:]
    for name in _PROGRESS:
        setattr(taker, name, getattr(giver, name))
        setattr(giver, name, _RESET[name])
    taker._state, giver._state = taker._states[-1], giver._states[-1]
    extra(giver)["guessed"] = None
    del core._by_id[sid]
    giver._session_id = None
    bind(core, taker, sid)
    _move_timer(core, taker, giver)
    _relive(core, taker, giver)
    if giver._origin is Origin.TRANSFER:
        _drop_leg(core, giver)
    else:
        core._waiting_for_id = dict(sorted({**core._waiting_for_id, giver.index: giver}.items()))
    core._live_dialouts = sum(1 for s in core._live.values() if s.kind is SessionKind.DIALOUT)


_RESET: dict[str, Any] = {
    "_outcome": None,
    "_error": None,
    "_error_code": None,
    "_stop_requested": False,
    "_live_transfers": 0,
    "_answered_at": None,
    "_ended_at": None,
}


def _move_timer(core: TrackerCore, taker: Session, giver: Session) -> None:
    """The giver's timer (for the call's state) goes to the taker; the giver waits again under its watchdog."""
    deadline, timer = giver._deadline, giver._timer
    disarm(giver)
    disarm(taker)
    if deadline is not None and timer is not None and taker._outcome is None:
        core._timers.arm(taker, timer, deadline)
    watchdog = TABLES[SessionKind.DIALOUT].timers.get(giver._state)
    if watchdog is not None and giver._outcome is None and giver._origin is Origin.BOT:
        arm(core, giver, watchdog, None)
    for session in (taker, giver):
        if session._model is not None and core._machines is not None:
            core._machines[session.kind].set_state(session._state, model=session._model)


def _relive(core: TrackerCore, taker: Session, giver: Session) -> None:
    """Live and finished sets follow the sessions' new states."""
    for session in (taker, giver):
        if session._outcome is None:
            core._live = dict(sorted({**core._live, session.index: session}.items()))
        else:
            core._live.pop(session.index, None)
    if giver in core._finished:
        core._finished = type(core._finished)(taker if s is giver else s for s in core._finished)


def _drop_leg(core: TrackerCore, leg: Session) -> None:
    """A transfer leg the guess made, now empty: it goes, and its transfer waits for a leg again."""
    source = leg._get("transferred_from")
    core._sessions.pop(leg.index, None)
    core._live.pop(leg.index, None)
    if leg._model is not None and core._machines is not None:
        core._machines[leg.kind].remove_model(leg._model)
        leg._model = None
    if source is not None:
        leg_expected(core, source, +1)
        core._awaiting_legs = dict(sorted({**core._awaiting_legs, source.index: source}.items()))
        if source._get("transferred_to") is leg:
            extra(source)["transferred_to"] = None
