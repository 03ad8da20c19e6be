"""Hot: which session a Daily event belongs to (routing and binding rules), one function per event family.

The state, timer and outcome rules are the table's (:mod:`dialfsm._table`);
this module decides only *which session* an event is for, then hands it to
:func:`~dialfsm._step.step`.  The rules (also the README's "Rules"):

* Daily's events name a session by ``sessionId``.  A dial-out has no id until
  its start completion returns one or an event carries one: a ``dialout-*``
  event with an unknown id binds to the oldest dial-out still waiting for an
  id (and gives it that id), and so does a ``dialout-error`` or
  ``dialout-warning`` with no id.  An id of a session the tracker forgot
  (``finished_limit``) never binds again: ``UNKNOWN_SESSION``.
* ``dialin-connected`` with an unknown id creates a dial-in session (not for
  the id of a session the tracker forgot: ``UNKNOWN_SESSION``, as for
  dial-outs, so ``finished_limit`` never turns a late event into a new call).
  Other ``dialin-*`` events need a known dial-in.
* ``participant-joined`` / ``participant-left`` route by the participant's
  session id; for a participant that is no tracked session they are only
  journaled (``JOURNALED``).
* ``dtmf-event`` without ``sessionId`` goes to the only live session, if there
  is exactly one.
* ``left-meeting`` reaches every live session (one entry, a step each); with
  none live it is only journaled.
* ``dialin-ready`` is room-level: each SIP endpoint is recorded once; the same
  endpoint again is ``DUPLICATE_EVENT``.  The tracker remembers the latest
  :data:`~dialfsm._core.MAX_ENDPOINTS` endpoints (a room has a handful): an
  endpoint older than those is recorded again.
* An event naming a session of the other kind (``dialin-connected`` for a
  dial-out's id) is ``UNKNOWN_SESSION``.

Each route takes ``(core, event, t)`` and returns the journal entry.
:data:`ROUTES` maps every Daily event class to its route;
``tests/test_routing.py`` checks that it covers the whole
:data:`~dialfsm.DailyEvent` union.  A friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._core import MAX_ENDPOINTS, TrackerCore
from dialfsm._inputs import (
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
from dialfsm._session import JournalEntry
from dialfsm._step import apply_many, bind, new_session, oldest_waiting, record, step
from dialfsm._table import AnomalyCode, Disposition, SessionKind
from dialfsm._text import short_repr

__all__ = ["ROUTES", "Route", "unknown"]

_DIALOUT: Final = SessionKind.DIALOUT
_DIALIN: Final = SessionKind.DIALIN
_ANOMALY: Final = Disposition.ANOMALY
_JOURNALED: Final = Disposition.JOURNALED

#: A route: ``(core, typed event, t) -> journal entry``.
Route = Callable[[TrackerCore, Any, "float | None"], JournalEntry]


def unknown(core: TrackerCore, event: object, message: str, t: float | None) -> JournalEntry:
    """Journal ``event`` as ``UNKNOWN_SESSION``: no session it could belong to."""
    name = event.input.value if getattr(event, "input", None) is not None else type(event).__name__  # type: ignore[attr-defined]
    return record(core, name, event, _ANOMALY, AnomalyCode.UNKNOWN_SESSION, message, t=t)


def dialout_event(
    core: TrackerCore,
    event: DialoutConnected | DialoutAnswered | DialoutStopped | DialoutError | DialoutWarning,
    t: float | None,
) -> JournalEntry:
    """``dialout-*``: the session with the event's id, else the oldest dial-out waiting for one (bound)."""
    sid = event.session_id
    session = None if sid is None else core._by_id.get(sid)
    if session is None:
        if sid is not None and sid in core._forgotten:
            return unknown(core, event, f"{event.input.value} for forgotten session {short_repr(sid)}", t)
        session = oldest_waiting(core)
        if session is None:
            what = "no sessionId" if sid is None else f"unknown sessionId {short_repr(sid)}"
            return unknown(core, event, f"{event.input.value} with {what} and no dial-out waiting for one", t)
        if sid is not None:
            bind(core, session, sid)
    elif session.kind is not _DIALOUT:
        return unknown(core, event, f"{event.input.value} names dial-in session {sid!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def dialin_connected(core: TrackerCore, event: DialinConnected, t: float | None) -> JournalEntry:
    """``dialin-connected``: a new dial-in for an unknown id; the dial-in with that id otherwise."""
    session = core._by_id.get(event.session_id)
    if session is None:
        if event.session_id in core._forgotten:
            return unknown(core, event, f"dialin-connected for forgotten session {short_repr(event.session_id)}", t)
        session = new_session(core, _DIALIN)
        bind(core, session, event.session_id)
    elif session.kind is not _DIALIN:
        return unknown(core, event, f"dialin-connected names dial-out session {event.session_id!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def dialin_event(
    core: TrackerCore, event: DialinStopped | DialinError | DialinWarning, t: float | None
) -> JournalEntry:
    """``dialin-stopped`` / ``-error`` / ``-warning``: the dial-in with the event's id."""
    session = core._by_id.get(event.session_id)
    if session is None or session.kind is not _DIALIN:
        return unknown(core, event, f"{event.input.value} for unknown dial-in {event.session_id!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def participant_event(core: TrackerCore, event: ParticipantJoined | ParticipantLeft, t: float | None) -> JournalEntry:
    """``participant-joined`` / ``-left``: the session with the participant's id, else only journaled."""
    session = core._by_id.get(event.participant_id)
    if session is None:
        return record(core, event.input.value, event, _JOURNALED, t=t)
    return step(core, session, event.input, event, core._seq, t, True)


def left_meeting(core: TrackerCore, event: LeftMeeting, t: float | None) -> JournalEntry:
    """``left-meeting``: every live session; only journaled when none is live."""
    live = list(core._live.values())
    if not live:
        return record(core, event.input.value, event, _JOURNALED, t=t)
    return apply_many(core, live, event.input, event, t)


def dialin_ready(core: TrackerCore, event: DialinReady, t: float | None) -> JournalEntry:
    """``dialin-ready``: the room-level record of each SIP endpoint, once."""
    if event.sip_endpoint in core._endpoints:
        message = f"dialin-ready for endpoint {short_repr(event.sip_endpoint)} again"
        return record(core, "dialin-ready", event, _ANOMALY, AnomalyCode.DUPLICATE_EVENT, message, t=t)
    core._endpoints[event.sip_endpoint] = None
    if len(core._endpoints) > MAX_ENDPOINTS:  # bounded: the oldest endpoint goes
        del core._endpoints[next(iter(core._endpoints))]
    return record(core, "dialin-ready", event, Disposition.RECORDED, t=t)


def dtmf_event(core: TrackerCore, event: DtmfReceived, t: float | None) -> JournalEntry:
    """``dtmf-event``: the session with the event's id, else the only live session."""
    if event.session_id is not None:
        session = core._by_id.get(event.session_id)
        if session is None:
            return unknown(core, event, f"dtmf-event for unknown session {short_repr(event.session_id)}", t)
    elif len(core._live) == 1:
        (session,) = core._live.values()
    else:
        return unknown(core, event, f"dtmf-event without sessionId and {len(core._live)} live sessions", t)
    return step(core, session, event.input, event, core._seq, t, True)


#: The route of each Daily event class.
ROUTES: Final[Mapping[type, Route]] = {
    DialoutConnected: dialout_event,
    DialoutAnswered: dialout_event,
    DialoutStopped: dialout_event,
    DialoutError: dialout_event,
    DialoutWarning: dialout_event,
    DialinConnected: dialin_connected,
    DialinStopped: dialin_event,
    DialinError: dialin_event,
    DialinWarning: dialin_event,
    DtmfReceived: dtmf_event,
    ParticipantJoined: participant_event,
    ParticipantLeft: participant_event,
    LeftMeeting: left_meeting,
    DialinReady: dialin_ready,
}
