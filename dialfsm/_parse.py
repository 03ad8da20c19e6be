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
from dialfsm._slots import fields_maker, one_field_maker, slot_setters
from dialfsm._table import AnomalyCode
from dialfsm._text import finite_float, plain_str, short_repr

__all__ = [
    "EVENT_NAMES",
    "MAX_ID_LENGTH",
    "PARSER_BY_NAME",
    "ParseProblem",
    "call_info",
    "canonical_event_name",
    "event_name",
    "from_daily",
    "to_daily",
]

#: Longest session id, endpoint or participant id accepted (Daily's are UUIDs or SIP URIs).
MAX_ID_LENGTH: Final = 1024
_MAX_NAME_LENGTH: Final = 64
#: Longest ``details`` of a dial-out error kept (as JSON text).
_MAX_DETAILS: Final = 16_384


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


#: The payload keys of a dial-out's info, in ``CallInfo`` order (daily-js's spelling).
_INFO_NAMES: Final = ("destination", "userId", "callerId", "room")
_INFO_KEYS: Final = (
    ("destination",),
    ("userId", "user_id"),
    ("callerId", "caller_id"),
    ("room", "roomName", "room_name"),
)


def call_info(data: Mapping[str, object], event: str) -> tuple[str | None, str | None, str | None, str | None] | None:
    """What a dial-out payload says of the call: ``(destination, user_id, caller_id, room)``, or ``None``.

    Each is informative only: one that is no string (or longer than an id may be) is left out,
    and the event is still applied.
    """
    values = tuple(_optional_id(data, *keys) for keys in _INFO_KEYS)
    return None if values == (None, None, None, None) else values  # type: ignore[return-value]


