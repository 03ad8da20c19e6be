r"""Redaction: what identifies a person, removed from a JSON record, keeping every value as valid as it was.

It runs on exactly what a recorder writes (a JSON value, after
:mod:`dialfsm._jsonable`), so nothing reaches a line without passing it, and
it covers every place a number or a SIP user can stand: string values,
numbers, keys, anywhere in the record.

* **Numbers.**  Every run of at least 5 digits (any script's digits; spaces,
  dots, dashes, slashes and parentheses allowed between them; a ``+`` before
  them or not; after a letter or not) keeps its last 4 digits; the others
  become ``0`` (the zero of their own script, so an Arabic-Indic digit stays
  one, and a number refused for not being ASCII is refused again).
  ``+15551234567`` -> ``+00000004567``, which still passes Daily's
  ``^\+[0-9]+$``.  Another number of that length and last 4 digits in the
  same recording gets a disambiguator in its zeroed digits, ``1`` s among
  the ``0`` s (``+15559994567`` -> ``+10000004567``, then ``+01000004567``,
  ``+11000004567``...; other digits only once every pattern of ``0`` and
  ``1`` is taken).  A masked number is never the number itself (one whose
  masked digits were all ``0`` already gets the next pattern:
  ``+00001234`` -> ``+10001234``).  An int of 5 digits or more keeps its
  number of digits and its last 4 (``15551234567`` -> ``10000004567``: the
  first digit is ``1``, or ``2`` where it was ``1`` and the rest ``0``), so it
  stays as far out of any range as it was; a float, its digits likewise (ints
  and floats get no disambiguator: the tracker compares no number it reads as
  one).  UUIDs (Daily's session ids) are left whole.
* **SIP URIs** (``sip:``, ``sips:``) lose their user part (and password) and
  the headers after ``?``: each character becomes ``*``, so the length, the
  scheme and the host stay (``sip:bob@example.com`` -> ``sip:***@example.com``).
  Another user of that length on that host gets a disambiguator: the
  characters of :data:`SIP_MASKS` (``*~!-_.``, all valid in a SIP user)
  counting in base 6 (``sip:1001@pbx`` -> ``sip:****@pbx``, ``sip:1002@pbx``
  -> ``sip:***~@pbx``).  A user holding ``;`` or ``?`` keeps its first one
  (the tracker compares what comes before it, ignoring the host), what
  follows becoming ``*`` s.  A URI with no ``@`` (no user, or one cut short
  in a message) is masked whole after ``sip:``.  A display name before
  ``<sip:...>``, quoted or not, becomes ``*`` s too.
* **Keys pressed** (``tones``, ``tone``) become ``0`` where they are keys
  (what is no key stays); an ``extension`` becomes all ``0`` s.
* **Display names** (``userName``, ``user_name``, ``displayName``,
  ``display_name``) become as many ``*`` s.
* **Keys** of objects are redacted like strings; two keys redacted alike are
  told apart (``" (2)"``), never merged.
* **Identifiers** (:data:`KEEP_FIELDS`: session and participant ids, refs,
  keys, SIP call ids, at any depth) have their numbers and SIP URIs masked
  as above, the whole user and headers of a URI told apart as they are
  written (an identifier is compared as a string), and nothing else: no
  display name, so two identifiers that differ are never written alike, and
  one written on a call's line and on its completion's is written alike.
  UUIDs, and ids with no 5-digit run and no SIP URI, are kept whole.
* **Kept**: event and call names, codes, times, the int key naming a call
  (a record's ``"key"`` and ``"retry_of": {"key": ...}``: its place in the
  journal), and the SIP endpoint of a ``dialin-ready`` event (the room's own,
  which replay tells endpoints apart by); every other field of that event is
  redacted.

Every rule keeps length and character class, so a value valid for Daily stays
valid; a call refused live carries its refusal on its own line anyway
(``"refused": CODE``).

**Equality is kept**, so a redacted recording binds and pairs on replay as
the tracker did live.  A :class:`Redactor` (a recorder has one for its whole
file) masks two values alike exactly when the tracker compares them equal
(:func:`dialfsm._routing.same_destination`: numbers by their digits, SIP URIs
by user and host, lowercased, without parameters; identifiers as strings).
The module functions (:func:`redact_record`, :func:`redact_text`,
:func:`redact_value`) use a fresh one per call: equality is kept within what
one call redacts.  The limits, each one counted or said:

* **Memory.**  A redactor remembers the :data:`MAX_REMEMBERED` distinct
  values written most recently (the originals, in memory only, never
  written); one written again after it was forgotten is masked anew and may
  be written otherwise (:attr:`Redactor.forgotten` counts them).  A recorder
  appending to an existing file starts with an empty memory (the originals
  of the lines already written are gone), so a value written before and
  after is masked alike only by chance.
* **Room.**  A masked region holds only so many masks: 10 ** n for n masked
  digits, 6 ** n for a SIP user of n characters (6 for one character, 1296
  for four).  Past them, a value is written as another value's mask
  (:attr:`Redactor.collisions` counts them): replay may merge those two.
* **Never an original.**  A mask is never the value's own original nor that
  of any value the redactor remembers in its group; it can be the original
  of a value first written later (``0`` s and ``1`` s first make that
  unlikely for real numbers).
* Digits spread over several runs (more than two separators between digits)
  are masked run by run, runs of fewer than 5 digits kept; display names are
  masked with ``*`` s without a disambiguator; a value compared as a string
  outside :data:`KEEP_FIELDS` (a ``userId``) is masked as a destination is.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from dialfsm._parse import canonical_event_name
from dialfsm._settings import DTMF_TONES

__all__ = [
    "KEEP_FIELDS",
    "MAX_REMEMBERED",
    "NAME_FIELDS",
    "SIP_MASKS",
    "TONE_FIELDS",
    "Redactor",
    "redact_record",
    "redact_text",
    "redact_value",
]

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
#: Top-level fields where the tracker writes a call's key (an int: its place in the journal, kept).
_SEQ_FIELDS: Final = frozenset({"key", "retry_of"})
#: The characters of a masked SIP user: ``*`` first, then the others in turn (RFC 3261 "mark"
#: characters, none of which the tracker cuts a destination at or the redactor reads).
SIP_MASKS: Final = "*~!-_."
#: How many distinct values a :class:`Redactor` remembers (the least recently written are forgotten first).
MAX_REMEMBERED: Final = 8192

_SEPARATORS: Final = r"[ .()\-/]"
_UUID: Final = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NUMBER_OR_UUID: Final = re.compile(rf"(?P<uuid>{_UUID})|(?P<number>\d(?:{_SEPARATORS}{{0,2}}\d){{4,}})")
_SCHEME: Final = re.compile(r"sips?:", re.IGNORECASE)
_USER_END: Final = re.compile(r'[@\s<>"]')
_URI_END: Final = re.compile(r'[\s<>"?]')
_HOST_END: Final = re.compile(r'[\s<>";?]')
_CUT: Final = re.compile(r"[;?]")
_HEADERS_END: Final = re.compile(r'[\s<>"]')
_QUOTED_NAME: Final = re.compile(r'"([^"]*)"(?=\s*<(?:sips?|tel):)', re.IGNORECASE)
_ANGLE_URI: Final = re.compile(r"<(?=(?:sips?|tel):)", re.IGNORECASE)
#: What ends an unquoted display name, read backwards from ``<sip:`` (none of it is a token character).
_NAME_DELIMITERS: Final = frozenset('<>",;:()[]@?=/\\\n\r\t')


def _zero(c: str) -> str:
    """The zero of ``c``'s script (``c`` is a decimal digit)."""
    return chr(ord(c) - unicodedata.decimal(c))


