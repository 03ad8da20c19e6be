"""Typed settings for the bot's telephony calls, validated as daily-js validates them.

The bot's calls take one settings object each: ``start_dialout`` a
:class:`DialoutSettings`, ``send_dtmf`` a :class:`DtmfSettings`,
``sip_call_transfer`` a :class:`SipCallTransferSettings` and ``sip_refer`` a
:class:`SipReferSettings`.  Each ``parse_*`` function takes either Daily's
camelCase mapping (the very dict a bot hands to daily-python's ``CallClient``)
or an instance of the class, and returns a validated instance or raises
:class:`~dialfsm.exceptions.InvalidSettings` naming the first bad field.
``to_daily()`` turns an instance back into Daily's dict.

Where the rules come from
-------------------------

daily-js 0.92.2 checks these options in the browser before sending anything
(``startDialOut``, ``sendDTMF``, ``sipCallTransfer``/``sipRefer`` and their
helpers in ``dist/daily-esm.js``).  daily-python (0.36.0) does **not**: its
engine only checks the JSON shape (required keys, types, the codec and DTMF
``method`` enums), and lets a 100-character ``userId``, tones ``"XYZ!"``, a
``phoneNumber`` of ``"abc"`` or both ``sipUri`` and ``phoneNumber`` through to
the server.  dialfsm applies daily-js's rules for it, so a Python bot is told
at once, and precisely, what daily-js would have told a browser.

Deliberate differences from daily-js
------------------------------------

* **Presence.**  A key counts as given when its value is not ``None``
  (``None`` and a missing key are the same, and ``to_daily()`` omits both).
  daily-js tests JavaScript truthiness instead, which lets ``""``, ``0`` and
  ``false`` skip a check; here those values are checked like any other, so
  ``{"sipUri": "", "phoneNumber": "+1"}`` is refused as two destinations.
* **Types are Python's.**  daily-python serialises to JSON for a Rust engine
  that wants ``u32`` for integer fields, so integer fields take ``int`` only:
  never ``bool`` (a subclass of ``int`` in Python) and never ``float``, even
  ``1280.0``.  ``waitBeforeExtensionDialSec`` takes ``int`` or ``float``
  (not ``bool``), finite.  Lists may be ``list`` or ``tuple``.
* **Unknown keys are refused** (daily-js passes them on silently), including
  inside ``videoSettings`` and ``codecs``.  A snake_case spelling of a known
  key gets a hint to use the camelCase one.
* **Video options apply to phone dial-outs too.**  daily-js checks ``video``,
  ``videoSettings`` and ``codecs.video`` only for ``sipUri`` (Daily ignores
  them for PSTN); dialfsm checks them whichever destination is given.
* **A few bounds daily-js leaves open are closed:** ``waitBeforeExtensionDialSec``
  must be ``>= 0`` and (for a dial-out) needs a ``phoneNumber`` as daily-js's
  own message says; ``sipUri``, ``phoneNumber``, ``sessionId`` and
  ``toEndPoint`` are capped at :data:`MAX_ID_LENGTH` characters so a huge
  string is refused by its length, before any pattern is tried; ``permissions``
  must be JSON-able (``str`` keys; ``None``, ``bool``, ``int`` within a
  double's range, as JSON numbers are, finite ``float``, ``str``, lists and
  mappings, nested at most :data:`MAX_PERMISSIONS_DEPTH` deep).  Its contents are otherwise passed on
  unchecked.
* **No defaults are filled in.**  daily-js sets ``provider="signalwire"``,
  DTMF ``method="auto"`` and ``digitDurationMs=500`` when absent; dialfsm
  leaves absent fields absent and lets Daily apply its defaults.

Check order
-----------

Checks run in a fixed order and the first failure is raised.  For every call:
the settings must be a mapping or the class (field ``settings``), then every
key must be known (in the mapping's own order; field = the key).  Then:

``start_dialout``: ``sipUri``/``phoneNumber`` exactly one (field ``sipUri``
whether both or neither are given); ``sipUri`` (string, length, ``sip:``) or
``phoneNumber`` (string, length, ``+`` and ASCII digits); ``video`` (bool);
``videoSettings`` (mapping, keys, needs ``video: true``, then ``width``,
``height``, ``fps``, ``videoBitrate``); ``codecs`` (mapping, keys, ``audio``,
``video``); ``callerId`` (string, not with ``sipUri``); ``displayName``
(string, < 200); ``userId`` (string, <= 36); ``extension`` (string, <= 20);
``waitBeforeExtensionDialSec`` (number, finite, 0..60, needs a non-empty
``extension``, needs ``phoneNumber``); ``permissions`` (mapping, JSON-able); ``provider``
(``daily``/``signalwire``, only with ``sipUri``).

``sessionId`` and ``toEndPoint`` are always required, non-empty strings of
at most :data:`MAX_ID_LENGTH` characters.

``send_dtmf``: ``sessionId``; ``tones`` (required, non-empty, <= 20, each
character in ``0-9 A-D * #``); ``method``; ``digitDurationMs`` (int, 50..2000).

``sip_call_transfer``: ``sessionId``; ``toEndPoint`` (starts ``sip:`` or
``+``); ``callerId`` (string, only when ``toEndPoint`` starts ``+``);
``extension``; ``waitBeforeExtensionDialSec`` (as for dial-out, but a SIP
``toEndPoint`` is allowed).

``sip_refer``: ``sessionId``; ``toEndPoint`` (starts ``sip:``).

Constructing the classes directly never validates (only ``permissions`` is
copied into an immutable form); pass an instance through its ``parse_*``
function to validate it.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Iterator, Mapping
from typing import Any, Final, cast

import attrs

from dialfsm._errors import InvalidSettings
from dialfsm._slots import sparse_maker
from dialfsm._text import plain_str

__all__ = [
    "AUDIO_CODECS",
    "DIALOUT_PROVIDERS",
    "DTMF_METHODS",
    "DTMF_TONES",
    "MAX_ID_LENGTH",
    "MAX_PERMISSIONS_DEPTH",
    "VIDEO_CODECS",
    "Codecs",
    "DialoutSettings",
    "DtmfSettings",
    "SipCallTransferSettings",
    "SipReferSettings",
    "VideoSettings",
    "parse_dialout_settings",
    "parse_dtmf_settings",
    "parse_sip_call_transfer_settings",
    "parse_sip_refer_settings",
]

#: Audio codecs daily-js accepts in ``codecs.audio`` (exact upper case).
AUDIO_CODECS: Final = ("OPUS", "PCMU", "PCMA", "G722")
#: Video codecs daily-js accepts in ``codecs.video`` (exact upper case).
VIDEO_CODECS: Final = ("H264", "VP8")
#: Dial-out providers daily-js accepts; both only with ``sipUri``.
DIALOUT_PROVIDERS: Final = ("daily", "signalwire")
#: DTMF signalling methods daily-js accepts.
DTMF_METHODS: Final = ("sip-info", "telephone-event", "auto")
#: Characters daily-js accepts in DTMF ``tones`` (``a``-``d`` are refused).
DTMF_TONES: Final = frozenset("0123456789ABCD*#")
#: dialfsm's cap on ``sipUri``, ``phoneNumber``, ``sessionId`` and ``toEndPoint`` (daily-js has none).
MAX_ID_LENGTH: Final = 2048
#: dialfsm's cap on how deeply ``permissions`` may nest (serde_json's own limit is 128).
MAX_PERMISSIONS_DEPTH: Final = 64

# daily-js: /^\+\d{1,}$/ -- JavaScript's \d is ASCII only, Python's is not.
_E164 = re.compile(r"\+[0-9]+")

_START_DIALOUT = "start_dialout"
_SEND_DTMF = "send_dtmf"
_SIP_CALL_TRANSFER = "sip_call_transfer"
_SIP_REFER = "sip_refer"

# (attribute, Daily key) pairs, in check order; the key order of to_daily().
_VIDEO_SETTINGS_FIELDS = (
    ("width", "width"),
    ("height", "height"),
    ("fps", "fps"),
    ("video_bitrate", "videoBitrate"),
)
_CODECS_FIELDS = (("audio", "audio"), ("video", "video"))
_DIALOUT_FIELDS = (
    ("sip_uri", "sipUri"),
    ("phone_number", "phoneNumber"),
    ("video", "video"),
    ("video_settings", "videoSettings"),
    ("codecs", "codecs"),
    ("caller_id", "callerId"),
    ("display_name", "displayName"),
    ("user_id", "userId"),
    ("extension", "extension"),
    ("wait_before_extension_dial_sec", "waitBeforeExtensionDialSec"),
    ("permissions", "permissions"),
    ("provider", "provider"),
)
_DTMF_FIELDS = (
    ("session_id", "sessionId"),
    ("tones", "tones"),
    ("method", "method"),
    ("digit_duration_ms", "digitDurationMs"),
)
_TRANSFER_FIELDS = (
    ("session_id", "sessionId"),
    ("to_end_point", "toEndPoint"),
    ("caller_id", "callerId"),
    ("extension", "extension"),
    ("wait_before_extension_dial_sec", "waitBeforeExtensionDialSec"),
)
_REFER_FIELDS = (("session_id", "sessionId"), ("to_end_point", "toEndPoint"))


# --------------------------------------------------------------------------
# Showing bad values cheaply
# --------------------------------------------------------------------------


class _ShortRepr(reprlib.Repr):
    """A ``repr`` cut to about 40 characters that never formats a huge value in full."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = 40
        self.maxother = 40
        self.maxlong = 40
        self.maxlevel = 2
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4

    def repr_int(self, x: int, level: int) -> str:
        """Big ints are described, not formatted (``str`` of a huge int is slow or refused)."""
        if x.bit_length() > 128:
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_short_repr = _ShortRepr()


