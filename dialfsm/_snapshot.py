"""Saving a tracker's state as JSON-able data, and restoring it exactly.

A bot restarted mid-call keeps tracking: ``data = tracker.snapshot()`` (store it
as JSON), then ``CallTracker.restore(data)``.  Everything that decides how the
next input is handled is carried: every session (state, states visited,
outcome, error, ids, flags, warnings, tones, attempt chain, armed timer), the
calls waiting for completions, the dial-outs waiting for an id, the dial-in
endpoints, the timers, queued effects, the retry jitter's random state, the
configuration, and the journal position (``inputs_read``).  The journal's
entries and the sessions' histories are not carried: they describe the past,
hold arbitrary payloads, and an entry listener is the place to keep them.
Listeners are not carried either (they are code).

A snapshot of a newer format, or a corrupt one, raises
:class:`~dialfsm.exceptions.SnapshotError` and yields no tracker at all.
This module works on a :class:`~dialfsm._core.TrackerCore` (a friend of it);
:meth:`CallTracker.restore <dialfsm.CallTracker.restore>` passes the class
to build, so nothing here imports the tracker.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from dialfsm._calls import CALL_INPUTS
from dialfsm._core import TrackerCore
from dialfsm._errors import CallRefused, ErrorCode, SnapshotError
from dialfsm._machine import TABLES
from dialfsm._policy import Effect, RetryDialout, RetryPolicy, StopCall, Timeouts
from dialfsm._session import Session
from dialfsm._settings import parse_dialout_settings
from dialfsm._step import bind, extra
from dialfsm._table import DialinState, DialoutState, Input, InputKind, Origin, Outcome, SessionKind
from dialfsm._timers import TimerHeap

__all__ = ["FORMAT", "VERSION", "restore", "snapshot"]

#: The ``format`` field of every snapshot.
FORMAT: Final = "dialfsm.snapshot"
#: The snapshot format version this dialfsm writes and the newest it reads (1: dialfsm 0.1.0's, read too;
#: 2 adds each session's origin, times and links, the transfer legs expected, and the adoption option).
VERSION: Final = 2

_Core = TypeVar("_Core", bound=TrackerCore)


def snapshot(core: TrackerCore) -> dict[str, Any]:
    """The JSON-able state of ``core`` (see the module docstring for what is carried)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": _config(core),
        "rng": _rng_state(core._rng.getstate()),
        "seq": core._seq,
        "created": core._created,
        "now": core._now,
        "timer_seq": core._timers.seq,
        "sessions": [_session_row(s, core._sessions) for s in core._sessions.values()],
        "live": list(core._live),
        "waiting_for_id": list(core._waiting_for_id),
        "forgotten": list(core._forgotten),
        "finished": [s.index for s in core._finished],
        "pending": {
            call.value: rows
            for call in CALL_INPUTS
            if (rows := [[p.session.index, p.ref] for p in core._pending.waiting(call)])
        },
        "start_refs": {ref: s.index for ref, s in core._start_refs.items()},
        "endpoints": list(core._endpoints),
        "awaiting_legs": list(core._awaiting_legs),
        "early_joins": list(core._early_joins),
        # A retry suggested for a session already forgotten (finished_limit) is not carried.
        "effects": [_effect_row(e) for e in core._effects if _named(e) in core._sessions.values()],
    }


def _config(core: TrackerCore) -> dict[str, Any]:
    timeouts, policy = core.timeouts, core.retry_policy
    return {
        "max_dialouts": core.max_dialouts,
        "allow_dialout": core.allow_dialout,
        "engine": core.engine,
        "journal_limit": core._journal_limit,
        "keep_history": core.keep_history,
        "finished_limit": core.finished_limit,
        "timeouts": None
        if timeouts is None
        else {"start": timeouts.start, "ring": timeouts.ring, "stop": timeouts.stop},
        "retry": None
        if policy is None
        else {
            "max_attempts": policy.max_attempts,
            "base_delay": policy.base_delay,
            "multiplier": policy.multiplier,
            "max_delay": policy.max_delay,
            "jitter": policy.jitter,
            "seed": policy.seed,
            "retry_on": sorted(code.value for code in policy.retry_on),
        },
    }


