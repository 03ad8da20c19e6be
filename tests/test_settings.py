"""Tests for dialfsm._settings: daily-js 0.92.2's client-side rules for the bot's calls."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm._settings import (
    AUDIO_CODECS,
    DIALOUT_PROVIDERS,
    DTMF_METHODS,
    MAX_ID_LENGTH,
    MAX_PERMISSIONS_DEPTH,
    VIDEO_CODECS,
    Codecs,
    DialoutSettings,
    DtmfSettings,
    SipCallTransferSettings,
    SipReferSettings,
    VideoSettings,
    parse_dialout_settings,
    parse_dtmf_settings,
    parse_sip_call_transfer_settings,
    parse_sip_refer_settings,
)
from dialfsm.exceptions import InvalidSettings, RefusalCode

Parser = Callable[[object], object]

SID = "5c7f3a52-8d1e-4b5e-9f6a-0c2d4e6f8a1b"
SIP = {"sipUri": "sip:bob@example.com"}
PHONE = {"phoneNumber": "+12268077097"}
DTMF = {"sessionId": SID, "tones": "1234#"}
TRANSFER = {"sessionId": SID, "toEndPoint": "+15551234567"}
REFER = {"sessionId": SID, "toEndPoint": "sip:desk@pbx.example.com"}
HUGE = "9" * 10_000_000

#: (parser, call name, a minimal valid mapping)
PARSERS: list[tuple[Parser, str, dict[str, Any]]] = [
    (parse_dialout_settings, "start_dialout", SIP),
    (parse_dtmf_settings, "send_dtmf", DTMF),
    (parse_sip_call_transfer_settings, "sip_call_transfer", TRANSFER),
    (parse_sip_refer_settings, "sip_refer", REFER),
]
PARSER_IDS = [call for _, call, _ in PARSERS]


def refusal(parse: Parser, raw: object) -> InvalidSettings:
    """Parse ``raw``, expect InvalidSettings with the INVALID_SETTINGS code, and return it."""
    with pytest.raises(InvalidSettings) as info:
        parse(raw)
    assert info.value.code == RefusalCode.INVALID_SETTINGS
    return info.value


def dialout_field(raw: Mapping[str, Any]) -> str | None:
    """The field named by refusing ``raw`` as dial-out settings."""
    return refusal(parse_dialout_settings, raw).field


# ---------------------------------------------------------------------------
# Shape of the settings, common to every call
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("parse", "call", "valid"), PARSERS, ids=PARSER_IDS)
def test_minimal_valid_mapping_parses(parse: Parser, call: str, valid: dict[str, Any]) -> None:
    """The smallest valid mapping for each call is accepted and round-trips through to_daily()."""
    parsed = parse(valid)
    assert parsed.to_daily() == valid  # type: ignore[attr-defined]


@pytest.mark.parametrize(("parse", "call", "valid"), PARSERS, ids=PARSER_IDS)
@pytest.mark.parametrize("raw", [None, "sip:bob@example.com", 5, [("sessionId", SID)], b"{}"])
def test_settings_that_are_not_a_mapping_are_refused(parse: Parser, call: str, valid: object, raw: object) -> None:
    """Anything but a mapping or the settings class is refused as field ``settings``, with the call's name."""
    exc = refusal(parse, raw)
    assert exc.field == "settings"
    assert exc.call == call


@pytest.mark.parametrize(("parse", "call", "valid"), PARSERS, ids=PARSER_IDS)
def test_another_calls_settings_class_is_refused(parse: Parser, call: str, valid: object) -> None:
    """An instance of a different call's settings class is refused as field ``settings``."""
    other: object = SipReferSettings(session_id=SID, to_end_point="sip:x")
    if call == "sip_refer":
        other = DtmfSettings(session_id=SID, tones="1")
    assert refusal(parse, other).field == "settings"


@pytest.mark.parametrize(("parse", "call", "valid"), PARSERS, ids=PARSER_IDS)
def test_unknown_key_is_refused_and_named(parse: Parser, call: str, valid: dict[str, Any]) -> None:
    """An unknown key is the refused field, and the message lists the accepted keys."""
    exc = refusal(parse, {**valid, "action": "dialout-start"})
    assert exc.field == "action"
    assert "accepted keys are" in exc.message
    assert exc.call == call


def test_snake_case_key_is_refused_with_a_camel_case_hint() -> None:
    """A snake_case spelling of a Daily key is refused, and the message names the camelCase key."""
    exc = refusal(parse_dtmf_settings, {"session_id": SID, "tones": "1"})
    assert exc.field == "session_id"
    assert "'sessionId'" in exc.message


def test_non_string_key_is_refused_as_unknown() -> None:
    """A non-string key is refused as unknown; the field is its repr."""
    raw: dict[object, object] = {"sipUri": SIP["sipUri"], 1: "x"}
    assert refusal(parse_dialout_settings, raw).field == "1"


def test_unknown_key_is_reported_before_any_other_rule() -> None:
    """Unknown keys are checked before the destination rules."""
    assert dialout_field({"foo": 1}) == "foo"


def test_none_values_count_as_absent() -> None:
    """A key whose value is None is treated like a missing key and left out of to_daily()."""
    parsed = parse_dialout_settings({**PHONE, "sipUri": None, "userId": None})
    assert parsed == DialoutSettings(phone_number=PHONE["phoneNumber"])
    assert parsed.to_daily() == PHONE


def test_message_shows_a_truncated_repr_of_the_bad_value() -> None:
    """The message quotes the bad value, cut to about 40 characters."""
    exc = refusal(parse_dialout_settings, {**SIP, "userId": "u" * 1000})
    assert "u" * 10 in exc.message
    assert len(exc.message) < 200
    assert str(exc).startswith("INVALID_SETTINGS: userId: ")


def test_message_describes_a_huge_int_without_formatting_it() -> None:
    """A huge int in a bad field is described by size (str() of it would be refused by Python)."""
    exc = refusal(parse_dtmf_settings, {**DTMF, "digitDurationMs": 10**5000})
    assert exc.field == "digitDurationMs"
    assert "bits" in exc.message


