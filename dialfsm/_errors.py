"""Classifying Daily's free-text errors into codes.

Daily reports errors as text only: daily-python's completions pass a string
(or ``None``), and ``dialout-error`` / ``dialin-error`` carry ``errorMsg``.
dialfsm keeps that text verbatim on the session and derives an
:class:`ErrorCode` from it with the table :data:`ERROR_PATTERNS` below: the
first row with a pattern contained in the text (case-insensitive) wins.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = ["ERROR_PATTERNS", "ErrorCode", "ErrorPattern", "classify_error"]


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