def _rng_state(state: tuple[Any, ...]) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _named(effect: Effect) -> Session:
    return effect.session if isinstance(effect, StopCall) else effect.previous


def _linked(other: Session | None, sessions: Mapping[int, Session]) -> int | None:
    """The index of a linked attempt, if the tracker still holds it (``finished_limit`` forgets)."""
    return None if other is None or sessions.get(other.index) is not other else other.index


def _session_row(s: Session, sessions: Mapping[int, Session]) -> dict[str, Any]:
    return {
        "index": s.index,
        "kind": s.kind.value,
        "session_id": s.session_id,
        "states": [state.value for state in s._states],
        "outcome": None if s._outcome is None else s._outcome.value,
        "error": s._error,
        "error_code": None if s._error_code is None else s._error_code.value,
        "settings": None if s._settings is None else s._settings.to_daily(),
        "answered": s.answered,
        "stop_requested": s._stop_requested,
        "live_transfers": s._live_transfers,
        "warnings": None if s._warnings is None else list(s._warnings),
        "dtmf": None if s._dtmf is None else list(s._dtmf),
        "deadline": s._deadline,
        "timer": None if s._timer is None else s._timer.value,
        "timer_seq": s._timer_seq,
        "start_ref": s._start_ref,
        "attempt": s.attempt,
        "previous": _linked(s.previous, sessions),
        "retry": _linked(s.next_attempt, sessions),
        "origin": s._origin.value,
        "times": [s._started_at, s._answered_at, s._ended_at],
        "extra": _extra_row(s, sessions),
    }


#: The keys of ``Session._extra`` a snapshot keeps as they are (strings, numbers, flags).
_PLAIN_EXTRA: Final = ("destination", "user_id", "caller_id", "room", "details", "legs", "left", "stop_on_id")
#: The keys naming another session, kept as its index.
_LINK_EXTRA: Final = ("transferred_from", "transferred_to")


def _extra_row(s: Session, sessions: Mapping[int, Session]) -> dict[str, Any]:
    """A session's rarely-set fields (the suggested retry is carried by the effects instead)."""
    found = s._extra or {}
    row: dict[str, Any] = {key: found[key] for key in _PLAIN_EXTRA if found.get(key) is not None}
    row.update({key: _linked(found[key], sessions) for key in _LINK_EXTRA if found.get(key) is not None})
    if found.get("guessed") is not None:
        row["guessed"] = list(found["guessed"])
    return row


def _effect_row(effect: Effect) -> dict[str, Any]:
    if isinstance(effect, StopCall):
        row = {"type": "stop", "session": effect.session.index, "reason": effect.reason, "ref": effect.ref}
        return {**row, "after_end": True} if effect.after_end else row
    return {
        "type": "retry",
        "previous": effect.previous.index,
        "attempt": effect.attempt,
        "delay": effect.delay,
        "not_before": effect.not_before,
    }