# ---------------------------------------------------------------------------
# start_dialout: destination
# ---------------------------------------------------------------------------


def test_dialout_without_destination_is_refused_as_sip_uri() -> None:
    """Neither sipUri nor phoneNumber: field ``sipUri``."""
    exc = refusal(parse_dialout_settings, {"displayName": "x"})
    assert exc.field == "sipUri"
    assert "neither" in exc.message


def test_dialout_with_both_destinations_is_refused_as_sip_uri() -> None:
    """Both sipUri and phoneNumber: field ``sipUri``."""
    exc = refusal(parse_dialout_settings, {**SIP, **PHONE})
    assert exc.field == "sipUri"
    assert "both" in exc.message


def test_empty_string_destination_still_counts_as_given() -> None:
    """Unlike daily-js's truthiness test, an empty sipUri counts as given (so two destinations)."""
    assert dialout_field({"sipUri": "", **PHONE}) == "sipUri"


@pytest.mark.parametrize("key", ["sipUri", "phoneNumber"])
@pytest.mark.parametrize("value", [5, True, ["sip:x"], {"uri": "sip:x"}])
def test_destination_must_be_a_string(key: str, value: object) -> None:
    """A non-string sipUri or phoneNumber is refused as that field."""
    assert dialout_field({key: value}) == key


@pytest.mark.parametrize("uri", ["bob@example.com", "SIP:bob@example.com", "sips:bob@example.com", "", " sip:x"])
def test_sip_uri_must_start_with_sip_colon(uri: str) -> None:
    """``sipUri`` must start with exactly ``sip:``."""
    assert dialout_field({"sipUri": uri}) == "sipUri"


@pytest.mark.parametrize(
    "number",
    ["12268077097", "+", "+1 226", "+1-226", "++1", "+1\n", "+١٢٣", "+１２３", "+12a", ""],
)
def test_phone_number_must_be_plus_and_ascii_digits(number: str) -> None:
    """``phoneNumber`` must be ``+`` then ASCII digits only (no spaces, no other scripts' digits)."""
    assert dialout_field({"phoneNumber": number}) == "phoneNumber"


@pytest.mark.parametrize("number", ["+1", "+12268077097", "+" + "9" * 30])
def test_phone_number_accepts_plus_and_digits(number: str) -> None:
    """Any ``+`` and one or more ASCII digits is accepted (daily-js sets no length)."""
    assert parse_dialout_settings({"phoneNumber": number}).phone_number == number


@pytest.mark.parametrize(("key", "prefix"), [("sipUri", "sip:"), ("phoneNumber", "+")])
def test_destination_length_cap_boundary(key: str, prefix: str) -> None:
    """A destination of MAX_ID_LENGTH characters is accepted, one more is refused."""
    fits = prefix + "9" * (MAX_ID_LENGTH - len(prefix))
    assert parse_dialout_settings({key: fits}).destination == fits
    exc = refusal(parse_dialout_settings, {key: fits + "9"})
    assert exc.field == key
    assert f"at most {MAX_ID_LENGTH}" in exc.message


@pytest.mark.parametrize(("key", "prefix"), [("sipUri", "sip:"), ("phoneNumber", "+")])
def test_huge_destination_is_refused_by_length(key: str, prefix: str) -> None:
    """A 10 MB destination is refused by its length, not run through the pattern."""
    exc = refusal(parse_dialout_settings, {key: prefix + HUGE})
    assert exc.field == key
    assert "at most" in exc.message


def test_destination_property_is_the_sip_uri_or_phone_number() -> None:
    """``destination`` is whichever of sipUri/phoneNumber was given."""
    assert parse_dialout_settings(SIP).destination == SIP["sipUri"]
    assert parse_dialout_settings(PHONE).destination == PHONE["phoneNumber"]
    assert DialoutSettings().destination is None


# ---------------------------------------------------------------------------
# start_dialout: video
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("video", [1, 0, "true", [True]])
def test_video_must_be_a_bool(video: object) -> None:
    """``video`` must be a bool (1 and "true" are refused)."""
    assert dialout_field({**SIP, "video": video}) == "video"


@pytest.mark.parametrize("video", [None, False])
def test_video_settings_require_video_true(video: object) -> None:
    """``videoSettings`` without ``video: true`` is refused as field ``videoSettings``."""
    raw = {**SIP, "video": video, "videoSettings": {"width": 640}}
    assert dialout_field(raw) == "videoSettings"


@pytest.mark.parametrize("value", [640, "1280x720", [1280, 720]])
def test_video_settings_must_be_a_mapping(value: object) -> None:
    """``videoSettings`` must be a mapping."""
    assert dialout_field({**SIP, "video": True, "videoSettings": value}) == "videoSettings"


def test_video_settings_unknown_key_is_refused_with_dotted_name() -> None:
    """An unknown key inside videoSettings is refused as ``videoSettings.<key>``."""
    raw = {**SIP, "video": True, "videoSettings": {"width": 640, "bitrate": 900}}
    assert dialout_field(raw) == "videoSettings.bitrate"


@pytest.mark.parametrize(("key", "limit"), [("width", 1280), ("height", 720), ("fps", 30), ("videoBitrate", 1000)])
def test_video_settings_upper_bounds(key: str, limit: int) -> None:
    """Each videoSettings number is accepted at daily-js's maximum and refused one above it."""
    ok = parse_dialout_settings({**SIP, "video": True, "videoSettings": {key: limit}})
    assert ok.video_settings is not None
    assert ok.video_settings.to_daily() == {key: limit}
    raw = {**SIP, "video": True, "videoSettings": {key: limit + 1}}
    assert dialout_field(raw) == f"videoSettings.{key}"