def _optional_id(data: Mapping[str, object], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string of at most ``MAX_ID_LENGTH``; else ``None``."""
    for key in keys:
        value = data.get(key)
        if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH:
            return value
    return None


#: The keys of daily-python's progress payloads; with nothing else, there is nothing more to read.
_PLAIN: Final = frozenset({"sessionId", "actionTraceId"})


def _progress(
    cls: type[DialoutConnected | DialoutAnswered | DialoutStopped | DialinStopped], *, required: bool = True
) -> Callable[[str, object], DailyEvent]:
    """The parser of an event carrying a ``sessionId``, an optional ``sipCallId`` and, for a dial-out, its info."""
    new = object.__new__
    setters = slot_setters(cls)
    set_session, set_call = setters[0], setters[1]
    set_info = setters[2] if len(setters) > 2 else None

    def parse(event: str, raw: object) -> DailyEvent:
        # The hottest parser (one per ringing, answer and hang-up), kept flat: the fast
        # paths inline, the checks and error messages in the helpers they fall back to.
        data = raw if type(raw) is dict and "payload" not in raw else _object(event, raw)
        session_id = data.get("sessionId")
        if type(session_id) is not str or not 0 < len(session_id) <= MAX_ID_LENGTH:
            session_id = _session(data, event, required=required)
        obj = new(cls)  # fields set through their slots: see dialfsm._slots
        set_session(obj, session_id)
        if len(data) <= 2 and _PLAIN.issuperset(data):  # daily-python's payload: no call id, no info
            set_call(obj, None)
            if set_info is not None:
                set_info(obj, None)
        else:
            set_call(obj, _sip_call_id(data, event))
            if set_info is not None:
                set_info(obj, call_info(data, event))
        return obj  # no typing.cast(): it is a call per event

    return parse


def _sip_call_id(data: Mapping[str, object], event: str) -> str | None:
    value = data.get("sipCallId")
    if value is None or (type(value) is str and 0 < len(value) <= MAX_ID_LENGTH):  # the common cases, fast
        return value if value is not None or "sip_call_id" not in data else _sip_call_id_slow(data, event)
    return _sip_call_id_slow(data, event)


def _sip_call_id_slow(data: Mapping[str, object], event: str) -> str | None:
    return _optional_id(data, *_SIP_CALL_ID_KEYS)  # informative only: a bad one is left out


def _details(data: Mapping[str, object], event: str) -> tuple[str | None, str | None]:
    """daily-js's ``details`` of a ``dialout-error`` as canonical JSON text, and the destination it names."""
    details = data.get("details")
    if not isinstance(details, Mapping):  # none, or not an object: informative only, left out
        return None, None
    try:
        import json  # noqa: PLC0415  (only an error with details needs it: not loaded at import)

        text = json.dumps(details, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None, None  # not JSON: left out, the error itself still applies
    if len(text) > _MAX_DETAILS:
        return None, None
    destination = details.get("destination")
    return text, destination if isinstance(destination, str) and 0 < len(destination) <= MAX_ID_LENGTH else None


def _dialout_error(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    details, destination = _details(data, event)
    info = call_info(data, event)
    if destination is not None and (info is None or info[0] is None):
        info = (destination, *(info or (None, None, None))[1:])
    return DialoutError(
        session_id=_session(data, event, required=False),
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
        info=info,
        details=details,
    )


def _dialout_warning(event: str, raw: object) -> DailyEvent:
    data = _object(event, raw)
    return DialoutWarning(
        session_id=_session(data, event, required=False),
        error_msg=_text(data, event, "errorMsg", *_ERROR_KEYS, required=False),
        info=call_info(data, event),
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
    set_session, set_from, set_call, set_room = _SET_DIALIN_CONNECTED
    set_session(obj, session_id)
    set_from(obj, sip_from)
    set_call(obj, _sip_call_id(data, event))
    set_room(obj, _id(data, event, "room", "room", "roomName", "room_name", required=False) if "room" in data else None)
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


_NEW_DTMF: Final = fields_maker(DtmfReceived)
#: The keys of daily-python's and daily-js's DTMF payloads read on the fast path.
_DTMF_PLAIN: Final = frozenset({"sessionId", "tone", "method", "actionTraceId"})


def _dtmf(event: str, raw: object) -> DailyEvent:
    if type(raw) is dict and _DTMF_PLAIN.issuperset(raw):  # the common payload: the checks below, inline
        tone, session_id, method = raw.get("tone"), raw.get("sessionId"), raw.get("method")
        if (
            type(tone) is str
            and 0 < len(tone) <= 32
            and (session_id is None or (type(session_id) is str and 0 < len(session_id) <= MAX_ID_LENGTH))
            and (method is None or (type(method) is str and 0 < len(method) <= MAX_ID_LENGTH))
        ):
            return _NEW_DTMF((session_id, tone, method, None))  # type: ignore[return-value]
    data = _object(event, raw)
    tone = _text(data, event, "tone", "tone", required=True)
    assert tone is not None
    if len(tone) > 32:
        raise ParseProblem(AnomalyCode.MALFORMED_INPUT, f"{event}: tone is {len(tone)} chars")
    return DtmfReceived(
        session_id=_session(data, event, required=False),
        tone=tone,
        method=_optional_id(data, "method"),
        volume=finite_float(data.get("volume")),  # informative: NaN would make the event unequal to itself
    )


def _participant_id(event: str, raw: object) -> str:
    data = raw if type(raw) is dict and "payload" not in raw else _object(event, raw)
    inner = data.get("participant")
    if type(inner) is dict:  # the common shape, fast: {"participant": {"session_id" or "id": ...}}
        pid = inner.get("session_id")
        if pid is None and "sessionId" not in inner:
            pid = inner.get("id")
        if type(pid) is str and 0 < len(pid) <= MAX_ID_LENGTH:
            return pid
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
    "dialout-stopped": _progress(DialoutStopped, required=False),
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
    payload: dict[str, object] = {}
    for field in attrs.fields(type(event)):
        value = getattr(event, field.name)
        if value is None:
            continue
        if field.name == "info":  # (destination, user_id, caller_id, room): daily-js's own keys
            payload.update({key: v for key, v in zip(_INFO_NAMES, value, strict=True) if v is not None})
        elif field.name == "details":
            import json  # noqa: PLC0415  (rare: not loaded at import)

            payload["details"] = json.loads(value)
        else:
            payload[_CAMEL.get(field.name, field.name)] = value
    return payload
