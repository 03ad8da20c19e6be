"""Values and call settings for the strategies: JSON-like values, ids, numbers, URIs, settings dicts."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs
from hypothesis import strategies as st

from dialfsm._settings import AUDIO_CODECS, DIALOUT_PROVIDERS, DTMF_METHODS, VIDEO_CODECS

__all__ = [
    "SESSION_IDS",
    "InvalidSettingsCase",
    "Record",
    "dialout_settings",
    "dtmf_settings",
    "invalid_dialout_settings",
    "invalid_dtmf_settings",
    "json_values",
    "sip_call_transfer_settings",
    "sip_refer_settings",
    "sip_uris",
]

Record = dict[str, Any]

# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------


def json_values(*, allow_nan: bool = False, max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values: ``None``, bools, ints, floats, strings, lists and string-keyed dicts.

    ``allow_nan=True`` adds NaN and the infinities (which Python's ``json`` writes
    but JSON does not allow).
    """
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=allow_nan, allow_infinity=allow_nan)
        | st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=max_leaves,
    )


_DIGITS = string.digits
#: Session ids: short strings of lower-case letters, digits and dashes.
SESSION_IDS = st.text(alphabet=string.ascii_lowercase + _DIGITS + "-", min_size=1, max_size=36)


def _phone() -> st.SearchStrategy[str]:
    return st.text(alphabet=_DIGITS, min_size=1, max_size=15).map(lambda digits: "+" + digits)


def sip_uris() -> st.SearchStrategy[str]:
    """SIP URIs (``sip:user@host``; one of the hosts has a port)."""
    user = st.text(alphabet=string.ascii_lowercase + _DIGITS + "+.", min_size=1, max_size=20)
    host = st.sampled_from(("example.com", "pbx.example.com", "sip.example.org:5061"))
    return st.tuples(user, host).map(lambda parts: f"sip:{parts[0]}@{parts[1]}")


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------


_PERMISSIONS: Final = st.dictionaries(
    st.sampled_from(("canReceive", "canSend", "hasPresence")), json_values(max_leaves=4), max_size=2
)
_VIDEO_SETTINGS: Final = st.fixed_dictionaries(
    {},
    optional={
        "width": st.integers(1, 1280),
        "height": st.integers(1, 720),
        "fps": st.integers(1, 30),
        "videoBitrate": st.integers(1, 1000),
    },
)
_CODECS: Final = st.fixed_dictionaries(
    {},
    optional={
        "audio": st.lists(st.sampled_from(AUDIO_CODECS), min_size=1, max_size=4),
        "video": st.lists(st.sampled_from(VIDEO_CODECS), min_size=1, max_size=2),
    },
)
_PHONE: Final = _phone()
_SIP_URI: Final = sip_uris()
_DISPLAY_NAMES: Final = st.text(max_size=60)
_USER_IDS: Final = st.text(max_size=36)
_VIDEO: Final = st.sampled_from((None, False, True))
_EXTENSIONS: Final = st.text(alphabet=_DIGITS + "#*", min_size=1, max_size=20)
_WAITS: Final = st.integers(0, 60) | st.floats(0, 60)
_PROVIDERS: Final = st.sampled_from(DIALOUT_PROVIDERS)


@st.composite
def _dialout_settings(draw: st.DrawFn, destination: Literal["sip", "phone"] | None) -> Record:
    sip = draw(st.booleans()) if destination is None else destination == "sip"
    settings: Record = {"sipUri": draw(_SIP_URI)} if sip else {"phoneNumber": draw(_PHONE)}
    if draw(st.booleans()):
        settings["displayName"] = draw(_DISPLAY_NAMES)
    if draw(st.booleans()):
        settings["userId"] = draw(_USER_IDS)
    video = draw(_VIDEO)
    if video is not None:
        settings["video"] = video
    if video and draw(st.booleans()):
        settings["videoSettings"] = draw(_VIDEO_SETTINGS)
    if draw(st.booleans()):
        settings["codecs"] = draw(_CODECS)
    if draw(st.booleans()):
        settings["extension"] = draw(_EXTENSIONS)
    if not sip:
        if draw(st.booleans()):
            settings["callerId"] = draw(_PHONE)
        if "extension" in settings and draw(st.booleans()):
            settings["waitBeforeExtensionDialSec"] = draw(_WAITS)
    elif draw(st.booleans()):
        settings["provider"] = draw(_PROVIDERS)
    if draw(st.booleans()):
        settings["permissions"] = draw(_PERMISSIONS)
    return settings