@pytest.mark.parametrize("key", ["width", "height", "fps", "videoBitrate"])
@pytest.mark.parametrize("value", [0, -1])
def test_video_settings_must_be_positive(key: str, value: int) -> None:
    """Each videoSettings number must be a positive integer."""
    raw = {**SIP, "video": True, "videoSettings": {key: value}}
    assert dialout_field(raw) == f"videoSettings.{key}"


@pytest.mark.parametrize("key", ["width", "height", "fps", "videoBitrate"])
@pytest.mark.parametrize("value", [True, 15.0, 15.5, "15", math.nan])
def test_video_settings_refuse_bools_floats_and_strings(key: str, value: object) -> None:
    """``True`` is not a valid width: videoSettings numbers must be ints and not bools."""
    raw = {**SIP, "video": True, "videoSettings": {key: value}}
    assert dialout_field(raw) == f"videoSettings.{key}"


def test_video_settings_apply_to_phone_dialouts_too() -> None:
    """Video options are checked whatever the destination (daily-js checks them for SIP only)."""
    raw = {**PHONE, "video": True, "videoSettings": {"fps": 31}}
    assert dialout_field(raw) == "videoSettings.fps"


def test_video_settings_instance_inside_a_mapping_is_accepted() -> None:
    """A VideoSettings instance may stand in for the videoSettings mapping."""
    parsed = parse_dialout_settings({**SIP, "video": True, "videoSettings": VideoSettings(fps=30)})
    assert parsed.video_settings == VideoSettings(fps=30)


# ---------------------------------------------------------------------------
# start_dialout: codecs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("codecs", [["OPUS"], "OPUS", 1])
def test_codecs_must_be_a_mapping(codecs: object) -> None:
    """``codecs`` must be a mapping with audio/video lists."""
    assert dialout_field({**SIP, "codecs": codecs}) == "codecs"


def test_codecs_unknown_key_is_refused_with_dotted_name() -> None:
    """Only ``audio`` and ``video`` are allowed inside codecs."""
    assert dialout_field({**SIP, "codecs": {"audio": ["OPUS"], "data": ["x"]}}) == "codecs.data"


@pytest.mark.parametrize("audio", ["OPUS", [], ["opus"], ["G729"], ["OPUS", "AAC"], [1], [None], ["OPUS "]], ids=repr)
def test_audio_codecs_must_be_a_non_empty_list_of_known_names(audio: object) -> None:
    """codecs.audio: a non-empty list of OPUS/PCMU/PCMA/G722, exact upper case."""
    assert dialout_field({**SIP, "codecs": {"audio": audio}}) == "codecs.audio"


@pytest.mark.parametrize("video", ["H264", [], ["h264"], ["VP9"], ["AV1"], ["H264", 7]], ids=repr)
def test_video_codecs_must_be_a_non_empty_list_of_known_names(video: object) -> None:
    """codecs.video: a non-empty list of H264/VP8, exact upper case."""
    assert dialout_field({**SIP, "codecs": {"video": video}}) == "codecs.video"


def test_every_known_codec_is_accepted_in_order() -> None:
    """All of daily-js's codec names are accepted and their order kept."""
    raw = {**SIP, "codecs": {"audio": list(reversed(AUDIO_CODECS)), "video": list(VIDEO_CODECS)}}
    parsed = parse_dialout_settings(raw)
    assert parsed.codecs == Codecs(audio=tuple(reversed(AUDIO_CODECS)), video=VIDEO_CODECS)
    assert parsed.to_daily() == raw


def test_codecs_accept_tuples_and_codecs_instances() -> None:
    """Codec lists may be tuples, and a Codecs instance may stand in for the mapping."""
    assert parse_dialout_settings({**SIP, "codecs": {"audio": ("PCMU",)}}).codecs == Codecs(audio=("PCMU",))
    assert parse_dialout_settings({**SIP, "codecs": Codecs(video=("VP8",))}).codecs == Codecs(video=("VP8",))


# ---------------------------------------------------------------------------
# start_dialout: strings
# ---------------------------------------------------------------------------


def test_caller_id_is_refused_with_sip_uri() -> None:
    """``callerId`` is for phone numbers only."""
    assert dialout_field({**SIP, "callerId": "+18005551000"}) == "callerId"


def test_caller_id_is_accepted_with_phone_number() -> None:
    """``callerId`` with a phoneNumber is accepted."""
    assert parse_dialout_settings({**PHONE, "callerId": "+18005551000"}).caller_id == "+18005551000"


@pytest.mark.parametrize("key", ["callerId", "displayName", "userId", "extension", "provider"])
@pytest.mark.parametrize("value", [5, True, ["x"], {"x": 1}])
def test_string_fields_must_be_strings(key: str, value: object) -> None:
    """Every string option refuses non-strings, naming the field."""
    assert dialout_field({**PHONE, key: value}) == key


def test_display_name_boundary_199_200() -> None:
    """``displayName`` must be shorter than 200: 199 is accepted, 200 refused."""
    assert parse_dialout_settings({**SIP, "displayName": "d" * 199}).display_name == "d" * 199
    assert dialout_field({**SIP, "displayName": "d" * 200}) == "displayName"


def test_user_id_boundary_36_37() -> None:
    """``userId`` may be 36 characters, not 37."""
    assert parse_dialout_settings({**SIP, "userId": "u" * 36}).user_id == "u" * 36
    assert dialout_field({**SIP, "userId": "u" * 37}) == "userId"


def test_extension_boundary_20_21() -> None:
    """``extension`` may be 20 characters, not 21."""
    assert parse_dialout_settings({**PHONE, "extension": "1" * 20}).extension == "1" * 20
    assert dialout_field({**PHONE, "extension": "1" * 21}) == "extension"


@pytest.mark.parametrize("key", ["displayName", "userId", "extension"])
def test_huge_bounded_strings_are_refused_by_length(key: str) -> None:
    """A 10 MB displayName/userId/extension is refused by length, cheaply."""
    assert dialout_field({**PHONE, key: HUGE}) == key


# ---------------------------------------------------------------------------
# start_dialout: waitBeforeExtensionDialSec
# ---------------------------------------------------------------------------

