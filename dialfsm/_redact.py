r"""Redaction: what identifies a person, removed from a JSON record, keeping every value as valid as it was.

It runs on exactly what a recorder writes (a JSON value, after
:mod:`dialfsm._jsonable`), so nothing reaches a line without passing it, and
it covers every place a number or a SIP user can stand: string values,
numbers, keys, anywhere in the record.

* **Numbers.**  Every run of at least 5 digits (any script's digits; spaces,
  dots, dashes, slashes and parentheses allowed between them; a ``+`` before
  them or not; after a letter or not) keeps its last 4 digits; the others
  become ``0`` (the zero of their own script, so an Arabic-Indic digit stays
  one, and a number refused for not being ASCII is refused again).  If they
  were all ``0`` already, the first becomes ``1``, so the written number is
  never the original.  ``+15551234567`` -> ``+00000004567``, which still
  passes Daily's ``^\+[0-9]+$``.  An int of 5 digits or more keeps its number
  of digits and its last 4 (``15551234567`` -> ``10000004567``: the first
  digit is ``1``, or ``2`` where it was ``1`` and the rest ``0``), so it stays
  as far out of any range as it was; a float, its digits likewise.
  UUIDs (Daily's session ids) are left whole.
* **SIP URIs** (``sip:``, ``sips:``) lose their user part (and password),
  whatever it holds (``;``, ``?``...), and the headers after ``?``: each
  character becomes ``*``, so the length, the scheme and the host stay
  (``sip:bob@example.com`` -> ``sip:***@example.com``).  A URI with no ``@``
  (no user, or one cut short in a message) is masked whole after ``sip:``.  A display name
  before ``<sip:...>``, quoted or not, becomes ``*`` s too.
* **Keys pressed** (``tones``, ``tone``) become ``0`` where they are keys
  (what is no key stays); an ``extension`` becomes all ``0`` s.
* **Display names** (``userName``, ``user_name``, ``displayName``,
  ``display_name``) become as many ``*`` s.
* **Keys** of objects are redacted like strings; two keys redacted alike are
  told apart (``" (2)"``), never merged.
* **Kept**: identifiers (:data:`KEEP_FIELDS`: session and participant ids,
  refs, keys, SIP call ids) when they are strings, event and call names, codes,
  times, and the SIP endpoint of a ``dialin-ready`` event (the room's own,
  which replay tells endpoints apart by); every other field of that event is
  redacted.

Every rule keeps length and character class, so a value valid for Daily stays
valid; a call refused live carries its refusal on its own line anyway
(``"refused": CODE``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

from dialfsm._parse import canonical_event_name
from dialfsm._settings import DTMF_TONES

__all__ = ["KEEP_FIELDS", "NAME_FIELDS", "TONE_FIELDS", "redact_record", "redact_text", "redact_value"]

#: Fields holding keys to press (DTMF tones, a dial-out's ``extension``): every key becomes ``0``.
TONE_FIELDS: Final = frozenset({"tones", "tone", "extension"})
#: Fields holding a person's display name: each character becomes ``*``.
NAME_FIELDS: Final = frozenset({"userName", "user_name", "displayName", "display_name"})
#: Fields whose string values are kept: they identify sessions and calls, not people.
KEEP_FIELDS: Final = frozenset(
    {
        "sessionId",
        "session_id",
        "participantId",
        "participant_id",
        "ref",
        "key",
        "retry_of",
        "sipCallId",
        "sip_call_id",
        "action",
    }
)
#: Top-level fields of a record written as they are (names, codes, times).
_VERBATIM: Final = frozenset({"call", "completion", "withdraw", "t", "at", "refused", "anomaly", "attempt"})
_ENDPOINT_FIELDS: Final = frozenset({"sipEndpoint", "sip_endpoint"})

_SEPARATORS: Final = r"[ .()\-/]"
_UUID: Final = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NUMBER_OR_UUID: Final = re.compile(rf"(?P<uuid>{_UUID})|(?P<number>\d(?:{_SEPARATORS}{{0,2}}\d){{4,}})")
_SCHEME: Final = re.compile(r"sips?:", re.IGNORECASE)
_USER_END: Final = re.compile(r'[@\s<>"]')
_URI_END: Final = re.compile(r'[\s<>"?]')
_HEADERS_END: Final = re.compile(r'[\s<>"]')
_QUOTED_NAME: Final = re.compile(r'"([^"]*)"(?=\s*<(?:sips?|tel):)', re.IGNORECASE)
_ANGLE_URI: Final = re.compile(r"<(?=(?:sips?|tel):)", re.IGNORECASE)
#: What ends an unquoted display name, read backwards from ``<sip:`` (none of it is a token character).
_NAME_DELIMITERS: Final = frozenset('<>",;:()[]@?=/\\\n\r\t')


def _zero(c: str) -> str:
    """The zero of ``c``'s script (``c`` is a decimal digit)."""
    return chr(ord(c) - unicodedata.decimal(c))


def _mask_number(run: str) -> str:
    """A digit run with every digit but the last 4 its script's zero (never the run itself)."""
    positions = [i for i, c in enumerate(run) if c.isdecimal()]
    masked = list(run)
    for i in positions[:-4]:
        masked[i] = _zero(run[i])
    if masked == list(run):  # already all zeros: the first masked digit becomes 1
        first = positions[0]
        masked[first] = chr(ord(_zero(run[first])) + 1)
    return "".join(masked)