def _show(value: object) -> str:
    return _short_repr.repr(value)


def _fail(call: str, field: str, message: str) -> InvalidSettings:
    return InvalidSettings(field, message, call=call)


# --------------------------------------------------------------------------
# An immutable copy of the JSON-able ``permissions``
# --------------------------------------------------------------------------


class _FrozenMapping(Mapping[str, Any]):
    """A read-only, hashable mapping; ``permissions`` is stored as one."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._data,))


def _freeze(value: object, depth: int = 0) -> object:
    """Mappings become :class:`_FrozenMapping`, lists tuples; too deep is left alone (and refused later)."""
    if depth > MAX_PERMISSIONS_DEPTH:
        return value
    if isinstance(value, Mapping):
        return _FrozenMapping({_plain_atom(key): _freeze(item, depth + 1) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, depth + 1) for item in value)
    return _plain_atom(value)


def _plain_atom(value: Any) -> Any:
    """A ``str`` subclass as the plain string it holds (its methods never run again); anything else as is."""
    return plain_str(value) if isinstance(value, str) else value


def _freeze_permissions(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Converter for ``DialoutSettings.permissions``: an immutable copy of a mapping, anything else as is."""
    if isinstance(value, Mapping):
        return cast("Mapping[str, Any]", _freeze(value))
    return value