_DIALOUT_SETTINGS: Final = {d: _dialout_settings(d) for d in (None, "sip", "phone")}


def dialout_settings(destination: Literal["sip", "phone"] | None = None) -> st.SearchStrategy[Record]:
    """Valid ``start_dialout`` settings (Daily's camelCase dict) by daily-js's rules.

    Args:
        destination: ``"sip"`` for a ``sipUri``, ``"phone"`` for a ``phoneNumber``, ``None`` either.

    """
    return _DIALOUT_SETTINGS[destination]


@attrs.frozen(kw_only=True)
class InvalidSettingsCase:
    """Settings that break exactly one of daily-js's rules.

    Attributes:
        settings: The settings to pass (usually a dict; for the ``settings`` rule, not a mapping at all).
        valid: The valid settings they were made from (``settings`` with the one rule repaired).
        field: What :attr:`InvalidSettings.field <dialfsm.exceptions.CallRefused.field>` must name.
        rule: Which rule is broken, in words.

    """

    settings: Any
    valid: Record
    field: str
    rule: str


_DIALOUT_KEYS: Final = (
    "sipUri",
    "phoneNumber",
    "video",
    "videoSettings",
    "codecs",
    "callerId",
    "displayName",
    "userId",
    "extension",
    "waitBeforeExtensionDialSec",
    "permissions",
    "provider",
)
_VIDEO_LIMITS: Final = {"width": 1280, "height": 720, "fps": 30, "videoBitrate": 1000}
_Breaker = Callable[[st.DrawFn], InvalidSettingsCase]


def _without(settings: Record, *keys: str) -> Record:
    return {k: v for k, v in settings.items() if k not in keys}


def _case(valid: Record, bad: Any, field: str, rule: str) -> InvalidSettingsCase:
    return InvalidSettingsCase(settings=bad, valid=valid, field=field, rule=rule)


def _phone_base(draw: st.DrawFn) -> Record:
    return draw(dialout_settings("phone"))


def _sip_base(draw: st.DrawFn) -> Record:
    return draw(dialout_settings("sip"))


