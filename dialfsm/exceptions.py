"""Exceptions dialfsm raises, and the codes they carry.

dialfsm raises only for *misuse by the bot*: a call (``start_dialout``,
``stop_dialout``, ``send_dtmf``, ``sip_call_transfer``, ``sip_refer``) that
Daily would refuse, or that the session's state forbids.  Everything Daily
*reports* (errors, late or duplicate events, unknown sessions) is data: it is
journaled and moves or annotates a session, and never raises out of
:meth:`dialfsm.CallTracker.handle`.

A refused call changes nothing: no session is created, no state moves, and
the refusal is journaled.
"""

from __future__ import annotations

import enum
from collections.abc import Set
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialfsm._tracker import Session

__all__ = [
    "CallRefused",
    "DialfsmError",
    "InvalidSettings",
    "RefusalCode",
    "ReplayError",
    "SessionEnded",
    "SnapshotError",
]


class RefusalCode(enum.StrEnum):
    """Why dialfsm refused one of the bot's calls.

    The first four are Daily's own error codes (daily-js ``startDialOut`` /
    ``stopDialOut`` references); ``INVALID_SETTINGS`` and ``INVALID_STATE``
    are dialfsm's names for daily-js's client-side validation errors and for
    calls the session's state forbids.  When several apply, the first in
    :data:`REFUSAL_PRECEDENCE` wins.
    """

    #: Options that break daily-js's client-side rules; the message names the field.
    INVALID_SETTINGS = "INVALID_SETTINGS"
    #: The call names a session id the tracker does not know.
    NOT_FOUND = "NOT_FOUND"
    #: Dial-out is disabled by the tracker's configuration.
    NOT_ALLOWED = "NOT_ALLOWED"
    #: A new dial-out while the tracker's limit of live dial-outs is reached.
    DIALOUT_IN_PROGRESS = "DIALOUT_IN_PROGRESS"
    #: The session's state forbids the call (DTMF before answered, stop after stopped...).
    INVALID_STATE = "INVALID_STATE"


#: Order in which refusal checks run; the first that applies is raised.
REFUSAL_PRECEDENCE: tuple[RefusalCode, ...] = tuple(RefusalCode)


class DialfsmError(Exception):
    """Base class of every exception dialfsm raises on purpose."""


class CallRefused(DialfsmError):
    """The tracker refused one of the bot's calls; nothing changed.

    Attributes:
        code: Why, as a :class:`RefusalCode` (Daily's code where Daily has one).
        call: The call refused (``"start_dialout"``, ``"send_dtmf"``, ...).
        message: A human sentence naming the field or the state at fault.
        session_id: The session the call named, when it named one.
        field: For ``INVALID_SETTINGS``, the Daily (camelCase) name of the bad field.

    """

    code: RefusalCode
    call: str
    message: str
    session_id: str | None
    field: str | None

    def __init__(
        self,
        code: RefusalCode,
        message: str,
        *,
        call: str = "",
        session_id: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.call = call
        self.message = message
        self.session_id = session_id
        self.field = field

    def __reduce__(self) -> tuple[object, ...]:  # keep pickling (multiprocessing) working
        return (_rebuild_refusal, (type(self), self.code, self.message, self.call, self.session_id, self.field))


def _rebuild_refusal(
    cls: type[CallRefused],
    code: RefusalCode,
    message: str,
    call: str,
    session_id: str | None,
    field: str | None,
) -> CallRefused:
    exc = cls.__new__(cls)
    CallRefused.__init__(exc, code, message, call=call, session_id=session_id, field=field)
    return exc


class InvalidSettings(CallRefused):
    """A call's settings break daily-js's rules (code ``INVALID_SETTINGS``).

    ``field`` is the Daily (camelCase) name of the first bad field, dotted for
    nested ones (``videoSettings.width``, ``codecs.audio``).
    """

    def __init__(self, field: str, message: str, *, call: str = "") -> None:
        super().__init__(RefusalCode.INVALID_SETTINGS, f"{field}: {message}", call=call, field=field)


class ReplayError(DialfsmError):
    """A replay log could not be read at all (missing file, unreadable, not text)."""


class SnapshotError(DialfsmError):
    """A saved tracker snapshot is corrupt or of an unsupported format version."""


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