EXT = {**PHONE, "extension": "1234"}


@pytest.mark.parametrize("wait", [0, 0.0, 4, 59.999, 60, 60.0])
def test_wait_before_extension_accepts_0_to_60(wait: float) -> None:
    """``waitBeforeExtensionDialSec`` from 0 to 60 inclusive, int or float, is accepted."""
    assert parse_dialout_settings({**EXT, "waitBeforeExtensionDialSec": wait}).wait_before_extension_dial_sec == wait


@pytest.mark.parametrize("wait", [60.5, 61, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "4", [4]], ids=repr)
def test_wait_before_extension_refuses_out_of_range_and_non_numbers(wait: object) -> None:
    """Above 60, negative, NaN/inf, bools and non-numbers are refused."""
    assert dialout_field({**EXT, "waitBeforeExtensionDialSec": wait}) == "waitBeforeExtensionDialSec"


@pytest.mark.parametrize("extension", [None, ""])
def test_wait_before_extension_requires_an_extension(extension: str | None) -> None:
    """``waitBeforeExtensionDialSec`` without a (non-empty) extension is refused."""
    raw = {**PHONE, "extension": extension, "waitBeforeExtensionDialSec": 3}
    assert dialout_field(raw) == "waitBeforeExtensionDialSec"


def test_wait_before_extension_requires_a_phone_number() -> None:
    """``waitBeforeExtensionDialSec`` with a sipUri is refused ("requires a phoneNumber and extension")."""
    raw = {**SIP, "extension": "1234", "waitBeforeExtensionDialSec": 3}
    assert dialout_field(raw) == "waitBeforeExtensionDialSec"


def test_extension_alone_is_accepted_with_sip_uri() -> None:
    """An extension with a sipUri passes, as in daily-js (Daily ignores it)."""
    assert parse_dialout_settings({**SIP, "extension": "12"}).extension == "12"


# ---------------------------------------------------------------------------
# start_dialout: provider and permissions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", DIALOUT_PROVIDERS)
def test_known_providers_are_accepted_with_sip_uri(provider: str) -> None:
    """``provider`` ``daily`` or ``signalwire`` with a sipUri is accepted."""
    assert parse_dialout_settings({**SIP, "provider": provider}).provider == provider


@pytest.mark.parametrize("provider", ["twilio", "Daily", ""])
def test_unknown_provider_is_refused(provider: str) -> None:
    """Any other provider is refused."""
    assert dialout_field({**SIP, "provider": provider}) == "provider"


def test_provider_is_refused_with_phone_number() -> None:
    """``provider`` is valid only with a sipUri."""
    assert dialout_field({**PHONE, "provider": "daily"}) == "provider"


@pytest.mark.parametrize("permissions", [[], "canReceive", 1, True])
def test_permissions_must_be_a_mapping(permissions: object) -> None:
    """``permissions`` must be a mapping."""
    assert dialout_field({**SIP, "permissions": permissions}) == "permissions"