def _break_not_mapping(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = draw(dialout_settings())
    bad = draw(st.sampled_from((None, "+15555550100", 42, ["phoneNumber"])))
    return _case(valid, bad, "settings", "settings must be a mapping")


def _break_unknown_key(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = draw(dialout_settings())
    snake = st.sampled_from(("phone_number", "sip_uri", "display_name", "caller_id"))
    key = draw(snake | st.text(min_size=1, max_size=20).filter(lambda k: k not in _DIALOUT_KEYS))
    return _case(valid, {**valid, key: draw(json_values(max_leaves=2))}, key, "only Daily's keys are accepted")


def _break_no_destination(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(_phone_base(draw), "waitBeforeExtensionDialSec")
    return _case(valid, _without(valid, "phoneNumber"), "sipUri", "exactly one of sipUri and phoneNumber")


def _break_two_destinations(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(_phone_base(draw), "callerId")
    return _case(valid, {**valid, "sipUri": draw(sip_uris())}, "sipUri", "exactly one of sipUri and phoneNumber")


def _break_sip_scheme(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _sip_base(draw)
    uri = draw(st.text(max_size=30).filter(lambda u: not u.startswith("sip:")))
    return _case(valid, {**valid, "sipUri": uri}, "sipUri", "sipUri starts with sip:")


def _break_e164(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _phone_base(draw)
    number = draw(
        st.text(max_size=16).filter(
            lambda n: not (n.startswith("+") and len(n) > 1 and all(c in _DIGITS for c in n[1:]))
        )
    )
    return _case(valid, {**valid, "phoneNumber": number}, "phoneNumber", "phoneNumber is '+' and digits")


def _break_video_type(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(draw(dialout_settings()), "videoSettings")
    bad = {**valid, "video": draw(st.integers() | st.sampled_from(("true", "yes")))}
    return _case(valid, bad, "video", "video is a bool")


def _break_video_settings_need_video(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(draw(dialout_settings()), "videoSettings", "video")
    if draw(st.booleans()):
        valid["video"] = False
    return _case(valid, {**valid, "videoSettings": {"width": 640}}, "videoSettings", "videoSettings needs video: true")


def _break_video_limit(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = {**_without(draw(dialout_settings()), "videoSettings"), "video": True}
    key = draw(st.sampled_from(tuple(_VIDEO_LIMITS)))
    value = draw(st.integers(_VIDEO_LIMITS[key] + 1, 10**6) | st.integers(-1000, 0))
    bad = {**valid, "videoSettings": {key: value}}
    return _case(valid, bad, f"videoSettings.{key}", f"videoSettings.{key} in 1..{_VIDEO_LIMITS[key]}")


def _break_codec(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(draw(dialout_settings()), "codecs")
    which = draw(st.sampled_from(("audio", "video")))
    allowed = AUDIO_CODECS if which == "audio" else VIDEO_CODECS
    name = draw(st.sampled_from(("opus", "vp9", "AV1", "H265", "")) | st.text(max_size=6)).strip()
    if name in allowed:
        name = name.lower() + "?"
    return _case(valid, {**valid, "codecs": {which: [name]}}, f"codecs.{which}", f"codecs.{which} from {allowed}")


def _break_caller_id_with_sip(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _sip_base(draw)
    return _case(valid, {**valid, "callerId": draw(_phone())}, "callerId", "callerId only with phoneNumber")


def _break_display_name(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = draw(dialout_settings())
    name = draw(st.text(min_size=200, max_size=240))
    return _case(valid, {**valid, "displayName": name}, "displayName", "displayName shorter than 200")


def _break_user_id(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = draw(dialout_settings())
    return _case(valid, {**valid, "userId": draw(st.text(min_size=37, max_size=60))}, "userId", "userId <= 36")


def _break_extension(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = draw(dialout_settings())
    ext = draw(st.text(alphabet=_DIGITS, min_size=21, max_size=30))
    return _case(valid, {**valid, "extension": ext}, "extension", "extension <= 20")


def _break_wait_range(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = {**_phone_base(draw), "extension": "1234"}
    wait = draw(st.floats(60, 10**6, exclude_min=True) | st.integers(61, 10**6) | st.integers(-1000, -1))
    bad = {**valid, "waitBeforeExtensionDialSec": wait}
    return _case(valid, bad, "waitBeforeExtensionDialSec", "waitBeforeExtensionDialSec in 0..60")


def _break_wait_needs_extension(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(_phone_base(draw), "extension", "waitBeforeExtensionDialSec")
    bad = {**valid, "waitBeforeExtensionDialSec": draw(st.integers(0, 60))}
    return _case(valid, bad, "waitBeforeExtensionDialSec", "waitBeforeExtensionDialSec needs an extension")


def _break_provider(draw: st.DrawFn) -> InvalidSettingsCase:
    if draw(st.booleans()):
        valid = _sip_base(draw)
        name = draw(st.text(max_size=12).filter(lambda p: p not in DIALOUT_PROVIDERS))
        return _case(valid, {**valid, "provider": name}, "provider", "provider is daily or signalwire")
    valid = _phone_base(draw)
    bad = {**valid, "provider": draw(st.sampled_from(DIALOUT_PROVIDERS))}
    return _case(valid, bad, "provider", "provider only with sipUri")


def _break_permissions(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _without(draw(dialout_settings()), "permissions")
    bad_value = draw(st.sampled_from(([1, 2], "all", {"canReceive": float("nan")}, {"canSend": {1: True}})))
    return _case(valid, {**valid, "permissions": bad_value}, "permissions", "permissions is a JSON-able mapping")


_DIALOUT_BREAKERS: Final[tuple[_Breaker, ...]] = (
    _break_not_mapping,
    _break_unknown_key,
    _break_no_destination,
    _break_two_destinations,
    _break_sip_scheme,
    _break_e164,
    _break_video_type,
    _break_video_settings_need_video,
    _break_video_limit,
    _break_codec,
    _break_caller_id_with_sip,
    _break_display_name,
    _break_user_id,
    _break_extension,
    _break_wait_range,
    _break_wait_needs_extension,
    _break_provider,
    _break_permissions,
)


@st.composite
def invalid_dialout_settings(draw: st.DrawFn) -> InvalidSettingsCase:
    """``start_dialout`` settings breaking exactly one daily-js rule; ``.field`` names the field refused."""
    breaker = draw(st.sampled_from(_DIALOUT_BREAKERS))
    return breaker(draw)


_DTMF_TONES: Final = st.text(alphabet="0123456789ABCD*#", min_size=1, max_size=20)
_DTMF_METHODS: Final = st.sampled_from(DTMF_METHODS)
_DURATIONS: Final = st.integers(50, 2000)


@st.composite
def _dtmf_settings(draw: st.DrawFn) -> Record:
    settings: Record = {"sessionId": draw(SESSION_IDS), "tones": draw(_DTMF_TONES)}
    if draw(st.booleans()):
        settings["method"] = draw(_DTMF_METHODS)
    if draw(st.booleans()):
        settings["digitDurationMs"] = draw(_DURATIONS)
    return settings


_ANY_DTMF: Final = _dtmf_settings()


def _for_session(base: st.SearchStrategy[Record], session_id: str | None) -> st.SearchStrategy[Record]:
    return base if session_id is None else base.map(lambda settings: {**settings, "sessionId": session_id})


def dtmf_settings(session_id: str | None = None) -> st.SearchStrategy[Record]:
    """Valid ``send_dtmf`` settings for ``session_id`` (drawn when ``None``)."""
    return _for_session(_ANY_DTMF, session_id)


@st.composite
def invalid_dtmf_settings(draw: st.DrawFn) -> InvalidSettingsCase:
    """``send_dtmf`` settings breaking exactly one rule; ``.field`` names the field refused."""
    valid = draw(_ANY_DTMF)
    rule = draw(st.sampled_from(("sessionId", "tones-empty", "tones-long", "tones-char", "method", "duration")))
    if rule == "sessionId":
        return _case(valid, _without(valid, "sessionId"), "sessionId", "sessionId is required")
    if rule == "tones-empty":
        return _case(valid, {**valid, "tones": ""}, "tones", "tones must not be empty")
    if rule == "tones-long":
        tones = draw(st.text(alphabet="0123456789", min_size=21, max_size=30))
        return _case(valid, {**valid, "tones": tones}, "tones", "at most 20 tones")
    if rule == "tones-char":
        bad = draw(st.sampled_from("abcdEFxyz!?+ "))
        return _case(valid, {**valid, "tones": valid["tones"][:19] + bad}, "tones", "tones are 0-9 A-D * #")
    if rule == "method":
        method = draw(st.text(max_size=12).filter(lambda m: m not in DTMF_METHODS))
        return _case(valid, {**valid, "method": method}, "method", "method from DTMF_METHODS")
    duration = draw(st.integers(-100, 49) | st.integers(2001, 10**6))
    return _case(valid, {**valid, "digitDurationMs": duration}, "digitDurationMs", "digitDurationMs in 50..2000")


@st.composite
def _transfer_settings(draw: st.DrawFn) -> Record:
    phone = draw(st.booleans())
    settings: Record = {"sessionId": draw(SESSION_IDS), "toEndPoint": draw(_PHONE if phone else _SIP_URI)}
    if phone and draw(st.booleans()):
        settings["callerId"] = draw(_PHONE)
    if draw(st.booleans()):
        settings["extension"] = draw(_EXTENSIONS)
        if draw(st.booleans()):
            settings["waitBeforeExtensionDialSec"] = draw(st.integers(0, 60))
    return settings


_ANY_TRANSFER: Final = _transfer_settings()
_ANY_REFER: Final = st.fixed_dictionaries({"sessionId": SESSION_IDS, "toEndPoint": _SIP_URI})


def sip_call_transfer_settings(session_id: str | None = None) -> st.SearchStrategy[Record]:
    """Valid ``sip_call_transfer`` settings for ``session_id`` (drawn when ``None``)."""
    return _for_session(_ANY_TRANSFER, session_id)


def sip_refer_settings(session_id: str | None = None) -> st.SearchStrategy[Record]:
    """Valid ``sip_refer`` settings for ``session_id`` (drawn when ``None``)."""
    return _for_session(_ANY_REFER, session_id)
