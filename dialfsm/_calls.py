"""The bot's five calls: what each takes and completes with (:data:`CALLS`), and the calls waiting for completions.

**The calls.**  ``start_dialout``, ``stop_dialout``, ``send_dtmf``,
``sip_call_transfer`` and ``sip_refer`` share one shape: a guarded call that
registers a *pending* call, then a completion (daily-python's
``(session_id, error)`` for a start, ``(error,)`` for the others) that pairs
with it.  :data:`CALLS` describes each once (its table input, its typed input
class, how its argument is parsed, the name of its completion helper), and
everything that drives a call reads it: the tracker's call methods, replay,
the recorder's lines, and the SDK adapters.

**Pending calls** (:class:`PendingCalls`), in order of registration.  A
completion pairs with its call:

1. by ``ref``, when the completion carries one (the adapters always do): a
   bot's ``ref`` string, or a :class:`~dialfsm.CallKey` (the stop a ring
   timeout asked for, a call a replayed log names);
2. else, for a call on a named session, with that session's oldest call of its
   kind still waiting;
3. else with the oldest such call in the tracker.

Lifecycle: :meth:`~PendingCalls.register` (the call was accepted) ->
:meth:`~PendingCalls.find` (a completion came) -> :meth:`~PendingCalls.complete`
(it paired); or :meth:`~PendingCalls.withdraw` (an effect the bot will not
carry out: no completion will come), or :meth:`~PendingCalls.forget` (its
session was forgotten: a late completion is then ``UNEXPECTED_COMPLETION``).
Each of these is ``O(1)`` per call, and a call that waits no more leaves
nothing behind: one insertion-ordered dict per call (the oldest is its first
entry) and one list per session with calls waiting.

**Keys.**  Every accepted call has a ``key``: the ``seq`` of its journal entry.
The tracker never pairs by it; it names the call in a recording (``"key"`` in
a replay log), so that a replayed completion pairs with the very call the live
one paired with, whatever ``session`` the bot passed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from dialfsm._inputs import CallKey, Ref, SendDtmf, SipCallTransfer, SipRefer, StartDialout, StopDialout
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
    #: The name its completion pairs by, if it has one (a bot's string, or a :class:`~dialfsm.CallKey`).
    ref: Ref | None
    #: Set once it completed, was withdrawn or forgotten.
    done: bool = False
    #: The ``seq`` of the call's journal entry, which names it in a recording (``None``: unknown).
    key: int | None = None

    @property
    def name(self) -> str | int | None:
        """What names this call in a replay log: its ``ref`` string, its key's value, or its ``key``."""
        if isinstance(self.ref, str):
            return self.ref
        if isinstance(self.ref, CallKey):
            return self.ref.value
        return self.key


class PendingCalls:
    """The calls of one tracker waiting for completions (see the module docstring)."""

    __slots__ = ("_by_session", "_queues", "_refs")

    def __init__(self) -> None:
        # One insertion-ordered dict per call: OrderedDict finds its first entry in O(1) however
        # many were deleted before it (a plain dict scans the deleted slots at its front).
        self._queues: dict[Input, OrderedDict[PendingCall, None]] = {call: OrderedDict() for call in CALL_INPUTS}
        self._by_session: dict[Session, list[PendingCall]] = {}
        self._refs: dict[Ref, PendingCall] = {}

    def register(self, call: Input, session: Session, ref: Ref | None, key: int | None = None) -> PendingCall:
        """An accepted ``call`` on ``session`` now waits for its completion (paired by ``ref`` if given)."""
        pending = PendingCall(call=call, session=session, ref=ref, key=key)
        self._queues[call][pending] = None
        self._by_session.setdefault(session, []).append(pending)
        if ref is not None:
            self._refs[ref] = pending
        return pending

    def ref_waiting(self, ref: Ref) -> bool:
        """Whether a call registered with ``ref`` still waits (a ref cannot be reused until it completes)."""
        return ref in self._refs

    def find(self, call: Input, ref: Ref | None, session: Session | None) -> PendingCall | None:
        """The waiting call a completion of ``call`` pairs with (by ``ref``, else ``session``'s or the oldest)."""
        if ref is not None:
            pending = self._refs.get(ref)
            return pending if pending is not None and pending.call is call else None
        if session is None:
            return next(iter(self._queues[call]), None)
        for pending in self._by_session.get(session, ()):  # a loop, not next(genexpr): one per completion
            if pending.call is call:
                return pending
        return None

    def complete(self, pending: PendingCall) -> None:
        """``pending`` paired with its completion: it waits no more, and nothing of it stays behind."""
        if pending.done:
            return
        pending.done = True
        del self._queues[pending.call][pending]
        calls = self._by_session[pending.session]
        calls.remove(pending)
        if not calls:
            del self._by_session[pending.session]
        if pending.ref is not None and self._refs.get(pending.ref) is pending:
            del self._refs[pending.ref]

    def withdraw(self, ref: Ref) -> PendingCall | None:
        """The call registered with ``ref`` will not complete (its effect was withdrawn); returns it, if it waited."""
        pending = self._refs.get(ref)
        if pending is None:
            return None
        self.complete(pending)
        return pending

    def forget(self, session: Session) -> None:
        """``session`` was forgotten: its waiting calls wait no more (a late completion is unexpected)."""
        for pending in tuple(self._by_session.get(session, ())):
            self.complete(pending)

    def move(self, giver: Session, taker: Session, *, keep: Input) -> None:
        """The calls waiting on ``giver`` (but ``keep``'s) now wait on ``taker``: the call they act on moved."""
        moving = [p for p in self._by_session.get(giver, ()) if p.call is not keep]
        if not moving:
            return
        staying = [p for p in self._by_session[giver] if p.call is keep]
        if staying:
            self._by_session[giver] = staying
        else:
            del self._by_session[giver]
        for pending in moving:
            pending.session = taker
        self._by_session[taker] = sorted(
            [*self._by_session.get(taker, ()), *moving], key=lambda p: (p.key is None, p.key or 0)
        )

    def calls(self) -> tuple[Input, ...]:
        """The calls that can wait (every one of the bot's calls)."""
        return tuple(self._queues)

    def waiting(self, call: Input) -> Iterator[PendingCall]:
        """The calls of ``call`` still waiting, oldest first."""
        return iter(tuple(self._queues[call]))

    def of_session(self, session: Session) -> tuple[PendingCall, ...]:
        """The calls still waiting on ``session``, oldest first."""
        return tuple(self._by_session.get(session, ()))

    def queued(self, call: Input) -> int:
        """How many calls of ``call`` wait (what the tracker keeps for them, for tests)."""
        return len(self._queues[call])

    def __len__(self) -> int:
        """How many calls wait, of every kind."""
        return sum(len(queue) for queue in self._queues.values())

    def refs(self) -> dict[Ref, PendingCall]:
        """A copy of the ref index (for the invariant checker)."""
        return dict(self._refs)

    def sessions(self) -> dict[Session, tuple[PendingCall, ...]]:
        """A copy of the per-session index (for the invariant checker)."""
        return {session: tuple(calls) for session, calls in self._by_session.items()}
