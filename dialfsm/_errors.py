"""Error codes and exceptions: Daily's error texts classified, and what dialfsm raises.

This is the bottom of the package (h11's ``_util``, h2's ``exceptions``): it
imports nothing of dialfsm's, so every other module can raise these.

**Daily's errors are data.**  Daily reports errors as text only: daily-python's
completions pass a string (or ``None``), and ``dialout-error`` /
``dialin-error`` carry the text (``errorMsg`` in daily-js, ``message`` in
daily-python, ``error_msg`` in webhooks).  dialfsm keeps that text verbatim on
the session and derives an :class:`ErrorCode` from it with the table
:data:`ERROR_PATTERNS`, by the text's structure first.  What daily-python's
completions really carry is the Rust ``Debug`` rendering of its error enum
(``Dialout(CallState(NotInACall))``, ``Dialout(Properties(DialoutAlreadyExists))``,
``Dialout(Properties(CallClientError("<Daily's server text>")))``), not the
human ``Display`` strings its binary also holds: the path is matched segment by
segment, and a quoted server text is classified by its phrases.  Then a SIP
status code ("486 Busy Here"), then phrases.  Every row names its source, or
says it has none.

**dialfsm raises only for misuse by the bot**: a call that Daily would refuse,
or that the session's state forbids (:class:`CallRefused`, with a
:class:`RefusalCode`).  Everything Daily reports is journaled and never raises
out of the event path.  The public names are re-exported by
:mod:`dialfsm.exceptions`, where their ``__module__`` points.
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs

__all__ = [
    "ERROR_PATTERNS",
    "MAX_ERRORS",
    "REFUSAL_PRECEDENCE",
    "TRANSIENT_CODES",
    "CallRefused",
    "DialfsmError",
    "ErrorCode",
    "ErrorPattern",
    "InvalidSettings",
    "RefusalCode",
    "ReplayError",
    "SnapshotError",
    "classify_error",
    "debug_path",
    "keep_error",
    "keep_recent",
    "rebuild_refusal",
    "sip_status",
]

_PUBLIC_MODULE: Final = "dialfsm.exceptions"


# --- Daily's error texts ------------------------------------------------------------------


class ErrorCode(enum.StrEnum):
    """A code derived from Daily's error text; the text itself is always kept.

    Transient codes (:data:`TRANSIENT_CODES`: ``TEMPORARILY_NOT_AVAILABLE`` and
    ``UNKNOWN``) are the ones the default :class:`~dialfsm.RetryPolicy` retries;
    every other code says the same call would fail again.
    """

    #: A dial-out already exists in the room (Daily's conflict).  Not retried.
    DIALOUT_IN_PROGRESS = "DIALOUT_IN_PROGRESS"
    #: The room's or domain's properties, the plan, or the bot's permissions do not allow it.  Not retried.
    NOT_ALLOWED = "NOT_ALLOWED"
    #: The bot is not in the call, or there is no such dial-out or SIP call (yet).  Not retried.
    NOT_IN_CALL = "NOT_IN_CALL"
    #: No worker or no answer from Daily's side in time: transient, worth a retry.
    TEMPORARILY_NOT_AVAILABLE = "TEMPORARILY_NOT_AVAILABLE"
    #: The far end is busy (SIP 486 / 600).  Not retried by default (add it to ``retry_on`` to redial).
    BUSY = "BUSY"
    #: The far end declined the call (SIP 603 / 607).  Not retried.
    DECLINED = "DECLINED"
    #: Daily rejected the settings or the destination (SIP 404 / 484 / 604 included).  Not retried.
    INVALID_SETTINGS = "INVALID_SETTINGS"
    #: Anything else (``SessionIdNotReturned``, signalling failures, interrupted operations...).  Retried.
    UNKNOWN = "UNKNOWN"


#: The codes the default :class:`~dialfsm.RetryPolicy` retries.
TRANSIENT_CODES: Final = frozenset({ErrorCode.TEMPORARILY_NOT_AVAILABLE, ErrorCode.UNKNOWN})


@attrs.frozen
class ErrorPattern:
    """One row of the classification table :data:`ERROR_PATTERNS`.

    Attributes:
        pattern: What the row matches, read by ``kind``: an enum path (``"*/CallState/NotInACall"``:
            segments of daily-python's Rust ``Debug`` text, ``*`` any one segment, matched as a prefix),
            a SIP status code (``"486"``), or a lower-case phrase contained in the text.
        code: The code; ``None`` for a path whose quoted payload (Daily's server text) is classified instead.
        source: Where the text was seen, or ``"unsourced: ..."`` where no source shows it.
        kind: ``"path"``, ``"sip"`` or ``"text"``.
        calls: The calls the row applies to (``"start_dialout"``...); empty: any call and any event.

    """

    pattern: str
    code: ErrorCode | None
    source: str
    kind: str = "text"
    calls: frozenset[str] = frozenset()


_C = ErrorCode
_BIN = "daily-python 0.36.0 binary (Rust Debug of daily_core::error::CallError)"
_PROBE = "daily-python 0.36.0, an offline CallClient never joined"
_PDOCS = "pipecat docs, pipecat-cloud/guides/telephony/daily-dial-out.mdx"
_OLD_DOCS = "Daily's older startDialOut()/stopDialOut() reference pages (not in daily-js 0.92.2's package)"
_UNSEEN = "unsourced: a Display string in the daily-python 0.36.0 binary, never seen in a completion"
_RFC = "unsourced for Daily (no source shows Daily passing SIP statuses); RFC 3261"
_START = frozenset({"start_dialout"})
#: The classification table, in the order it is tried within each kind: enum paths first
#: (the texts daily-python really delivers), then a SIP status code, then phrases.
ERROR_PATTERNS: Final[tuple[ErrorPattern, ...]] = (
    # --- daily-python's Rust Debug paths: what its completions really carry -----------------
    ErrorPattern("*/CallState/NotInACall", _C.NOT_IN_CALL,
                 f"{_PROBE}: Dialout(CallState(NotInACall)) for start/stop/DTMF, Sip(...) for transfers", "path"),
    ErrorPattern("*/CallState/AlreadyInCall", _C.UNKNOWN, f"{_BIN}: CallStateError::AlreadyInCall", "path"),
    ErrorPattern("*/State/NoDialoutInProgress", _C.NOT_IN_CALL, f"{_BIN}: DialoutStateError", "path"),
    ErrorPattern("*/State/NoSipCallInProgress", _C.NOT_IN_CALL, f"{_BIN}: SipStateError", "path"),
    ErrorPattern("*/Properties/DialoutAlreadyExists", _C.DIALOUT_IN_PROGRESS,
                 f"{_BIN}: DialoutPropertiesError, built from a start reply with isConflict", "path"),
    ErrorPattern("*/Properties/UserMustBeAdmin", _C.NOT_ALLOWED,
                 f"{_BIN}: Dialout/SipPropertiesError::UserMustBeAdmin (no construction site found)", "path"),
    ErrorPattern("*/Properties/SessionIdNotReturned", _C.DIALOUT_IN_PROGRESS,
                 f"{_BIN}: a start reply ok without a sessionId: the dial-out may be running, so it is not "
                 "retried (a second call could ring)", "path"),
    ErrorPattern("*/Properties/CallClientError", None,
                 f"{_BIN}: CallClientError(\"<server text>\"), a reply !ok with an error: its text decides", "path"),
    ErrorPattern("Dialout/Properties/UnknownCallClientError", _C.NOT_ALLOWED,
                 "pipecat issue #2418 (a room with enable_dialout false); the engine logs 'unable to start "
                 "dialout (is dialout enabled? are you a room owner or participant admin?)'", "path", _START),
    ErrorPattern("*/Properties/UnknownCallClientError", _C.UNKNOWN,
                 f"{_BIN}: a DTMF, transfer or refer reply !ok without an error", "path"),
    ErrorPattern("*/Signalling/NoWorkerForRoom", _C.TEMPORARILY_NOT_AVAILABLE,
                 f"{_BIN}: SignallingError::NoWorkerForRoom", "path"),
    ErrorPattern("*/Signalling/WorkerLookupFailed", _C.TEMPORARILY_NOT_AVAILABLE,
                 f"{_BIN}: SignallingError::WorkerLookupFailed", "path"),
    ErrorPattern("*/Signalling/ResponseReceiveTimeout", _C.TEMPORARILY_NOT_AVAILABLE,
                 f"{_BIN}: SignallingError::ResponseReceiveTimeout(Timeout) (inferred, not observed)", "path"),
    # --- a SIP status code in the text (a hang-up reason, a Reason header's cause=) -----------
    ErrorPattern("486", _C.BUSY, f"{_RFC} 21.4.24 Busy Here", "sip"),
    ErrorPattern("600", _C.BUSY, f"{_RFC} 21.6.1 Busy Everywhere", "sip"),
    ErrorPattern("603", _C.DECLINED, f"{_RFC} 21.6.2 Decline", "sip"),
    ErrorPattern("607", _C.DECLINED, "unsourced for Daily; RFC 8197 Unwanted", "sip"),
    ErrorPattern("403", _C.NOT_ALLOWED, f"{_RFC} 21.4.4 Forbidden", "sip"),
    ErrorPattern("404", _C.INVALID_SETTINGS, f"{_RFC} 21.4.5 Not Found (no such user)", "sip"),
    ErrorPattern("484", _C.INVALID_SETTINGS, f"{_RFC} 21.4.20 Address Incomplete", "sip"),
    ErrorPattern("604", _C.INVALID_SETTINGS, f"{_RFC} 21.6.3 Does Not Exist Anywhere", "sip"),
    ErrorPattern("408", _C.TEMPORARILY_NOT_AVAILABLE, f"{_RFC} 21.4.9 Request Timeout", "sip"),
    ErrorPattern("480", _C.TEMPORARILY_NOT_AVAILABLE, f"{_RFC} 21.4.18 Temporarily Unavailable", "sip"),
    ErrorPattern("503", _C.TEMPORARILY_NOT_AVAILABLE, f"{_RFC} 21.5.4 Service Unavailable", "sip"),
    # --- phrases: Daily's server texts (inside CallClientError("...") in Python), SDK texts ---
    ErrorPattern("dial-out not enabled for room", _C.NOT_ALLOWED, f"{_PDOCS}:108"),
    ErrorPattern("is not enabled for domain", _C.NOT_ALLOWED, f"{_PDOCS}:109 (pipecat-ai/docs PR 1118)"),
    ErrorPattern("with your current plan", _C.NOT_ALLOWED, f"{_PDOCS}:110 (worded as a room-property error)"),
    ErrorPattern("dialout not supported", _C.NOT_ALLOWED, f"{_PDOCS}:111 ('International dialout not supported')"),
    ErrorPattern("settings are not valid", _C.INVALID_SETTINGS,
                 f"{_PROBE}: 'Dialout / Send DTMF / SIP call transfer / SIP refer settings are not valid: "
                 "JsonApiError ...'"),
    ErrorPattern("failed to parse participant id", _C.INVALID_SETTINGS,
                 f"{_PROBE}: stop_dialout('x') -> 'Failed to parse participant ID: Error(ParseChar ...)'"),
    ErrorPattern("if 'sessionid' is not set", _C.NOT_IN_CALL,
                 "pipecat 1.14 transports/daily/transport.py:1089/1111/1133 (\"Can't send DTMF if 'sessionId' "
                 "is not set\" and the transfer/REFER twins)"),
    ErrorPattern("only supported after join", _C.NOT_IN_CALL, "daily-js 0.92.2 dist/daily-esm.js: '<method>() only "
                 "supported after join.'"),
    ErrorPattern("dialout_in_progress", _C.DIALOUT_IN_PROGRESS, _OLD_DOCS),
    ErrorPattern("not_allowed", _C.NOT_ALLOWED, _OLD_DOCS),
    ErrorPattern("temporarily_not_available", _C.TEMPORARILY_NOT_AVAILABLE,
                 f"{_OLD_DOCS}: 'in case there are no workers available, usually while we are scaling up'"),
    ErrorPattern("no workers", _C.TEMPORARILY_NOT_AVAILABLE, f"{_OLD_DOCS}: TEMPORARILY_NOT_AVAILABLE's description"),
    ErrorPattern("dialout already exists", _C.DIALOUT_IN_PROGRESS, _UNSEEN),
    ErrorPattern("user must be a room owner", _C.NOT_ALLOWED, _UNSEEN),
    ErrorPattern("no dialout in progress", _C.NOT_IN_CALL, _UNSEEN),
    ErrorPattern("no sip call in progress", _C.NOT_IN_CALL, _UNSEEN),
    ErrorPattern("start_dialout timed out", _C.TEMPORARILY_NOT_AVAILABLE,
                 "dialfsm's own start watchdog (daily-python's own start timeout is 20 s, CHANGELOG 0.21.0)"),
    ErrorPattern("busy here", _C.BUSY, f"{_RFC} reason phrase 486"),
    ErrorPattern("user busy", _C.BUSY, "ITU-T Q.850 cause 17 'user busy' (a Reason header's text=)"),
    ErrorPattern("temporarily unavailable", _C.TEMPORARILY_NOT_AVAILABLE, f"{_RFC} reason phrase 480"),
    ErrorPattern("timed out", _C.TEMPORARILY_NOT_AVAILABLE, "unsourced: a generic time-out wording"),
    ErrorPattern("timeout", _C.TEMPORARILY_NOT_AVAILABLE, "unsourced: a generic time-out wording"),
)  # fmt: skip
del _C

_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A SIP status named as one: a status line (``SIP/2.0 486``), a Reason header (``SIP;cause=480``),
#: ``status 486`` / ``status code: 486``.  Case-insensitive.
_SIP_NAMED: Final = re.compile(
    r"\bSIP(?:/2\.0)?(?:\s*;\s*cause\s*=\s*|[\s:]+(?:status\s*(?:code\s*)?[:=]?\s*)?)([3-6]\d\d)\b"
    r"|\bstatus(?:\s+code)?\s*[:=]?\s*([3-6]\d\d)\b",
    re.IGNORECASE,
)
#: A bare status with its reason phrase (``486 Busy Here``), at the start of the text or of a clause
#: after a colon; case-sensitive (the phrase starts with a capital), so prose ("after 600 seconds",
#: "+1 603 Main St") is not read as one.
_SIP_BARE: Final = re.compile(r"(?:^|[:(]\s*)[\"']?([3-6]\d\d) (?=[A-Z][a-z])")
_MAX_TEXT: Final = 4096  # texts longer than this are classified by their head


def debug_path(text: str) -> tuple[tuple[str, ...], str | None] | None:
    """The enum path and quoted payload of a Rust ``Debug`` text, or ``None`` if ``text`` is not one.

    ``Dialout(Properties(CallClientError("x")))`` is ``(("Dialout", "Properties", "CallClientError"), "x")``;
    ``Sip(CallState(NotInACall))`` is ``(("Sip", "CallState", "NotInACall"), None)``.
    """
    names: list[str] = []
    pos, depth, payload = 0, 0, None
    text = text.strip()
    while True:
        match = _IDENT.match(text, pos)
        if match is None:
            if pos < len(text) and text[pos] == '"' and names:
                payload, pos = _rust_string(text, pos)
                if payload is None:
                    return None
                break
            return None
        names.append(match.group())
        pos = match.end()
        if pos < len(text) and text[pos] == "(":
            depth, pos = depth + 1, pos + 1
            continue
        break
    if depth == 0 or text[pos:] != ")" * depth:
        return None  # a bare word ("Timeout") is not an enum path: its phrase decides
    return tuple(names), payload


_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _rust_string(text: str, pos: int) -> tuple[str | None, int]:
    """The Rust ``Debug`` string literal starting at ``text[pos] == '"'``, unescaped, and the position after it."""
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and text[i + 2 : i + 3] == "{":
                end = text.find("}", i + 3)
                try:
                    out.append(chr(int(text[i + 3 : end], 16)))
                except (ValueError, OverflowError):
                    return None, i
                i = end + 1
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return None, i


def _path_matches(pattern: str, path: tuple[str, ...]) -> bool:
    parts = pattern.split("/")
    return len(parts) <= len(path) and all(p in ("*", seg) for p, seg in zip(parts, path, strict=False))


def sip_status(text: str) -> int | None:
    """The SIP status code ``text`` names ("486 Busy Here", "SIP/2.0 603", "SIP;cause=480"), if any.

    A Q.850 cause (``Q.850;cause=17``) is no SIP status; neither is a number in prose.
    """
    head = text[:_MAX_TEXT].lstrip()
    match = _SIP_NAMED.search(head)
    if match is not None:
        return int(match.group(1) or match.group(2))
    match = _SIP_BARE.search(head)
    return None if match is None else int(match.group(1))


def _applies(row: ErrorPattern, call: str | None) -> bool:
    return not row.calls or call in row.calls


def _classify_text(text: str, call: str | None) -> ErrorCode:
    status = sip_status(text)
    if status is not None:
        for row in ERROR_PATTERNS:
            if row.kind == "sip" and row.pattern == str(status) and _applies(row, call):
                return row.code or ErrorCode.UNKNOWN
    lowered = text[:_MAX_TEXT].lower()
    for row in ERROR_PATTERNS:
        if row.kind == "text" and row.pattern in lowered and _applies(row, call):
            return row.code or ErrorCode.UNKNOWN
    return ErrorCode.UNKNOWN


def classify_error(text: str, *, call: str | None = None) -> ErrorCode:
    """The :class:`ErrorCode` of Daily's error ``text`` (``UNKNOWN`` if no row of :data:`ERROR_PATTERNS` matches).

    Structure first: a Rust ``Debug`` enum path (what daily-python's completions carry) is
    matched segment by segment, and a ``CallClientError("...")`` is classified by its quoted
    server text; then a SIP status code; then the phrases.

    Args:
        text: Daily's error text, verbatim.
        call: The call whose completion carried it (``"start_dialout"``...), or ``None`` for an event.

    """
    if not isinstance(text, str):
        return ErrorCode.UNKNOWN
    parsed = debug_path(text[:_MAX_TEXT])
    if parsed is not None:
        path, payload = parsed
        for row in ERROR_PATTERNS:
            if row.kind == "path" and _path_matches(row.pattern, path) and _applies(row, call):
                if row.code is None:
                    return ErrorCode.UNKNOWN if payload is None else _classify_text(payload, call)
                return row.code
        return ErrorCode.UNKNOWN
    return _classify_text(text, call)


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
