"""Daily webhook envelopes into a tracker."""

from __future__ import annotations

import json

import pytest

from dialfsm import CallTracker, DialinState, DialoutState, Disposition, Outcome
from dialfsm.webhooks import Webhook, WebhookError, handle_webhook, parse_webhook

SID = "5c7f0d2e-0000-4000-8000-000000000001"


def envelope(kind: str, **payload: object) -> dict[str, object]:
    return {"version": "1.0.0", "type": kind, "id": "wh-1", "payload": payload, "event_ts": 1708972279.961}


def test_a_dialout_from_webhooks() -> None:
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})  # REST dial-out placed by the server
    tracker.start_completed(session, session_id=SID)
    base = {"domain_id": "d", "room": "r", "timestamp": 1708972279, "session_id": SID}
    for kind in ("dialout.connected", "dialout.answered"):
        result = handle_webhook(tracker, json.dumps(envelope(kind, **base)).encode())
        assert result.tracked
        assert result.webhook is not None
        assert result.webhook.family == "dialout"
    handle_webhook(tracker, envelope("dialout.warning", destination="+1555", caller_id="x"))  # no id: binds nothing
    handle_webhook(tracker, json.dumps(envelope("dialout.stopped", **base)))
    assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.COMPLETED)


def test_a_dialin_from_webhooks_and_errors_with_error_msg() -> None:
    tracker = CallTracker()
    handle_webhook(tracker, envelope("dialin.ready", sip_endpoint="sip:room@sip.daily.co"))
    handle_webhook(tracker, envelope("dialin.connected", session_id=SID, sip_from="+1555", display_name="Ann"))
    handle_webhook(tracker, envelope("participant.joined", session_id=SID, user_name="+1555", room="r"))
    handle_webhook(tracker, envelope("dialin.error", session_id=SID, error_msg="SDP negotiation failed"))
    session = tracker[SID]
    assert session.states[-2:] == (DialinState.JOINED, DialinState.ERROR)
    assert session.error == "SDP negotiation failed"
    assert tracker.dialin_endpoints == ("sip:room@sip.daily.co",)


@pytest.mark.parametrize(
    "kind", ["calltransfer.triggered", "calltransfer.initiated", "calltransfer.answered", "recording.started"]
)
def test_types_dialfsm_does_not_model_are_journaled_not_fed(kind: str) -> None:
    """calltransfer.* and other families are journaled (JOURNALED), change nothing, and are no anomaly."""
    tracker = CallTracker()
    result = handle_webhook(tracker, envelope(kind, session_id=SID, to_endpoint="+1555", is_sip_refer=False))
    assert result.webhook is not None
    assert result.webhook.type == kind
    assert result.entry is not None
    assert result.entry.disposition is Disposition.JOURNALED
    assert result.entry.name == kind
    assert not result.tracked
    assert tracker.inputs_read == 1
    assert list(tracker) == []
    assert tracker.anomalies == ()


def test_an_unknown_telephony_type_is_an_unknown_event_anomaly() -> None:
    tracker = CallTracker()
    result = handle_webhook(tracker, envelope("dialout.ringing", session_id=SID))
    assert result.entry is not None
    assert result.entry.code == "UNKNOWN_EVENT"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        "not json",
        "[1, 2]",
        json.dumps({"payload": {}}),
        json.dumps({"type": "", "payload": {}}),
        json.dumps({"type": "dialout.answered", "payload": "x"}),
        json.dumps({"type": "x" * 100, "payload": {}}),
        b"{" * 100_000,
        b" " * (2 << 20),
    ],
)
def test_malformed_envelopes_are_anomalies(body: bytes | str) -> None:
    tracker = CallTracker()
    result = handle_webhook(tracker, body, t=1.5)
    assert result.webhook is None
    assert result.entry is not None
    assert (result.entry.code, result.entry.name, result.entry.t) == ("MALFORMED_INPUT", "webhook", 1.5)
    with pytest.raises(WebhookError):
        parse_webhook(body)


def test_a_malformed_payload_inside_a_good_envelope_is_the_trackers_anomaly() -> None:
    tracker = CallTracker()
    result = handle_webhook(tracker, envelope("dialout.answered", session_id=5))
    assert result.entry is not None
    assert result.entry.code == "MALFORMED_INPUT"


def test_parse_webhook_fields() -> None:
    hook = parse_webhook(envelope("dialin.stopped", session_id=SID))
    assert hook == Webhook(
        type="dialin.stopped", payload={"session_id": SID}, id="wh-1", version="1.0.0", event_ts=1708972279.961
    )
    bare = parse_webhook({"type": "dialin.stopped", "payload": {}, "event_ts": True, "id": 3})
    assert (bare.id, bare.version, bare.event_ts) == (None, None, None)