def nested(depth: int) -> dict[str, Any]:
    """A mapping ``depth`` levels deep."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "permissions",
    [
        {"canReceive": {1: True}},
        {"canReceive": {"base": {"video", "audio"}}},
        {"canReceive": [b"x"]},
        {"canReceive": {"base": math.nan}},
        {"x": [1, [2, [math.inf]]]},
        {"x": object()},
        nested(MAX_PERMISSIONS_DEPTH + 5),
    ],
    ids=["int-key", "set", "bytes", "nan", "inf", "object", "too-deep"],
)
def test_permissions_must_be_json_able(permissions: dict[str, Any]) -> None:
    """``permissions`` content must be JSON-able: str keys, JSON scalars, lists and mappings, bounded depth."""
    assert dialout_field({**SIP, "permissions": permissions}) == "permissions"


def test_cyclic_permissions_are_refused_not_looped_on() -> None:
    """A mapping that contains itself is refused as too deep."""
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert dialout_field({**SIP, "permissions": cyclic}) == "permissions"


def test_permissions_content_is_passed_through_as_an_immutable_copy() -> None:
    """``permissions`` are copied, frozen, hashable, and come back from to_daily() as plain dicts and lists."""
    original: dict[str, Any] = {"canReceive": {"base": False, "byUserId": {"agent": {"audio": True}}}, "x": [1, 2.5]}
    parsed = parse_dialout_settings({**SIP, "permissions": original})
    original["canReceive"]["base"] = True
    assert parsed.permissions is not None
    assert parsed.permissions["canReceive"]["base"] is False
    with pytest.raises(TypeError):
        parsed.permissions["x"] = 1  # type: ignore[index]
    hash(parsed)
    out = parsed.to_daily()["permissions"]
    assert out == {"canReceive": {"base": False, "byUserId": {"agent": {"audio": True}}}, "x": [1, 2.5]}
    assert type(out) is dict
    assert type(out["canReceive"]) is dict
    assert type(out["x"]) is list


def test_frozen_permissions_behave_as_a_read_only_mapping() -> None:
    """Stored permissions are a mapping with len, equality against plain mappings, and a readable repr."""
    permissions = parse_dialout_settings({**SIP, "permissions": {"a": 1, "b": [2]}}).permissions
    assert permissions is not None
    assert len(permissions) == 2
    assert permissions == {"a": 1, "b": (2,)}
    pairs: object = [("a", 1), ("b", (2,))]
    assert permissions != pairs
    assert "'a': 1" in repr(permissions)


def test_direct_construction_with_cyclic_permissions_does_not_raise() -> None:
    """Building DialoutSettings with self-containing permissions never raises; parsing it refuses them."""
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    settings = DialoutSettings(sip_uri="sip:x", permissions=cyclic)
    assert refusal(parse_dialout_settings, settings).field == "permissions"


def test_settings_pickle_round_trip() -> None:
    """Parsed settings (with frozen permissions) survive pickling."""
    parsed = parse_dialout_settings({**SIP, "permissions": {"canReceive": {"base": [1, {"a": None}]}}})
    assert pickle.loads(pickle.dumps(parsed)) == parsed


# ---------------------------------------------------------------------------
# start_dialout: check order, instances, to_daily
# ---------------------------------------------------------------------------


def test_first_failure_in_documented_order_is_reported() -> None:
    """With several bad fields, the earliest in the documented order is reported; fixing it reveals the next."""
    raw: dict[str, Any] = {
        "provider": "nope",
        "userId": "u" * 99,
        "displayName": "d" * 999,
        "callerId": 5,
        "codecs": {"audio": []},
        "video": "yes",
        "sipUri": "http://x",
    }
    fixes = [
        ("sipUri", "sipUri", "sip:x"),
        ("video", "video", True),
        ("codecs.audio", "codecs", {"audio": ["OPUS"]}),
        ("callerId", "callerId", None),
        ("displayName", "displayName", "d"),
        ("userId", "userId", "u"),
        ("provider", "provider", "daily"),
    ]
    for expected, key, fixed in fixes:
        assert dialout_field(raw) == expected
        raw[key] = fixed
    assert parse_dialout_settings(raw).provider == "daily"


def test_direct_construction_does_not_validate_but_parse_does() -> None:
    """Building an instance directly never raises; parsing it applies the same rules as a mapping."""
    bad = DialoutSettings(sip_uri="sip:x", user_id="u" * 100, video=True, video_settings=VideoSettings(width=True))
    exc = refusal(parse_dialout_settings, bad)
    assert exc.field == "videoSettings.width"
    exc = refusal(parse_dialout_settings, DialoutSettings(sip_uri="sip:x", user_id="u" * 100))
    assert exc.field == "userId"
    assert refusal(parse_dialout_settings, DialoutSettings()).field == "sipUri"
    assert refusal(parse_dtmf_settings, DtmfSettings(session_id=SID, tones="x")).field == "tones"
    assert refusal(parse_sip_refer_settings, SipReferSettings(session_id="", to_end_point="sip:x")).field == "sessionId"


def test_parsing_a_valid_instance_returns_an_equal_instance() -> None:
    """A valid instance parses to an equal instance; list codecs become tuples."""
    settings = DialoutSettings(
        phone_number="+15551234567",
        codecs=Codecs(audio=["PCMU", "PCMA"]),  # type: ignore[arg-type]
        extension="12",
        wait_before_extension_dial_sec=2.5,
        permissions={"canReceive": {"base": False}},
    )
    parsed = parse_dialout_settings(settings)
    assert parsed.codecs == Codecs(audio=("PCMU", "PCMA"))
    assert parsed.to_daily() == settings.to_daily()


def test_to_daily_gives_camel_case_keys_of_set_fields_only() -> None:
    """to_daily() uses Daily's camelCase names and only the fields that are set."""
    settings = DialoutSettings(
        phone_number="+1555",
        display_name="Jane",
        user_id="u1",
        caller_id="+1800",
        codecs=Codecs(audio=("PCMU",)),
        extension="4321",
        wait_before_extension_dial_sec=3,
    )
    assert settings.to_daily() == {
        "phoneNumber": "+1555",
        "displayName": "Jane",
        "userId": "u1",
        "callerId": "+1800",
        "codecs": {"audio": ["PCMU"]},
        "extension": "4321",
        "waitBeforeExtensionDialSec": 3,
    }
    assert SipCallTransferSettings(session_id=SID, to_end_point="+1", caller_id="+2").to_daily() == {
        "sessionId": SID,
        "toEndPoint": "+1",
        "callerId": "+2",
    }
    assert DtmfSettings(session_id=SID, tones="1", method="auto", digit_duration_ms=100).to_daily() == {
        "sessionId": SID,
        "tones": "1",
        "method": "auto",
        "digitDurationMs": 100,
    }


# ---------------------------------------------------------------------------
# The seed documents' examples
# ---------------------------------------------------------------------------

SEED_DIALOUTS: list[dict[str, Any]] = [
    # 000_8a86684d807b2873.txt (startDialOut reference), "Examples"
    {"sipUri": "sip:bob@example.com"},
    {
        "sipUri": "sip:boardroom@example.com",
        "video": True,
        "displayName": "Board Room",
        "codecs": {"video": ["H264"], "audio": ["OPUS"]},
        "videoSettings": {"width": 1280, "height": 720, "fps": 15, "videoBitrate": 900},
    },
    {
        "phoneNumber": "+12268077097",
        "displayName": "Support Line",
        "extension": "1234",
        "waitBeforeExtensionDialSec": 4,
    },
    # 004_1848b06d7a27fb1f.txt (dial-in and dial-out guide)
    {
        "sipUri": "sip:conference@pbx.example.com",
        "displayName": "Conference Bridge",
        "video": False,
        "codecs": {"audio": ["OPUS", "G722"]},
    },
    {
        "phoneNumber": "+15551234567",
        "displayName": "Jane Smith",
        "callerId": "+18005551000",
        "extension": "4321",
        "waitBeforeExtensionDialSec": 3,
    },
]

SEED_DTMF: list[dict[str, Any]] = [
    # 004_1848b06d7a27fb1f.txt, "Sending DTMF tones" and the full dial-out flow's pressKey()
    {"sessionId": SID, "tones": "1234#", "method": "auto", "digitDurationMs": 100},
    {"sessionId": SID, "tones": "5", "method": "auto"},
]


@pytest.mark.parametrize("raw", SEED_DIALOUTS)
def test_seed_start_dialout_examples_validate(raw: dict[str, Any]) -> None:
    """Every startDialOut example in Daily's docs validates and round-trips unchanged."""
    parsed = parse_dialout_settings(raw)
    assert parsed.to_daily() == raw


@pytest.mark.parametrize("raw", SEED_DTMF)
def test_seed_send_dtmf_examples_validate(raw: dict[str, Any]) -> None:
    """Every sendDTMF example in Daily's docs validates and round-trips unchanged."""
    assert parse_dtmf_settings(raw).to_daily() == raw


