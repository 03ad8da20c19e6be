"""The transition tables: the single source of truth for what a call can do.

Theory of operation
===================

dialfsm models every telephony *session* in a Daily room as its own finite-state
machine.  There are two machines:

* **dial-out** (:class:`DialoutState`): the bot places a call with
  ``start_dialout``; Daily reports ``dialout-connected`` (ringing at the far
  end), ``dialout-answered``, ``dialout-stopped`` and ``dialout-error``.
* **dial-in** (:class:`DialinState`): a caller reaches the room's SIP endpoint;
  Daily reports ``dialin-connected`` (media being negotiated), the caller's
  ``participant-joined`` (media flowing), ``dialin-stopped`` and ``dialin-error``.

Each machine reads one *input alphabet* (:class:`Input`): Daily's events, the
bot's own calls (``start_dialout``, ``stop_dialout``, ``send_dtmf``,
``sip_call_transfer``, ``sip_refer``) and the completions of those calls
(``<call>.ok`` / ``<call>.error``).  Room-level events that concern no single
session (``dialin-ready``) are handled by the tracker, not by a machine.

The tables below list, grouped by source state, every row that *does*
something: a transition, or an accepted input that leaves the state alone
(``RECORDED``: a warning, received DTMF, a call's confirmation), or an input
Daily can send that we record as an anomaly with a specific code.  Every
``(state, input)`` pair that no row names is resolved by one written rule,
:func:`default_resolution`, so that the whole ``state x input`` product is
defined and checked by the exhaustive tests:

1. in a terminal state (``stopped``, ``error``) a Daily event is
   ``LATE_EVENT``, a bot call is refused with ``INVALID_STATE``, and a
   completion is recorded (it only confirms what events already told us:
   daily-python delivers a call's events before its completion);
2. elsewhere a Daily event that some row uses to *enter* the current state is a
   ``DUPLICATE_EVENT`` (``dialout-connected`` while ``connected``); any other
   Daily event is ``OUT_OF_ORDER`` (``dialout-connected`` after ``answered``);
3. a bot call no row allows is refused with ``INVALID_STATE``;
4. a completion no row names is recorded, and so is a timer (a stale one:
   timers are disarmed when their state is left, so this does not happen).

Everything else an input does is here too, as literals the machines are
built from and the diagrams draw (h11's rule: whatever affects the state
machine lives in this file):

* **Timers** (:data:`DIALOUT_TIMERS`, :data:`DIALIN_TIMERS`): the deadline
  each state arms when a session enters it, read from
  :class:`~dialfsm.Timeouts`; the tracker feeds the timer input when the
  inputs' ``t`` (or ``advance(now)``) passes it.  Every state before the
  answer (or the join) arms one by default, so a call Daily stops talking
  about still ends.  Dial-outs: ``start_timeout`` in ``connecting`` until the
  first sign of life (the completion or any event the state records), then
  ``ring_timeout`` (counted from that sign of life) in ``connecting`` and
  ``connected`` (the tracker then asks the bot to stop the call: outcome
  ``not_answered`` once stopped), ``stop_timeout`` in ``stopping`` (no
  ``dialout-stopped`` came: taken as stopped).  Dial-ins: ``join_timeout`` in
  ``connected`` (the caller never joined: ``error`` / ``failed``).  Opt-in
  (``Timeouts(max_call=...)``, counted from the start): ``call_timeout`` in
  ``answered`` (stop asked for) and ``joined`` (taken as stopped).  Timers run
  only for the origins in :data:`TIMED_ORIGINS` (the bot's dial-outs, callers'
  dial-ins): a dial-out adopted from a webhook or a transfer's leg runs none.
  Leaving a state disarms its timer.
* **Bookkeeping** (:data:`BOOKKEEPING`): what an accepted input records on
  its session besides the state: a stop requested, a transfer started or
  failed, a warning, a DTMF tone, Daily's error text, a request to the bot to
  stop the call.  It never moves a state; it feeds the outcome rules.
* **Answered states** (:data:`ANSWERED_STATES`): which state counts as
  "answered" for the outcome rules and the retry policy.

Surprises Daily documents, and how each is treated
--------------------------------------------------

* ``dialout-connected`` is not guaranteed: ``connecting -> answered`` is a row.
* A failed ``start_dialout`` fires no ``dialout-error``: the completion's error
  is the input ``start_dialout.error`` (outcome ``rejected``).
* ``dialout-error`` (and ``-warning``, ``-stopped``) may carry no
  ``sessionId``; which session it is for is a routing matter
  (:mod:`dialfsm._routing`: the only live dial-out, or the one its
  destination names).
* Events may arrive before the completion of the call that caused them; the
  completion then only confirms (rule 1 and the ``.ok`` rows).
* ``dialin-ready`` fires once per SIP endpoint: it is room-level and handled by
  the tracker (the same endpoint twice is ``DUPLICATE_EVENT``).
* Warnings and received DTMF never change state; they are recorded.
* Leaving the meeting drops every leg ("the Daily room terminates and any
  remaining PSTN legs drop"): ``left-meeting`` stops every live session with
  outcome ``abandoned`` (:data:`LEFT_BY_HISTORY`), except the legs of a
  transfer that succeeded or is in flight, which end ``transferred``: the
  pipecat cold-transfer example leaves on the operator's answer, and the
  caller and the operator talk on.
* A ``dialin-error`` of type ``start-failed`` with no ``dialin-connected``
  before it: ``idle -> error`` (``failed``).
* A dial-out started elsewhere (adopted) enters from ``idle`` on whichever
  event comes first.

Decisions where Daily is silent (also in the README)
----------------------------------------------------

* ``dialout-answered`` or ``dialout-connected`` while ``stopping``: the far
  end picked up as we hung up.  Recorded, state stays ``stopping``; the
  outcome is decided by what the bot did first (``cancelled`` if it stopped
  before the answer).
* ``stop_dialout`` while ``stopping`` is accepted again (a re-sent hang-up,
  for instance after the first one's completion reported an error).
* An error completing ``stop_dialout``: recorded on the session (``error``,
  ``error_code``), state stays ``stopping`` until Daily's ``dialout-stopped``.
* An error completing ``send_dtmf``: recorded, state unchanged.
* An error completing a transfer (``sip_call_transfer``, ``sip_refer``):
  recorded, state unchanged, and the transfer no longer counts as live.  If
  the call had already stopped (events come first) the outcome is decided
  again without the transfer (``transferred`` becomes ``completed``).
* ``start_dialout.error`` after events already moved the call forward is an
  ``OUT_OF_ORDER`` anomaly: Daily's events win, the state is kept.
* A session's outcome on ``stopped`` is decided by its history
  (:func:`stopped_outcome`, rows marked :data:`BY_HISTORY`): ``transferred``
  if a transfer was requested and has not failed, else ``completed`` if it was
  answered (dial-in: joined), else ``cancelled`` if the bot asked to stop it,
  else ``not_answered``.  Once stopped, only a failed transfer's completion
  decides it again, and only a ``transferred`` outcome changes (rows marked
  :data:`REVISED_BY_HISTORY`); a transfer that fails after the bot left
  makes it ``abandoned``.
* A start completing after its watchdog gave up (``error`` + ``start_dialout.ok``):
  the state stays ``error``, the id is bound, and the bot is asked to hang
  the call up (:attr:`Bookkeeping.HANG_UP_GIVEN_UP`); a retry queued for that
  attempt is withdrawn.
* The error code of a text is :func:`~dialfsm.classify_error`'s; which codes
  are transient (retried by default) is :data:`~dialfsm.TRANSIENT_CODES`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, TypeAlias

import attrs

__all__ = [
    "ANSWERED_STATES",
    "BOOKKEEPING",
    "BY_HISTORY",
    "DIALIN_TABLE",
    "DIALIN_TERMINAL",
    "DIALIN_TIMERS",
    "DIALOUT_TABLE",
    "DIALOUT_TERMINAL",
    "DIALOUT_TIMERS",
    "REVISED_BY_HISTORY",
    "AnomalyCode",
    "Bookkeeping",
    "DialinState",
    "DialoutState",
    "Disposition",
    "Input",
    "InputKind",
    "Origin",
    "Outcome",
    "Resolution",
    "Row",
    "SessionKind",
    "Table",
    "TableError",
    "Timer",
    "default_resolution",
    "stopped_outcome",
]


class DialoutState(enum.StrEnum):
    """Where a dial-out stands.  Values are the strings replay logs and diagrams use."""

    #: Created; no call placed yet.  Sessions leave it on their first input.
    IDLE = "idle"
    #: ``start_dialout`` requested; waiting for Daily's completion and events.
    CONNECTING = "connecting"
    #: Daily's ``dialout-connected``: the call is ringing at the far end.
    CONNECTED = "connected"
    #: Daily's ``dialout-answered``: the far end picked up.
    ANSWERED = "answered"
    #: The bot asked to stop the call; waiting for ``dialout-stopped``.
    STOPPING = "stopping"
    #: Terminal: the call is over (see :class:`Outcome` for how).
    STOPPED = "stopped"
    #: Terminal: the call failed (``rejected`` or ``failed``).
    ERROR = "error"


class DialinState(enum.StrEnum):
    """Where a dial-in stands."""

    #: Created; left on the first input.
    IDLE = "idle"
    #: Daily's ``dialin-connected``: the caller reached the room, media being negotiated.
    CONNECTED = "connected"
    #: The caller's ``participant-joined``: media is flowing.
    JOINED = "joined"
    #: Terminal: the call is over.
    STOPPED = "stopped"
    #: Terminal: Daily's ``dialin-error``.
    ERROR = "error"


State: TypeAlias = DialoutState | DialinState

#: Terminal dial-out states: every input there is late, refused, or a confirmation.
DIALOUT_TERMINAL: Final = frozenset({DialoutState.STOPPED, DialoutState.ERROR})
#: Terminal dial-in states.
DIALIN_TERMINAL: Final = frozenset({DialinState.STOPPED, DialinState.ERROR})


class SessionKind(enum.StrEnum):
    """Which machine a session runs."""

    #: A call the bot placed with ``start_dialout``.
    DIALOUT = "dialout"
    #: A call that reached the room's SIP endpoint.
    DIALIN = "dialin"


class Outcome(enum.StrEnum):
    """How a terminal session ended.  ``rejected`` and ``failed`` end in ``error``."""

    #: Stopped after it was answered (dial-in: joined).
    COMPLETED = "completed"
    #: The far end (or Daily) stopped it before it was answered.
    NOT_ANSWERED = "not_answered"
    #: The bot stopped it before it was answered.
    CANCELLED = "cancelled"
    #: The ``start_dialout`` completion returned an error.
    REJECTED = "rejected"
    #: Daily reported ``dialout-error`` / ``dialin-error``.
    FAILED = "failed"
    #: Stopped after a ``sip_call_transfer`` / ``sip_refer`` that did not fail.
    TRANSFERRED = "transferred"
    #: The bot left the meeting while the call was live.
    ABANDONED = "abandoned"


class AnomalyCode(enum.StrEnum):
    """Why an input was recorded without being applied."""

    #: An event for a session id no session has, and none is waiting for one.
    UNKNOWN_SESSION = "UNKNOWN_SESSION"
    #: The event that entered the current state, again.
    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    #: An event for a session already in a terminal state.
    LATE_EVENT = "LATE_EVENT"
    #: An event the current state does not expect (it goes backwards).
    OUT_OF_ORDER = "OUT_OF_ORDER"
    #: A payload of the wrong shape or types, or a log line that is not an input.
    MALFORMED_INPUT = "MALFORMED_INPUT"
    #: A completion that matches no call waiting for one.
    UNEXPECTED_COMPLETION = "UNEXPECTED_COMPLETION"
    #: An event name dialfsm does not know.
    UNKNOWN_EVENT = "UNKNOWN_EVENT"
    #: A call the bot made on its SDK directly that dialfsm's guards would have refused
    #: (the message names the refusal's code); it is tracked as far as it can be.
    UNGUARDED_CALL = "UNGUARDED_CALL"


class Origin(enum.StrEnum):
    """Where a session's call came from."""

    #: A dial-out this tracker placed (``start_dialout``, or the bot's SDK call it observed).
    BOT = "bot"
    #: A dial-out started elsewhere (another process, the REST API), tracked from Daily's events.
    ADOPTED = "adopted"
    #: The new leg a transfer created (``session.transferred_from`` names the leg it came from).
    TRANSFER = "transfer"
    #: A dial-in: a caller reached the room.
    CALLER = "caller"


