"""Hot: which session a Daily event belongs to (routing and binding rules), one function per event family.

The state, timer and outcome rules are the table's (:mod:`dialfsm._table`);
this module decides only *which session* an event is for, then hands it to
:func:`~dialfsm._step.step`.  The rules (also the README's "Rules"):

**Dial-out events** (``dialout-*``).  One order decides the session of an event:

1. the session with the event's id (an id of a session the tracker forgot,
   ``finished_limit``, never binds again: ``UNKNOWN_SESSION``);
2. a dial-out waiting for its id whose destination matches the payload's
   (``destination``, ``details.destination``, or ``userId`` against the
   settings' ``userId``);
3. with an id: the new leg of a SIP call transfer in flight (a session of its
   own, origin ``transfer``, linked to the session transferred);
4. the oldest dial-out waiting for its id, only when the payload names no
   destination;
5. without an id (daily-js allows it for ``dialout-error``, ``-warning`` and
   ``-stopped``): the live dial-out the payload's destination names, else the
   room's only live dial-out;
6. with an id: a session adopted for it (origin ``adopted``: a dial-out started
   elsewhere), when ``adopt_unknown_dialouts`` allows: ``"always"``, or
   ``"webhook"`` (the default) for a webhook delivery (a ``dialout.answered``
   name, an envelope, or its snake_case payload);
7. else ``UNKNOWN_SESSION`` (a session-less event several live dial-outs could
   have sent is one too: truly ambiguous).

Rules 3, 4 and 6 (and rule 2 when several waiting calls match) are guesses;
a start completion settles them (:mod:`dialfsm._guesses`): the call it names
moves, with its progress, to the session whose start it completes, so no
completion is stranded.

**Dial-in events.**  ``dialin-connected`` with an unknown id creates a dial-in
(not for the id of a session the tracker forgot: ``UNKNOWN_SESSION``, so
``finished_limit`` never turns a late event into a new call); so does a
``dialin-error`` of type ``start-failed`` (it never connected).  Other
``dialin-*`` events need a known dial-in.  A ``participant-joined`` that came
before its ``dialin-connected`` is remembered (the last 1,024) and applied with it.

**The rest.**  ``participant-joined`` / ``-left`` route by the participant's
session id; for a participant that is no tracked session they are only
journaled.  ``dtmf-event`` goes to the session its id names, else the room's
only live session, else the only one with media flowing (answered or
joined); several with media and no id is ``UNKNOWN_SESSION``.
``left-meeting`` reaches every live session; with none it is only journaled.
``dialin-ready`` records each SIP endpoint once (again: ``DUPLICATE_EVENT``);
the latest :data:`~dialfsm._core.MAX_ENDPOINTS` are remembered.
An event naming a session of the other kind is ``UNKNOWN_SESSION``.

Each route takes ``(core, event, t)`` and returns the journal entry.
:data:`ROUTES` maps every Daily event class to its route;
``tests/test_routing.py`` checks that it covers the whole
:data:`~dialfsm.DailyEvent` union.  A friend of :mod:`dialfsm._core`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dialfsm._core import MAX_ENDPOINTS, TrackerCore
from dialfsm._guesses import guessed, mark_guess
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
from dialfsm._session import JournalEntry, Session
from dialfsm._step import apply_many, apply_sequence, bind, extra, leg_expected, new_session, record, step
from dialfsm._table import ANSWERED_STATES, AnomalyCode, Disposition, Input, Origin, SessionKind
from dialfsm._text import short_repr

__all__ = ["MAX_EARLY_JOINS", "ROUTES", "Route", "same_destination", "unknown"]

_DIALOUT: Final = SessionKind.DIALOUT
_DIALIN: Final = SessionKind.DIALIN
_ANOMALY: Final = Disposition.ANOMALY
_JOURNALED: Final = Disposition.JOURNALED
#: How many participants joined before their ``dialin-connected`` are remembered.
MAX_EARLY_JOINS: Final = 1024

#: A route: ``(core, typed event, t) -> journal entry``.
Route = Callable[[TrackerCore, Any, "float | None"], JournalEntry]
DialoutEvent = DialoutConnected | DialoutAnswered | DialoutStopped | DialoutError | DialoutWarning


def unknown(core: TrackerCore, event: object, message: str, t: float | None) -> JournalEntry:
    """Journal ``event`` as ``UNKNOWN_SESSION``: no session it could belong to."""
    name = event.input.value if getattr(event, "input", None) is not None else type(event).__name__  # type: ignore[attr-defined]
    return record(core, name, event, _ANOMALY, AnomalyCode.UNKNOWN_SESSION, message, t=t)


def dialout_event(core: TrackerCore, event: DialoutEvent, t: float | None) -> JournalEntry:
    """``dialout-*``: the session the event's id names; else the routing order (module docstring)."""
    sid = event.session_id
    session = None if sid is None else core._by_id.get(sid)
    if session is None:
        if sid is not None and sid in core._forgotten:
            return unknown(core, event, f"{event.input.value} for forgotten session {short_repr(sid)}", t)
        session = _dialout_for_unknown(core, event)
        if session is None:
            what = "no sessionId" if sid is None else f"unknown sessionId {short_repr(sid)}"
            return unknown(core, event, f"{event.input.value} with {what}: no dial-out it can be (module docs)", t)
    elif session.kind is not _DIALOUT:
        return unknown(core, event, f"{event.input.value} names dial-in session {sid!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def _dialout_for_unknown(core: TrackerCore, event: DialoutEvent) -> Session | None:
    """Rules 2 to 6 for an event whose id names no session: the session it binds (or is created), or ``None``."""
    sid, destination, user_id = event.session_id, event.destination, event.user_id
    if sid is None:
        return _live_dialout(core, destination, user_id)  # rule 5
    waiting = [s for s in core._waiting_for_id.values() if s._origin is Origin.BOT]
    named = destination is not None or user_id is not None
    matching = [s for s in waiting if _names(s, destination, user_id)] if named else []
    if not matching and core._awaiting_legs:
        return _transfer_leg(core, sid, event)  # rule 3
    if not matching and not named:
        matching = waiting  # rule 4
    if matching:
        found = matching[0]
        bind(core, found, sid)
        if len(matching) > 1 or not named or _guessed_alike(core, found, destination, user_id):
            mark_guess(found)  # one of several (now or before a guess took one), or unnamed: dialfsm._guesses
        return found
    if _adopts(core):
        return _adopted(core, sid, event)  # rule 6
    return None


def _guessed_alike(core: TrackerCore, found: Session, destination: str | None, user_id: str | None) -> bool:
    """Whether a live dial-out bound by an unconfirmed guess has the same destination as ``found``.

    Then ``found`` is the only match left only because that guess took the other:
    if the guess was wrong, so is this binding, and a start completion must be able to correct both.
    """
    return any(
        other is not found and other.kind is _DIALOUT and guessed(other) and _names(other, destination, user_id)
        for other in core._live.values()
    )


def _names(session: Session, destination: str | None, user_id: str | None) -> bool:
    settings = session._settings
    if destination is not None and same_destination(destination, session.destination):
        return True
    return user_id is not None and settings is not None and settings.user_id == user_id


def same_destination(a: str | None, b: str | None) -> bool:
    """Whether two destinations are the same: phone numbers by their digits, SIP URIs without parameters."""
    if a is None or b is None:
        return False
    return _canonical(a) == _canonical(b)


def _canonical(destination: str) -> str:
    text = destination.strip().lower()
    if text.startswith(("sip:", "sips:")):
        return text.split(";", 1)[0].split("?", 1)[0].removeprefix("sips:").removeprefix("sip:")
    digits = "".join(c for c in text if c.isdigit())
    return digits if digits else text


def _live_dialout(core: TrackerCore, destination: str | None, user_id: str | None) -> Session | None:
    """Rule 5, for an event without an id: the live dial-out the payload names, else the only live one."""
    live = [s for s in core._live.values() if s.kind is _DIALOUT]
    if destination is not None or user_id is not None:
        named = [s for s in live if _names(s, destination, user_id)]
        if len(named) == 1:
            return named[0]
    return live[0] if len(live) == 1 else None


def _transfer_leg(core: TrackerCore, sid: str, event: DialoutEvent) -> Session:
    """Rule 3: the new leg of the oldest SIP call transfer still waiting for one."""
    source = next(iter(core._awaiting_legs.values()))
    leg = new_session(core, _DIALOUT, origin=Origin.TRANSFER)
    bind(core, leg, sid)
    if core._waiting_for_id:  # rule 3 chose over a placed call waiting for its id: a guess (dialfsm._guesses)
        mark_guess(leg)
    extra(leg)["transferred_from"] = source
    extra(source)["transferred_to"] = leg
    leg_expected(core, source, -1)
    _keep_info(leg, event)
    return leg


def _adopts(core: TrackerCore) -> bool:
    """Whether the event being read may create a dial-out session (``adopt_unknown_dialouts``)."""
    mode = core.adopt_unknown_dialouts
    if mode == "always":
        return True
    if mode == "never":
        return False
    name, data = core._input_name, core._input_data
    if isinstance(name, str) and "." in name:  # dialout.answered: a webhook's type
        return True
    return isinstance(data, Mapping) and (("type" in data and "payload" in data) or "session_id" in data)


def _adopted(core: TrackerCore, sid: str, event: DialoutEvent) -> Session:
    """Rule 6: a dial-out started elsewhere, from its first event."""
    session = new_session(core, _DIALOUT, origin=Origin.ADOPTED)
    bind(core, session, sid)
    _keep_info(session, event)
    return session


def _keep_info(session: Session, event: DialoutEvent) -> None:
    """What the first event says of a call the bot did not place: its destination, caller id, room."""
    info = event.info
    if info is not None:
        fields = extra(session)
        for key, value in zip(("destination", "user_id", "caller_id", "room"), info, strict=True):
            if value is not None:
                fields[key] = value


def dialin_connected(core: TrackerCore, event: DialinConnected, t: float | None) -> JournalEntry:
    """``dialin-connected``: a new dial-in for an unknown id (with a join that came first); else its dial-in."""
    sid = event.session_id
    session = core._by_id.get(sid)
    if session is None:
        if event.session_id in core._forgotten:
            return unknown(core, event, f"dialin-connected for forgotten session {short_repr(event.session_id)}", t)
        session = new_session(core, _DIALIN)
        bind(core, session, sid)
        sip_from, room = (
            getattr(event, "sip_from", None),
            getattr(event, "room", None),
        )  # a hand-built event may lack them
        if sip_from is not None or room is not None:
            fields = extra(session)
            fields["caller_id"], fields["room"] = sip_from, room
        if sid in core._early_joins:  # its participant-joined came first: apply it now, with this input
            del core._early_joins[sid]
            joined = ParticipantJoined(participant_id=sid)
            return apply_sequence(core, session, ((event.input, event), (Input.PARTICIPANT_JOINED, joined)), t)
    elif session.kind is not _DIALIN:
        return unknown(core, event, f"dialin-connected names dial-out session {sid!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def dialin_event(
    core: TrackerCore, event: DialinStopped | DialinError | DialinWarning, t: float | None
) -> JournalEntry:
    """``dialin-stopped`` / ``-error`` / ``-warning``: its dial-in; a ``start-failed`` error creates one."""
    session = core._by_id.get(event.session_id)
    if session is None and isinstance(event, DialinError) and event.type == "start-failed":
        session = new_session(core, _DIALIN)
        bind(core, session, event.session_id)
    if session is None or session.kind is not _DIALIN:
        return unknown(core, event, f"{event.input.value} for unknown dial-in {event.session_id!r}", t)
    return step(core, session, event.input, event, core._seq, t, True)


def participant_event(core: TrackerCore, event: ParticipantJoined | ParticipantLeft, t: float | None) -> JournalEntry:
    """``participant-joined`` / ``-left``: the session with the participant's id, else only journaled."""
    session = core._by_id.get(event.participant_id)
    if session is None:
        if isinstance(event, ParticipantJoined):  # maybe a caller whose dialin-connected is still to come
            core._early_joins[event.participant_id] = None
            if len(core._early_joins) > MAX_EARLY_JOINS:
                del core._early_joins[next(iter(core._early_joins))]
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
    """``dtmf-event``: the session its id names, else the only live session, else the only one with media."""
    if event.session_id is not None:
        session = core._by_id.get(event.session_id)
        if session is None:
            return unknown(core, event, f"dtmf-event for unknown session {short_repr(event.session_id)}", t)
        return step(core, session, event.input, event, core._seq, t, True)
    live = list(core._live.values())
    if len(live) != 1:
        live = [s for s in live if s._state in ANSWERED_STATES[s.kind]]  # only a call with media sends tones
    if len(live) != 1:
        return unknown(core, event, f"dtmf-event without sessionId and {len(live)} live calls with media", t)
    return step(core, live[0], event.input, event, core._seq, t, True)


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