def _number_candidates(width: int) -> Iterator[str]:
    """The prefixes a masked number may take, as ASCII digits: those of ``0`` s and ``1`` s first, then the rest."""
    for n in range(2**width):  # counting from the left: 0...0, 10...0 (an all-zero prefix's mask), 010...0
        yield format(n, "b").zfill(width)[::-1]
    for n in range(10**width):
        text = str(n).zfill(width)
        if text.strip("01"):
            yield text


def _sip_candidates(width: int) -> Iterator[str]:
    """The masks a SIP user may take: all ``*`` first, then :data:`SIP_MASKS` counting in base 6."""
    base = len(SIP_MASKS)
    for n in range(base**width):
        chars, rest = [], n
        for _ in range(width):
            rest, d = divmod(rest, base)
            chars.append(SIP_MASKS[d])
        yield "".join(reversed(chars))


class _Group:
    """The values one mask would merge: the masks given, the originals seen, the candidates not yet tried."""

    __slots__ = ("cursor", "fresh", "masks", "originals", "space")

    def __init__(self, fresh: Callable[[], Iterator[str]], space: int) -> None:
        self.fresh = fresh
        self.cursor = fresh()
        self.space = space
        self.masks: dict[str, int] = {}  # mask -> how many remembered values have it (2+ only after a collision)
        self.originals: set[str] = set()