# ---------------------------------------------------------------------------
# send_dtmf
# ---------------------------------------------------------------------------


def dtmf_field(raw: Mapping[str, Any]) -> str | None:
    """The field named by refusing ``raw`` as DTMF settings."""
    return refusal(parse_dtmf_settings, raw).field


@pytest.mark.parametrize("key", ["sessionId", "tones"])
@pytest.mark.parametrize("value", ["<missing>", None, "", 5, ["1"]])
def test_dtmf_session_id_and_tones_are_required_non_empty_strings(key: str, value: object) -> None:
    """``sessionId`` and tones are mandatory non-empty strings."""
    raw: dict[str, object] = {k: v for k, v in DTMF.items() if k != key}
    if value != "<missing>":
        raw[key] = value
    assert dtmf_field(raw) == key


def test_dtmf_tones_boundary_20_21() -> None:
    """``tones`` may be 20 characters, not 21."""
    assert parse_dtmf_settings({**DTMF, "tones": "1" * 20}).tones == "1" * 20
    assert dtmf_field({**DTMF, "tones": "1" * 21}) == "tones"


def test_dtmf_huge_tones_are_refused_by_length() -> None:
    """10 MB of tones is refused by length before any character is checked."""
    exc = refusal(parse_dtmf_settings, {**DTMF, "tones": "!" * 10_000_000})
    assert exc.field == "tones"
    assert "at most 20" in exc.message


def test_dtmf_every_valid_tone_is_accepted() -> None:
    """All sixteen tones 0-9, A-D, *, # are accepted."""
    assert parse_dtmf_settings({**DTMF, "tones": "0123456789ABCD*#"}).tones == "0123456789ABCD*#"


@pytest.mark.parametrize(("tones", "bad"), [("12a", "'a'"), ("E", "'E'"), ("1 2", "' '"), ("1,2", "','"), ("٣", "'٣'")])
def test_dtmf_invalid_tone_is_refused_naming_the_character(tones: str, bad: str) -> None:
    """A character outside 0-9 A-D * # (lower case included) is refused and named."""
    exc = refusal(parse_dtmf_settings, {**DTMF, "tones": tones})
    assert exc.field == "tones"
    assert bad in exc.message


@pytest.mark.parametrize("method", DTMF_METHODS)
def test_dtmf_known_methods_are_accepted(method: str) -> None:
    """sip-info, telephone-event and auto are accepted."""
    assert parse_dtmf_settings({**DTMF, "method": method}).method == method


@pytest.mark.parametrize("method", ["AUTO", "inband", "", 1])
def test_dtmf_unknown_method_is_refused(method: object) -> None:
    """Any other method is refused."""
    assert dtmf_field({**DTMF, "method": method}) == "method"


@pytest.mark.parametrize("duration", [50, 500, 2000])
def test_dtmf_digit_duration_accepts_50_to_2000(duration: int) -> None:
    """``digitDurationMs`` 50..2000 inclusive is accepted."""
    assert parse_dtmf_settings({**DTMF, "digitDurationMs": duration}).digit_duration_ms == duration


@pytest.mark.parametrize("duration", [49, 2001, 0, -100, True, 100.0, 100.5, "100", math.nan], ids=repr)
def test_dtmf_digit_duration_refuses_out_of_range_bools_and_floats(duration: object) -> None:
    """``digitDurationMs`` below 50, above 2000, or not an int (bools and floats included) is refused."""
    assert dtmf_field({**DTMF, "digitDurationMs": duration}) == "digitDurationMs"


def test_huge_session_id_is_refused_by_length() -> None:
    """A 10 MB sessionId is refused by the length cap."""
    assert dtmf_field({**DTMF, "sessionId": HUGE}) == "sessionId"


# ---------------------------------------------------------------------------
# sip_call_transfer
# ---------------------------------------------------------------------------


def transfer_field(raw: Mapping[str, Any]) -> str | None:
    """The field named by refusing ``raw`` as SIP call transfer settings."""
    return refusal(parse_sip_call_transfer_settings, raw).field


@pytest.mark.parametrize("key", ["sessionId", "toEndPoint"])
@pytest.mark.parametrize("value", ["<missing>", None, "", 7])
def test_transfer_session_id_and_to_end_point_are_required_strings(key: str, value: object) -> None:
    """``sessionId`` and toEndPoint are mandatory strings."""
    raw: dict[str, object] = {k: v for k, v in TRANSFER.items() if k != key}
    if value != "<missing>":
        raw[key] = value
    assert transfer_field(raw) == key


@pytest.mark.parametrize("end_point", ["sip:agent@pbx.example.com", "+15551234567", "+"])
def test_transfer_to_end_point_starting_sip_or_plus_is_accepted(end_point: str) -> None:
    """``toEndPoint`` starting ``sip:`` or ``+`` is accepted."""
    parsed = parse_sip_call_transfer_settings({"sessionId": SID, "toEndPoint": end_point})
    assert parsed.to_end_point == end_point


@pytest.mark.parametrize("end_point", ["tel:+15551234567", "15551234567", "SIP:x", "sips:x"])
def test_transfer_to_end_point_must_start_sip_or_plus(end_point: str) -> None:
    """Any other toEndPoint is refused."""
    assert transfer_field({"sessionId": SID, "toEndPoint": end_point}) == "toEndPoint"


def test_transfer_caller_id_only_for_phone_destinations() -> None:
    """``callerId`` is refused for a sip: toEndPoint and accepted for a + one."""
    assert transfer_field({**REFER, "callerId": "+18005551000"}) == "callerId"
    assert parse_sip_call_transfer_settings({**TRANSFER, "callerId": "+1800"}).caller_id == "+1800"
    assert transfer_field({**TRANSFER, "callerId": 1800}) == "callerId"


def test_transfer_extension_boundary_20_21() -> None:
    """``extension`` may be 20 characters, not 21."""
    assert parse_sip_call_transfer_settings({**TRANSFER, "extension": "9" * 20}).extension == "9" * 20
    assert transfer_field({**TRANSFER, "extension": "9" * 21}) == "extension"