class InputKind(enum.Enum):
    """Where an input comes from."""

    #: Reported by Daily (an SDK callback, a webhook, a log).
    EVENT = "event"
    #: One of the bot's own calls; may be refused.
    CALL = "call"
    #: The result of one of the bot's calls.
    COMPLETION = "completion"
    #: A deadline passed (the tracker's timers; time comes from the inputs' ``t``).
    TIMER = "timer"


class Input(enum.StrEnum):
    """The input alphabet of the session machines.  Values are Daily's names."""

    # The bot's calls.
    START_DIALOUT = "start_dialout"
    STOP_DIALOUT = "stop_dialout"
    SEND_DTMF = "send_dtmf"
    SIP_CALL_TRANSFER = "sip_call_transfer"
    SIP_REFER = "sip_refer"
    # Their completions.
    START_OK = "start_dialout.ok"
    START_ERROR = "start_dialout.error"
    STOP_OK = "stop_dialout.ok"
    STOP_ERROR = "stop_dialout.error"
    DTMF_OK = "send_dtmf.ok"
    DTMF_ERROR = "send_dtmf.error"
    TRANSFER_OK = "sip_call_transfer.ok"
    TRANSFER_ERROR = "sip_call_transfer.error"
    REFER_OK = "sip_refer.ok"
    REFER_ERROR = "sip_refer.error"
    # Daily's events.
    DIALOUT_CONNECTED = "dialout-connected"
    DIALOUT_ANSWERED = "dialout-answered"
    DIALOUT_STOPPED = "dialout-stopped"
    DIALOUT_ERROR = "dialout-error"
    DIALOUT_WARNING = "dialout-warning"
    DIALIN_CONNECTED = "dialin-connected"
    DIALIN_STOPPED = "dialin-stopped"
    DIALIN_ERROR = "dialin-error"
    DIALIN_WARNING = "dialin-warning"
    DTMF_EVENT = "dtmf-event"
    PARTICIPANT_JOINED = "participant-joined"
    PARTICIPANT_LEFT = "participant-left"
    LEFT_MEETING = "left-meeting"
    # The tracker's timers.
    START_TIMEOUT = "start_timeout"
    RING_TIMEOUT = "ring_timeout"
    STOP_TIMEOUT = "stop_timeout"
    JOIN_TIMEOUT = "join_timeout"
    CALL_TIMEOUT = "call_timeout"

    @property
    def kind(self) -> InputKind:
        """Whether this input is a Daily event, a bot call or a completion."""
        return _INPUT_KINDS[self]

    @property
    def trigger(self) -> str:
        """The identifier used as this input's trigger name in ``transitions``."""
        return self.name.lower()


