"""The replay-log record of each input, as input listeners (a recorder) see it.

Every input a tracker reads is handed to its input listeners as one record,
the line a replay log holds (see :mod:`dialfsm._replay` for the contract).
This module builds the records of the bot's calls, their completions, the
withdrawals of effects, notes and outside anomalies, so that replaying them
gives what the live tracker concluded:

* **A call** carries what was applied: the validated settings (``to_daily()``)
  of an accepted call, and ``"refused": CODE`` on a refused one, which replay
  refuses the same way whatever the (redacted) settings say now.
* **Names, not guesses.**  Every accepted call carries ``"key"``, the seq of
  its journal entry (the tracker never pairs by it; it names the call for
  replay), and the bot's ``"ref"`` if it gave one.  A completion carries the
  name of the call it *paired with* live (``"ref"`` or ``"key"``), or
  ``"key": null`` when it paired with none, so replay pairs it with the same
  call, whatever ``session`` the bot passed.  A ``retry_of`` names the earlier
  attempt by its start call's key (``{"key": ...}``): ids and refs can be
  reused, keys cannot.
* **Known anomalies.**  An input the tracker journals as an anomaly without
  reading it (a malformed completion, a typed event that is no event, a
  withdrawal of something that is no effect) carries ``"anomaly": CODE``:
  what JSON can hold of it may read differently, so replay records the same
  anomaly instead.

A friend of :mod:`dialfsm._core` (it reads a session's start ref and key).
"""

from __future__ import annotations

from typing import Any

from dialfsm._calls import CallSpec, PendingCall
from dialfsm._errors import CallRefused
from dialfsm._inputs import CallCompleted, CallKey
from dialfsm._policy import Effect, RetryDialout, StopCall
from dialfsm._session import Session
from dialfsm._table import AnomalyCode

__all__ = ["call_record", "completion_record", "name_of", "retry_of_name", "withdraw_record"]


def name_of(ref: object) -> dict[str, Any]:
    """How a record names a call by what it was registered under: ``{"ref": str}`` or ``{"key": value}``."""
    if type(ref) is CallKey:
        return {"key": ref.value}
    return {"ref": ref}


def retry_of_name(previous: object) -> object:
    """How a record names the attempt a retry follows: ``{"key": ...}``, the key of its start call.

    Keys are unique (ids and refs can be reused once a session is forgotten or
    a call completed), so replay finds the very session the live bot named,
    even one ``finished_limit`` made the tracker forget.  A ``retry_of`` given
    as a string (an id, a ref) of no session this tracker started is written as given.
    """
    if not isinstance(previous, Session):
        return {"key": previous.value} if type(previous) is CallKey else previous
    if type(previous._start_ref) is CallKey:
        return {"key": previous._start_ref.value}
    if previous._start_key is not None:
        return {"key": previous._start_key}
    return previous.session_id if previous.session_id is not None else previous._start_ref


def call_record(
    spec: CallSpec, argument: object, ref: object, retry_of: object, outcome: object, key: int
) -> dict[str, Any]:
    """The record of one of the bot's calls, accepted (``outcome`` its typed call) or refused (a ``CallRefused``)."""
    line: dict[str, Any] = {"call": spec.name}
    if isinstance(outcome, CallRefused):
        if isinstance(argument, Session):  # by its id; one without an id yet, by its start call's key
            argument = argument.session_id if argument.session_id is not None else retry_of_name(argument)
        to_daily = getattr(argument, "to_daily", None)
        try:
            line[spec.argument] = to_daily() if callable(to_daily) else argument
        except Exception:  # noqa: BLE001  (a hostile settings object: the recorder writes what it can)
            line[spec.argument] = argument
        if ref is not None:
            line["ref"] = ref
        line["refused"] = outcome.code.value
    else:
        typed = outcome[0] if isinstance(outcome, tuple) else outcome
        settings = getattr(typed, "settings", None)
        line[spec.argument] = settings.to_daily() if settings is not None else getattr(typed, "session_id", None)
        if isinstance(ref, str):
            line["ref"] = ref
        line["key"] = ref.value if type(ref) is CallKey else key  # what names it: its completion, a retry_of
    if retry_of is not None:
        line["retry_of"] = retry_of_name(retry_of)
    return line


def completion_record(completion: CallCompleted, pending: PendingCall | None, problem: str | None) -> dict[str, Any]:
    """The record of a completion: the name of the call it paired with live, or ``"key": null`` for none."""
    call = getattr(completion.call, "value", completion.call)
    line: dict[str, Any] = {"completion": call, "session_id": completion.session_id, "error": completion.error}
    if problem is not None:
        line.update(ref=completion.ref, anomaly=AnomalyCode.MALFORMED_INPUT.value, message=problem)
    elif pending is not None:
        name = pending.name
        line.update({"ref": name} if isinstance(pending.ref, str) else {"key": name})
    elif completion.ref is not None:
        line.update(name_of(completion.ref))
    else:
        line["key"] = None  # it paired with no call live: replay must not pair it either
    return line


def withdraw_record(effect: Effect | object, reason: object) -> dict[str, Any]:
    """The record of a withdrawn effect, naming it as replay finds it again."""
    if isinstance(effect, StopCall):
        line: dict[str, Any] = {"withdraw": "stop", "session_id": effect.session_id}
        if effect.ref is not None:
            line.update(name_of(effect.ref))
    elif isinstance(effect, RetryDialout):
        line = {"withdraw": "retry", "retry_of": retry_of_name(effect.previous), "attempt": effect.attempt}
    else:
        return {
            "withdraw": "?",
            "data": effect,
            "anomaly": AnomalyCode.MALFORMED_INPUT.value,
            "message": "not an effect",
        }
    line["reason"] = reason
    return line