def test_transfer_wait_boundary_60_and_60_5() -> None:
    """``waitBeforeExtensionDialSec`` may be 60, not 60.5."""
    raw = {**TRANSFER, "extension": "12"}
    assert (
        parse_sip_call_transfer_settings({**raw, "waitBeforeExtensionDialSec": 60}).wait_before_extension_dial_sec == 60
    )
    assert transfer_field({**raw, "waitBeforeExtensionDialSec": 60.5}) == "waitBeforeExtensionDialSec"


@pytest.mark.parametrize("wait", [True, -1, math.nan, "3"], ids=repr)
def test_transfer_wait_refuses_bools_negatives_and_non_numbers(wait: object) -> None:
    """``waitBeforeExtensionDialSec`` must be a finite number from 0, not a bool."""
    assert transfer_field({**TRANSFER, "extension": "12", "waitBeforeExtensionDialSec": wait}) == (
        "waitBeforeExtensionDialSec"
    )


def test_transfer_wait_requires_an_extension() -> None:
    """``waitBeforeExtensionDialSec`` without an extension is refused."""
    assert transfer_field({**TRANSFER, "waitBeforeExtensionDialSec": 3}) == "waitBeforeExtensionDialSec"


def test_transfer_wait_is_allowed_with_a_sip_destination() -> None:
    """Unlike a dial-out, a transfer's extension and wait are accepted with a sip: toEndPoint."""
    parsed = parse_sip_call_transfer_settings({**REFER, "extension": "12", "waitBeforeExtensionDialSec": 1})
    assert parsed.wait_before_extension_dial_sec == 1


def test_transfer_huge_to_end_point_is_refused_by_length() -> None:
    """A 10 MB toEndPoint is refused by the length cap."""
    assert transfer_field({"sessionId": SID, "toEndPoint": "+" + HUGE}) == "toEndPoint"


# ---------------------------------------------------------------------------
# sip_refer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["sessionId", "toEndPoint"])
@pytest.mark.parametrize("value", ["<missing>", None, "", 7])
def test_refer_session_id_and_to_end_point_are_required_strings(key: str, value: object) -> None:
    """``sessionId`` and toEndPoint are mandatory strings."""
    raw: dict[str, object] = {k: v for k, v in REFER.items() if k != key}
    if value != "<missing>":
        raw[key] = value
    assert refusal(parse_sip_refer_settings, raw).field == key


@pytest.mark.parametrize("end_point", ["+15551234567", "tel:+1555", "sips:x", "SIP:x"])
def test_refer_to_end_point_must_start_sip(end_point: str) -> None:
    """sip_refer's toEndPoint must be a ``sip:`` address (a phone number is refused)."""
    assert refusal(parse_sip_refer_settings, {"sessionId": SID, "toEndPoint": end_point}).field == "toEndPoint"


def test_refer_refuses_transfer_only_keys() -> None:
    """sip_refer takes only sessionId and toEndPoint."""
    assert refusal(parse_sip_refer_settings, {**REFER, "callerId": "+1"}).field == "callerId"