_CALLS = frozenset({Input.START_DIALOUT, Input.STOP_DIALOUT, Input.SEND_DTMF, Input.SIP_CALL_TRANSFER, Input.SIP_REFER})
_TIMERS = frozenset(
    {Input.START_TIMEOUT, Input.RING_TIMEOUT, Input.STOP_TIMEOUT, Input.JOIN_TIMEOUT, Input.CALL_TIMEOUT}
)
_INPUT_KINDS: Final[Mapping[Input, InputKind]] = {
    i: InputKind.CALL
    if i in _CALLS
    else InputKind.TIMER
    if i in _TIMERS
    else InputKind.COMPLETION
    if "." in i.value
    else InputKind.EVENT
    for i in Input
}


class Disposition(enum.StrEnum):
    """What an input did."""

    #: It moved a session to another state.
    TRANSITION = "transition"
    #: It was accepted and recorded; no state changed (warnings, DTMF, confirmations).
    RECORDED = "recorded"
    #: It was recorded as an anomaly with a code; no state changed.
    ANOMALY = "anomaly"
    #: A bot call was refused with a code; nothing changed.
    REFUSED = "refused"
    #: It concerned no tracked session and was only journaled (an untracked participant).
    JOURNALED = "journaled"


class Bookkeeping(enum.StrEnum):
    """What an accepted input records on its session besides the state (h2 names a side effect per row).

    An input in an anomaly does none of this; a refused call neither.
    """

    #: The bot asked to stop the call (the outcome rules read it: ``cancelled``).
    STOP_REQUESTED = "stop requested"
    #: A SIP REFER started: it counts as live until its completion reports an error.
    TRANSFER_STARTED = "transfer started"
    #: A SIP call transfer started: live until its completion reports an error, and Daily will
    #: dial a new leg, whose events go to a session of its own (origin ``transfer``).
    CALL_TRANSFER_STARTED = "transfer started, a new leg expected"
    #: A REFER's completion reported an error: no longer live; Daily's text is kept as for ``CALL_FAILED``.
    TRANSFER_FAILED = "transfer failed"
    #: A SIP call transfer's completion reported an error: no longer live, and no new leg expected.
    CALL_TRANSFER_FAILED = "transfer failed, no leg expected"
    #: A call's completion reported an error: its text becomes the session's error, unless the
    #: session already has one and has ended.
    CALL_FAILED = "call failed"
    #: Daily's error event: its text (and its ``details``) becomes the session's error (unless
    #: one is kept and this event ends nothing).
    ERROR_REPORTED = "error reported"
    #: A warning: its text is kept (``session.warnings``).
    WARNING = "warning kept"
    #: A tone pressed at the far end is kept (``session.dtmf``).
    DTMF = "tone kept"
    #: The start watchdog passed: the session's error says so (``TEMPORARILY_NOT_AVAILABLE``).
    START_TIMED_OUT = "start timed out"
    #: The ring timeout (or ``max_call``) passed: the tracker asks the bot to stop the call (a
    #: ``StopCall`` effect and a stop waiting for its completion).
    ASK_BOT_TO_STOP = "bot asked to stop"
    #: The stop timeout passed: noted.
    STOP_TIMED_OUT = "stop timed out"
    #: The join timeout passed: the caller's media never flowed; the session's error says so.
    JOIN_TIMED_OUT = "join timed out"
    #: ``max_call`` passed on a dial-in: the bot cannot hang a dial-in up, so it is taken as stopped.
    CALL_TIMED_OUT = "call timed out"
    #: The start completed after the start watchdog gave up on it: the call may be ringing, so the
    #: tracker binds its id, asks the bot to hang it up (a ``StopCall`` that is sent although the
    #: session has ended), and withdraws the retry it had suggested (never two live calls).
    HANG_UP_GIVEN_UP = "the call given up on is hung up"


