"""Exceptions dialfsm raises, and the codes they carry.

dialfsm raises only for *misuse by the bot*: a call (``start_dialout``,
``stop_dialout``, ``send_dtmf``, ``sip_call_transfer``, ``sip_refer``) that
Daily would refuse, or that the session's state forbids.  Everything Daily
*reports* (errors, late or duplicate events, unknown sessions) is data: it is
journaled and moves or annotates a session, and never raises out of
:meth:`dialfsm.CallTracker.handle`.

A refused call changes nothing: no session is created, no state moves, and
the refusal is journaled.

The classes are defined in :mod:`dialfsm._errors` (the bottom of the package,
so every module can raise them) and named here, their public home; only
:class:`SessionEnded`, which carries a session, is defined here.
"""

from __future__ import annotations

from collections.abc import Set

from dialfsm._errors import (
    REFUSAL_PRECEDENCE,
    CallRefused,
    DialfsmError,
    InvalidSettings,
    RefusalCode,
    ReplayError,
    SnapshotError,
    rebuild_refusal,
)
from dialfsm._session import Session

__all__ = [
    "REFUSAL_PRECEDENCE",
    "CallRefused",
    "DialfsmError",
    "InvalidSettings",
    "RefusalCode",
    "ReplayError",
    "SessionEnded",
    "SnapshotError",
]


class SessionEnded(DialfsmError):
    """A session ended without reaching what :meth:`dialfsm.aio.AsyncTracker.wait_for` waited for.

    Attributes:
        session: The session, now terminal (read its ``state``, ``outcome``, ``error``).
        states: The states waited for, if any.
        outcomes: The outcomes waited for, if any.

    """

    def __init__(
        self,
        session: Session,
        *,
        states: Set[object] | None = None,
        outcomes: Set[object] | None = None,
    ) -> None:
        wanted = sorted(str(getattr(v, "value", v)) for v in (*(states or ()), *(outcomes or ())))
        outcome = getattr(session.outcome, "value", session.outcome)
        super().__init__(
            f"session {session.session_id or '#' + str(session.index)} ended {session.state.value}/{outcome} "
            f"without reaching {' or '.join(wanted)}"
        )
        self.session = session
        self.states = states
        self.outcomes = outcomes

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickle by what it was made from (the default would call ``__init__`` with the message)."""
        return (_session_ended, (self.session, self.states, self.outcomes))


def _session_ended(session: Session, states: Set[object] | None, outcomes: Set[object] | None) -> SessionEnded:
    return SessionEnded(session, states=states, outcomes=outcomes)


#: The name pickles of refusals written by dialfsm 0.1.0 rebuild them with.
_rebuild_refusal = rebuild_refusal