def _stars(text: str) -> str:
    return "*" * len(text)


class Redactor:
    """The module's rules, with the memory that keeps equality: one per recording.

    Two values the tracker compares equal (numbers by their digits, SIP URIs
    by user and host) are masked alike, and two it tells apart are masked
    apart, as long as the redactor remembers them: it remembers the last
    ``limit`` distinct values (:data:`MAX_REMEMBERED`), in memory only.
    :attr:`collisions` counts the distinct values it had to mask alike
    (a masked region too short for another mask), :attr:`forgotten` the
    values it no longer remembers (one written again is masked anew, maybe
    otherwise).  Not thread-safe: a :class:`~dialfsm.Recorder` calls it under
    its lock.

    Example:
        >>> r = Redactor()
        >>> r.text("+15551234567"), r.text("+15559994567"), r.text("+1 555 123 4567")
        ('+00000004567', '+10000004567', '+0 000 000 4567')
        >>> r.text("sip:1001@pbx"), r.text("sip:1002@pbx"), r.text("SIP:1001@PBX;transport=tls")
        ('sip:****@pbx', 'sip:***~@pbx', 'SIP:****@PBX;transport=tls')

    """

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = max(1, limit)
        self.collisions = 0
        self.forgotten = 0
        self._masks: OrderedDict[tuple[str, ...], tuple[str, tuple[str, ...], str]] = OrderedDict()
        self._groups: dict[tuple[str, ...], _Group] = {}

    def _mask(
        self,
        key: tuple[str, ...],
        group_key: tuple[str, ...],
        original: str,
        candidates: Callable[[], Iterator[str]],
        space: int,
    ) -> str:
        """The mask of one value: the one it had, else the group's first candidate no value has and none was."""
        known = self._masks.get(key)
        if known is not None:
            self._masks.move_to_end(key)
            return known[0]
        group = self._groups.get(group_key)
        if group is None:
            group = self._groups[group_key] = _Group(candidates, space)
        group.originals.add(original)
        mask = self._free(group, original)
        group.masks[mask] = group.masks.get(mask, 0) + 1
        self._masks[key] = (mask, group_key, original)
        if len(self._masks) > self.limit:
            self._forget()
        return mask

    def _free(self, group: _Group, original: str) -> str:
        """The group's next candidate that is no mask given and no original seen (a collision if none is left)."""
        tried, restarted = 0, False
        while tried < group.space:  # a full round at most (after the cursor starts again: masks forgotten)
            candidate = next(group.cursor, None)
            if candidate is None:
                if restarted:
                    break
                group.cursor, restarted = group.fresh(), True
                continue
            tried += 1
            if candidate not in group.masks and candidate not in group.originals:
                return candidate
        self.collisions += 1  # every mask is taken: written as another value's mask (never an original seen)
        return next((m for m in group.masks if m != original), None) or next(c for c in group.fresh() if c != original)

    def _forget(self) -> None:
        _, (mask, group_key, original) = self._masks.popitem(last=False)
        self.forgotten += 1
        group = self._groups[group_key]
        group.originals.discard(original)
        if group.masks[mask] > 1:
            group.masks[mask] -= 1
        else:
            del group.masks[mask]
        if not group.masks:
            del self._groups[group_key]

    # --- numbers ---------------------------------------------------------------------------------------

    def _number(self, run: str) -> str:
        """A digit run with its last 4 digits kept, the others its scripts' zeros, or a disambiguator in them."""
        positions = [i for i, c in enumerate(run) if c.isdecimal()]
        digits = "".join(run[i] for i in positions)
        width = len(digits) - 4
        zeros = "".join(_zero(c) for c in digits[:width])
        original = "".join(str(unicodedata.decimal(c)) for c in digits[:width])
        prefix = self._mask(
            ("n", digits),
            ("n", zeros, digits[width:]),
            original,
            functools.partial(_number_candidates, width),
            10**width,
        )
        masked = list(run)
        for i, zero, value in zip(positions, zeros, prefix, strict=False):
            masked[i] = chr(ord(zero) + int(value))
        return "".join(masked)

    def _numbers(self, text: str) -> str:
        return _NUMBER_OR_UUID.sub(lambda m: m.group() if m.group("uuid") else self._number(m.group()), text)

    # --- SIP -------------------------------------------------------------------------------------------

    def _sip_part(self, part: str, namespace: tuple[str, ...], length: int | None = None) -> str:
        """``length`` (``part``'s) :data:`SIP_MASKS` characters, one mask per distinct ``part`` in ``namespace``."""
        width = len(part) if length is None else length
        if not width:
            return ""
        return self._mask(
            ("s", *namespace, str(width), part),
            ("s", *namespace, str(width)),
            part,
            functools.partial(_sip_candidates, width),
            len(SIP_MASKS) ** width,
        )

    def _sip_user(self, user: str, host: str | None, exact: bool) -> str:
        """A SIP user masked as the tracker compares it (:func:`dialfsm._routing.same_destination`).

        The tracker compares ``user@host`` lowercased, cut at the first ``;``
        or ``?`` (a user holding one is compared by what comes before it, the
        host not at all): that part gets the mask, the ``;`` or ``?`` stays,
        what follows becomes ``*`` s.  ``exact``: the whole user as it is (an
        identifier, compared as a string).
        """
        if exact:
            return self._sip_part(user, ("=",))
        cut = _CUT.search(user)
        if cut is None:
            return self._sip_part(user.lower(), ("@", (host or "").lower()), len(user))
        head = user[: cut.start()]
        return self._sip_part(head.lower(), (";",), len(head)) + user[cut.start()] + _stars(user[cut.start() + 1 :])

    def _sip_uris(self, text: str, exact: bool) -> str:
        """``text`` with the user part and the headers of every SIP URI masked (one pass, linear)."""
        out, pos = [], 0
        while (scheme := _SCHEME.search(text, pos)) is not None:
            start = scheme.end()
            end = _USER_END.search(text, start)
            stop = len(text) if end is None else end.start()
            out.append(text[pos:start])
            if end is not None and text[stop] == "@" and stop > start:
                host_end = _HOST_END.search(text, stop + 1)
                host = text[stop + 1 : len(text) if host_end is None else host_end.start()]
                out.append(self._sip_user(text[start:stop], host, exact) + "@")
                start = stop + 1
            else:  # no "@": a URI without a user, or one cut short (a repr, a message): all of it may be the user
                out.append(self._sip_user(text[start:stop], None, exact))
                start = stop
            uri_end = _URI_END.search(text, start)
            cut = len(text) if uri_end is None else uri_end.start()
            out.append(text[start:cut])
            pos = cut
            if cut < len(text) and text[cut] == "?":
                headers_end = _HEADERS_END.search(text, cut)
                pos = len(text) if headers_end is None else headers_end.start()
                headers = text[cut + 1 : pos]
                out.append("?" + (self._sip_part(headers, ("?",)) if exact else _stars(headers)))
        out.append(text[pos:])
        return "".join(out)

    # --- values ----------------------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """``text`` with numbers masked, SIP users, headers and display names masked (the module's rules)."""
        if "<" in text:
            text = _display_names(text)
        if ":" in text:
            text = self._sip_uris(text, exact=False)
        return self._numbers(text)

    def identifier(self, text: str) -> str:
        """An identifier (:data:`KEEP_FIELDS`): its numbers and SIP URIs masked, two that differ kept apart."""
        if ":" in text:
            text = self._sip_uris(text, exact=True)
        return self._numbers(text)

    def value(self, value: Any, key: str | None = None) -> Any:
        """A redacted copy of a JSON value found under ``key`` (``None``: not in an object)."""
        if isinstance(value, str):
            if key in KEEP_FIELDS:
                return self.identifier(value)
            if key in TONE_FIELDS:
                return "0" * len(value) if key == "extension" else "".join("0" if c in DTMF_TONES else c for c in value)
            return _stars(value) if key in NAME_FIELDS else self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return _mask_int(value)
        if isinstance(value, float):
            return _mask_float(value)
        if isinstance(value, Mapping):
            return self._object(value)
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        return value

    def _object(self, value: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = (self.identifier(key) if key in KEEP_FIELDS else self.text(key)) if isinstance(key, str) else key
            if name in out:  # two keys redacted alike: never merge them
                n = 2
                while f"{name} ({n})" in out:
                    n += 1
                name = f"{name} ({n})"
            out[name] = self.value(item, key if isinstance(key, str) else None)
        return out

    def _dialin_ready_data(self, data: Any) -> Any:
        """A ``dialin-ready`` payload: its endpoint kept (the room's own), everything else redacted."""
        if isinstance(data, str):
            return data
        if not isinstance(data, Mapping):
            return self.value(data)
        inner = data.get("payload") if "type" in data and isinstance(data.get("payload"), Mapping) else None
        if inner is not None:  # a whole webhook envelope
            return {
                **self._object({k: v for k, v in data.items() if k != "payload"}),
                "payload": self._dialin_ready_data(inner),
            }
        kept = {k: v for k, v in data.items() if k in _ENDPOINT_FIELDS and isinstance(v, str)}
        return {**self._object({k: v for k, v in data.items() if k not in kept}), **kept}

    def record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A redacted copy of one replay-log record (a JSON object; ``record`` itself is not changed)."""
        out: dict[str, Any] = {}
        ready = "event" in record and _is_dialin_ready(record["event"])
        for key, value in record.items():
            if key in _VERBATIM or (key in _SEQ_FIELDS and _is_seq(value)):
                out[key] = value
            elif key == "data" and ready:
                out[key] = self._dialin_ready_data(value)
            else:
                out[key] = self.value(value, key)
        return out


def _is_seq(value: object) -> bool:
    """A call's key as the tracker writes it (an int, or ``{"key": int}``): a place in the journal, no number."""
    if isinstance(value, Mapping) and len(value) == 1 and "key" in value:
        value = value["key"]
    return type(value) is int


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
    """``text`` redacted by a fresh :class:`Redactor` (equality kept within this text only).

    Example:
        >>> redact_text("+15551234567")
        '+00000004567'
        >>> redact_text("sip:bob@example.com;transport=tls")
        'sip:***@example.com;transport=tls'

    """
    return Redactor().text(text)


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
    """A redacted copy of a JSON value found under ``key``, by a fresh :class:`Redactor` (equality kept within it)."""
    return Redactor().value(value, key)


def _is_dialin_ready(name: object) -> bool:
    try:
        return canonical_event_name(name) == "dialin-ready"
    except Exception:  # noqa: BLE001  (an unknown name is simply not dialin-ready)
        return False


def redact_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A redacted copy of one replay-log record, by a fresh :class:`Redactor` (equality kept within the record)."""
    return Redactor().record(record)
