"""Typed events rendered in each of Daily's three dialects, as replay-log records."""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

from dialfsm._inputs import (
    DailyEvent,
    DialinReady,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
)
from dialfsm._parse import event_name, to_daily

__all__ = ["DIALECTS", "Dialect", "render_event"]

#: The three spellings of Daily's events: browser SDK, Python SDK (and pipecat), webhooks.
Dialect: TypeAlias = Literal["daily-js", "daily-python", "webhook"]
#: Every dialect, in the order strategies try them (and shrink towards the first).
DIALECTS: Final[tuple[Dialect, ...]] = ("daily-js", "daily-python", "webhook")

_SNAKE: Final = {
    "sessionId": "session_id",
    "sipCallId": "sip_call_id",
    "errorMsg": "error_msg",
    "sipEndpoint": "sip_endpoint",
    "sipFrom": "sip_from",
    "userId": "user_id",
    "callerId": "caller_id",
}


def render_event(event: DailyEvent, dialect: Dialect, *, variant: int = 0) -> dict[str, Any]:
    """A typed event as a replay-log record ``{"event": name, "data": payload}`` in ``dialect``.

    ``variant`` picks among the spellings a dialect allows (0 is the plainest):

    * daily-js: 0 with ``action``, 1 without;
    * daily-python: 0 as the current SDK sends it (``on_dialin_ready`` a bare
      endpoint string, participants as the participant dict with ``id``);
      1 as older or documented variants (``participantId`` for ``sessionId``,
      ``message`` for ``errorMsg``);
    * webhook: 0 the ``payload`` object, 1 the whole envelope ``{"type", "payload"}``.

    ``dialfsm``'s parser reads every rendering back to ``event``.
    """
    name = event_name(event)
    data = to_daily(event)
    if dialect == "daily-js":
        return {"event": name, "data": {"action": name, **data} if variant == 0 else data}
    if dialect == "daily-python":
        py_name = "on_" + name.replace("-", "_")
        if isinstance(event, DialinReady) and variant == 0:
            return {"event": py_name, "data": event.sip_endpoint}
        if isinstance(event, ParticipantJoined | ParticipantLeft):
            return {"event": py_name, "data": {"id": event.participant_id, "info": {"userName": "caller"}}}
        if isinstance(event, LeftMeeting):
            return {"event": py_name, "data": None}
        if variant:
            renames = {"sessionId": "participantId", "errorMsg": "message"}
            data = {renames.get(key, key): value for key, value in data.items()}
        return {"event": py_name, "data": data}
    hook_name = name.replace("-", ".", 1)
    if isinstance(event, ParticipantJoined | ParticipantLeft):
        payload: dict[str, Any] = {"session_id": event.participant_id}
    else:
        payload = {_SNAKE.get(key, key): value for key, value in data.items()}
    if variant:
        return {"event": hook_name, "data": {"version": "1.0.0", "type": hook_name, "payload": payload}}
    return {"event": hook_name, "data": payload}
