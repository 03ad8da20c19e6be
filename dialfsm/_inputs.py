"""Typed inputs: Daily's events, the bot's calls, and their completions.

Every input is a frozen attrs class named after what it is.  Payload
dictionaries never reach these constructors directly; :mod:`dialfsm._parse`
converts them at the edge (``from_daily(name, data)``).  Each class has a
class attribute ``input`` naming the :class:`~dialfsm._table.Input` it feeds
(completions pick theirs from ``call`` and ``error``).
"""

from __future__ import annotations

from typing import ClassVar, TypeAlias

import attrs

from dialfsm._settings import (
    DialoutSettings,
    DtmfSettings,
    SipCallTransferSettings,
    SipReferSettings,
)
from dialfsm._slots import loads_older_pickles
from dialfsm._table import Input

__all__ = [
    "Call",
    "CallCompleted",
    "CallInfo",
    "CallKey",
    "DailyEvent",
    "DialinConnected",
    "DialinError",
    "DialinReady",
    "DialinStopped",
    "DialinWarning",
    "DialoutAnswered",
    "DialoutConnected",
    "DialoutError",
    "DialoutStopped",
    "DialoutWarning",
    "DtmfReceived",
    "LeftMeeting",
    "ParticipantJoined",
    "ParticipantLeft",
    "Ref",
    "SendDtmf",
    "SipCallTransfer",
    "SipRefer",
    "StartDialout",
    "StopDialout",
    "TimerExpired",
]


# --- names pairing a call with its completion ----------------------------------------


@attrs.frozen
class CallKey:
    """The name of a call the tracker registered itself, or that a replayed log names: never a bot's ``ref``.

    A bot names its calls with ``ref`` strings.  The tracker needs names of its
    own too: for the stop it asks for when a ring timeout passes (handed to the
    bot as :attr:`StopCall.ref <dialfsm.StopCall.ref>`, to pass back to
    ``stop_completed``), and for the calls a recording names (``"key"`` in a
    replay log).  A ``CallKey`` never equals a string, so no ref a bot chooses can
    collide with one, and attaching a recorder changes no pairing and no refusal.
    """

    #: An ``int`` (a call's place in the live journal) or a ``str`` (``"ring_timeout:<session id>"``).
    value: int | str


#: What pairs a completion with its call: a bot's ``ref`` string, or a :class:`CallKey`.
Ref: TypeAlias = str | CallKey


# --- Daily's events -----------------------------------------------------------------

#: What a payload says of a dial-out: ``(destination, user_id, caller_id, room)``, each ``None``
#: when not sent.  A plain tuple of strings, so a journal row keeping it stays untracked by the GC.
CallInfo: TypeAlias = tuple["str | None", "str | None", "str | None", "str | None"]


def _info(event: object, position: int) -> str | None:
    info = getattr(event, "info", None)
    return None if info is None else info[position]


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialoutConnected:
    """``dialout-connected``: the call is established and ringing at the far end."""

    input: ClassVar[Input] = Input.DIALOUT_CONNECTED
    #: The dial-out participant's session id.
    session_id: str
    #: Daily's SIP call id, for correlating with server logs (daily-js >= 0.92).
    sip_call_id: str | None = None
    #: What the payload says of the call, when it says anything (daily-js, webhooks; daily-python
    #: says nothing): ``(destination, user_id, caller_id, room)``, read as the properties of those names.
    info: CallInfo | None = None

    destination = property(lambda self: _info(self, 0), doc="Who was dialled, when the payload says.")
    user_id = property(lambda self: _info(self, 1), doc="The ``userId`` the dial-out was started with, if sent.")
    caller_id = property(lambda self: _info(self, 2), doc="The caller id the call presents, if sent.")
    room = property(lambda self: _info(self, 3), doc="The Daily room, when the payload names it (webhooks).")


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialoutAnswered:
    """``dialout-answered``: the far end picked up."""

    input: ClassVar[Input] = Input.DIALOUT_ANSWERED
    session_id: str
    sip_call_id: str | None = None
    info: CallInfo | None = None

    destination = DialoutConnected.destination
    user_id = DialoutConnected.user_id
    caller_id = DialoutConnected.caller_id
    room = DialoutConnected.room


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialoutStopped:
    """``dialout-stopped``: the far end hung up, or ``stop_dialout`` took effect (``session_id`` may be missing)."""

    input: ClassVar[Input] = Input.DIALOUT_STOPPED
    session_id: str | None = None
    sip_call_id: str | None = None
    info: CallInfo | None = None

    destination = DialoutConnected.destination
    user_id = DialoutConnected.user_id
    caller_id = DialoutConnected.caller_id
    room = DialoutConnected.room


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialoutError:
    """``dialout-error``: a fatal error.  ``session_id`` is ``None`` when the call never started."""

    input: ClassVar[Input] = Input.DIALOUT_ERROR
    session_id: str | None = None
    #: Daily's error text, verbatim (``errorMsg`` / ``message`` / ``error_msg``).
    error_msg: str | None = None
    #: As :attr:`DialoutConnected.info`.
    info: CallInfo | None = None
    #: daily-js's ``details`` (``destination``, ``sipHeaders``: the SIP hang-up reason), as canonical JSON text.
    details: str | None = None

    destination = DialoutConnected.destination
    user_id = DialoutConnected.user_id
    caller_id = DialoutConnected.caller_id
    room = DialoutConnected.room


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialoutWarning:
    """``dialout-warning``: a non-fatal problem (a codec fallback); never changes state."""

    input: ClassVar[Input] = Input.DIALOUT_WARNING
    session_id: str | None = None
    error_msg: str | None = None
    info: CallInfo | None = None

    destination = DialoutConnected.destination
    user_id = DialoutConnected.user_id
    caller_id = DialoutConnected.caller_id
    room = DialoutConnected.room


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialinReady:
    """``dialin-ready``: one of the room's SIP endpoints can take calls (once per endpoint)."""

    input: ClassVar[None] = None  # room-level: no session machine reads it
    sip_endpoint: str


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialinConnected:
    """``dialin-connected``: a caller reached the room; media is being negotiated."""

    input: ClassVar[Input] = Input.DIALIN_CONNECTED
    session_id: str
    #: The caller's SIP From, when Daily sends it.
    sip_from: str | None = None
    sip_call_id: str | None = None
    #: The Daily room, when the payload names it (webhooks).
    room: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialinStopped:
    """``dialin-stopped``: the caller hung up or the call was terminated."""

    input: ClassVar[Input] = Input.DIALIN_STOPPED
    session_id: str
    sip_call_id: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialinError:
    """``dialin-error``: a fatal error (``type`` is ``"start-failed"`` or ``None``)."""

    input: ClassVar[Input] = Input.DIALIN_ERROR
    session_id: str
    error_msg: str | None = None
    type: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DialinWarning:
    """``dialin-warning``: a non-fatal problem; never changes state."""

    input: ClassVar[Input] = Input.DIALIN_WARNING
    session_id: str
    error_msg: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class DtmfReceived:
    """``dtmf-event``: the far end pressed a key; never changes state."""

    input: ClassVar[Input] = Input.DTMF_EVENT
    session_id: str | None = None
    tone: str
    method: str | None = None
    volume: float | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class ParticipantJoined:
    """``participant-joined``: for a dial-in, the caller's media is flowing."""

    input: ClassVar[Input] = Input.PARTICIPANT_JOINED
    #: The participant's session id (a dial-in's session id is its participant's).
    participant_id: str