def _numbers(text: str) -> str:
    return _NUMBER_OR_UUID.sub(lambda m: m.group() if m.group("uuid") else _mask_number(m.group()), text)


def _stars(text: str) -> str:
    return "*" * len(text)


def _sip_uris(text: str) -> str:
    """``text`` with the user part and the headers of every SIP URI as ``*`` s (one pass, linear)."""
    out, pos = [], 0
    while (scheme := _SCHEME.search(text, pos)) is not None:
        start = scheme.end()
        end = _USER_END.search(text, start)
        stop = len(text) if end is None else end.start()
        out.append(text[pos:start])
        if end is not None and text[stop] == "@" and stop > start:
            out.append(_stars(text[start:stop]) + "@")
            start = stop + 1
        else:  # no "@": a URI without a user, or one cut short (a repr, a message): all of it may be the user
            out.append(_stars(text[start:stop]))
            start = stop
        uri_end = _URI_END.search(text, start)
        cut = len(text) if uri_end is None else uri_end.start()
        out.append(text[start:cut])
        pos = cut
        if cut < len(text) and text[cut] == "?":
            headers_end = _HEADERS_END.search(text, cut)
            pos = len(text) if headers_end is None else headers_end.start()
            out.append("?" + _stars(text[cut + 1 : pos]))
    out.append(text[pos:])
    return "".join(out)


def _display_names(text: str) -> str:
    """``text`` with the display name before each ``<sip:...>`` as ``*`` s, quoted or not (linear)."""
    text = _QUOTED_NAME.sub(lambda m: f'"{_stars(m.group(1))}"', text)
    chars, floor = list(text), 0
    for angle in _ANGLE_URI.finditer(text):
        i = angle.start() - 1
        while i >= floor and text[i] not in _NAME_DELIMITERS:
            if not text[i].isspace():
                chars[i] = "*"
            i -= 1
        floor = angle.start() + 1
    return "".join(chars)


def redact_text(text: str) -> str:
    """``text`` with numbers masked, SIP users, headers and display names as ``*`` s (the module's rules).

    Example:
        >>> redact_text("+15551234567")
        '+00000004567'
        >>> redact_text("sip:bob@example.com;transport=tls")
        'sip:***@example.com;transport=tls'

    """
    if "<" in text:
        text = _display_names(text)
    if ":" in text:
        text = _sip_uris(text)
    return _numbers(text)


def _mask_int(value: int) -> int:
    digits = str(abs(value))
    if len(digits) < 5:
        return value
    masked = "1" + "0" * (len(digits) - 5) + digits[-4:]
    if masked == digits:
        masked = "2" + masked[1:]
    return -int(masked) if value < 0 else int(masked)


def _mask_float(value: float) -> float:
    """A float of 5 integer digits or more: its integer part masked as an int's, its magnitude kept."""
    if not (value - value == 0.0 and abs(value) >= 10_000):  # small, or not finite
        return value
    whole = int(abs(value))
    masked = _mask_int(whole) + (abs(value) - whole)
    return -masked if value < 0 else masked


def redact_value(value: Any, key: str | None = None) -> Any:
    """A redacted copy of a JSON value found under ``key`` (``None``: not in an object)."""
    if isinstance(value, str):
        if key in KEEP_FIELDS:
            return value
        if key in TONE_FIELDS:
            return "0" * len(value) if key == "extension" else "".join("0" if c in DTMF_TONES else c for c in value)
        return _stars(value) if key in NAME_FIELDS else redact_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return _mask_int(value)
    if isinstance(value, float):
        return _mask_float(value)
    if isinstance(value, Mapping):
        return _redact_object(value)
    if isinstance(value, list):
        return [redact_value(item, key) for item in value]
    return value


def _redact_object(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = redact_text(key) if isinstance(key, str) and key not in KEEP_FIELDS else key
        if name in out:  # two keys redacted alike: never merge them
            n = 2
            while f"{name} ({n})" in out:
                n += 1
            name = f"{name} ({n})"
        out[name] = redact_value(item, key if isinstance(key, str) else None)
    return out


def _is_dialin_ready(name: object) -> bool:
    try:
        return canonical_event_name(name) == "dialin-ready"
    except Exception:  # noqa: BLE001  (an unknown name is simply not dialin-ready)
        return False


def _dialin_ready_data(data: Any) -> Any:
    """A ``dialin-ready`` payload: its endpoint kept (the room's own), everything else redacted."""
    if isinstance(data, str):
        return data
    if not isinstance(data, Mapping):
        return redact_value(data)
    inner = data.get("payload") if "type" in data and isinstance(data.get("payload"), Mapping) else None
    if inner is not None:  # a whole webhook envelope
        return {
            **_redact_object({k: v for k, v in data.items() if k != "payload"}),
            "payload": _dialin_ready_data(inner),
        }
    kept = {k: v for k, v in data.items() if k in _ENDPOINT_FIELDS and isinstance(v, str)}
    return {**_redact_object({k: v for k, v in data.items() if k not in kept}), **kept}


def redact_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A redacted copy of one replay-log record (a JSON object; ``record`` itself is not changed)."""
    out: dict[str, Any] = {}
    ready = "event" in record and _is_dialin_ready(record["event"])
    for key, value in record.items():
        if key in _VERBATIM:
            out[key] = value
        elif key == "data" and ready:
            out[key] = _dialin_ready_data(value)
        else:
            out[key] = redact_value(value, key)
    return out