#: Marker for rows whose outcome is decided by :func:`stopped_outcome`.
BY_HISTORY: Final = "by history"
#: Marker for rows of a terminal state that decide the outcome again by :func:`stopped_outcome`,
#: changing it only if it is ``transferred`` (a transfer that failed after the call stopped).
REVISED_BY_HISTORY: Final = "revised by history"
#: Marker for rows that end a call because the bot left the room: ``transferred`` if a transfer
#: is live (requested, and its completion reported no error), else ``abandoned``.
LEFT_BY_HISTORY: Final = "left, by history"
OutcomeSpec: TypeAlias = Outcome | Literal["by history", "revised by history", "left, by history"] | None


@attrs.frozen(kw_only=True)
class Row:
    """One row of a transition table.

    Attributes:
        source: The state the row applies in.
        input: The input it reads.
        dest: The state it moves to; ``None`` keeps the state (recorded or anomaly).
        outcome: The outcome it sets, :data:`BY_HISTORY`, :data:`REVISED_BY_HISTORY`, or ``None``.
        anomaly: For rows recording a documented oddity, the anomaly code.
        note: Why the row exists; shown in diagrams and the README's table.
        records: What the row records besides the state, when it differs from what its
            input records everywhere (:data:`BOOKKEEPING`).

    """

    source: State
    input: Input
    dest: State | None = None
    outcome: OutcomeSpec = None
    anomaly: AnomalyCode | None = None
    note: str = ""
    records: Bookkeeping | None = None

    @property
    def disposition(self) -> Disposition:
        """``TRANSITION``, ``RECORDED`` or ``ANOMALY``, from the row's fields."""
        if self.anomaly is not None:
            return Disposition.ANOMALY
        if self.dest is not None and self.dest != self.source:
            return Disposition.TRANSITION
        return Disposition.RECORDED


Sources: TypeAlias = State | tuple[State, ...]


def _each(sources: Sources) -> tuple[State, ...]:
    return sources if isinstance(sources, tuple) else (sources,)


def _t(
    source: Sources,
    input_: Input,
    dest: State,
    outcome: OutcomeSpec = None,
    note: str = "",
    records: Bookkeeping | None = None,
) -> tuple[Row, ...]:
    """Transition rows: ``input_`` moves ``source`` (one state or a group) to ``dest``."""
    return tuple(
        Row(source=s, input=input_, dest=dest, outcome=outcome, note=note, records=records) for s in _each(source)
    )


def _r(
    source: Sources, input_: Input, note: str = "", outcome: OutcomeSpec = None, records: Bookkeeping | None = None
) -> tuple[Row, ...]:
    """Recorded rows: ``input_`` is accepted in ``source`` (one state or a group) and moves nothing."""
    return tuple(Row(source=s, input=input_, outcome=outcome, note=note, records=records) for s in _each(source))


def _a(source: Sources, input_: Input, anomaly: AnomalyCode, note: str = "") -> tuple[Row, ...]:
    """Anomaly rows: ``input_`` in ``source`` is recorded with the code ``anomaly``."""
    return tuple(Row(source=s, input=input_, anomaly=anomaly, note=note) for s in _each(source))


O, I, B = DialoutState, Input, Bookkeeping  # noqa: E741  (local shorthands keep the table readable)
#: The dial-out states a call is live in, once placed (rows shared by all of them name this group).
_PLACED = (O.CONNECTING, O.CONNECTED, O.ANSWERED, O.STOPPING)
#: The dial-out states after Daily reported progress.
_PROGRESSED = (O.CONNECTED, O.ANSWERED, O.STOPPING)
_ADOPTED = (
    "a dial-out started elsewhere (another process, the REST API), adopted from its first event (it runs no timers)"
)

