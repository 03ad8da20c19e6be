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
Restoring is strict in three steps: every field is read with its type; the
tracker built must pass the invariant checker (:mod:`dialfsm._invariants`:
no session listed twice as live, no timer a state does not arm...); and its
own snapshot must equal the data given, so whatever restores is exactly what
this dialfsm would have written (a snapshot of dialfsm 0.1.0 is: fields added
since are written only when they hold something).
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
from dialfsm._errors import ErrorCode, SnapshotError
from dialfsm._inputs import CallKey, Ref
from dialfsm._invariants import problems
from dialfsm._options import MEMORY_OPTIONS, behaviour_options, tracker_options
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session
from dialfsm._settings import parse_dialout_settings
from dialfsm._step import bind, extra
from dialfsm._table import DialinState, DialoutState, Input, InputKind, Origin, Outcome, SessionKind
from dialfsm._text import describe_error, short_repr
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
    data: dict[str, Any] = {
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
            if (rows := [_pending_row(p.session.index, p.ref, p.key) for p in core._pending.waiting(call)])
        },
        "start_refs": {ref: s.index for ref, s in core._start_refs.items() if isinstance(ref, str)},
        "endpoints": list(core._endpoints),
        "awaiting_legs": list(core._awaiting_legs),
        "early_joins": list(core._early_joins),
        # A retry suggested for (or a stop of) a session already forgotten (finished_limit) is not carried.
        "effects": [_effect_row(e) for e in core._effects if _kept(core, _named(e))],
    }
    keys = [[ref.value, s.index] for ref, s in core._start_refs.items() if isinstance(ref, CallKey)]
    if keys:
        data["start_keys"] = keys
    return data


def _config(core: TrackerCore) -> dict[str, Any]:
    memory = {"engine": core.engine, "journal_limit": core._journal_limit, "keep_history": core.keep_history}
    return {**memory, **behaviour_options(core)}


def _rng_state(state: tuple[Any, ...]) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _named(effect: Effect) -> Session:
    return effect.session if isinstance(effect, StopCall) else effect.previous


def _kept(core: TrackerCore, session: Session) -> bool:
    return core._sessions.get(session.index) is session


def _linked(other: Session | None, sessions: Mapping[int, Session]) -> int | None:
    """The index of a linked attempt, if the tracker still holds it (``finished_limit`` forgets)."""
    return None if other is None or sessions.get(other.index) is not other else other.index


def _ref_json(ref: Ref | None) -> object:
    """A ref as JSON: a bot's string as is, a :class:`CallKey` as ``{"key": value}``."""
    return {"key": ref.value} if isinstance(ref, CallKey) else ref


def _pending_row(index: int, ref: Ref | None, key: int | None) -> list[Any]:
    return [index, _ref_json(ref)] if key is None else [index, _ref_json(ref), key]


def _session_row(s: Session, sessions: Mapping[int, Session]) -> dict[str, Any]:
    row = {
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
        "start_ref": _ref_json(s._start_ref),
        "attempt": s.attempt,
        "previous": _linked(s.previous, sessions),
        "retry": _linked(s.next_attempt, sessions),
        "origin": s._origin.value,
        "times": [s._started_at, s._answered_at, s._ended_at],
        "extra": _extra_row(s, sessions),
    }
    if s._start_key is not None:
        row["start_key"] = s._start_key
    return row


#: The keys of ``Session._extra`` a snapshot keeps as they are (strings, numbers, flags).
_PLAIN_EXTRA: Final = ("destination", "user_id", "caller_id", "room", "details", "legs", "left")
#: The keys naming another session, kept as its index.
_LINK_EXTRA: Final = ("transferred_from", "transferred_to")


def _extra_row(s: Session, sessions: Mapping[int, Session]) -> dict[str, Any]:
    """A session's rarely-set fields (the suggested retry is carried by the effects instead)."""
    found = s._extra or {}
    row: dict[str, Any] = {key: found[key] for key in _PLAIN_EXTRA if found.get(key) is not None}
    row.update({key: _linked(found[key], sessions) for key in _LINK_EXTRA if found.get(key) is not None})
    if found.get("guessed") is not None:
        row["guessed"] = list(found["guessed"])
    if found.get("stop_on_id") is not None:
        reason, ref = found["stop_on_id"]
        row["stop_on_id"] = [reason, _ref_json(ref)]
    retry = found.get("retry")
    if retry is not None and retry not in getattr(s._owner, "_effects", ()):
        row["retry"] = _effect_row(retry)  # taken by the bot, not placed yet: retry_pending stays true
    return row


