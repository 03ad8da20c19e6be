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

Timers (dial-out only; the tracker arms them, time comes from the inputs' ``t``):
``start_timeout`` in ``connecting`` (no completion and no event since the
start), ``ring_timeout`` in ``connected`` (the tracker then asks the bot to
stop the call: outcome ``not_answered`` once stopped), ``stop_timeout`` in
``stopping`` (no ``dialout-stopped`` came: taken as stopped).

Surprises Daily documents, and how each is treated
--------------------------------------------------

* ``dialout-connected`` is not guaranteed: ``connecting -> answered`` is a row.
* A failed ``start_dialout`` fires no ``dialout-error``: the completion's error
  is the input ``start_dialout.error`` (outcome ``rejected``).
* ``dialout-error`` may carry no ``sessionId``; the tracker binds it to the
  oldest dial-out still waiting for an id (routing, not a table matter).
* Events may arrive before the completion of the call that caused them; the
  completion then only confirms (rule 1 and the ``.ok`` rows).
* ``dialin-ready`` fires once per SIP endpoint: it is room-level and handled by
  the tracker (the same endpoint twice is ``DUPLICATE_EVENT``).
* Warnings and received DTMF never change state; they are recorded.
* Leaving the meeting drops every leg ("the Daily room terminates and any
  remaining PSTN legs drop"): ``left-meeting`` stops every live session with
  outcome ``abandoned``.

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
  (:func:`stopped_outcome`): ``transferred`` if a transfer was requested and
  has not failed, else ``completed`` if it was answered (dial-in: joined),
  else ``cancelled`` if the bot asked to stop it, else ``not_answered``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, TypeAlias

import attrs

__all__ = [
    "BY_HISTORY",
    "DIALIN_TABLE",
    "DIALIN_TERMINAL",
    "DIALOUT_TABLE",
    "DIALOUT_TERMINAL",
    "AnomalyCode",
    "DialinState",
    "DialoutState",
    "Disposition",
    "Input",
    "InputKind",
    "Outcome",
    "Resolution",
    "Row",
    "SessionKind",
    "Table",
    "TableError",
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

    @property
    def kind(self) -> InputKind:
        """Whether this input is a Daily event, a bot call or a completion."""
        return _INPUT_KINDS[self]

    @property
    def trigger(self) -> str:
        """The identifier used as this input's trigger name in ``transitions``."""
        return self.name.lower()


_CALLS = frozenset({Input.START_DIALOUT, Input.STOP_DIALOUT, Input.SEND_DTMF, Input.SIP_CALL_TRANSFER, Input.SIP_REFER})
_TIMERS = frozenset({Input.START_TIMEOUT, Input.RING_TIMEOUT, Input.STOP_TIMEOUT})
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


#: Marker for rows whose outcome is decided by :func:`stopped_outcome`.
BY_HISTORY: Final = "by history"
OutcomeSpec: TypeAlias = Outcome | Literal["by history"] | None


@attrs.frozen(kw_only=True)
class Row:
    """One row of a transition table.

    Attributes:
        source: The state the row applies in.
        input: The input it reads.
        dest: The state it moves to; ``None`` keeps the state (recorded or anomaly).
        outcome: The outcome it sets, :data:`BY_HISTORY`, or ``None``.
        anomaly: For rows recording a documented oddity, the anomaly code.
        note: Why the row exists; shown in diagrams and the README's table.

    """

    source: State
    input: Input
    dest: State | None = None
    outcome: OutcomeSpec = None
    anomaly: AnomalyCode | None = None
    note: str = ""

    @property
    def disposition(self) -> Disposition:
        """``TRANSITION``, ``RECORDED`` or ``ANOMALY``, from the row's fields."""
        if self.anomaly is not None:
            return Disposition.ANOMALY
        if self.dest is not None and self.dest != self.source:
            return Disposition.TRANSITION
        return Disposition.RECORDED


def _t(source: State, input_: Input, dest: State, outcome: OutcomeSpec = None, note: str = "") -> Row:
    return Row(source=source, input=input_, dest=dest, outcome=outcome, note=note)


def _r(source: State, input_: Input, note: str = "", outcome: OutcomeSpec = None) -> Row:
    return Row(source=source, input=input_, outcome=outcome, note=note)


def _a(source: State, input_: Input, anomaly: AnomalyCode, note: str = "") -> Row:
    return Row(source=source, input=input_, anomaly=anomaly, note=note)


O, I = DialoutState, Input  # noqa: E741  (local shorthands keep the table readable)

# fmt: off
DIALOUT_TABLE: Final[tuple[Row, ...]] = (
    # --- idle -------------------------------------------------------------
    _t(O.IDLE, I.START_DIALOUT, O.CONNECTING,
       note="startDialOut(): 'Initiates an outbound SIP or PSTN call from a Daily room.'"),

    # --- connecting: start requested, no word from Daily yet ---------------
    _r(O.CONNECTING, I.START_OK, note="completion returned the session id"),
    _t(O.CONNECTING, I.START_ERROR, O.ERROR, Outcome.REJECTED,
       note="a failed start fires no dialout-error; the completion carries the error"),
    _t(O.CONNECTING, I.DIALOUT_CONNECTED, O.CONNECTED,
       note="'dialout-connected fires when the SIP/PSTN network acknowledges the call'"),
    _t(O.CONNECTING, I.DIALOUT_ANSWERED, O.ANSWERED,
       note="dialout-connected is not guaranteed to precede dialout-answered"),
    _t(O.CONNECTING, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY),
    _t(O.CONNECTING, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED,
       note="'Fatal error - session will not recover'; may carry no sessionId"),
    _r(O.CONNECTING, I.DIALOUT_WARNING, note="'Non-fatal warning (e.g. codec fallback applied)'"),
    _r(O.CONNECTING, I.DTMF_EVENT),
    _r(O.CONNECTING, I.PARTICIPANT_JOINED),
    _r(O.CONNECTING, I.PARTICIPANT_LEFT),
    _t(O.CONNECTING, I.STOP_DIALOUT, O.STOPPING),
    _t(O.CONNECTING, I.LEFT_MEETING, O.STOPPED, Outcome.ABANDONED,
       note="leaving the room drops every leg"),
    _t(O.CONNECTING, I.START_TIMEOUT, O.ERROR, Outcome.REJECTED,
       note="no completion and no event within the start timeout (daily-python's own is 20 s)"),

    # --- connected: ringing at the far end ---------------------------------
    _r(O.CONNECTED, I.START_OK, note="events came before the completion; it only confirms"),
    _a(O.CONNECTED, I.START_ERROR, AnomalyCode.OUT_OF_ORDER,
       note="an error completion after Daily reported progress; the events win"),
    _t(O.CONNECTED, I.DIALOUT_ANSWERED, O.ANSWERED,
       note="'dialout-answered fires when the remote party actually picks up'"),
    _t(O.CONNECTED, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY,
       note="'Session ended (remote hung up or stopDialOut() was called)'"),
    _t(O.CONNECTED, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED),
    _r(O.CONNECTED, I.DIALOUT_WARNING),
    _r(O.CONNECTED, I.DTMF_EVENT),
    _r(O.CONNECTED, I.PARTICIPANT_JOINED),
    _r(O.CONNECTED, I.PARTICIPANT_LEFT),
    _t(O.CONNECTED, I.STOP_DIALOUT, O.STOPPING),
    _t(O.CONNECTED, I.LEFT_MEETING, O.STOPPED, Outcome.ABANDONED),
    _t(O.CONNECTED, I.RING_TIMEOUT, O.STOPPING,
       note="ringing too long: the tracker asks the bot to stop the call (Twilio's default is 60 s)"),

    # --- answered: media flowing ---------------------------------------------
    _r(O.ANSWERED, I.START_OK, note="events came before the completion; it only confirms"),
    _a(O.ANSWERED, I.START_ERROR, AnomalyCode.OUT_OF_ORDER,
       note="an error completion after Daily reported progress; the events win"),
    _t(O.ANSWERED, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY),
    _t(O.ANSWERED, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED),
    _r(O.ANSWERED, I.DIALOUT_WARNING),
    _r(O.ANSWERED, I.DTMF_EVENT),
    _r(O.ANSWERED, I.PARTICIPANT_JOINED),
    _r(O.ANSWERED, I.PARTICIPANT_LEFT),
    _t(O.ANSWERED, I.STOP_DIALOUT, O.STOPPING),
    _r(O.ANSWERED, I.SEND_DTMF, note="sendDTMF(): 'sends touch-tone signals into an active session'"),
    _r(O.ANSWERED, I.SIP_CALL_TRANSFER, note="transfer an active SIP/PSTN session"),
    _r(O.ANSWERED, I.SIP_REFER, note="transfer an active SIP session by REFER"),
    _t(O.ANSWERED, I.LEFT_MEETING, O.STOPPED, Outcome.ABANDONED),

    # --- stopping: the bot asked to stop; waiting for dialout-stopped ----------
    _r(O.STOPPING, I.START_OK, note="events came before the completion; it only confirms"),
    _a(O.STOPPING, I.START_ERROR, AnomalyCode.OUT_OF_ORDER),
    _r(O.STOPPING, I.STOP_DIALOUT, note="a re-sent hang-up is accepted"),
    _r(O.STOPPING, I.DIALOUT_CONNECTED, note="the network answered as we hung up: recorded"),
    _r(O.STOPPING, I.DIALOUT_ANSWERED, note="the far end picked up as we hung up: recorded"),
    _t(O.STOPPING, I.DIALOUT_STOPPED, O.STOPPED, BY_HISTORY,
       note="'remote hung up or stopDialOut() was called'"),
    _t(O.STOPPING, I.DIALOUT_ERROR, O.ERROR, Outcome.FAILED),
    _r(O.STOPPING, I.DIALOUT_WARNING),
    _r(O.STOPPING, I.DTMF_EVENT),
    _r(O.STOPPING, I.PARTICIPANT_JOINED),
    _r(O.STOPPING, I.PARTICIPANT_LEFT),
    _t(O.STOPPING, I.LEFT_MEETING, O.STOPPED, Outcome.ABANDONED),
    _t(O.STOPPING, I.STOP_TIMEOUT, O.STOPPED, BY_HISTORY,
       note="no dialout-stopped within the stop timeout: taken as stopped"),

    # --- stopped (terminal) ------------------------------------------------------
    _r(O.STOPPED, I.TRANSFER_ERROR, outcome=BY_HISTORY,
       note="the transfer failed after the call stopped: decide the outcome again"),
    _r(O.STOPPED, I.REFER_ERROR, outcome=BY_HISTORY,
       note="the transfer failed after the call stopped: decide the outcome again"),
    # --- error (terminal): nothing but the default rules -------------------------
)

N = DialinState

DIALIN_TABLE: Final[tuple[Row, ...]] = (
    # --- idle ----------------------------------------------------------------------
    _t(N.IDLE, I.DIALIN_CONNECTED, N.CONNECTED,
       note="'An inbound caller has connected and media negotiation is underway'"),

    # --- connected: media being negotiated ----------------------------------------
    _t(N.CONNECTED, I.PARTICIPANT_JOINED, N.JOINED,
       note="'media is not yet flowing - wait for the participant-joined event'"),
    _t(N.CONNECTED, I.DIALIN_STOPPED, N.STOPPED, BY_HISTORY, note="'Inbound caller disconnected'"),
    _t(N.CONNECTED, I.DIALIN_ERROR, N.ERROR, Outcome.FAILED,
       note="'fatal error, e.g. SDP negotiation failure'"),
    _r(N.CONNECTED, I.DIALIN_WARNING, note="'Non-fatal warning (e.g. codec fallback)'"),
    _r(N.CONNECTED, I.DTMF_EVENT),
    _r(N.CONNECTED, I.PARTICIPANT_LEFT),
    _t(N.CONNECTED, I.LEFT_MEETING, N.STOPPED, Outcome.ABANDONED),

    # --- joined: media flowing ------------------------------------------------------
    _t(N.JOINED, I.DIALIN_STOPPED, N.STOPPED, BY_HISTORY),
    _t(N.JOINED, I.DIALIN_ERROR, N.ERROR, Outcome.FAILED),
    _r(N.JOINED, I.DIALIN_WARNING),
    _r(N.JOINED, I.DTMF_EVENT),
    _r(N.JOINED, I.PARTICIPANT_LEFT, note="participant-left changes no state; dialin-stopped ends it"),
    _r(N.JOINED, I.SEND_DTMF),
    _r(N.JOINED, I.SIP_CALL_TRANSFER, note="'Transfer a SIP dial-in call from one Daily room to another'"),
    _r(N.JOINED, I.SIP_REFER, note="'Transfer a SIP dial-in call to another SIP endpoint outside Daily'"),
    _t(N.JOINED, I.LEFT_MEETING, N.STOPPED, Outcome.ABANDONED),

    # --- stopped (terminal) -----------------------------------------------------------
    _r(N.STOPPED, I.TRANSFER_ERROR, outcome=BY_HISTORY),
    _r(N.STOPPED, I.REFER_ERROR, outcome=BY_HISTORY),
)
# fmt: on

del O, I, N

#: The inputs each machine reads (the diagram and exhaustive tests iterate these).
DIALOUT_INPUTS: Final = tuple(i for i in Input if not i.value.startswith("dialin-"))
DIALIN_INPUTS: Final = tuple(
    i for i in Input if not i.value.startswith(("dialout-", "start_dialout", "stop_dialout")) and i not in _TIMERS
)


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


def build_table(
    kind: SessionKind,
    states: Sequence[State],
    initial: State,
    terminal: frozenset[State],
    inputs: Sequence[Input],
    rows: Sequence[Row],
) -> Table:
    """Validate ``rows`` and compile the total resolution map.

    Raises:
        TableError: a row names a state or input outside the machine; two rows
            share a ``(state, input)`` pair; a terminal state has a row that
            leaves it; a state is unreachable from ``initial``; a non-terminal
            state other than ``initial`` cannot reach a terminal state.

    """
    state_set, input_set = set(states), set(inputs)
    seen: dict[tuple[State, Input], Row] = {}
    for row in rows:
        if row.source not in state_set or (row.dest is not None and row.dest not in state_set):
            raise TableError(f"{kind}: row {row.source}/{row.input} names a state outside the machine")
        if row.input not in input_set:
            raise TableError(f"{kind}: row {row.source}/{row.input} reads an input outside the alphabet")
        key = (row.source, row.input)
        if key in seen:
            raise TableError(f"{kind}: ambiguous pair {row.source}/{row.input} (two rows)")
        if row.source in terminal and row.dest not in (None, row.source):
            raise TableError(f"{kind}: terminal state {row.source} is left by {row.input}")
        if row.input.kind is InputKind.CALL and row.anomaly is not None:
            raise TableError(f"{kind}: call {row.input} cannot be an anomaly (calls are refused)")
        seen[key] = row

    edges: dict[State, set[State]] = {s: set() for s in states}
    for row in rows:
        if row.disposition is Disposition.TRANSITION:
            assert row.dest is not None
            edges[row.source].add(row.dest)
    reached, frontier = {initial}, [initial]
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    if unreached := [s.value for s in states if s not in reached]:
        raise TableError(f"{kind}: unreachable states {unreached}")
    for s in states:
        if s in terminal:
            continue
        seen_s, stack = {s}, [s]
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen_s:
                    seen_s.add(nxt)
                    stack.append(nxt)
        if not seen_s & terminal:
            raise TableError(f"{kind}: state {s} cannot reach a terminal state")

    entering: dict[State, list[Input]] = {s: [] for s in states}
    for row in rows:
        if row.disposition is Disposition.TRANSITION and row.input.kind is InputKind.EVENT:
            assert row.dest is not None
            entering[row.dest].append(row.input)
    resolve: dict[tuple[State, Input], Resolution] = {}
    for s in states:
        for i in inputs:
            found = seen.get((s, i))
            if found is None:
                resolve[s, i] = default_resolution(s, i, terminal=s in terminal, entering=entering[s])
            else:
                resolve[s, i] = Resolution(
                    disposition=found.disposition,
                    dest=found.dest if found.dest is not None else s,
                    outcome=found.outcome,
                    code=found.anomaly,
                    row=found,
                )
    return Table(
        kind=kind,
        states=tuple(states),
        initial=initial,
        terminal=terminal,
        inputs=tuple(inputs),
        rows=tuple(rows),
        resolve=resolve,
    )
