"""Hot: the edge, where Daily's event names and payloads, in every dialect, become typed inputs.

Every event passes through here first (``handle`` -> parser -> route -> step),
so the parsers of the frequent events (:func:`_progress`, ``_dialin_connected``)
inline their fast paths and build events through their slots
(:mod:`dialfsm._slots`); the checks and error messages sit in the helpers they
fall back to.

Names are accepted in the three dialects Daily and its SDKs use:

* daily-js: ``dialout-answered``;
* daily-python ``EventHandler`` / pipecat ``DailyTransport`` handlers: ``on_dialout_answered``;
* webhooks: ``dialout.answered``.

Payloads likewise:

* daily-js event objects: camelCase, with ``action`` and ``callClientId`` (ignored);
* daily-python dicts: the same minus ``action``; ``on_dialin_ready`` passes a
  bare endpoint string; before 0.14.0 ``participantId`` stood for
  ``sessionId``; its docs say ``message`` where daily-js says ``errorMsg``;
* webhook ``payload`` objects: snake_case (``session_id``, ``error_msg``,
  ``sip_endpoint``); a whole envelope ``{"type": ..., "payload": {...}}`` is
  unwrapped too.

Participant events carry the participant as ``{"participant": {"session_id": ...}}``
(daily-js), as the participant dict itself with ``id`` (daily-python), or as a
webhook payload with ``session_id``.

Every problem raises :class:`ParseProblem` with the anomaly code the tracker
records (``UNKNOWN_EVENT`` or ``MALFORMED_INPUT``); nothing else escapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from dialfsm._inputs import (
    DailyEvent,
    DialinConnected,
    DialinError,
    DialinReady,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
)
from dialfsm._slots import one_field_maker, slot_setters
from dialfsm._table import AnomalyCode
from dialfsm._text import plain_str, short_repr

__all__ = [
    "EVENT_NAMES",
    "MAX_ID_LENGTH",
    "PARSER_BY_NAME",
    "ParseProblem",
    "canonical_event_name",
    "event_name",
    "from_daily",
    "to_daily",
]

#: Longest session id, endpoint or participant id accepted (Daily's are UUIDs or SIP URIs).
MAX_ID_LENGTH: Final = 1024
_MAX_NAME_LENGTH: Final = 64


class ParseProblem(Exception):
    """An input that cannot become a typed event; carries the anomaly code to record."""

    def __init__(self, code: AnomalyCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _first(data: Mapping[str, object], *keys: str) -> object:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _text(data: Mapping[str, object], event: str, field: str, *keys: str, required: bool) -> str | None:
    value = data.get(keys[0])
    if value is None and len(keys) > 1:
        value = _first(data, *keys[1:])
    if type(value) is str and value:
        return value
    if value is None or value == "":
        if required:
            raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: missing {field}")
        return None
    if not isinstance(value, str):
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: {field} must be a string, got {short_repr(value)}")
    return plain_str(value)  # a str subclass becomes the plain string it holds: its methods never run again


def _id(data: Mapping[str, object], event: str, field: str, *keys: str, required: bool) -> str | None:
    value = _text(data, event, field, *keys, required=required)
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: {field} is {len(value)} chars (max {MAX_ID_LENGTH})")
    return value


_SESSION_KEYS: Final = ("sessionId", "session_id", "participantId", "participant_id")
_ERROR_KEYS: Final = ("errorMsg", "error_msg", "message")
_SIP_CALL_ID_KEYS: Final = ("sipCallId", "sip_call_id")


def _object(event: str, data: object) -> Mapping[str, object]:
    if type(data) is dict and "payload" not in data:  # the common case, without the ABC check
        return data
    if not isinstance(data, Mapping):
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: payload must be an object, got {short_repr(data)}")
    if "payload" in data and "type" in data and isinstance(data["payload"], Mapping):
        return data["payload"]  # a whole webhook envelope
    return data


def _session(data: Mapping[str, object], event: str, *, required: bool = True) -> str | None:
    value = data.get("sessionId")
    if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH:  # the common case, fast
        return value
    return _id(data, event, "sessionId", *_SESSION_KEYS, required=required)


def _progress(
    cls: type[DialoutConnected | DialoutAnswered | DialoutStopped | DialinStopped],
) -> Callable[[str, object], DailyEvent]:
    """The parser of an event carrying a required ``sessionId`` and an optional ``sipCallId``."""
    new = object.__new__
    set_session, set_call = slot_setters(cls)

    def parse(event: str, raw: object) -> DailyEvent:
        # The hottest parser (one per ringing, answer and hang-up), kept flat: the fast
        # paths inline, the checks and error messages in the helpers they fall back to.
        data = raw if type(raw) is dict and "payload" not in raw else _object(event, raw)
        session_id = data.get("sessionId")
        if type(session_id) is not str or not 0 < len(session_id) <= MAX_ID_LENGTH:
            session_id = _session(data, event)
        call_id = data.get("sipCallId")
        if call_id is None:
            if "sip_call_id" in data:
                call_id = _sip_call_id_slow(data, event)
        elif type(call_id) is not str or not 0 < len(call_id) <= MAX_ID_LENGTH:
            call_id = _sip_call_id_slow(data, event)
        obj = new(cls)  # fields set through their slots: see dialfsm._slots
        set_session(obj, session_id)
        set_call(obj, call_id)
        return obj  # no typing.cast(): it is a call per event

    return parse


def _sip_call_id(data: Mapping[str, object], event: str) -> str | None:
    value = data.get("sipCallId")
    if value is None or (type(value) is str and 0 < len(value) <= MAX_ID_LENGTH):  # the common cases, fast
        return value if value is not None or "sip_call_id" not in data else _sip_call_id_slow(data, event)
    return _sip_call_id_slow(data, event)


def _sip_call_id_slow(data: Mapping[str, object], event: str) -> str | None:
    return _id(data, event, "sipCallId", *_SIP_CALL_ID_KEYS, required=False)


def _dialout_error(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    return DialoutError(
        session_id=_session(data, event, required=False),
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
    )


def _dialout_warning(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    return DialoutWarning(
        session_id=_session(data, event, required=False),
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
    )


def _dialin_ready(event: str, raw: object) -> DailyEvent:
    if isinstance(raw, str):  # daily-python's on_dialin_ready(sip_endpoint)
        endpoint = _id({"sipEndpoint": raw}, event, "sipEndpoint", "sipEndpoint", required=True)
    else:
        data = _object(event, raw)
        endpoint = _id(data, event, "sipEndpoint", "sipEndpoint", "sip_endpoint", required=True)
    assert endpoint is not None
    return DialinReady(sip_endpoint=endpoint)


_SET_DIALIN_CONNECTED: Final = slot_setters(DialinConnected)


def _dialin_connected(event: str, raw: object) -> DailyEvent:
    # Hot: one per dial-in, and it creates the session; the fast paths inline, as in _progress.
    data = raw if type(raw) is dict and "payload" not in raw else _object(event, raw)
    session_id = data.get("sessionId")
    if type(session_id) is not str or not 0 < len(session_id) <= MAX_ID_LENGTH:
        session_id = _session(data, event)
    sip_from = data.get("sipFrom")
    if type(sip_from) is not str or not sip_from:
        absent = sip_from is None and "sip_from" not in data
        sip_from = None if absent else _text(data, event, "sipFrom", "sipFrom", "sip_from", required=False)
    obj = object.__new__(DialinConnected)  # fields set through their slots: see dialfsm._slots
    set_session, set_from, set_call = _SET_DIALIN_CONNECTED
    set_session(obj, session_id)
    set_from(obj, sip_from)
    set_call(obj, _sip_call_id(data, event))
    return obj


def _dialin_error(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    session_id = _session(data, event)
    assert session_id is not None
    return DialinError(
        session_id=session_id,
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
        type=_text(data, event, "type", "type", required=False),
    )


def _dialin_warning(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    session_id = _session(data, event)
    assert session_id is not None
    return DialinWarning(
        session_id=session_id,
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
    )


def _dtmf(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    tone = _text(data, event, "tone", "tone", required=True)
    assert tone is not None
    if len(tone) > 32:
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: tone is {len(tone)} chars")
    volume = data.get("volume")
    if volume is not None and (isinstance(volume, bool) or not isinstance(volume, (int, float))):
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: volume must be a number")
    try:
        volume = None if volume is None else float(volume)
    except OverflowError:
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: volume is out of range") from None
    if volume is not None and not math.isfinite(volume):  # NaN would make the event unequal to itself
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: volume must be a finite number, got {volume}")
    return DtmfReceived(
        session_id=_session(data, event, required=False),
        tone=tone,
        method=_text(data, event, "method", "method", required=False),
        volume=volume,
    )


def _participant_id(event: str, raw: object) -> str:
    data = _object(event, raw)
    inner = data.get("participant")
    source: Mapping[str, object] = inner if isinstance(inner, Mapping) else data
    pid = _id(source, event, "participant session id", "session_id", "sessionId", "id", required=True)
    assert pid is not None
    return pid


_new_joined: Final = one_field_maker(ParticipantJoined)
_new_left: Final = one_field_maker(ParticipantLeft)


def _participant_joined(event: str, raw: object) -> DailyEvent:
    return _new_joined(_participant_id(event, raw))  # type: ignore[no-any-return]


def _participant_left(event: str, raw: object) -> DailyEvent:
    return _new_left(_participant_id(event, raw))  # type: ignore[no-any-return]


def _left_meeting(event: str, raw: object) -> DailyEvent:
    return LeftMeeting()  # the payload, whatever it is, carries nothing we need


_PARSERS: Final[Mapping[str, Callable[[str, object], DailyEvent]]] = {
    "dialout-connected": _progress(DialoutConnected),
    "dialout-answered": _progress(DialoutAnswered),
    "dialout-stopped": _progress(DialoutStopped),
    "dialout-error": _dialout_error,
    "dialout-warning": _dialout_warning,
    "dialin-ready": _dialin_ready,
    "dialin-connected": _dialin_connected,
    "dialin-stopped": _progress(DialinStopped),
    "dialin-error": _dialin_error,
    "dialin-warning": _dialin_warning,
    "dtmf-event": _dtmf,
    "participant-joined": _participant_joined,
    "participant-left": _participant_left,
    "left-meeting": _left_meeting,
}


def _aliases() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in _PARSERS:
        snake = name.replace("-", "_")
        for alias in (name, snake, "on_" + snake, name.replace("-", ".", 1)):
            names[alias] = name
    # daily-python reports leaving via on_call_state_updated("left"); pipecat names it on_left.
    names.update({"on_left": "left-meeting", "left": "left-meeting", "dtmf.event": "dtmf-event"})
    return names


#: Every accepted spelling of every event name, to its daily-js name.
EVENT_NAMES: Final[Mapping[str, str]] = _aliases()
#: Every accepted spelling, to ``(daily-js name, parser)``: the hot path's one lookup.
PARSER_BY_NAME: Final[Mapping[str, tuple[str, Callable[[str, object], DailyEvent]]]] = {
    alias: (name, _PARSERS[name]) for alias, name in EVENT_NAMES.items()
}


def canonical_event_name(name: object) -> str:
    """The daily-js name of ``name`` in any dialect.

    Raises:
        ParseProblem: ``MALFORMED_INPUT`` for a name that is not a string,
            ``UNKNOWN_EVENT`` for a string dialfsm does not know.

    """
    if not isinstance(name, str):
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"event name must be a string, got {short_repr(name)}")
    name = plain_str(name)
    canonical = EVENT_NAMES.get(name)
    if canonical is None and len(name) <= _MAX_NAME_LENGTH:
        canonical = EVENT_NAMES.get(name.strip().lower())
    if canonical is None:
        raise ParseProblem(AnomalyCode.UNKNOWN_EVENT, f"unknown event {short_repr(name)}")
    return canonical


def from_daily(name: object, data: object) -> DailyEvent:
    """Convert an event name and payload, in any dialect, to a typed event.

    Raises:
        ParseProblem: with ``UNKNOWN_EVENT`` or ``MALFORMED_INPUT``.

    """
    canonical = canonical_event_name(name)
    return _PARSERS[canonical](canonical, data)


_CAMEL: Final[Mapping[str, str]] = {
    "session_id": "sessionId",
    "sip_call_id": "sipCallId",
    "error_msg": "errorMsg",
    "sip_endpoint": "sipEndpoint",
    "sip_from": "sipFrom",
}


def event_name(event: DailyEvent) -> str:
    """The daily-js name of a typed event."""
    return "dialin-ready" if isinstance(event, DialinReady) else event.input.value


def to_daily(event: DailyEvent) -> dict[str, object]:
    """A typed event back as a daily-js payload (camelCase; fields that are ``None`` left out).

    ``from_daily(event_name(e), to_daily(e)) == e`` for every event ``e``.
    """
    if isinstance(event, (ParticipantJoined, ParticipantLeft)):
        return {"participant": {"session_id": event.participant_id}}
    return {
        _CAMEL.get(field.name, field.name): value
        for field in attrs.fields(type(event))
        if (value := getattr(event, field.name)) is not None
    }