def restore(data: object, cls: type[_Core]) -> _Core:
    """A ``cls`` (a :class:`~dialfsm.CallTracker`) in exactly the state ``data`` (from :func:`snapshot`) describes.

    Raises:
        SnapshotError: ``data`` is not a dialfsm snapshot, is of a newer format
            version, or is corrupt.  No tracker is returned half-restored.

    """
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SnapshotError("not a dialfsm snapshot (its 'format' is not 'dialfsm.snapshot')")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SnapshotError(f"snapshot 'version' must be an int, got {version!r}")
    if version > VERSION:
        raise SnapshotError(f"snapshot format version {version} is newer than this dialfsm reads ({VERSION})")
    if version < 1:
        raise SnapshotError(f"unknown snapshot format version {version}")
    try:
        return _restore(data, cls)
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, CallRefused) as exc:
        raise SnapshotError(f"corrupt snapshot: {type(exc).__name__}: {exc}") from None


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected a finite number or null, got {value!r}")
    return float(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected an int >= 0, got {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _str_or_none(value: object) -> str | None:
    return None if value is None else _str(value)


def _new_core(config: Mapping[str, Any], cls: type[_Core]) -> _Core:
    timeouts_row, retry_row = config["timeouts"], config["retry"]
    return cls(
        adopt_unknown_dialouts=config.get("adopt_unknown_dialouts", "webhook"),
        max_dialouts=config["max_dialouts"],
        allow_dialout=bool(config["allow_dialout"]),
        engine=config["engine"],
        journal_limit=config["journal_limit"],
        keep_history=bool(config["keep_history"]),
        finished_limit=config["finished_limit"],
        timeouts=None if timeouts_row is None else Timeouts(**timeouts_row),
        retry=None
        if retry_row is None
        else RetryPolicy(**{**retry_row, "retry_on": frozenset(ErrorCode(c) for c in retry_row["retry_on"])}),
    )


def _restore(data: Mapping[str, Any], cls: type[_Core]) -> _Core:
    core = _new_core(data["config"], cls)
    rng = data["rng"]
    core._rng.setstate((rng[0], tuple(rng[1]), rng[2]))
    core._seq = _int(data["seq"])
    core._created = _int(data["created"])
    core._now = _float_or_none(data["now"])
    core._timers = TimerHeap.from_entries([], _int(data["timer_seq"]))
    rows = data["sessions"]
    sessions = {}
    for row in rows:
        session = _session(row, core)
        if session.index in sessions:
            raise ValueError(f"session index {session.index} repeated")
        sessions[session.index] = session
        sid = _str_or_none(row["session_id"])
        if sid is not None:
            if sid in core._by_id:
                raise ValueError(f"session id {sid!r} repeated")
            bind(core, session, sid)
    for row in rows:
        session = sessions[row["index"]]
        session.previous = None if row["previous"] is None else sessions[row["previous"]]
        session.next_attempt = None if row["retry"] is None else sessions[row["retry"]]
        _restore_extra(row, session, sessions)
    core._sessions = dict(sorted(sessions.items()))
    _restore_indexes(data, core, sessions)
    return core


def _session(row: Mapping[str, Any], core: TrackerCore) -> Session:
    kind = SessionKind(row["kind"])
    states_enum: type[DialoutState] | type[DialinState] = DialoutState if kind is SessionKind.DIALOUT else DialinState
    settings = None if row["settings"] is None else parse_dialout_settings(row["settings"])
    index = _int(row["index"])
    if index >= core._created:
        raise ValueError(f"session index {index} beyond 'created'")
    session = Session(kind, index, None, settings)
    states = [states_enum(v) for v in row["states"]]
    if not states or states[0] is not states_enum("idle"):
        raise ValueError("a session's states must start with idle")
    session._states, session._state = states, states[-1]
    session._outcome = None if row["outcome"] is None else Outcome(row["outcome"])
    if (session._outcome is None) == (session._state in TABLES[kind].terminal):
        raise ValueError(f"session {index}: outcome and state disagree")
    if bool(row["answered"]) != session.answered:
        raise ValueError(f"session {index}: 'answered' disagrees with its states")
    session._error = _str_or_none(row["error"])
    session._error_code = None if row["error_code"] is None else ErrorCode(row["error_code"])
    session._stop_requested = bool(row["stop_requested"])
    session._live_transfers = _int(row["live_transfers"])
    session._warnings = None if row["warnings"] is None else [_str(w) for w in row["warnings"]]
    session._dtmf = None if row["dtmf"] is None else [_str(d) for d in row["dtmf"]]
    session._deadline = _float_or_none(row["deadline"])
    session._timer = None if row["timer"] is None else Input(row["timer"])
    if session._timer is not None and (session._timer.kind is not InputKind.TIMER or session._deadline is None):
        raise ValueError(f"session {index}: bad timer")
    session.attempt = _int(row["attempt"]) or 1
    session._timer_seq = _int(row["timer_seq"])
    session._start_ref = _str_or_none(row["start_ref"])
    session._owner = core
    if "origin" in row:  # version 2
        session._origin = Origin(row["origin"])
        session._started_at, session._answered_at, session._ended_at = (_float_or_none(v) for v in row["times"])
    return session


def _restore_extra(row: Mapping[str, Any], session: Session, sessions: Mapping[int, Session]) -> None:
    extra_row = row.get("extra") or {}
    if not isinstance(extra_row, Mapping):
        raise TypeError("a session's 'extra' must be an object")
    found: dict[str, Any] = {}
    for key in _PLAIN_EXTRA:
        if key in extra_row:
            found[key] = extra_row[key]
    for key in _LINK_EXTRA:
        if extra_row.get(key) is not None:
            found[key] = sessions[extra_row[key]]
    if extra_row.get("guessed") is not None:
        history, states = extra_row["guessed"]
        found["guessed"] = (_int(history), _int(states))
    session._extra = found or None


def _restore_indexes(data: Mapping[str, Any], core: TrackerCore, sessions: Mapping[int, Session]) -> None:
    live = [sessions[i] for i in data["live"]]
    if any(s.is_terminal for s in live) or {s.index for s in live} != {
        s.index for s in sessions.values() if not s.is_terminal
    }:
        raise ValueError("'live' does not match the sessions' states")
    core._live = {s.index: s for s in live}
    core._live_dialouts = sum(1 for s in live if s.kind is SessionKind.DIALOUT)
    core._waiting_for_id = {i: sessions[i] for i in data["waiting_for_id"]}
    core._forgotten = {_str(sid): None for sid in data["forgotten"]}
    core._finished = deque(sessions[i] for i in data["finished"])
    for name, queue_rows in data["pending"].items():
        call = Input(name)
        if call.kind is not InputKind.CALL:
            raise ValueError(f"pending {name!r} is not a call")
        for index, ref in queue_rows:
            core._pending.register(call, sessions[index], _str_or_none(ref))
    core._start_refs = {_str(ref): sessions[i] for ref, i in data["start_refs"].items()}
    core._endpoints = {_str(e): None for e in data["endpoints"]}
    core._awaiting_legs = {i: sessions[i] for i in data.get("awaiting_legs", ())}
    core._early_joins = {_str(sid): None for sid in data.get("early_joins", ())}
    for effect in data["effects"]:
        core._effects.append(_effect(effect, sessions))
        if isinstance(core._effects[-1], RetryDialout):
            extra(core._effects[-1].previous)["retry"] = core._effects[-1]
    for session in live:
        core._timers.rearm(session)  # the saved arming order keeps ties between equal deadlines as they were
        if core._machines is not None:
            core._attach_model(session)


def _effect(row: Mapping[str, Any], sessions: Mapping[int, Session]) -> Effect:
    if row["type"] == "stop":
        session = sessions[row["session"]]
        return StopCall(
            session=session,
            session_id=session.session_id,
            reason=_str(row["reason"]),
            ref=_str_or_none(row.get("ref")),
            after_end=bool(row.get("after_end", False)),
        )
    if row["type"] == "retry":
        previous = sessions[row["previous"]]
        if previous._settings is None:
            raise ValueError("a retry effect names a session without settings")
        delay = _float_or_none(row["delay"])
        return RetryDialout(
            previous=previous,
            settings=previous._settings,
            attempt=_int(row["attempt"]),
            delay=0.0 if delay is None else delay,
            not_before=_float_or_none(row["not_before"]),
        )
    raise ValueError(f"unknown effect type {row['type']!r}")
