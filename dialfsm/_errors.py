"""Error codes and exceptions: Daily's error texts classified, and what dialfsm raises.

This is the bottom of the package (h11's ``_util``, h2's ``exceptions``): it
imports nothing of dialfsm's, so every other module can raise these.

**Daily's errors are data.**  Daily reports errors as text only: daily-python's
completions pass a string (or ``None``), and ``dialout-error`` /
``dialin-error`` carry ``errorMsg``.  dialfsm keeps that text verbatim on the
session and derives an :class:`ErrorCode` from it with the table
:data:`ERROR_PATTERNS`: the first row with a pattern contained in the text
(case-insensitive) wins.

**dialfsm raises only for misuse by the bot**: a call that Daily would refuse,
or that the session's state forbids (:class:`CallRefused`, with a
:class:`RefusalCode`).  Everything Daily reports is journaled and never raises
out of the event path.  The public names are re-exported by
:mod:`dialfsm.exceptions`, where their ``__module__`` points.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = [
    "ERROR_PATTERNS",
    "MAX_ERRORS",
    "REFUSAL_PRECEDENCE",
    "CallRefused",
    "DialfsmError",
    "ErrorCode",
    "ErrorPattern",
    "InvalidSettings",
    "RefusalCode",
    "ReplayError",
    "SnapshotError",
    "classify_error",
    "keep_error",
    "keep_recent",
    "rebuild_refusal",
]

_PUBLIC_MODULE: Final = "dialfsm.exceptions"


# --- Daily's error texts ------------------------------------------------------------------


class ErrorCode(enum.StrEnum):
    """A code derived from Daily's error text; the text itself is always kept."""

    #: A dial-out already exists ("Dialout already exists").
    DIALOUT_IN_PROGRESS = "DIALOUT_IN_PROGRESS"
    #: Dial-out not enabled, not a room owner, plan limits: permanent, do not retry.
    NOT_ALLOWED = "NOT_ALLOWED"
    #: No workers, timeouts: transient, worth a retry.
    TEMPORARILY_NOT_AVAILABLE = "TEMPORARILY_NOT_AVAILABLE"
    #: Daily rejected the settings.
    INVALID_SETTINGS = "INVALID_SETTINGS"
    #: Anything else (``UnknownCallClientError``, SDP failures...).
    UNKNOWN = "UNKNOWN"


@attrs.frozen
class ErrorPattern:
    """One row of the classification table: a lower-case substring, its code, and where it is seen."""

    pattern: str
    code: ErrorCode
    source: str


_C = ErrorCode
#: The classification table, in the order it is tried.
ERROR_PATTERNS: Final[tuple[ErrorPattern, ...]] = (
    ErrorPattern("dialout_in_progress", _C.DIALOUT_IN_PROGRESS,
                 "daily-js startDialOut() reference, Errors"),
    ErrorPattern("already exists", _C.DIALOUT_IN_PROGRESS,
                 "daily-python 0.36.0 engine string 'Dialout already exists'"),
    ErrorPattern("not_allowed", _C.NOT_ALLOWED, "daily-js startDialOut()/stopDialOut() references"),
    ErrorPattern("not enabled", _C.NOT_ALLOWED,
                 "'dial-out not enabled for room. add enable_dialout property to room' (pipecat docs)"),
    ErrorPattern("room owner", _C.NOT_ALLOWED,
                 "'unable to start dialout (is dialout enabled? are you a room owner...)' (daily-python)"),
    ErrorPattern("current plan", _C.NOT_ALLOWED,
                 "'property 'enable_dialout' cannot be set ... with your current plan' (pipecat docs)"),
    ErrorPattern("not supported", _C.NOT_ALLOWED,
                 "'International dialout not supported. Contact sales...' (pipecat docs)"),
    ErrorPattern("temporarily_not_available", _C.TEMPORARILY_NOT_AVAILABLE,
                 "daily-js startDialOut() reference, Errors"),
    ErrorPattern("no workers", _C.TEMPORARILY_NOT_AVAILABLE,
                 "'No workers available; try again shortly' (daily-js startDialOut() reference)"),
    ErrorPattern("timed out", _C.TEMPORARILY_NOT_AVAILABLE, "daily-python start timeout (20 s)"),
    ErrorPattern("timeout", _C.TEMPORARILY_NOT_AVAILABLE, "daily-python start timeout (20 s)"),
    ErrorPattern("settings are not valid", _C.INVALID_SETTINGS,
                 "'Dialout settings are not valid: JsonApiError ...' (daily-python 0.36.0)"),
)  # fmt: skip
del _C


def classify_error(text: str) -> ErrorCode:
    """The :class:`ErrorCode` of Daily's error ``text`` (case-insensitive; ``UNKNOWN`` if no row matches)."""
    lowered = text.lower()
    for row in ERROR_PATTERNS:
        if row.pattern in lowered:
            return row.code
    return ErrorCode.UNKNOWN


# --- what dialfsm raises ------------------------------------------------------------------


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
        return (rebuild_refusal, (type(self), self.code, self.message, self.call, self.session_id, self.field))


def rebuild_refusal(
    cls: type[CallRefused],
    code: RefusalCode,
    message: str,
    call: str,
    session_id: str | None,
    field: str | None,
) -> CallRefused:
    """Unpickle a :class:`CallRefused` (or subclass) from what it was made of."""
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


for _cls in (DialfsmError, CallRefused, InvalidSettings, ReplayError, SnapshotError, RefusalCode):
    _cls.__module__ = _PUBLIC_MODULE  # tracebacks and pickles name the public module
del _cls


# --- errors caught on the SDK's side of the fence -----------------------------------------

#: At most this many caught exceptions are kept in an ``errors`` list (the oldest are kept).
MAX_ERRORS: Final = 1000


def keep_error(errors: list[BaseException], exc: BaseException) -> None:
    """Append ``exc`` to ``errors`` unless it already holds :data:`MAX_ERRORS`."""
    if len(errors) < MAX_ERRORS:
        errors.append(exc)


def keep_recent(errors: list[BaseException], exc: BaseException, limit: int) -> None:
    """Append ``exc`` to ``errors``, keeping the latest ``limit``; tracebacks are dropped (they pin frames)."""
    seen = 0
    chained: BaseException | None = exc
    while chained is not None and seen < 8:  # the exception and what it was raised from
        chained.__traceback__ = None
        chained = chained.__cause__ or chained.__context__
        seen += 1
    errors.append(exc)
    if len(errors) > limit:
        del errors[: len(errors) - limit]