def _plain(value: object) -> object:
    """Daily's plain JSON shape: nested settings, mappings and sequences rebuilt as dicts and lists."""
    if isinstance(value, VideoSettings | Codecs):
        return value.to_daily()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _daily_dict(obj: object, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``obj``'s set fields under Daily's names, rebuilt as plain JSON-shaped values."""
    out: dict[str, Any] = {}
    for attr, key in fields:
        value = getattr(obj, attr)
        if value is not None:
            out[key] = _plain(value)
    return out


def _raw_dict(obj: object, fields: tuple[tuple[str, str], ...]) -> dict[str, object]:
    """``obj``'s set fields under Daily's names, values untouched (to validate an instance)."""
    return {key: getattr(obj, attr) for attr, key in fields if getattr(obj, attr) is not None}


# --------------------------------------------------------------------------
# The settings classes
# --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VideoSettings:
    """SIP video encoding (``videoSettings``); only with ``video=True``.

    daily-js: each a positive integer; ``width`` <= 1280 (default 1280),
    ``height`` <= 720 (default 720), ``fps`` <= 30 (default 15) and
    ``video_bitrate`` <= 1000 kbps (default 900).
    """

    width: int | None = None
    height: int | None = None
    fps: int | None = None
    video_bitrate: int | None = None

    def to_daily(self) -> dict[str, Any]:
        """Daily's camelCase dict of the fields that are set."""
        return _daily_dict(self, _VIDEO_SETTINGS_FIELDS)


@attrs.frozen(kw_only=True)
class Codecs:
    """Preferred codecs (``codecs``); Daily uses the first entry of each list.

    ``audio`` from :data:`AUDIO_CODECS`, ``video`` from :data:`VIDEO_CODECS`;
    each, when given, non-empty.
    """

    audio: tuple[str, ...] | None = None
    video: tuple[str, ...] | None = None

    def to_daily(self) -> dict[str, Any]:
        """Daily's dict of the lists that are set (as plain lists)."""
        return _daily_dict(self, _CODECS_FIELDS)


@attrs.frozen(kw_only=True)
class DialoutSettings:
    """Options of ``start_dialout``: where to call and how.

    Exactly one of ``sip_uri`` (``sip:...``) and ``phone_number`` (E.164,
    ``+`` then digits).  ``caller_id`` and ``wait_before_extension_dial_sec``
    are for phone numbers, ``provider`` for SIP URIs.  ``permissions`` (the
    ``canReceive`` shape of participant permissions) is kept as an immutable
    copy and passed to Daily unchecked beyond being JSON-able.
    """

    sip_uri: str | None = None
    phone_number: str | None = None
    display_name: str | None = None
    user_id: str | None = None
    caller_id: str | None = None
    video: bool | None = None
    video_settings: VideoSettings | None = None
    codecs: Codecs | None = None
    extension: str | None = None
    wait_before_extension_dial_sec: int | float | None = None
    provider: str | None = None
    permissions: Mapping[str, Any] | None = attrs.field(default=None, converter=_freeze_permissions)

    @property
    def destination(self) -> str | None:
        """The SIP URI or phone number dialled (``None`` only on an unvalidated, empty instance)."""
        return self.sip_uri if self.sip_uri is not None else self.phone_number

    def to_daily(self) -> dict[str, Any]:
        """Daily's camelCase dict of the fields that are set, for daily-python's ``start_dialout``."""
        return _daily_dict(self, _DIALOUT_FIELDS)


@attrs.frozen(kw_only=True)
class DtmfSettings:
    """Options of ``send_dtmf``: which session, which tones, how.

    ``tones``: up to 20 of ``0-9 A-D * #``.  ``method``: one of
    :data:`DTMF_METHODS` (Daily's default ``auto``).  ``digit_duration_ms``:
    50..2000 (Daily's default 500).
    """

    session_id: str
    tones: str
    method: str | None = None
    digit_duration_ms: int | None = None

    def to_daily(self) -> dict[str, Any]:
        """Daily's camelCase dict of the fields that are set, for daily-python's ``send_dtmf``."""
        return _daily_dict(self, _DTMF_FIELDS)


@attrs.frozen(kw_only=True)
class SipCallTransferSettings:
    """Options of ``sip_call_transfer``: move a session to a SIP URI or phone number.

    ``to_end_point`` starts ``sip:`` or ``+``; ``caller_id`` only for a
    ``+`` destination; ``extension`` up to 20 characters, dialled
    ``wait_before_extension_dial_sec`` (0..60) after connecting.
    """

    session_id: str
    to_end_point: str
    caller_id: str | None = None
    extension: str | None = None
    wait_before_extension_dial_sec: int | float | None = None

    def to_daily(self) -> dict[str, Any]:
        """Daily's camelCase dict of the fields that are set, for daily-python's ``sip_call_transfer``."""
        return _daily_dict(self, _TRANSFER_FIELDS)


@attrs.frozen(kw_only=True)
class SipReferSettings:
    """Options of ``sip_refer``: hand a SIP session to a ``sip:`` address outside Daily."""

    session_id: str
    to_end_point: str

    def to_daily(self) -> dict[str, Any]:
        """Daily's camelCase dict, for daily-python's ``sip_refer``."""
        return _daily_dict(self, _REFER_FIELDS)


# --------------------------------------------------------------------------
# Field checks
# --------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda match: "_" + match.group().lower(), name)


def _as_mapping(value: object, call: str, field: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(call, field, f"must be a mapping (a JSON object), got {_show(value)}")
    return value


def _check_keys(raw: Mapping[Any, Any], accepted: tuple[str, ...], call: str, prefix: str = "") -> None:
    """Refuse the first key not in ``accepted``.

    The field is the key itself after ``prefix``, or its short repr when the key
    is not a string, is empty or is over 100 characters long.
    """
    for key in raw:
        if isinstance(key, str) and plain_str(key) in accepted:
            continue
        name = key if isinstance(key, str) and 0 < len(key) <= 100 else _show(key)
        hint = ""
        for known in accepted:
            if key == _snake(known) and key != known:
                hint = f" (Daily's keys are camelCase: use {known!r})"
        raise _fail(
            call,
            prefix + name,
            f"unknown key {_show(key)}{hint}; accepted keys are: {', '.join(accepted)}",
        )


def _opt_str(raw: Mapping[Any, Any], key: str, call: str, field: str | None = None) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(call, field or key, f"must be a string, got {_show(value)}")
    return plain_str(value)


def _max_len(value: str | None, limit: int, call: str, field: str) -> None:
    if value is not None and len(value) > limit:
        raise _fail(
            call, field, f"must be at most {limit} characters long, got {len(value)} characters: {_show(value)}"
        )


def _required_str(raw: Mapping[Any, Any], key: str, call: str, limit: int = MAX_ID_LENGTH) -> str:
    """A mandatory, non-empty string of at most ``limit`` characters."""
    value = raw.get(key)
    if value is None:
        raise _fail(call, key, "is required")
    if not isinstance(value, str):
        raise _fail(call, key, f"must be a string, got {_show(value)}")
    value = plain_str(value)
    if not value:
        raise _fail(call, key, "must not be empty")
    _max_len(value, limit, call, key)
    return value


def _opt_int(raw: Mapping[Any, Any], key: str, call: str, field: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(call, field, f"must be an integer (not a bool or float), got {_show(value)}")
    return value


def _positive_int_at_most(raw: Mapping[Any, Any], key: str, limit: int, call: str, field: str) -> int | None:
    value = _opt_int(raw, key, call, field)
    if value is None:
        return None
    if value <= 0:
        raise _fail(call, field, f"must be a positive integer, got {_show(value)}")
    if value > limit:
        raise _fail(call, field, f"must be less than or equal to {limit}, got {_show(value)}")
    return value


def _wait_seconds(raw: Mapping[Any, Any], call: str) -> int | float | None:
    """``waitBeforeExtensionDialSec``: a finite number (not a bool) from 0 to 60; needs ``extension``."""
    key = "waitBeforeExtensionDialSec"
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(call, key, f"must be a number of seconds (int or float, not a bool), got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(call, key, f"must be a finite number, got {_show(value)}")
    if not 0 <= value <= 60:
        raise _fail(call, key, f"must be between 0 and 60 seconds, got {_show(value)}")
    if not raw.get("extension"):
        raise _fail(call, key, f"requires an extension to dial (got {_show(value)} with no extension)")
    return value


def _codec_list(value: object, allowed: tuple[str, ...], call: str, field: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise _fail(call, field, f"must be a list of codec names, got {_show(value)}")
    if not value:
        raise _fail(call, field, "must not be an empty list (omit it to use Daily's default)")
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in allowed:
            raise _fail(
                call,
                field,
                f"entry {index} must be one of {', '.join(allowed)} (exact upper case), got {_show(name)}",
            )
    return tuple(value)


def _check_json(value: object, call: str, field: str) -> None:
    """Refuse anything JSON cannot carry, depth first in document order; iterative, so any depth is cheap."""
    stack: list[tuple[object, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_PERMISSIONS_DEPTH:
            raise _fail(call, field, f"must nest at most {MAX_PERMISSIONS_DEPTH} levels deep (too deep at {path})")
        if item is None or isinstance(item, str | bool):
            continue
        if isinstance(item, int):
            try:
                float(item)
            except OverflowError:
                raise _fail(
                    call, field, f"must be JSON-able, but {path} is {_show(item)} (beyond a JSON number)"
                ) from None
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _fail(call, field, f"must be JSON-able, but {path} is {_show(item)} (not finite)")
            continue
        if isinstance(item, Mapping):
            children: list[tuple[object, str, int]] = []
            for key, child in item.items():
                if not isinstance(key, str):
                    raise _fail(call, field, f"must be JSON-able, but {path} has a non-string key {_show(key)}")
                children.append((child, f"{path}[{_show(key)}]", depth + 1))
            stack.extend(reversed(children))
            continue
        if isinstance(item, list | tuple):
            stack.extend((child, f"{path}[{index}]", depth + 1) for index, child in reversed(list(enumerate(item))))
            continue
        raise _fail(call, field, f"must be JSON-able, but {path} is {_show(item)} (a {type(item).__name__})")


def _settings_mapping(raw: object, cls: type, fields: tuple[tuple[str, str], ...], call: str) -> Mapping[Any, Any]:
    """The mapping to validate: ``raw`` itself, or an instance's set fields under Daily's names."""
    if isinstance(raw, cls):
        return _raw_dict(raw, fields)
    if isinstance(raw, Mapping):
        _check_keys(raw, tuple(key for _, key in fields), call)
        return {plain_str(key): value for key, value in raw.items()}  # every key is one of ours: a plain copy
    raise _fail(call, "settings", f"must be a mapping of Daily's options or a {cls.__name__}, got {_show(raw)}")


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def _parse_video_settings(value: object, video: bool | None, call: str) -> VideoSettings | None:
    if value is None:
        return None
    field = "videoSettings"
    if isinstance(value, VideoSettings):
        value = _raw_dict(value, _VIDEO_SETTINGS_FIELDS)
    settings = _as_mapping(value, call, field)
    _check_keys(settings, tuple(key for _, key in _VIDEO_SETTINGS_FIELDS), call, field + ".")
    if video is not True:
        raise _fail(call, field, f"is only allowed with video: true, but video is {_show(video)}")
    return VideoSettings(
        width=_positive_int_at_most(settings, "width", 1280, call, field + ".width"),
        height=_positive_int_at_most(settings, "height", 720, call, field + ".height"),
        fps=_positive_int_at_most(settings, "fps", 30, call, field + ".fps"),
        video_bitrate=_positive_int_at_most(settings, "videoBitrate", 1000, call, field + ".videoBitrate"),
    )


def _parse_codecs(value: object, call: str) -> Codecs | None:
    if value is None:
        return None
    if isinstance(value, Codecs):
        value = _raw_dict(value, _CODECS_FIELDS)
    codecs = _as_mapping(value, call, "codecs")
    _check_keys(codecs, ("audio", "video"), call, "codecs.")
    return Codecs(
        audio=_codec_list(codecs.get("audio"), AUDIO_CODECS, call, "codecs.audio"),
        video=_codec_list(codecs.get("video"), VIDEO_CODECS, call, "codecs.video"),
    )


def _destination(settings: Mapping[Any, Any], call: str) -> tuple[str | None, str | None]:
    """``(sipUri, phoneNumber)``: exactly one given, each of its form."""
    sip_uri_given = settings.get("sipUri") is not None
    phone_given = settings.get("phoneNumber") is not None
    if sip_uri_given == phone_given:
        which = "both were given" if sip_uri_given else "neither was given"
        raise _fail(call, "sipUri", f"exactly one of sipUri and phoneNumber must be given; {which}")
    sip_uri = _opt_str(settings, "sipUri", call)
    _max_len(sip_uri, MAX_ID_LENGTH, call, "sipUri")
    if sip_uri is not None and not sip_uri.startswith("sip:"):
        raise _fail(call, "sipUri", f"must start with 'sip:', got {_show(sip_uri)}")
    phone_number = _opt_str(settings, "phoneNumber", call)
    _max_len(phone_number, MAX_ID_LENGTH, call, "phoneNumber")
    if phone_number is not None and _E164.fullmatch(phone_number) is None:
        raise _fail(call, "phoneNumber", f"must be an E.164 number ('+' then digits 0-9), got {_show(phone_number)}")
    return sip_uri, phone_number


def _identity(settings: Mapping[Any, Any], call: str, sip_uri: str | None) -> tuple[str | None, str | None, str | None]:
    """``(callerId, displayName, userId)``, each checked."""
    caller_id = _opt_str(settings, "callerId", call)
    if caller_id is not None and sip_uri is not None:
        raise _fail(call, "callerId", f"is not allowed with sipUri (only with phoneNumber), got {_show(caller_id)}")
    display_name = _opt_str(settings, "displayName", call)
    if display_name is not None and len(display_name) >= 200:
        raise _fail(
            call,
            "displayName",
            f"must be shorter than 200 characters, got {len(display_name)} characters: {_show(display_name)}",
        )
    user_id = _opt_str(settings, "userId", call)
    _max_len(user_id, 36, call, "userId")
    return caller_id, display_name, user_id


def _provider(settings: Mapping[Any, Any], call: str, sip_uri: str | None) -> str | None:
    provider = _opt_str(settings, "provider", call)
    if provider is not None and provider not in DIALOUT_PROVIDERS:
        raise _fail(call, "provider", f"must be one of {', '.join(DIALOUT_PROVIDERS)}, got {_show(provider)}")
    if provider is not None and sip_uri is None:
        raise _fail(call, "provider", f"is only valid with sipUri, not phoneNumber (got {_show(provider)})")
    return provider


def _one_destination(raw: dict[Any, Any]) -> DialoutSettings | None:
    """``{"phoneNumber": ...}`` or ``{"sipUri": ...}`` alone, valid: its settings, as the full parse makes them.

    ``None`` for anything else (the full parse then reads it, and says what is wrong).
    """
    phone_number = raw.get("phoneNumber")
    if type(phone_number) is str:
        if len(phone_number) <= MAX_ID_LENGTH and _E164.fullmatch(phone_number) is not None:
            return _PHONE_ONLY(phone_number)  # type: ignore[no-any-return]
        return None
    sip_uri = raw.get("sipUri")
    if type(sip_uri) is str and len(sip_uri) <= MAX_ID_LENGTH and sip_uri.startswith("sip:"):
        return _SIP_URI_ONLY(sip_uri)  # type: ignore[no-any-return]
    return None


#: ``DialoutSettings(phone_number=...)`` and ``(sip_uri=...)``, built through the slots (see dialfsm._slots).
_PHONE_ONLY: Final = sparse_maker(DialoutSettings, "phone_number")
_SIP_URI_ONLY: Final = sparse_maker(DialoutSettings, "sip_uri")


def parse_dialout_settings(raw: object) -> DialoutSettings:
    """Validate ``start_dialout`` options (Daily's camelCase mapping or a :class:`DialoutSettings`).

    Raises :class:`~dialfsm.exceptions.InvalidSettings` (``call="start_dialout"``)
    for the first rule broken, in the order the module docstring lists.
    """
    if type(raw) is dict and len(raw) == 1:  # the common shape, one destination: the same checks, inline
        fast = _one_destination(raw)
        if fast is not None:
            return fast
    call = _START_DIALOUT
    settings = _settings_mapping(raw, DialoutSettings, _DIALOUT_FIELDS, call)
    sip_uri, phone_number = _destination(settings, call)
    video = settings.get("video")
    if video is not None and not isinstance(video, bool):
        raise _fail(call, "video", f"must be a bool, got {_show(video)}")
    video_settings = _parse_video_settings(settings.get("videoSettings"), video, call)
    codecs = _parse_codecs(settings.get("codecs"), call)
    caller_id, display_name, user_id = _identity(settings, call, sip_uri)
    extension = _opt_str(settings, "extension", call)
    _max_len(extension, 20, call, "extension")
    wait = _wait_seconds(settings, call)
    if wait is not None and phone_number is None:
        raise _fail(call, "waitBeforeExtensionDialSec", f"requires a phoneNumber (got {_show(wait)} with a sipUri)")
    permissions = settings.get("permissions")
    if permissions is not None:
        _as_mapping(permissions, call, "permissions")
        _check_json(permissions, call, "permissions")
    return DialoutSettings(
        sip_uri=sip_uri,
        phone_number=phone_number,
        display_name=display_name,
        user_id=user_id,
        caller_id=caller_id,
        video=video,
        video_settings=video_settings,
        codecs=codecs,
        extension=extension,
        wait_before_extension_dial_sec=wait,
        provider=_provider(settings, call, sip_uri),
        permissions=permissions,
    )


def parse_dtmf_settings(raw: object) -> DtmfSettings:
    """Validate ``send_dtmf`` options (Daily's camelCase mapping or a :class:`DtmfSettings`).

    Raises :class:`~dialfsm.exceptions.InvalidSettings` (``call="send_dtmf"``)
    for the first rule broken, in the order the module docstring lists.
    """
    call = _SEND_DTMF
    settings = _settings_mapping(raw, DtmfSettings, _DTMF_FIELDS, call)
    session_id = _required_str(settings, "sessionId", call)
    tones = _required_str(settings, "tones", call, limit=20)
    for index, tone in enumerate(tones):
        if tone not in DTMF_TONES:
            raise _fail(
                call,
                "tones",
                f"character {index} ({tone!r}) of {_show(tones)} is not a valid DTMF tone (use 0-9, A-D, * or #)",
            )
    method = _opt_str(settings, "method", call)
    if method is not None and method not in DTMF_METHODS:
        raise _fail(call, "method", f"must be one of {', '.join(DTMF_METHODS)}, got {_show(method)}")
    duration = _opt_int(settings, "digitDurationMs", call, "digitDurationMs")
    if duration is not None and not 50 <= duration <= 2000:
        raise _fail(call, "digitDurationMs", f"must be between 50 and 2000 milliseconds, got {_show(duration)}")
    return DtmfSettings(session_id=session_id, tones=tones, method=method, digit_duration_ms=duration)


def parse_sip_call_transfer_settings(raw: object) -> SipCallTransferSettings:
    """Validate ``sip_call_transfer`` options (Daily's camelCase mapping or a :class:`SipCallTransferSettings`).

    Raises :class:`~dialfsm.exceptions.InvalidSettings` (``call="sip_call_transfer"``)
    for the first rule broken, in the order the module docstring lists.
    """
    call = _SIP_CALL_TRANSFER
    settings = _settings_mapping(raw, SipCallTransferSettings, _TRANSFER_FIELDS, call)
    session_id = _required_str(settings, "sessionId", call)
    to_end_point = _required_str(settings, "toEndPoint", call)
    if not to_end_point.startswith(("sip:", "+")):
        raise _fail(call, "toEndPoint", f"must start with 'sip:' or '+', got {_show(to_end_point)}")
    caller_id = _opt_str(settings, "callerId", call)
    if caller_id is not None and not to_end_point.startswith("+"):
        raise _fail(
            call,
            "callerId",
            f"is only valid when transferring to a phone number (toEndPoint starting '+'), got {_show(caller_id)}",
        )
    extension = _opt_str(settings, "extension", call)
    _max_len(extension, 20, call, "extension")
    wait = _wait_seconds(settings, call)
    return SipCallTransferSettings(
        session_id=session_id,
        to_end_point=to_end_point,
        caller_id=caller_id,
        extension=extension,
        wait_before_extension_dial_sec=wait,
    )


def parse_sip_refer_settings(raw: object) -> SipReferSettings:
    """Validate ``sip_refer`` options (Daily's camelCase mapping or a :class:`SipReferSettings`).

    Raises :class:`~dialfsm.exceptions.InvalidSettings` (``call="sip_refer"``)
    for the first rule broken, in the order the module docstring lists.
    """
    call = _SIP_REFER
    settings = _settings_mapping(raw, SipReferSettings, _REFER_FIELDS, call)
    session_id = _required_str(settings, "sessionId", call)
    to_end_point = _required_str(settings, "toEndPoint", call)
    if not to_end_point.startswith("sip:"):
        raise _fail(call, "toEndPoint", f"must be a SIP address starting with 'sip:', got {_show(to_end_point)}")
    return SipReferSettings(session_id=session_id, to_end_point=to_end_point)