# fmt: off
DIALOUT_TABLE: Final[tuple[Row, ...]] = (
    # --- idle: the bot places a call, or Daily reports one started elsewhere ----------------
    *_t(O.IDLE, I.START_DIALOUT, O.CONNECTING,
        note="startDialOut(): 'Initiates an outbound SIP or PSTN call from a Daily room.'"),
    *_t(O.IDLE, I.DIALOUT_WARNING, O.CONNECTING, note=f"{_ADOPTED}: a warning says it exists"),
    *_t(O.IDLE, I.DIALOUT_CONNECTED, O.CONNECTED, note=f"{_ADOPTED}: ringing"),
    *_t(O.IDLE, I.DIALOUT_ANSWERED, O.ANSWERED, note=f"{_ADOPTED}: answered"),
    *_t(O.IDLE, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY, note=f"{_ADOPTED}: already over"),
    *_t(O.IDLE, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED, note=f"{_ADOPTED}: it failed"),

    # --- every placed call: connecting, connected, answered, stopping ------
    *_r(_PLACED, I.DIALOUT_WARNING, note="'Non-fatal warning (e.g. codec fallback applied)'"),
    *_r(_PLACED, I.DTMF_EVENT),
    *_r(_PLACED, I.PARTICIPANT_JOINED),
    *_r(_PLACED, I.PARTICIPANT_LEFT),
    *_t(_PLACED, I.LEFT_MEETING, O.STOPPED, LEFT_BY_HISTORY,
        note="leaving the room drops every leg (abandoned), unless the bot left after a transfer (transferred)"),
    *_t(_PLACED, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED,
        note="'Fatal error - session will not recover'; may carry no sessionId"),
    *_t(_PLACED, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY,
        note="'Session ended (remote hung up or stopDialOut() was called)'"),

    # --- once Daily reported progress: connected, answered, stopping --------
    *_r(_PROGRESSED, I.START_OK, note="events came before the completion; it only confirms"),
    *_a(_PROGRESSED, I.START_ERROR, AnomalyCode.OUT_OF_ORDER,
        note="an error completion after Daily reported progress; the events win"),

    # --- connecting: start requested, no word from Daily yet ---------------
    *_r(O.CONNECTING, I.START_OK, note="completion returned the session id"),
    *_t(O.CONNECTING, I.START_ERROR, O.ERROR, Outcome.REJECTED,
        note="a failed start fires no dialout-error; the completion carries the error"),
    *_t(O.CONNECTING, I.DIALOUT_CONNECTED, O.CONNECTED,
        note="'dialout-connected fires when the SIP/PSTN network acknowledges the call'"),
    *_t(O.CONNECTING, I.DIALOUT_ANSWERED, O.ANSWERED,
        note="dialout-connected is not guaranteed to precede dialout-answered"),
    *_t(O.CONNECTING, I.STOP_DIALOUT, O.STOPPING),
    *_t(O.CONNECTING, I.START_TIMEOUT, O.ERROR, Outcome.REJECTED,
        note="no completion and no event within the start timeout (daily-python's own is 20 s)"),
    *_t(O.CONNECTING, I.RING_TIMEOUT, O.STOPPING,
        note="the start went through, but no ringing and no answer within the ring timeout: the bot is asked "
             "to stop the call"),

    # --- connected: ringing at the far end ---------------------------------
    *_t(O.CONNECTED, I.DIALOUT_ANSWERED, O.ANSWERED,
        note="'dialout-answered fires when the remote party actually picks up'"),
    *_t(O.CONNECTED, I.STOP_DIALOUT, O.STOPPING),
    *_t(O.CONNECTED, I.RING_TIMEOUT, O.STOPPING,
        note="ringing too long: the tracker asks the bot to stop the call (Twilio's default is 60 s)"),

    # --- answered: media flowing ---------------------------------------------
    *_t(O.ANSWERED, I.STOP_DIALOUT, O.STOPPING),
    *_r(O.ANSWERED, I.SEND_DTMF, note="sendDTMF(): 'sends touch-tone signals into an active session'"),
    *_r(O.ANSWERED, I.SIP_CALL_TRANSFER, note="transfer an active SIP/PSTN session"),
    *_r(O.ANSWERED, I.SIP_REFER, note="transfer an active SIP session by REFER"),
    *_t(O.ANSWERED, I.CALL_TIMEOUT, O.STOPPING, records=B.ASK_BOT_TO_STOP,
        note="opt-in Timeouts(max_call=...): the call lasted too long, the bot is asked to stop it"),

    # --- stopping: the bot asked to stop; waiting for dialout-stopped ----------
    *_r(O.STOPPING, I.STOP_DIALOUT, note="a re-sent hang-up is accepted"),
    *_r(O.STOPPING, I.DIALOUT_CONNECTED, note="the network answered as we hung up: recorded"),
    *_r(O.STOPPING, I.DIALOUT_ANSWERED, note="the far end picked up as we hung up: recorded"),
    *_t(O.STOPPING, I.STOP_TIMEOUT, O.STOPPED, BY_HISTORY,
        note="no dialout-stopped within the stop timeout: taken as stopped"),

    # --- stopped (terminal) ------------------------------------------------------
    *_r(O.STOPPED, I.TRANSFER_ERROR, outcome=REVISED_BY_HISTORY,
        note="the transfer failed after the call stopped: decide the outcome again"),
    *_r(O.STOPPED, I.REFER_ERROR, outcome=REVISED_BY_HISTORY,
        note="the transfer failed after the call stopped: decide the outcome again"),

    # --- error (terminal) -----------------------------------------------------------
    *_r(O.ERROR, I.START_OK, records=B.HANG_UP_GIVEN_UP,
        note="the start completed after the start watchdog gave up on it: the call may be ringing, "
             "so the bot is asked to hang it up; the session stays ended"),
)

N = DialinState

