"""Event names and payloads in every dialect Daily and its SDKs deliver."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import (
    EVENT_NAMES,
    AnomalyCode,
    DialinConnected,
    DialinError,
    DialinReady,
    DialoutAnswered,
    DialoutError,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    canonical_event_name,
)
from dialfsm._parse import ParseProblem, from_daily
from dialfsm._text import short_repr

SID = "ff1e7130-7752-4304-9cf4-08d2583a41dc"
NAMES = [
    "dialout-connected",
    "dialout-answered",
    "dialout-stopped",
    "dialout-error",
    "dialout-warning",
    "dialin-ready",
    "dialin-connected",
    "dialin-stopped",
    "dialin-error",
    "dialin-warning",
    "dtmf-event",
    "participant-joined",
    "participant-left",
    "left-meeting",
]


@pytest.mark.parametrize("name", NAMES)
def test_three_dialects_of_every_name(name: str) -> None:
    """daily-js, daily-python/pipecat and webhook spellings all map to the daily-js name."""
    snake = name.replace("-", "_")
    for alias in (name, f"on_{snake}", name.replace("-", ".", 1), snake, name.upper()):
        assert canonical_event_name(alias) == name


def test_every_name_has_a_parser() -> None:
    """Every alias resolves to an event dialfsm can parse."""
    assert set(EVENT_NAMES.values()) == set(NAMES)


def test_daily_js_payload_with_action() -> None:
    """A daily-js event object (camelCase, action, callClientId) parses."""
    event = from_daily(
        "dialout-answered",
        {"action": "dialout-answered", "callClientId": "c", "sessionId": SID, "sipCallId": "abc", "provider": "daily"},
    )
    assert event == DialoutAnswered(session_id=SID, sip_call_id="abc")


def test_daily_python_legacy_participant_id_and_message() -> None:
    """daily-python before 0.14 said participantId; its docs say message for errorMsg."""
    assert from_daily("on_dialout_error", {"participantId": SID, "message": "boom"}) == DialoutError(
        session_id=SID, error_msg="boom"
    )


def test_webhook_payload_snake_case_and_envelope() -> None:
    """Webhook payloads are snake_case; a whole envelope is unwrapped."""
    payload = {"session_id": SID, "sip_from": "sip:myuser@mysip.sip.twilio.com", "room": "r"}
    expected = DialinConnected(session_id=SID, sip_from="sip:myuser@mysip.sip.twilio.com", room="r")
    assert from_daily("dialin.connected", payload) == expected
    envelope = {"version": "1.0.0", "type": "dialin.connected", "id": "x", "payload": payload, "event_ts": 1.0}
    assert from_daily("dialin.connected", envelope) == expected
    assert from_daily("dialin.error", {"session_id": SID, "error_msg": "e", "type": "start-failed"}) == DialinError(
        session_id=SID, error_msg="e", type="start-failed"
    )


def test_dialin_ready_as_a_bare_string() -> None:
    """daily-python's on_dialin_ready passes the endpoint string itself."""
    assert from_daily("on_dialin_ready", "sip:a@b") == DialinReady(sip_endpoint="sip:a@b")


@pytest.mark.parametrize(
    "data",
    [
        {"participant": {"session_id": SID, "user_name": "x"}},  # daily-js
        {"id": SID, "info": {"isLocal": False}},  # daily-python
        {"session_id": SID, "room": "r"},  # webhook
    ],
)
def test_participant_shapes(data: object) -> None:
    """Participants arrive nested (daily-js), flat with id (daily-python) or as a webhook payload."""
    assert from_daily("participant-joined", data) == ParticipantJoined(participant_id=SID)


def test_dtmf_and_left_meeting() -> None:
    """dtmf-event keeps tone, method and volume; left-meeting ignores its payload."""
    assert from_daily("dtmf-event", {"tone": "5", "method": "sip-info", "volume": 3, "sessionId": SID}) == (
        DtmfReceived(session_id=SID, tone="5", method="sip-info", volume=3.0)
    )
    assert from_daily("on_left", None) == LeftMeeting()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dtmf-event", {"tone": "5" * 40}),
        ("dialin-ready", {"sipEndpoint": 3}),
        ("dialin-ready", 7),
    ],
)
def test_bad_payloads(name: str, data: object) -> None:
    """Wrong types raise ParseProblem with MALFORMED_INPUT."""
    with pytest.raises(ParseProblem) as info:
        from_daily(name, data)
    assert info.value.code is AnomalyCode.MALFORMED_INPUT


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dtmf-event", {"tone": "5", "volume": True, "method": 7}),
        ("dialout-stopped", {"sessionId": SID, "destination": 15550000001, "sipCallId": ["x"]}),
        ("dialout-error", {"sessionId": SID, "errorMsg": "486 Busy Here", "details": "not an object"}),
        ("dialout-error", {"sessionId": SID, "errorMsg": "x", "details": {"destination": float("nan")}}),
        ("dialout-connected", {"sessionId": SID, "userId": {"a": 1}, "callerId": "x" * 100_000}),
    ],
)
def test_a_bad_informative_field_is_left_out_and_the_event_stands(name: str, data: dict[str, object]) -> None:
    """Fields that only describe the call (volume, method, destination, details, ids of others) never sink an event."""
    event = from_daily(name, data)
    for field in ("volume", "method", "sip_call_id", "details", "info"):
        value = getattr(event, field, None)
        assert value is None or (isinstance(value, tuple) and all(v is None or isinstance(v, str) for v in value))


def test_short_repr_is_bounded() -> None:
    """short_repr never returns more than a bounded amount of text, even for huge values."""
    assert len(short_repr("x" * 10_000_000)) < 100
    assert len(short_repr(list(range(100_000)))) < 100
    assert len(short_repr({str(i): i for i in range(10)})) <= 63


@given(
    st.fixed_dictionaries(
        {"tone": st.one_of(st.sampled_from(["1", "#", "*", "", "12" * 20]), st.integers(), st.none())},
        optional={
            "sessionId": st.one_of(st.sampled_from(["s1", "", "x" * 3000]), st.integers(), st.none()),
            "method": st.one_of(st.sampled_from(["sip-info", "", "inband"]), st.integers()),
            "actionTraceId": st.just("t1"),
        },
    )
)
def test_the_dtmf_fast_path_reads_as_the_full_parser(payload: dict[str, object]) -> None:
    """A plain DTMF payload takes a fast path: the same event, or the same anomaly, as the full parser."""
    import types

    def outcome(data: object) -> object:
        try:
            return from_daily("dtmf-event", data)
        except ParseProblem as problem:
            return ("problem", problem.code, str(problem))

    assert outcome(payload) == outcome(types.MappingProxyType(payload))
