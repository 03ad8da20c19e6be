r"""Recording live calls: every input a tracker sees, as the JSON Lines that ``dialfsm replay`` reads.

A :class:`Recorder` is an input listener (``tracker.add_input_listener``, or
:meth:`Recorder.attach`): the tracker hands it each Daily event, each of the
bot's calls and each completion as a replay-log record *before* applying it,
and the recorder writes that record as one line, flushed at once.  A bot that
crashes loses at most the line being written; ``dialfsm replay`` reads a file
cut off mid-line up to the last whole line and reports the partial one as
``MALFORMED_INPUT``.

Each line gets ``"t"`` (seconds, from ``clock``, ``time.time`` by default)
unless the input came with its own.  Writing is serialised by a lock, so one
recorder may be called from several threads (daily-python delivers events on
its own thread) and lines are never interleaved.

Redaction (on by default; ``redact=False`` for local debugging) removes what
identifies a person, and keeps every recording replayable:

* **Phone numbers** keep their last 4 digits; the others become ``0``, so the
  length, the ``+`` and the format survive and a redacted ``phoneNumber``
  still passes Daily's ``^\+\d+$`` rule: ``+15551234567`` -> ``+00000004567``.
  Redacted: any string that is a ``+`` followed by 7 to 15 digits (spaces,
  dashes, dots and parentheses allowed between them), wherever it appears;
  the same number embedded in longer text (an error message); and, in the
  fields that hold numbers (``phoneNumber``, ``callerId``, ``toEndPoint``,
  ``from``, ``to``, ``origin``, ``destination``...), digit strings without
  the ``+`` too.
* **SIP URIs** lose their user part: ``sip:bob@example.com`` ->
  ``sip:***@example.com``.  The host, port and ``;`` parameters stay (they
  name the provider, not the person); a ``?`` header part is replaced by
  ``?***`` (headers can carry anything); a quoted display name before
  ``<sip:...>`` becomes ``"***"``.
* **Keys pressed** (``tones`` of ``send_dtmf``, ``tone`` of ``dtmf-event``,
  the ``extension`` a dial-out or transfer dials after connecting) become
  ``0`` s: they can be a PIN or a card number.  ``0`` is a valid key and any
  character that is no key stays, so a call valid live is valid on replay and
  one refused live is refused on replay.
* **Display names** (``userName``, ``user_name``, ``displayName``,
  ``display_name``) become as many ``*`` s (a name too long for Daily stays too long).
* **Kept**: session ids, participant ids, refs, Daily's event names, error
  codes, the room's own SIP endpoints from ``dialin-ready`` (they name the
  room, and replay tells endpoints apart by them), and everything else.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import IO, Any, Final

from dialfsm._errors import DialfsmError
from dialfsm._parse import canonical_event_name
from dialfsm._settings import DTMF_TONES
from dialfsm._tracker import CallTracker

__all__ = ["NAME_FIELDS", "PHONE_FIELDS", "TONE_FIELDS", "Recorder", "RecordingError", "redact_record", "redact_text"]

#: Fields whose string values are phone numbers even without a leading ``+``.
PHONE_FIELDS: Final = frozenset(
    {
        "phoneNumber",
        "phone_number",
        "callerId",
        "caller_id",
        "toEndPoint",
        "to_end_point",
        "from",
        "to",
        "origin",
        "destination",
        "sipFrom",
        "sip_from",
        "sipTo",
        "sip_to",
        "number",
    }
)
#: Fields holding keys to press (DTMF tones, a dial-out's ``extension``): every
#: character becomes ``0`` (a PIN must not reach a log).
TONE_FIELDS: Final = frozenset({"tones", "tone", "extension"})
#: Fields holding a person's display name: replaced by ``***``.
NAME_FIELDS: Final = frozenset({"userName", "user_name", "displayName", "display_name"})
#: Fields never redacted: they identify sessions and calls, not people.
_KEEP_FIELDS: Final = frozenset(
    {"sessionId", "session_id", "participantId", "participant_id", "ref", "sipCallId", "sip_call_id", "action"}
)
_PHONE: Final = re.compile(r"(?<![\w+])\+\d(?:[ .()-]{0,2}\d){6,14}(?!\d)")
_BARE_PHONE: Final = re.compile(r"\+?\(?\d(?:[ .()-]{0,2}\d){6,14}")
_SIP_USER: Final = re.compile(r"\b(sips?:)([^@\s;?<>\"]+)@", re.IGNORECASE)
_SIP_HEADERS: Final = re.compile(r"(\bsips?:[^\s?<>\"]*)\?[^\s<>\"]*", re.IGNORECASE)
_DISPLAY_NAME: Final = re.compile(r"\"[^\"]*\"(\s*<sips?:)", re.IGNORECASE)
_REDACTED_USER: Final = "***"


class RecordingError(DialfsmError):
    """The recording could not be opened or written."""


def _mask_digits(number: str) -> str:
    """Replace every digit but the last four with ``0``."""
    total = sum(c.isdigit() for c in number)
    out, seen = [], 0
    for c in number:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - 4 else "0")
        else:
            out.append(c)
    return "".join(out)


def redact_text(text: str, *, phone_field: bool = False) -> str:
    """``text`` with phone numbers masked and SIP user parts removed (see the module's rules).

    Args:
        text: Any string from an input.
        phone_field: The string is the value of a field that holds a phone
            number (:data:`PHONE_FIELDS`): digits without ``+`` are masked too.

    Example:
        >>> redact_text("+15551234567")
        '+00000004567'
        >>> redact_text("sip:bob@example.com;transport=tls")
        'sip:***@example.com;transport=tls'

    """
    if phone_field and _BARE_PHONE.fullmatch(text.strip()):
        return _mask_digits(text)
    out = _DISPLAY_NAME.sub(r'"***"\1', text)
    out = _SIP_HEADERS.sub(r"\1?***", out)
    out = _SIP_USER.sub(rf"\1{_REDACTED_USER}@", out)
    return _PHONE.sub(lambda m: _mask_digits(m.group()), out)


def _redact(value: object, key: str | None) -> object:
    if key in _KEEP_FIELDS:
        return value
    if isinstance(value, str) and key is not None:
        if key in TONE_FIELDS:  # keys become 0; what is no key stays, so a call refused live is refused on replay
            return "".join("0" if c in DTMF_TONES else c for c in value) if key != "extension" else "0" * len(value)
        if key in NAME_FIELDS:  # length kept: a name too long for Daily stays too long
            return "*" * len(value)
    if isinstance(value, str):
        return redact_text(value, phone_field=key in PHONE_FIELDS)
    if isinstance(value, Mapping):
        return {k: _redact(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, key) for v in value]
    return value


def _is_dialin_ready(name: object) -> bool:
    try:
        return canonical_event_name(name) == "dialin-ready"
    except Exception:  # noqa: BLE001  (an unknown name is simply not dialin-ready)
        return False


def redact_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A redacted copy of one replay-log record (``record`` itself is not changed).

    The payload of ``dialin-ready`` is kept: it is the room's own SIP endpoint.
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        verbatim = key in ("event", "call", "completion", "t")
        if verbatim or (key == "data" and "event" in record and _is_dialin_ready(record["event"])):
            out[key] = value
        else:
            out[key] = _redact(value, key)
    return out


def _jsonable(value: object) -> object:
    """Fallback for values JSON cannot write (an SDK object in a payload): their ``to_daily()`` or repr."""
    to_daily = getattr(value, "to_daily", None)
    if callable(to_daily):
        return to_daily()
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    return repr(value)


class Recorder:
    """Writes every input a tracker sees as JSON Lines, one line per input, flushed per line.

    Args:
        target: A file path (opened for writing, or appending with ``append=True``,
            UTF-8) or an open text stream (written to and flushed, never closed
            by the recorder).
        redact: Mask phone numbers and SIP user parts (see the module's rules);
            ``False`` writes inputs verbatim, for local debugging.
        clock: Gives ``"t"`` (seconds) for inputs that came without one.
        append: With a path, add to the file instead of replacing it.

    Raises:
        RecordingError: the file cannot be opened.

    Use it as an input listener, from any thread::

        with Recorder("calls.jsonl") as recorder:
            recorder.attach(tracker)
            ...

    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[str],
        *,
        redact: bool = True,
        clock: Callable[[], float] = time.time,
        append: bool = False,
    ) -> None:
        self.redact = redact
        self.clock = clock
        self._lock = threading.Lock()
        self._lines = 0
        self._closed = False
        if isinstance(target, (str, os.PathLike)):
            try:
                self._stream: IO[str] = open(  # noqa: SIM115  (closed by close())
                    target, "a" if append else "w", encoding="utf-8", newline="\n"
                )
            except OSError as exc:
                raise RecordingError(f"cannot open {target}: {exc.strerror or type(exc).__name__}") from exc
            self._owns = True
        else:
            self._stream = target
            self._owns = False
        self._trackers: list[CallTracker] = []

    @property
    def lines_written(self) -> int:
        """How many lines this recorder has written."""
        return self._lines

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __call__(self, record: Mapping[str, Any]) -> None:
        """Write one replay-log record as one line (the input-listener protocol).

        Raises:
            RecordingError: the recorder is closed, or the write failed.

        """
        body = redact_record(record) if self.redact else dict(record)
        with self._lock:
            if self._closed:
                raise RecordingError("the recorder is closed")
            body = {"t": body.pop("t") if "t" in body else self.clock(), **body}
            line = json.dumps(body, ensure_ascii=False, default=_jsonable, separators=(", ", ": "))
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError) as exc:
                raise RecordingError(f"cannot write the recording: {exc}") from exc
            self._lines += 1

    def attach(self, tracker: CallTracker) -> Recorder:
        """Record every input ``tracker`` sees from now on; returns the recorder."""
        tracker.add_input_listener(self)
        self._trackers.append(tracker)
        return self

    def detach(self, tracker: CallTracker) -> None:
        """Stop recording ``tracker``'s inputs."""
        tracker.remove_input_listener(self)
        self._trackers.remove(tracker)

    def close(self) -> None:
        """Detach from every tracker attached with :meth:`attach`, and close a file the recorder opened."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for tracker in list(self._trackers):
            self.detach(tracker)
        if self._owns:
            self._stream.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        name = getattr(self._stream, "name", type(self._stream).__name__)
        return f"<Recorder {name!r} lines={self._lines} redact={self.redact}>"