DIALIN_TABLE: Final[tuple[Row, ...]] = (
    # --- idle ----------------------------------------------------------------------
    *_t(N.IDLE, I.DIALIN_CONNECTED, N.CONNECTED,
        note="'An inbound caller has connected and media negotiation is underway'"),
    *_t(N.IDLE, I.DIALIN_ERROR, N.ERROR, Outcome.FAILED,
        note="dialin-error type 'start-failed' with no dialin-connected before it: the call never connected"),

    # --- connected and joined: every live dial-in ----------------------------------
    *_r((N.CONNECTED, N.JOINED), I.DIALIN_WARNING, note="'Non-fatal warning (e.g. codec fallback)'"),
    *_r((N.CONNECTED, N.JOINED), I.DTMF_EVENT),
    *_t((N.CONNECTED, N.JOINED), I.DIALIN_STOPPED, N.STOPPED, BY_HISTORY, note="'Inbound caller disconnected'"),
    *_t((N.CONNECTED, N.JOINED), I.DIALIN_ERROR, N.ERROR, Outcome.FAILED,
        note="'fatal error, e.g. SDP negotiation failure'"),
    *_t((N.CONNECTED, N.JOINED), I.LEFT_MEETING, N.STOPPED, LEFT_BY_HISTORY,
        note="leaving the room drops the caller (abandoned), unless the bot left after a transfer (transferred)"),

    # --- connected: media being negotiated ----------------------------------------
    *_t(N.CONNECTED, I.PARTICIPANT_JOINED, N.JOINED,
        note="'media is not yet flowing - wait for the participant-joined event'"),
    *_r(N.CONNECTED, I.PARTICIPANT_LEFT),
    *_t(N.CONNECTED, I.JOIN_TIMEOUT, N.ERROR, Outcome.FAILED,
        note="the caller never joined (no participant-joined) within the join timeout"),

    # --- joined: media flowing ------------------------------------------------------
    *_r(N.JOINED, I.PARTICIPANT_LEFT, note="participant-left changes no state; dialin-stopped ends it"),
    *_r(N.JOINED, I.SEND_DTMF),
    *_r(N.JOINED, I.SIP_CALL_TRANSFER, note="'Transfer a SIP dial-in call from one Daily room to another'"),
    *_r(N.JOINED, I.SIP_REFER, note="'Transfer a SIP dial-in call to another SIP endpoint outside Daily'"),
    *_t(N.JOINED, I.CALL_TIMEOUT, N.STOPPED, BY_HISTORY, records=B.CALL_TIMED_OUT,
        note="opt-in Timeouts(max_call=...): the bot cannot hang up a dial-in, so it is taken as stopped"),

    # --- stopped (terminal) -----------------------------------------------------------
    *_r(N.STOPPED, I.TRANSFER_ERROR, outcome=REVISED_BY_HISTORY),
    *_r(N.STOPPED, I.REFER_ERROR, outcome=REVISED_BY_HISTORY),
)
# fmt: on


# --- timers: the deadline each state arms on entry ---------------------------------


@attrs.frozen(kw_only=True)
class Timer:
    """A deadline a state arms when a session enters it; leaving the state disarms it.

    Attributes:
        input: The timer input fed when the deadline passes (a row of the state reads it).
        timeout: The :class:`~dialfsm.Timeouts` field holding its seconds (``None`` there disables it).
        watchdog: A watchdog: any Daily event or completion the state records is "a sign of
            life" that ends the watch, and arms :attr:`after_sign_of_life` instead (from the
            sign's time), or nothing.
        after_sign_of_life: The timer that replaces a watchdog on a sign of life.
        from_start: Counted from the call's start (``started_at``), not from entering the state:
            a bound on the whole call.
        note: Why; shown in the diagrams.

    """

    input: Input
    timeout: str
    watchdog: bool = False
    after_sign_of_life: Timer | None = None
    from_start: bool = False
    note: str = ""


_RING: Final = Timer(input=I.RING_TIMEOUT, timeout="ring", note="no answer: the bot is asked to stop the call")
_MAX_CALL: Final = Timer(input=I.CALL_TIMEOUT, timeout="max_call", from_start=True,
                         note="opt-in bound on the whole call, from its start")  # fmt: skip
# fmt: off
#: The timer each dial-out state arms (states not named arm none).  Every state before the call is
#: answered arms one, so a call Daily stops talking about still ends; an answered call arms only
#: the opt-in ``max_call`` (real calls are long).
DIALOUT_TIMERS: Final[Mapping[State, Timer]] = {
    O.CONNECTING: Timer(input=I.START_TIMEOUT, timeout="start", watchdog=True, after_sign_of_life=_RING,
                        note="no completion and no event: the start is taken as failed; after a sign of "
                             "life, the ring timeout"),
    O.CONNECTED: _RING,
    O.ANSWERED: _MAX_CALL,
    O.STOPPING: Timer(input=I.STOP_TIMEOUT, timeout="stop", note="no dialout-stopped: taken as stopped"),
}
#: The timer each dial-in state arms: the caller must join (media flowing) in time; a joined call
#: arms only the opt-in ``max_call``.
DIALIN_TIMERS: Final[Mapping[State, Timer]] = {
    N.CONNECTED: Timer(input=I.JOIN_TIMEOUT, timeout="join", note="the caller's media never flowed: failed"),
    N.JOINED: _MAX_CALL,
}
# fmt: on

#: The sessions whose timers run: calls this room's bot placed or answered.  A dial-out started
#: elsewhere (adopted) or a transfer's new leg arms none: the bot did not place it, so nothing may
#: act on it, and its end is Daily's to report.
TIMED_ORIGINS: Final = frozenset({Origin.BOT, Origin.CALLER})


# --- bookkeeping: what an accepted input records besides the state -----------------