def _effect_row(effect: Effect) -> dict[str, Any]:
    if isinstance(effect, StopCall):
        row = {"type": "stop", "session": effect.session.index, "reason": effect.reason, "ref": _ref_json(effect.ref)}
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
            version, or is corrupt (unreadable, breaking an invariant, or not what
            this dialfsm writes).  No tracker is returned half-restored.

    """
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SnapshotError("not a dialfsm snapshot (its 'format' is not 'dialfsm.snapshot')")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SnapshotError(f"snapshot 'version' must be an int, got {short_repr(version)}")
    if version > VERSION:
        raise SnapshotError(
            f"snapshot format version {short_repr(version)} is newer than this dialfsm reads ({VERSION})"
        )
    if version < 1:
        raise SnapshotError(f"unknown snapshot format version {short_repr(version)}")
    try:
        core = _restore(data, cls)
    except SnapshotError:
        raise
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (anything a corrupt snapshot makes fail)
        raise SnapshotError(f"corrupt snapshot: {describe_error(exc)}") from None
    broken = problems(core)
    if broken:
        raise SnapshotError(f"corrupt snapshot: {'; '.join(broken[:3])}")
    # What this version writes must come back exactly; an older version's, in every field it has.
    if version < VERSION and (_V2_KEYS & set(data) or any(_V2_ROW_KEYS & set(row) for row in data["sessions"])):
        raise SnapshotError(f"corrupt snapshot: version {version} with fields of version {VERSION}")
    difference = _difference(snapshot(core), data, "", old=version < VERSION)
    if difference is not None:
        raise SnapshotError(f"corrupt snapshot: not what this dialfsm writes (at {difference})")
    return core


#: The fields version 2 added (a tracker's, a session row's).
_V2_KEYS: Final = frozenset({"awaiting_legs", "early_joins"})
_V2_ROW_KEYS: Final = frozenset({"origin", "times", "extra"})


def _difference(ours: object, theirs: object, path: str, *, old: bool = False) -> str | None:
    """The path of the first place where ``theirs`` differs from ``ours``, or ``None``.

    ``old``: ``theirs`` is of an older version, which lacks newer fields and says its version.
    """
    if isinstance(ours, dict) and isinstance(theirs, Mapping):
        for key in sorted({*ours, *theirs}, key=str):
            if old and (key not in theirs or (path == "" and key == "version")):
                continue
            if key not in ours or key not in theirs:
                return f"{path}/{short_repr(key)}"
            found = _difference(ours[key], theirs[key], f"{path}/{key}", old=old)
            if found is not None:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path} (length)"
        for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = _difference(a, b, f"{path}/{n}", old=old)
            if found is not None:
                return found
        return None
    same = type(ours) is type(theirs) or (
        isinstance(ours, float) and isinstance(theirs, int) and not isinstance(theirs, bool)
    )
    return None if same and ours == theirs else path or "/"


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected a finite number or null, got {short_repr(value)}")
    return float(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected an int >= 0, got {short_repr(value)}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected a bool, got {short_repr(value)}")
    return value


def _str(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {short_repr(value)}")
    return value


def _str_or_none(value: object) -> str | None:
    return None if value is None else _str(value)


def _key(value: object) -> int | str:
    if (type(value) is int and value >= 0) or (type(value) is str and value):
        return value
    raise ValueError(f"a call key must be an int >= 0 or a non-empty string, got {short_repr(value)}")


def _ref(value: object) -> Ref | None:
    """A ref from JSON: a string, ``{"key": value}`` (a :class:`CallKey`), or null."""
    if isinstance(value, Mapping):
        if set(value) != {"key"}:
            raise ValueError(f"a ref object must be {{'key': ...}}, got {short_repr(value)}")
        return CallKey(_key(value["key"]))
    return _str_or_none(value)


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {short_repr(value)}")
    return value


def _new_core(config: Mapping[str, Any], cls: type[_Core]) -> _Core:
    memory = {name: config[name] for name in MEMORY_OPTIONS}
    behaviour = tracker_options(cls, {k: v for k, v in config.items() if k not in MEMORY_OPTIONS})
    return cls(**memory, **behaviour)


def _restore(data: Mapping[str, Any], cls: type[_Core]) -> _Core:
    core = _new_core(data["config"], cls)
    rng = _list(data["rng"])
    core._rng.setstate((rng[0], tuple(_list(rng[1])), rng[2]))
    core._seq = _int(data["seq"])
    core._created = _int(data["created"])
    core._now = _float_or_none(data["now"])
    core._timers = TimerHeap.from_entries([], _int(data["timer_seq"]))
    rows = _list(data["sessions"])
    sessions = {}
    for row in rows:
        session = _session(row, core)
        if session.index in sessions:
            raise ValueError(f"session index {session.index} repeated")
        sessions[session.index] = session
        sid = _str_or_none(row["session_id"])
        if sid is not None:
            if sid in core._by_id:
                raise ValueError(f"session id {short_repr(sid)} repeated")
            bind(core, session, sid)
    for row in rows:
        session = sessions[row["index"]]
        session.previous = None if row["previous"] is None else sessions[_int(row["previous"])]
        session.next_attempt = None if row["retry"] is None else sessions[_int(row["retry"])]
        _restore_extra(row, session, sessions)
    core._sessions = dict(sorted(sessions.items()))
    _restore_indexes(data, core, sessions)
    return core


def _session(row: Mapping[str, Any], core: TrackerCore) -> Session:
    kind = SessionKind(_str(row["kind"]))
    states_enum: type[DialoutState] | type[DialinState] = DialoutState if kind is SessionKind.DIALOUT else DialinState
    settings = None if row["settings"] is None else parse_dialout_settings(row["settings"])
    index = _int(row["index"])
    if index >= core._created:
        raise ValueError(f"session index {index} beyond 'created'")
    session = Session(kind, index, None, settings)
    states = [states_enum(_str(v)) for v in _list(row["states"])]
    if not states:
        raise ValueError(f"session {index}: no states")
    session._states, session._state = states, states[-1]
    session._outcome = None if row["outcome"] is None else Outcome(_str(row["outcome"]))
    _bool(row["answered"])
    session._error = _str_or_none(row["error"])
    session._error_code = None if row["error_code"] is None else ErrorCode(_str(row["error_code"]))
    session._stop_requested = _bool(row["stop_requested"])
    session._live_transfers = _int(row["live_transfers"])
    session._warnings = None if row["warnings"] is None else [_str(w) for w in _list(row["warnings"])]
    session._dtmf = None if row["dtmf"] is None else [_str(d) for d in _list(row["dtmf"])]
    session._deadline = _float_or_none(row["deadline"])
    session._timer = None if row["timer"] is None else Input(_str(row["timer"]))
    if session._timer is not None and session._timer.kind is not InputKind.TIMER:
        raise ValueError(f"session {index}: {session._timer.value} is no timer")
    session.attempt = _int(row["attempt"])
    session._timer_seq = _int(row["timer_seq"])
    session._start_ref = _ref(row["start_ref"])
    session._start_key = None if row.get("start_key") is None else _int(row["start_key"])
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
        found["guessed"] = tuple(_int(v) for v in extra_row["guessed"])
    if extra_row.get("stop_on_id") is not None:
        reason, ref = _list(extra_row["stop_on_id"])
        found["stop_on_id"] = (_str(reason), _ref(ref))
    if extra_row.get("retry") is not None:  # a retry the bot took but has not placed yet
        found["retry"] = _effect(extra_row["retry"], {**sessions, session.index: session})
    session._extra = found or None


def _restore_indexes(data: Mapping[str, Any], core: TrackerCore, sessions: Mapping[int, Session]) -> None:
    live = [sessions[_int(i)] for i in _list(data["live"])]
    core._live = {s.index: s for s in live}
    core._live_dialouts = sum(1 for s in core._live.values() if s.kind is SessionKind.DIALOUT)
    core._waiting_for_id = {_int(i): sessions[i] for i in _list(data["waiting_for_id"])}
    core._forgotten = {_str(sid): None for sid in _list(data["forgotten"])}
    core._finished = deque(sessions[_int(i)] for i in _list(data["finished"]))
    pending = data["pending"]
    if not isinstance(pending, Mapping):
        raise TypeError("'pending' must be an object")
    for name, queue_rows in pending.items():
        call = Input(_str(name))
        if call.kind is not InputKind.CALL:
            raise ValueError(f"pending {name!r} is not a call")
        for row in _list(queue_rows):
            index, ref, *key = _list(row)
            if len(key) > 1:
                raise ValueError(f"a pending row has {len(row)} items")
            core._pending.register(call, sessions[_int(index)], _ref(ref), _int(key[0]) if key else None)
    core._start_refs = {_str(ref): sessions[_int(i)] for ref, i in data["start_refs"].items()}
    for value, index in (_list(pair) for pair in _list(data.get("start_keys", []))):
        core._start_refs[CallKey(_key(value))] = sessions[_int(index)]
    core._endpoints = {_str(e): None for e in _list(data["endpoints"])}
    core._awaiting_legs = {_int(i): sessions[_int(i)] for i in _list(data.get("awaiting_legs", []))}
    core._early_joins = {_str(sid): None for sid in _list(data.get("early_joins", []))}
    for effect in _list(data["effects"]):
        core._effects.append(_effect(effect, sessions))
        if isinstance(core._effects[-1], RetryDialout):
            extra(core._effects[-1].previous)["retry"] = core._effects[-1]
    for session in live:
        core._timers.rearm(session)  # the saved arming order keeps ties between equal deadlines as they were
        if core._machines is not None and session._model is None:
            core._attach_model(session)


def _effect(row: Mapping[str, Any], sessions: Mapping[int, Session]) -> Effect:
    if row["type"] == "stop":
        session = sessions[_int(row["session"])]
        return StopCall(
            session=session,
            session_id=session.session_id,
            reason=_str(row["reason"]),
            ref=_ref(row["ref"]),
            after_end=bool(row.get("after_end", False)),
        )
    if row["type"] == "retry":
        previous = sessions[_int(row["previous"])]
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
    raise ValueError(f"unknown effect type {short_repr(row['type'])}")
