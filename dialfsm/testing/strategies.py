"""Hypothesis strategies for Daily's inputs, the bot's call settings, and whole event sequences.

Everything a tracker reads can be drawn here, as the replay-log records the
README's replay contract defines (``{"event": ..., "data": ...}``,
``{"call": ...}``, ``{"completion": ...}``), so any example can be fed with
:func:`dialfsm.testing.feed`, written out as JSON Lines, and replayed with
``dialfsm replay``.

* Events: :func:`typed_events`, and :func:`daily_events`,
  :func:`dialout_events`, :func:`dialin_events` rendered in a dialect
  (``daily-js``, ``daily-python``, ``webhook``; ``None`` draws one).
* Settings: :func:`dialout_settings`, :func:`dtmf_settings`,
  :func:`sip_call_transfer_settings`, :func:`sip_refer_settings` (valid by
  daily-js's rules) and :func:`invalid_dialout_settings`,
  :func:`invalid_dtmf_settings` (each breaking exactly one rule, with the
  field :class:`~dialfsm.exceptions.InvalidSettings` will name).
* Sequences: :func:`machine_sequences` (what Daily can really send, following
  the tables) and :func:`adversarial_sequences` (duplicates, drops,
  reorderings, unknown sessions, late events, malformed payloads).
* :func:`json_values`: arbitrary JSON-like values, for robustness tests.

Every strategy is built from Hypothesis primitives that shrink: a failing
sequence shrinks towards fewer steps, earlier choices (completions before
events, the first dialect) and fewer mutations.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs
from hypothesis import strategies as st

from dialfsm._inputs import (
    DailyEvent,
    DialinConnected,
    DialinError,
    DialinReady,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
)
from dialfsm._settings import AUDIO_CODECS, DIALOUT_PROVIDERS, DTMF_METHODS, VIDEO_CODECS
from dialfsm._table import SessionKind
from dialfsm._tracker import CallTracker
from dialfsm.testing._render import DIALECTS, Dialect, render_event
from dialfsm.testing._room import COMPLETION_ERRORS, EVENT_ERRORS, Room

__all__ = [
    "MUTATIONS",
    "InvalidSettingsCase",
    "adversarial_sequences",
    "daily_events",
    "dialin_events",
    "dialout_events",
    "dialout_settings",
    "dtmf_settings",
    "invalid_dialout_settings",
    "invalid_dtmf_settings",
    "json_values",
    "machine_sequences",
    "sip_call_transfer_settings",
    "sip_refer_settings",
    "typed_events",
]

Record = dict[str, Any]
KindName = SessionKind | Literal["dialout", "dialin"] | None

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
_ids = st.text(alphabet=string.ascii_lowercase + _DIGITS + "-", min_size=1, max_size=36)
_texts = st.text(min_size=1, max_size=40)
_messages = st.sampled_from(EVENT_ERRORS) | _texts


def _phone() -> st.SearchStrategy[str]:
    return st.text(alphabet=_DIGITS, min_size=1, max_size=15).map(lambda digits: "+" + digits)


def _sip_uri() -> st.SearchStrategy[str]:
    user = st.text(alphabet=string.ascii_lowercase + _DIGITS + "+.", min_size=1, max_size=20)
    host = st.sampled_from(("example.com", "pbx.example.com", "sip.example.org:5061"))
    return st.tuples(user, host).map(lambda parts: f"sip:{parts[0]}@{parts[1]}")


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


def typed_events(kind: KindName = None, *, session_ids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[DailyEvent]:
    """Typed Daily events: ``kind="dialout"`` the ``dialout-*`` ones, ``"dialin"`` the ``dialin-*`` ones,
    ``None`` every event (room-level ones, DTMF and participants included).
    """  # noqa: D205
    if session_ids is None:
        cached = _TYPED_EVENTS.get(kind)
        if cached is None:
            cached = _TYPED_EVENTS[kind] = _typed_events(kind, _ids)
        return cached
    return _typed_events(kind, session_ids)


_TYPED_EVENTS: dict[KindName, st.SearchStrategy[DailyEvent]] = {}


def _typed_events(kind: KindName, sid: st.SearchStrategy[str]) -> st.SearchStrategy[DailyEvent]:
    opt_id = st.none() | _ids
    dialout: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialoutConnected, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutAnswered, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutStopped, session_id=sid, sip_call_id=opt_id),
        st.builds(DialoutError, session_id=st.none() | sid, error_msg=st.none() | _messages),
        st.builds(DialoutWarning, session_id=st.none() | sid, error_msg=st.none() | _messages),
    ]
    dialin: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialinConnected, session_id=sid, sip_from=st.none() | _sip_uri(), sip_call_id=opt_id),
        st.builds(DialinStopped, session_id=sid, sip_call_id=opt_id),
        st.builds(
            DialinError,
            session_id=sid,
            error_msg=st.none() | _messages,
            type=st.none() | st.just("start-failed"),
        ),
        st.builds(DialinWarning, session_id=sid, error_msg=st.none() | _messages),
    ]
    room: list[st.SearchStrategy[DailyEvent]] = [
        st.builds(DialinReady, sip_endpoint=_sip_uri()),
        st.builds(
            DtmfReceived,
            session_id=st.none() | sid,
            tone=st.text(alphabet="0123456789*#ABCD", min_size=1, max_size=4),
            method=st.none() | st.sampled_from(("sip-info", "telephone-event")),
            volume=st.none() | st.floats(min_value=0, max_value=100),
        ),
        st.builds(ParticipantJoined, participant_id=sid),
        st.builds(ParticipantLeft, participant_id=sid),
        st.just(LeftMeeting()),
    ]
    chosen = {"dialout": dialout, "dialin": dialin, None: dialout + dialin + room}[
        None if kind is None else SessionKind(kind).value
    ]
    return st.one_of(chosen)


def _rendered(events: st.SearchStrategy[DailyEvent], dialect: Dialect | None) -> st.SearchStrategy[Record]:
    dialects = st.sampled_from(DIALECTS) if dialect is None else st.just(dialect)
    return st.builds(
        lambda event, chosen, variant: render_event(event, chosen, variant=variant),
        events,
        dialects,
        st.integers(0, 1),
    )


def daily_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """Any valid Daily event, as a record ``{"event": name, "data": payload}`` in ``dialect`` (``None``: any)."""
    return _rendered(typed_events(session_ids=session_ids), dialect)


def dialout_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """A valid ``dialout-*`` event record in ``dialect`` (``None``: any)."""
    return _rendered(typed_events("dialout", session_ids=session_ids), dialect)


def dialin_events(
    dialect: Dialect | None = None, *, session_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Record]:
    """A valid ``dialin-*`` event record in ``dialect`` (``None``: any)."""
    return _rendered(typed_events("dialin", session_ids=session_ids), dialect)


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
_SIP_URI: Final = _sip_uri()
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
    return _case(valid, {**valid, "sipUri": draw(_sip_uri())}, "sipUri", "exactly one of sipUri and phoneNumber")


def _break_sip_scheme(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _sip_base(draw)
    uri = draw(st.text(max_size=30).filter(lambda u: not u.startswith("sip:")))
    return _case(valid, {**valid, "sipUri": uri}, "sipUri", "sipUri starts with sip:")


def _break_e164(draw: st.DrawFn) -> InvalidSettingsCase:
    valid = _phone_base(draw)
    number = draw(
        st.text(max_size=16).filter(lambda n: not (n.startswith("+") and len(n) > 1 and all(c in _DIGITS for c in n[1:])))
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
    settings: Record = {"sessionId": draw(_ids), "tones": draw(_DTMF_TONES)}
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
    settings: Record = {"sessionId": draw(_ids), "toEndPoint": draw(_PHONE if phone else _SIP_URI)}
    if phone and draw(st.booleans()):
        settings["callerId"] = draw(_PHONE)
    if draw(st.booleans()):
        settings["extension"] = draw(_EXTENSIONS)
        if draw(st.booleans()):
            settings["waitBeforeExtensionDialSec"] = draw(st.integers(0, 60))
    return settings


_ANY_TRANSFER: Final = _transfer_settings()
_ANY_REFER: Final = st.fixed_dictionaries({"sessionId": _ids, "toEndPoint": _SIP_URI})


def sip_call_transfer_settings(session_id: str | None = None) -> st.SearchStrategy[Record]:
    """Valid ``sip_call_transfer`` settings for ``session_id`` (drawn when ``None``)."""
    return _for_session(_ANY_TRANSFER, session_id)


def sip_refer_settings(session_id: str | None = None) -> st.SearchStrategy[Record]:
    """Valid ``sip_refer`` settings for ``session_id`` (drawn when ``None``)."""
    return _for_session(_ANY_REFER, session_id)


# --------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------


def _kinds(kind: KindName) -> tuple[SessionKind, ...]:
    return tuple(SessionKind) if kind is None else (SessionKind(kind),)


@st.composite
def machine_sequences(
    draw: st.DrawFn,
    kind: KindName = None,
    *,
    max_steps: int = 30,
    max_sessions: int = 2,
    dialect: Dialect | None = None,
) -> list[Record]:
    """Input sequences that follow the tables: what Daily (and a well-behaved bot) can really send.

    The sequence is built step by step against a scratch tracker: at each step
    one of the inputs the current states accept (a transition or a recorded
    row, never an anomaly or a refusal) is drawn, including Daily's documented
    surprises: events before the completion of the call that caused them,
    ``dialout-error`` without a session id, ``dialout-connected`` skipped,
    ``dialin-ready`` once per endpoint, a DTMF event without a session id when
    one call is live.  Replayed through a fresh ``CallTracker()``, such a
    sequence yields no anomaly and no refusal.

    Args:
        draw: Supplied by Hypothesis.
        kind: ``"dialout"`` or ``"dialin"`` for sessions of one kind; ``None`` both.
        max_steps: At most this many records.
        max_sessions: At most this many sessions of each kind.
        dialect: Render every event in this dialect; ``None`` draws one per event.

    """
    room = Room(CallTracker(), kinds=_kinds(kind), max_sessions=max_sessions, dialect=dialect)
    for _ in range(draw(st.integers(0, max_steps))):
        actions = room.actions(calls=True, new_dialouts=True)
        if not actions:
            break
        action = draw(st.sampled_from(actions))
        room.apply(action, room.render(action, draw))
    return room.records


#: The ways :func:`adversarial_sequences` can spoil a sequence.
MUTATIONS: Final = (
    "duplicate",
    "drop",
    "swap",
    "move",
    "unknown_session",
    "late",
    "malformed_payload",
    "unknown_event",
    "stray_completion",
    "not_a_record",
)
_COMPLETABLE: Final = ("start_dialout", "stop_dialout", "send_dtmf", "sip_call_transfer", "sip_refer")


_JUNK: Final = json_values(max_leaves=4)
_JUNK_NAMES: Final = st.text(max_size=20) | json_values(max_leaves=2)
_GHOSTS: dict[KindName, st.SearchStrategy[DailyEvent]] = {}


def _ghost_events(kind: KindName) -> st.SearchStrategy[DailyEvent]:
    """Events naming sessions no one knows (``ghost-0``...), never ``left-meeting``."""
    if kind not in _GHOSTS:
        ghosts = st.sampled_from(("ghost-0", "ghost-1", "ghost-2"))
        _GHOSTS[kind] = typed_events(kind, session_ids=ghosts).filter(lambda e: not isinstance(e, LeftMeeting))
    return _GHOSTS[kind]


@st.composite
def adversarial_sequences(
    draw: st.DrawFn,
    kind: KindName = None,
    *,
    max_steps: int = 30,
    max_mutations: int = 6,
    dialect: Dialect | None = None,
) -> list[Any]:
    """A :func:`machine_sequences` sequence spoiled by one or more of :data:`MUTATIONS`.

    Duplicates, drops, swaps of neighbours and moves (reorderings), events for
    sessions no one knows, events after the end of the call, known event names
    with junk payloads, unknown event names, completions of calls never made,
    and log lines that are not records at all.
    """
    records: list[Any] = list(draw(machine_sequences(kind, max_steps=max_steps, dialect=dialect)))
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 1 << 16), st.integers(0, 1 << 16)),
            min_size=1,
            max_size=max_mutations,
        )
    )
    for op, a, b in ops:
        n = len(records)
        if op == "duplicate" and n:
            records.insert(a % n + 1, records[a % n])
        elif op == "drop" and n:
            del records[a % n]
        elif op == "swap" and n >= 2:
            i = a % (n - 1)
            records[i], records[i + 1] = records[i + 1], records[i]
        elif op == "move" and n >= 2:
            records.insert(b % n, records.pop(a % n))
        elif op == "unknown_session":
            event = draw(_ghost_events(kind))
            chosen = dialect if dialect is not None else DIALECTS[b % 3]
            records.insert(a % (n + 1), render_event(event, chosen))
        elif op == "late":
            events = [r for r in records if isinstance(r, dict) and "event" in r]
            late = events[a % len(events)] if events else {"event": "dialout-stopped", "data": {"sessionId": "x"}}
            records.append(late)
        elif op == "malformed_payload":
            name = draw(st.sampled_from(("dialout-answered", "on_dialin_connected", "dtmf.event", "dialout-error")))
            records.insert(a % (n + 1), {"event": name, "data": draw(_JUNK)})
        elif op == "unknown_event":
            name = draw(_JUNK_NAMES)
            records.insert(a % (n + 1), {"event": name, "data": draw(_JUNK)})
        elif op == "stray_completion":
            completion = {
                "completion": _COMPLETABLE[b % len(_COMPLETABLE)],
                "session_id": draw(st.none() | _ids),
                "error": draw(st.none() | st.sampled_from(COMPLETION_ERRORS)),
            }
            records.insert(a % (n + 1), completion)
        elif op == "not_a_record":
            records.insert(a % (n + 1), draw(_JUNK))
    return records