# fmt: off
#: The bookkeeping each input implies wherever it is accepted (a row's ``records`` overrides it).
BOOKKEEPING: Final[Mapping[Input, Bookkeeping]] = {
    I.STOP_DIALOUT: B.STOP_REQUESTED,
    I.SIP_CALL_TRANSFER: B.CALL_TRANSFER_STARTED,
    I.SIP_REFER: B.TRANSFER_STARTED,
    I.TRANSFER_ERROR: B.CALL_TRANSFER_FAILED,
    I.REFER_ERROR: B.TRANSFER_FAILED,
    I.START_ERROR: B.CALL_FAILED,
    I.STOP_ERROR: B.CALL_FAILED,
    I.DTMF_ERROR: B.CALL_FAILED,
    I.DIALOUT_ERROR: B.ERROR_REPORTED,
    I.DIALIN_ERROR: B.ERROR_REPORTED,
    I.DIALOUT_WARNING: B.WARNING,
    I.DIALIN_WARNING: B.WARNING,
    I.DTMF_EVENT: B.DTMF,
    I.START_TIMEOUT: B.START_TIMED_OUT,
    I.RING_TIMEOUT: B.ASK_BOT_TO_STOP,
    I.STOP_TIMEOUT: B.STOP_TIMED_OUT,
    I.JOIN_TIMEOUT: B.JOIN_TIMED_OUT,
    I.CALL_TIMEOUT: B.CALL_TIMED_OUT,
}
# fmt: on

#: The states that count as answered (dial-in: joined) for the outcome rules and retries.
ANSWERED_STATES: Final[Mapping[SessionKind, frozenset[State]]] = {
    SessionKind.DIALOUT: frozenset({O.ANSWERED}),
    SessionKind.DIALIN: frozenset({N.JOINED}),
}

#: The inputs each machine reads (the diagram and exhaustive tests iterate these), explicitly.
DIALOUT_INPUTS: Final = (
    I.START_DIALOUT, I.STOP_DIALOUT, I.SEND_DTMF, I.SIP_CALL_TRANSFER, I.SIP_REFER,
    I.START_OK, I.START_ERROR, I.STOP_OK, I.STOP_ERROR, I.DTMF_OK, I.DTMF_ERROR,
    I.TRANSFER_OK, I.TRANSFER_ERROR, I.REFER_OK, I.REFER_ERROR,
    I.DIALOUT_CONNECTED, I.DIALOUT_ANSWERED, I.DIALOUT_STOPPED, I.DIALOUT_ERROR, I.DIALOUT_WARNING,
    I.DTMF_EVENT, I.PARTICIPANT_JOINED, I.PARTICIPANT_LEFT, I.LEFT_MEETING,
    I.START_TIMEOUT, I.RING_TIMEOUT, I.STOP_TIMEOUT, I.CALL_TIMEOUT,
)  # fmt: skip
DIALIN_INPUTS: Final = (
    I.SEND_DTMF, I.SIP_CALL_TRANSFER, I.SIP_REFER,
    I.DTMF_OK, I.DTMF_ERROR, I.TRANSFER_OK, I.TRANSFER_ERROR, I.REFER_OK, I.REFER_ERROR,
    I.DIALIN_CONNECTED, I.DIALIN_STOPPED, I.DIALIN_ERROR, I.DIALIN_WARNING,
    I.DTMF_EVENT, I.PARTICIPANT_JOINED, I.PARTICIPANT_LEFT, I.LEFT_MEETING,
    I.JOIN_TIMEOUT, I.CALL_TIMEOUT,
)  # fmt: skip

del O, I, N, B


@attrs.frozen(kw_only=True)
class Resolution:
    """What one ``(state, input)`` pair does, after the default rules are applied.

    Attributes:
        disposition: ``TRANSITION``, ``RECORDED``, ``ANOMALY`` or ``REFUSED``.
        dest: The state afterwards (the same state unless a transition).
        outcome: The outcome to set, :data:`BY_HISTORY`, or ``None``.
        code: The anomaly code (``ANOMALY``) or ``"INVALID_STATE"`` (``REFUSED``).
        row: The table row it came from; ``None`` for the default rules.

    """

    disposition: Disposition
    dest: State
    outcome: OutcomeSpec = None
    code: str | None = None
    row: Row | None = None


def stopped_outcome(*, answered: bool, stop_requested: bool, transfer_live: bool) -> Outcome:
    """The outcome of a session entering ``stopped`` by Daily's stop event.

    Args:
        answered: The session visited ``answered`` (dial-out) or ``joined`` (dial-in).
        stop_requested: The bot called ``stop_dialout`` on it.
        transfer_live: A transfer was requested and its completion reported no error.

    """
    if transfer_live:
        return Outcome.TRANSFERRED
    if answered:
        return Outcome.COMPLETED
    if stop_requested:
        return Outcome.CANCELLED
    return Outcome.NOT_ANSWERED


def default_resolution(state: State, input_: Input, *, terminal: bool, entering: Iterable[Input]) -> Resolution:
    """Resolve a ``(state, input)`` pair that no row names (rules 1-4 above).

    Args:
        state: The current state.
        input_: The input.
        terminal: Whether ``state`` is terminal.
        entering: The Daily events some row uses to enter ``state``.

    """
    kind = input_.kind
    if kind is InputKind.COMPLETION or kind is InputKind.TIMER:
        return Resolution(disposition=Disposition.RECORDED, dest=state)
    if kind is InputKind.CALL:
        return Resolution(disposition=Disposition.REFUSED, dest=state, code="INVALID_STATE")
    if terminal:
        code = AnomalyCode.LATE_EVENT
    elif input_ in set(entering):
        code = AnomalyCode.DUPLICATE_EVENT
    else:
        code = AnomalyCode.OUT_OF_ORDER
    return Resolution(disposition=Disposition.ANOMALY, dest=state, code=code)


class TableError(ValueError):
    """A transition table breaks a well-formedness rule (raised when it is built)."""


@attrs.frozen(kw_only=True)
class Table:
    """A validated machine definition: states, alphabet, rows, and the total resolution.

    Built once per machine at import by :func:`build_table`; ``resolve`` covers
    every ``(state, input)`` pair of ``states x inputs``.
    """

    kind: SessionKind
    states: tuple[State, ...]
    initial: State
    terminal: frozenset[State]
    inputs: tuple[Input, ...]
    rows: tuple[Row, ...]
    resolve: Mapping[tuple[State, Input], Resolution]
    #: The timer each state arms on entry (states not named arm none).
    timers: Mapping[State, Timer] = attrs.field(factory=dict)
    #: The states that count as answered (the outcome rules' ``answered``).
    answered: frozenset[State] = frozenset()


