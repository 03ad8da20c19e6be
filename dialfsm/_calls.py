"""The bot's five calls: what each takes and completes with (:data:`CALLS`), and the calls waiting for completions.

**The calls.**  ``start_dialout``, ``stop_dialout``, ``send_dtmf``,
``sip_call_transfer`` and ``sip_refer`` share one shape: a guarded call that
registers a *pending* call, then a completion (daily-python's
``(session_id, error)`` for a start, ``(error,)`` for the others) that pairs
with it.  :data:`CALLS` describes each once (its table input, its typed input
class, how its argument is parsed, the name of its completion helper), and
everything that drives a call reads it: the tracker's call methods, replay,
the recorder's lines, and the SDK adapters.

**Pending calls** (:class:`PendingCalls`), in order of registration, one queue
per call.  A completion pairs with its call:

1. by ``ref``, when the completion carries one (the adapters always do);
2. else, for a call on a named session, with that session's oldest call of its
   kind still waiting;
3. else with the oldest such call in the tracker.

Lifecycle: :meth:`~PendingCalls.register` (the call was accepted) ->
:meth:`~PendingCalls.find` (a completion came) -> :meth:`~PendingCalls.complete`
(it paired); or :meth:`~PendingCalls.withdraw` (an effect the bot will not
carry out: no completion will come), or :meth:`~PendingCalls.forget` (its
session was forgotten: a late completion is then ``UNEXPECTED_COMPLETION``).
A call that completed stays in its queue, marked done, until
:meth:`~PendingCalls.trim` drops it: at once from the front, and the ones stuck
behind a call still waiting when they outnumber the waiting ones, so a queue
stays within twice the calls really waiting, at ``O(1)`` amortised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from dialfsm._inputs import SendDtmf, SipCallTransfer, SipRefer, StartDialout, StopDialout
from dialfsm._session import Session
from dialfsm._settings import (
    parse_dialout_settings,
    parse_dtmf_settings,
    parse_sip_call_transfer_settings,
    parse_sip_refer_settings,
)
from dialfsm._table import Input, InputKind

__all__ = ["CALLS", "CALLS_BY_NAME", "CALL_INPUTS", "COMPLETION_INPUT", "CallSpec", "PendingCall", "PendingCalls"]

#: The inputs that are the bot's calls.
CALL_INPUTS: Final = tuple(i for i in Input if i.kind is InputKind.CALL)
#: ``(call, ok) -> <call>.ok | <call>.error``.
COMPLETION_INPUT: Final[Mapping[tuple[Input, bool], Input]] = {
    (call, ok): Input(f"{call.value}.{'ok' if ok else 'error'}") for call in CALL_INPUTS for ok in (True, False)
}
#: A queue of calls waiting for completions is compacted from this length on (see :meth:`PendingCalls.trim`).
_COMPACT_MIN: Final = 64


@attrs.frozen(kw_only=True)
class CallSpec:
    """What one of the bot's calls takes, and how it completes.

    Attributes:
        input: The call's table input (``Input.SEND_DTMF``).
        typed: Its typed input class (:class:`~dialfsm.SendDtmf`).
        argument: The replay-log key of its argument: ``"settings"``, or ``"session_id"`` for a stop.
        parse: The settings parser (``None`` for a stop, which takes a session).
        completed: The name of the tracker's helper reporting its completion (``"dtmf_completed"``).
        returns_id: Whether its completion returns a session id (``start_dialout``'s ``(session_id, error)``).

    """

    input: Input
    typed: type[Any]
    argument: str
    parse: Callable[[object], Any] | None
    completed: str
    returns_id: bool = False

    @property
    def name(self) -> str:
        """Daily's name of the call (``"send_dtmf"``)."""
        return self.input.value


# fmt: off
#: Every call the bot can make, by its table input.
CALLS: Final[Mapping[Input, CallSpec]] = {
    Input.START_DIALOUT: CallSpec(input=Input.START_DIALOUT, typed=StartDialout, argument="settings",
                                  parse=parse_dialout_settings, completed="start_completed", returns_id=True),
    Input.STOP_DIALOUT: CallSpec(input=Input.STOP_DIALOUT, typed=StopDialout, argument="session_id",
                                 parse=None, completed="stop_completed"),
    Input.SEND_DTMF: CallSpec(input=Input.SEND_DTMF, typed=SendDtmf, argument="settings",
                              parse=parse_dtmf_settings, completed="dtmf_completed"),
    Input.SIP_CALL_TRANSFER: CallSpec(input=Input.SIP_CALL_TRANSFER, typed=SipCallTransfer, argument="settings",
                                      parse=parse_sip_call_transfer_settings, completed="transfer_completed"),
    Input.SIP_REFER: CallSpec(input=Input.SIP_REFER, typed=SipRefer, argument="settings",
                              parse=parse_sip_refer_settings, completed="refer_completed"),
}
# fmt: on
#: :data:`CALLS` by Daily's name of the call.
CALLS_BY_NAME: Final[Mapping[str, CallSpec]] = {spec.name: spec for spec in CALLS.values()}


@attrs.define(eq=False)
class PendingCall:
    """One accepted call waiting for its completion."""

    #: Which call (``Input.STOP_DIALOUT``...).
    call: Input
    #: The session it acts on.
    session: Session
    #: The name its completion pairs by, if it has one.
    ref: str | None
    #: Set once it completed, was withdrawn or forgotten.
    done: bool = False


class PendingCalls:
    """The calls of one tracker waiting for completions (see the module docstring)."""

    __slots__ = ("_compact_at", "_queues", "_refs")

    def __init__(self) -> None:
        self._queues: dict[Input, deque[PendingCall]] = {call: deque() for call in CALL_INPUTS}
        self._compact_at: dict[Input, int] = dict.fromkeys(CALL_INPUTS, _COMPACT_MIN)
        self._refs: dict[str, PendingCall] = {}

    def register(self, call: Input, session: Session, ref: str | None) -> PendingCall:
        """An accepted ``call`` on ``session`` now waits for its completion (paired by ``ref`` if given)."""
        pending = PendingCall(call=call, session=session, ref=ref)
        self._queues[call].append(pending)
        if ref is not None:
            self._refs[ref] = pending
        return pending

    def ref_waiting(self, ref: str) -> bool:
        """Whether a call registered with ``ref`` still waits (a ref cannot be reused until it completes)."""
        return ref in self._refs

    def find(self, call: Input, ref: str | None, session: Session | None) -> PendingCall | None:
        """The waiting call a completion of ``call`` pairs with (by ``ref``, else ``session``'s or the oldest)."""
        if ref is not None:
            pending = self._refs.get(ref)
            return pending if pending is not None and pending.call is call else None
        self.trim(call)
        for pending in self._queues[call]:
            if not pending.done and (session is None or pending.session is session):
                return pending
        return None

    def complete(self, pending: PendingCall) -> None:
        """``pending`` paired with its completion: it waits no more."""
        self._finish(pending)
        self.trim(pending.call)

    def withdraw(self, ref: str) -> PendingCall | None:
        """The call registered with ``ref`` will not complete (its effect was withdrawn); returns it, if it waited."""
        pending = self._refs.get(ref)
        if pending is None:
            return None
        self.complete(pending)
        return pending

    def forget(self, session: Session) -> None:
        """``session`` was forgotten: its waiting calls wait no more (a late completion is unexpected)."""
        for queue in self._queues.values():
            for pending in queue:
                if pending.session is session and not pending.done:
                    self._finish(pending)

    def move(self, giver: Session, taker: Session, *, keep: Input) -> None:
        """The calls waiting on ``giver`` (but ``keep``'s) now wait on ``taker``: the call they act on moved."""
        for call, queue in self._queues.items():
            if call is not keep:
                for pending in queue:
                    if pending.session is giver and not pending.done:
                        pending.session = taker

    def _finish(self, pending: PendingCall) -> None:
        pending.done = True
        if pending.ref is not None and self._refs.get(pending.ref) is pending:
            del self._refs[pending.ref]

    def trim(self, call: Input) -> None:
        """Drop the calls of ``call``'s queue that wait no more (see the module docstring)."""
        queue = self._queues[call]
        while queue and queue[0].done:
            queue.popleft()
        if len(queue) >= self._compact_at[call]:
            waiting = deque(p for p in queue if not p.done)
            self._queues[call] = waiting
            self._compact_at[call] = max(_COMPACT_MIN, 2 * len(waiting))

    def waiting(self, call: Input) -> Iterator[PendingCall]:
        """The calls of ``call`` still waiting, oldest first."""
        return (p for p in self._queues[call] if not p.done)

    def queued(self, call: Input) -> int:
        """How many entries ``call``'s queue holds, done ones included (its memory, for tests)."""
        return len(self._queues[call])