@loads_older_pickles
@attrs.frozen(kw_only=True)
class ParticipantLeft:
    """``participant-left``: recorded on a tracked session; changes no state."""

    input: ClassVar[Input] = Input.PARTICIPANT_LEFT
    participant_id: str


@loads_older_pickles
@attrs.frozen(kw_only=True)
class LeftMeeting:
    """``left-meeting``: the bot left the room, which drops every call (outcome ``abandoned``)."""

    input: ClassVar[Input] = Input.LEFT_MEETING


#: Any event Daily can report.
DailyEvent: TypeAlias = (
    DialoutConnected
    | DialoutAnswered
    | DialoutStopped
    | DialoutError
    | DialoutWarning
    | DialinReady
    | DialinConnected
    | DialinStopped
    | DialinError
    | DialinWarning
    | DtmfReceived
    | ParticipantJoined
    | ParticipantLeft
    | LeftMeeting
)


# --- the bot's calls --------------------------------------------------------------


@loads_older_pickles
@attrs.frozen(kw_only=True)
class StartDialout:
    """The bot's ``start_dialout(settings)``."""

    input: ClassVar[Input] = Input.START_DIALOUT
    settings: DialoutSettings
    #: A name pairing this call with its completion (optional).
    ref: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class StopDialout:
    """The bot's ``stop_dialout(session_id)``."""

    input: ClassVar[Input] = Input.STOP_DIALOUT
    session_id: str
    ref: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class SendDtmf:
    """The bot's ``send_dtmf(settings)``."""

    input: ClassVar[Input] = Input.SEND_DTMF
    settings: DtmfSettings
    ref: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class SipCallTransfer:
    """The bot's ``sip_call_transfer(settings)``."""

    input: ClassVar[Input] = Input.SIP_CALL_TRANSFER
    settings: SipCallTransferSettings
    ref: str | None = None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class SipRefer:
    """The bot's ``sip_refer(settings)``."""

    input: ClassVar[Input] = Input.SIP_REFER
    settings: SipReferSettings
    ref: str | None = None


#: Any of the bot's calls.
Call: TypeAlias = StartDialout | StopDialout | SendDtmf | SipCallTransfer | SipRefer


@loads_older_pickles
@attrs.frozen(kw_only=True)
class CallCompleted:
    """The completion of one of the bot's calls: daily-python's ``(session_id, error)``.

    Attributes:
        call: Which call completed: an :class:`~dialfsm._table.Input` that is a call.
        session_id: The session id the completion names (``start_dialout``
            returns it; for the others, optional, to pick among pending calls).
        error: Daily's error text, verbatim; ``None`` on success.
        ref: The ``ref`` of the call it completes, when the call had one (or
            the :class:`CallKey` of a call the tracker named: a ring timeout's stop).

    """

    call: Input
    session_id: str | None = None
    error: str | None = None
    ref: Ref | None = None

    @property
    def input(self) -> Input:
        """The table input: ``<call>.ok`` or ``<call>.error``."""
        return Input(f"{self.call.value}.{'ok' if self.error is None else 'error'}")


@loads_older_pickles
@attrs.frozen(kw_only=True)
class TimerExpired:
    """A dial-out's deadline passed (``start_timeout``, ``ring_timeout`` or ``stop_timeout``).

    The tracker feeds these to itself when an input's ``t`` (or ``advance(now)``)
    reaches a deadline; they are journaled like any other input.
    """

    #: Which timer: ``Input.START_TIMEOUT``, ``Input.RING_TIMEOUT`` or ``Input.STOP_TIMEOUT``.
    timer: Input
    session_id: str | None = None
    #: When it was due (seconds, on the inputs' clock).
    deadline: float

    @property
    def input(self) -> Input:
        """The table input: the timer itself."""
        return self.timer