def build_table(
    kind: SessionKind,
    states: Sequence[State],
    initial: State,
    terminal: frozenset[State],
    inputs: Sequence[Input],
    rows: Sequence[Row],
    timers: Mapping[State, Timer] | None = None,
    answered: frozenset[State] = frozenset(),
) -> Table:
    """Validate ``rows`` and ``timers`` and compile the total resolution map.

    Raises:
        TableError: a row names a state or input outside the machine; two rows
            share a ``(state, input)`` pair; a terminal state has a row that
            leaves it; a state is unreachable from ``initial``; a non-terminal
            state other than ``initial`` cannot reach a terminal state; a timer
            is armed by a terminal state, is not a timer input, is not read by
            a row of its state that leaves it, or is read by a row of a state
            that does not arm it.

    """
    state_set, input_set = set(states), set(inputs)
    seen = _index_rows(kind, rows, state_set, input_set, terminal)
    edges: dict[State, set[State]] = {s: set() for s in states}
    entering: dict[State, list[Input]] = {s: [] for s in states}
    for row in rows:
        if row.disposition is Disposition.TRANSITION:
            assert row.dest is not None
            edges[row.source].add(row.dest)
            if row.input.kind is InputKind.EVENT:
                entering[row.dest].append(row.input)
    _check_reach(kind, states, initial, terminal, edges)
    timers = {} if timers is None else dict(timers)
    _check_timers(kind, timers, seen, terminal, input_set)
    if not answered <= state_set - terminal:
        raise TableError(f"{kind}: answered states {sorted(map(str, answered))} must be live states of the machine")
    resolve = {(s, i): _resolve_pair(s, i, seen.get((s, i)), terminal, entering[s]) for s in states for i in inputs}
    return Table(
        kind=kind,
        states=tuple(states),
        initial=initial,
        terminal=terminal,
        inputs=tuple(inputs),
        rows=tuple(rows),
        resolve=resolve,
        timers=timers,
        answered=answered,
    )


def _index_rows(
    kind: SessionKind, rows: Sequence[Row], states: set[State], inputs: set[Input], terminal: frozenset[State]
) -> dict[tuple[State, Input], Row]:
    """The rows by ``(state, input)``, after checking each names the machine's states and inputs, once."""
    seen: dict[tuple[State, Input], Row] = {}
    for row in rows:
        if row.source not in states or (row.dest is not None and row.dest not in states):
            raise TableError(f"{kind}: row {row.source}/{row.input} names a state outside the machine")
        if row.input not in inputs:
            raise TableError(f"{kind}: row {row.source}/{row.input} reads an input outside the alphabet")
        key = (row.source, row.input)
        if key in seen:
            raise TableError(f"{kind}: ambiguous pair {row.source}/{row.input} (two rows)")
        if row.source in terminal and row.dest not in (None, row.source):
            raise TableError(f"{kind}: terminal state {row.source} is left by {row.input}")
        if row.input.kind is InputKind.CALL and row.anomaly is not None:
            raise TableError(f"{kind}: call {row.input} cannot be an anomaly (calls are refused)")
        seen[key] = row
    return seen


def _reachable(start: State, edges: Mapping[State, set[State]]) -> set[State]:
    reached, frontier = {start}, [start]
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    return reached


def _check_reach(
    kind: SessionKind,
    states: Sequence[State],
    initial: State,
    terminal: frozenset[State],
    edges: Mapping[State, set[State]],
) -> None:
    """Every state is reachable from ``initial``, and every live state can reach a terminal one."""
    reached = _reachable(initial, edges)
    if unreached := [s.value for s in states if s not in reached]:
        raise TableError(f"{kind}: unreachable states {unreached}")
    for s in states:
        if s not in terminal and not _reachable(s, edges) & terminal:
            raise TableError(f"{kind}: state {s} cannot reach a terminal state")


def _resolve_pair(
    state: State, input_: Input, row: Row | None, terminal: frozenset[State], entering: Sequence[Input]
) -> Resolution:
    if row is None:
        return default_resolution(state, input_, terminal=state in terminal, entering=entering)
    return Resolution(
        disposition=row.disposition,
        dest=row.dest if row.dest is not None else state,
        outcome=row.outcome,
        code=row.anomaly,
        row=row,
    )


def _check_timers(
    kind: SessionKind,
    timers: Mapping[State, Timer],
    rows: Mapping[tuple[State, Input], Row],
    terminal: frozenset[State],
    inputs: set[Input],
) -> None:
    """Each timer belongs to a live state, is read by a row of that state that leaves it, and by no other row."""
    armed: dict[State, set[Input]] = {}
    for state, timer in timers.items():
        chain = [timer] if timer.after_sign_of_life is None else [timer, timer.after_sign_of_life]
        if timer.after_sign_of_life is not None and not timer.watchdog:
            raise TableError(f"{kind}: {state}'s {timer.input} is no watchdog, so no sign of life replaces it")
        for one in chain:
            if state in terminal or one.input.kind is not InputKind.TIMER or one.input not in inputs:
                raise TableError(f"{kind}: {state} cannot arm {one.input} (a terminal state, or not a timer input)")
            row = rows.get((state, one.input))
            if row is None or row.disposition is not Disposition.TRANSITION:
                raise TableError(f"{kind}: {state} arms {one.input} but no row of {state} leaves on it")
            armed.setdefault(state, set()).add(one.input)
    for (state, input_), row in rows.items():
        if input_.kind is InputKind.TIMER and input_ not in armed.get(state, set()):
            raise TableError(f"{kind}: row {state}/{input_} reads a timer {row.source} does not arm")