# ---------------------------------------------------------------------------
# Hypothesis: round trips over valid settings
# ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
sip_uris = st.text(max_size=40).map(lambda rest: "sip:" + rest)
phone_numbers = st.from_regex(r"\+[0-9]{1,15}", fullmatch=True)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` or None."""
    return st.none() | strategy


def codec_tuples(names: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """Non-empty tuples of codec names."""
    return st.lists(st.sampled_from(names), min_size=1, max_size=4).map(tuple)


@st.composite
def valid_dialouts(draw: st.DrawFn) -> DialoutSettings:
    """Any dial-out settings daily-js would accept."""
    use_sip = draw(st.booleans())
    video = draw(optional(st.booleans()))
    video_settings = None
    if video:
        video_settings = draw(
            optional(
                st.builds(
                    VideoSettings,
                    width=optional(st.integers(1, 1280)),
                    height=optional(st.integers(1, 720)),
                    fps=optional(st.integers(1, 30)),
                    video_bitrate=optional(st.integers(1, 1000)),
                )
            )
        )
    extension = draw(optional(st.text(max_size=20)))
    wait = None
    if not use_sip and extension:
        wait = draw(optional(st.integers(0, 60) | st.floats(0, 60)))
    return DialoutSettings(
        sip_uri=draw(sip_uris) if use_sip else None,
        phone_number=None if use_sip else draw(phone_numbers),
        display_name=draw(optional(st.text(max_size=199))),
        user_id=draw(optional(st.text(max_size=36))),
        caller_id=None if use_sip else draw(optional(st.text(max_size=20))),
        video=video,
        video_settings=video_settings,
        codecs=draw(
            optional(
                st.builds(
                    Codecs, audio=optional(codec_tuples(AUDIO_CODECS)), video=optional(codec_tuples(VIDEO_CODECS))
                )
            )
        ),
        extension=extension,
        wait_before_extension_dial_sec=wait,
        provider=draw(optional(st.sampled_from(DIALOUT_PROVIDERS))) if use_sip else None,
        permissions=draw(optional(st.dictionaries(st.text(max_size=8), json_values, max_size=4))),
    )


valid_dtmf = st.builds(
    DtmfSettings,
    session_id=st.text(min_size=1, max_size=40),
    tones=st.text(alphabet="0123456789ABCD*#", min_size=1, max_size=20),
    method=optional(st.sampled_from(DTMF_METHODS)),
    digit_duration_ms=optional(st.integers(50, 2000)),
)


@st.composite
def valid_transfers(draw: st.DrawFn) -> SipCallTransferSettings:
    """Any SIP call transfer settings daily-js would accept."""
    to_end_point = draw(sip_uris | phone_numbers)
    extension = draw(optional(st.text(max_size=20)))
    return SipCallTransferSettings(
        session_id=draw(st.text(min_size=1, max_size=40)),
        to_end_point=to_end_point,
        caller_id=draw(optional(st.text(max_size=20))) if to_end_point.startswith("+") else None,
        extension=extension,
        wait_before_extension_dial_sec=draw(optional(st.integers(0, 60) | st.floats(0, 60))) if extension else None,
    )


valid_refers = st.builds(SipReferSettings, session_id=st.text(min_size=1, max_size=40), to_end_point=sip_uris)


def assert_round_trips(parse: Parser, settings: Any) -> None:
    """``parse`` accepts ``settings`` and its JSON-serialisable to_daily() dict, giving equal instances."""
    daily = settings.to_daily()
    assert parse(json.loads(json.dumps(daily))) == settings
    assert parse(daily) == settings
    assert parse(settings) == settings


@given(valid_dialouts())
def test_dialout_to_daily_round_trips(settings: DialoutSettings) -> None:
    """parse_dialout_settings(x.to_daily()) == x for any valid dial-out settings."""
    assert_round_trips(parse_dialout_settings, settings)


@given(valid_dtmf)
def test_dtmf_to_daily_round_trips(settings: DtmfSettings) -> None:
    """parse_dtmf_settings(x.to_daily()) == x for any valid DTMF settings."""
    assert_round_trips(parse_dtmf_settings, settings)


@given(valid_transfers())
def test_sip_call_transfer_to_daily_round_trips(settings: SipCallTransferSettings) -> None:
    """parse_sip_call_transfer_settings(x.to_daily()) == x for any valid transfer settings."""
    assert_round_trips(parse_sip_call_transfer_settings, settings)


@given(valid_refers)
def test_sip_refer_to_daily_round_trips(settings: SipReferSettings) -> None:
    """parse_sip_refer_settings(x.to_daily()) == x for any valid refer settings."""
    assert_round_trips(parse_sip_refer_settings, settings)


# ---------------------------------------------------------------------------
# Hypothesis: arbitrary input only ever parses or raises InvalidSettings
# ---------------------------------------------------------------------------

any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=25,
)

ALL_KEYS = sorted(
    {"sipUri", "phoneNumber", "displayName", "userId", "callerId", "video", "videoSettings", "codecs"}
    | {"extension", "waitBeforeExtensionDialSec", "provider", "permissions", "sessionId", "tones", "method"}
    | {"digitDurationMs", "toEndPoint", "width", "height", "fps", "videoBitrate", "audio"}
)
plausible_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["sip:x", "+1555", "OPUS", "H264", "12#", "auto", "daily", "", "1234", *ALL_KEYS])
)
plausible_values = st.recursive(
    plausible_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(ALL_KEYS), children, max_size=3),
    max_leaves=6,
)
settings_like = st.dictionaries(st.sampled_from(ALL_KEYS), plausible_values, max_size=6)

PARSE_FUNCTIONS = [parse for parse, _, _ in PARSERS]


def parses_or_refuses(parse: Parser, raw: object) -> None:
    """``parse(raw)`` returns settings or raises InvalidSettings, and nothing else."""
    refused: InvalidSettings | None = None
    result: object = None
    try:
        result = parse(raw)
    except InvalidSettings as exc:
        refused = exc
    if refused is not None:
        assert refused.code == RefusalCode.INVALID_SETTINGS
        assert refused.field
    else:
        assert parse(result) == result


@pytest.mark.parametrize("parse", PARSE_FUNCTIONS, ids=PARSER_IDS)
@given(raw=any_json)
def test_arbitrary_json_parses_or_raises_invalid_settings(parse: Parser, raw: object) -> None:
    """Any JSON-like value given to any parse_* function parses or raises InvalidSettings."""
    parses_or_refuses(parse, raw)


@pytest.mark.parametrize("parse", PARSE_FUNCTIONS, ids=PARSER_IDS)
@given(raw=settings_like)
def test_settings_shaped_junk_parses_or_raises_invalid_settings(parse: Parser, raw: dict[str, Any]) -> None:
    """Mappings using Daily's keys with arbitrary values parse or raise InvalidSettings."""
    parses_or_refuses(parse, raw)


@given(
    st.builds(
        DialoutSettings,
        sip_uri=plausible_values,
        phone_number=plausible_values,
        display_name=plausible_values,
        user_id=plausible_values,
        caller_id=plausible_values,
        video=plausible_values,
        video_settings=plausible_values,
        codecs=plausible_values,
        extension=plausible_values,
        wait_before_extension_dial_sec=plausible_values,
        provider=plausible_values,
        permissions=plausible_values,
    )
)
def test_junk_dialout_instances_parse_or_raise_invalid_settings(settings: DialoutSettings) -> None:
    """A DialoutSettings built directly with junk in every field parses or raises InvalidSettings."""
    parses_or_refuses(parse_dialout_settings, settings)


@given(
    key=st.sampled_from(["phoneNumber", "sipUri"]),
    value=st.one_of(
        st.from_regex(r"\+[0-9]{1,15}", fullmatch=True),
        st.from_regex(r"sip:[a-z0-9.]{0,12}@[a-z.]{1,12}", fullmatch=True),
        st.text(max_size=20),
        st.integers(),
        st.none(),
        st.just("+" + "1" * 3000),
        st.just("sip:" + "a" * 3000),
        st.just("+١٢٣٤٥"),
    ),
)
def test_the_one_destination_fast_path_parses_as_the_full_path(key: str, value: object) -> None:
    """``{"phoneNumber": ...}`` alone takes a fast path: the same settings, or the same refusal, as the full parse."""
    import types

    from dialfsm.exceptions import InvalidSettings

    def outcome(raw: object) -> object:
        try:
            return parse_dialout_settings(raw)
        except InvalidSettings as refusal:
            return ("refused", str(refusal))

    fast = outcome({key: value})
    full = outcome(types.MappingProxyType({key: value}))  # a Mapping, not a dict: the full parse
    assert fast == full
    if not isinstance(fast, tuple):
        assert hash(fast) == hash(full)
