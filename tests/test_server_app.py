"""The webhook endpoint, the reading API, auth, redaction and metrics, on the in-memory store."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from dialfsm.server import ConfigError, MemoryStore, ServerConfig, StoreOptions, create_app
from tests.server_support import SECRET, body_of, envelope, signed_headers

SID = "7d208e2a-520b-4a8d-a2c9-3a36dfa0d342"
ENV = {"DAILY_WEBHOOK_SECRET": SECRET}


def client_for(config: ServerConfig | None = None, env: Mapping[str, str] = ENV, **kwargs: Any) -> TestClient:
    store = MemoryStore((config or ServerConfig()).options)
    app = create_app(config or ServerConfig(), store=store, environ=env, **kwargs)
    return TestClient(app)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with client_for() as c:
        yield c


def post(client: TestClient, data: Mapping[str, Any], **headers: str) -> Any:
    body = body_of(data)
    return client.post("/webhook", content=body, headers={**signed_headers(body), **headers})


def store_of(client: TestClient) -> MemoryStore:
    store = client.app.state.server.store  # type: ignore[attr-defined]
    assert isinstance(store, MemoryStore)
    return store


def metric(client: TestClient, name: str, headers: Mapping[str, str] | None = None) -> float:
    text = client.get("/metrics", headers=headers or {}).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.M)
    return float(found.group(1)) if found else 0.0


def dialin(
    kind: str, sid: str = SID, room: str = "room-a", ident: str | None = None, **extra: object
) -> dict[str, Any]:
    now = str(int(time.time()))
    payload: dict[str, Any] = {"room": room, "session_id": sid, "domain_id": "d", "timestamp": now, **extra}
    return envelope(kind, ident=ident, **payload)


# --- the webhook endpoint ---------------------------------------------------------------


def test_daily_verification_request_is_answered_200_and_stores_nothing(client: TestClient) -> None:
    for headers in (
        {},
        signed_headers(b'{"test":"test"}'),
        {"X-Webhook-Signature": "bogus", "X-Webhook-Timestamp": "1"},
    ):
        response = client.post("/webhook", content=b'{"test":"test"}', headers=headers)
        assert (response.status_code, response.json()) == (200, {"status": "verified"})
    assert client.post("/webhook", content=b'{"test": "test"}').status_code == 200  # any JSON spacing
    assert client.post("/webhook", content=b'{"test":"test","room":"x"}').status_code == 401  # nothing else unsigned
    assert client.post("/webhook", content=b'{"test":"nope"}').status_code == 401
    assert client.get("/calls").json()["count"] == 0
    assert store_of(client)._rooms == {}
    assert metric(client, 'dialfsm_deliveries_total{result="verification"}') == 4


def test_a_dialin_fed_through_the_webhook_is_tracked_and_read_back(client: TestClient) -> None:
    post(client, dialin("dialin.connected", sip_from="+15551234567", display_name="Ann"))
    assert client.get("/calls").json()["calls"][0]["state"] == "connected"
    post(client, dialin("participant.joined"))
    response = post(client, dialin("dialin.stopped"))
    assert response.status_code == 200
    assert response.json() == {"status": "applied", "room": "room-a", "version": 3}
    (call,) = client.get("/calls").json()["calls"]
    assert (call["state"], call["outcome"], call["kind"], call["room"]) == ("stopped", "completed", "dialin", "room-a")
    assert call["states"] == ["idle", "connected", "joined", "stopped"]
    detail = client.get(f"/calls/{SID}").json()
    assert [j["name"] for j in detail["journal"]] == ["dialin-connected", "participant-joined", "dialin-stopped"]
    assert [j["steps"][0][2:] for j in detail["journal"]] == [
        ["idle", "connected"],
        ["connected", "joined"],
        ["joined", "stopped"],
    ]
    room = client.get("/rooms/room-a").json()
    assert room["version"] == 3
    assert [c["session_id"] for c in room["calls"]] == [SID]
    assert client.get("/calls/nobody").status_code == 404
    assert client.get("/rooms/nowhere").status_code == 404


def test_a_redelivery_changes_nothing(client: TestClient) -> None:
    first = dialin("dialin.connected", ident="evt-same")
    assert post(client, first).json()["status"] == "applied"
    again = dict(first, event_ts=first["event_ts"] + 30)  # a retry: same id, sent later
    assert post(client, again).json() == {"status": "duplicate", "room": "room-a", "version": 1}
    assert len(store_of(client)._rooms["room-a"].stream) == 1
    assert store_of(client)._rooms["room-a"].state.tracker.inputs_read == 1
    # the same id for another type, or another room, is another delivery
    assert post(client, dialin("participant.joined", ident="evt-same")).json()["status"] == "applied"
    assert post(client, dialin("dialin.connected", ident="evt-same", room="room-b")).json()["status"] == "applied"
    assert metric(client, 'dialfsm_deliveries_total{result="duplicate"}') == 1


def test_deliveries_without_an_id_are_deduplicated_by_their_content(client: TestClient) -> None:
    data = dialin("dialin.connected")
    del data["id"]
    assert post(client, data).json()["status"] == "applied"
    assert post(client, dict(data, event_ts=1.0)).json()["status"] == "duplicate"  # event_ts is not the event
    later = dialin("dialin.connected")
    later["payload"]["timestamp"] = str(int(time.time()) + 1)
    assert post(client, later | {"id": None}).json()["status"] == "applied"


def test_t_is_the_payloads_timestamp_or_else_the_receive_time() -> None:
    with client_for(clock=lambda: 1_800_000_000.5) as c:
        times = []
        for stamp in ("1728023426", 1728023427, 1728023428500, None, "soon"):
            data = dialin("dialin.warning", sid="x", error_msg="w")
            data["payload"]["timestamp"] = stamp
            body = body_of(data)
            c.post("/webhook", content=body, headers=signed_headers(body, at=1_800_000_000.5))
            times.append(store_of(c)._rooms["room-a"].stream[-1].record["t"])
    assert times == [1728023426.0, 1728023427.0, 1728023428.5, 1_800_000_000.5, 1_800_000_000.5]


def test_out_of_order_deliveries_are_what_the_tracker_says(client: TestClient) -> None:
    """A late event is journaled as late; an event before its call is an anomaly: order can change the outcome."""
    post(client, dialin("dialin.connected"))
    post(client, dialin("dialin.stopped"))
    post(client, dialin("participant.joined"))  # arrived after the call ended
    detail = client.get(f"/calls/{SID}").json()
    assert detail["call"]["outcome"] == "not_answered"  # never joined, as far as the order says
    assert detail["journal"][-1]["code"] == "LATE_EVENT"
    assert metric(client, 'dialfsm_anomalies_total{code="LATE_EVENT"}') == 1
    other = "0ddba11-0000"
    post(client, dialin("dialin.stopped", sid=other))  # before its dialin.connected
    post(client, dialin("dialin.connected", sid=other))
    assert client.get(f"/calls/{other}").json()["call"]["live"] is True
    assert metric(client, 'dialfsm_anomalies_total{code="UNKNOWN_SESSION"}') == 1


def test_dialouts_started_elsewhere_are_fed_to_the_tracker(client: TestClient) -> None:
    """A dial-out the server never saw start is adopted from its webhooks: one call, origin ``adopted``."""
    for kind in ("dialout.connected", "dialout.answered", "dialout.stopped"):
        data = envelope(kind, room="room-o", session_id="d-1", timestamp="1728023426", destination="+12098888888")
        assert post(client, data).json()["status"] == "applied"
    stream = store_of(client)._rooms["room-o"].stream
    assert len(stream) == 3
    assert all(item.record.get("code") is None for item in stream)
    call = client.get("/calls/d-1").json()["call"]
    assert (call["origin"], call["state"], call["outcome"]) == ("adopted", "stopped", "completed")
    assert call["destination"] is not None
    assert "2098888888" not in call["destination"]


def test_types_dialfsm_does_not_model_are_kept_in_the_room_without_changing_it(client: TestClient) -> None:
    post(client, dialin("dialin.connected"))
    data = dialin("calltransfer.initiated", to_endpoint="+12098888888", is_sip_refer=False)
    assert post(client, data).json()["status"] == "applied"
    assert store_of(client)._rooms["room-a"].stream[-1].record["disposition"] == "journaled"
    body = body_of(envelope("recording.ready-to-download", room_name="room-r", recording_id="x"))
    assert client.post("/webhook", content=body, headers=signed_headers(body)).json()["room"] == "room-r"


# --- security -----------------------------------------------------------------------------


def test_forged_stale_oversized_and_malformed_deliveries_are_refused_counted_and_never_stored(
    client: TestClient,
) -> None:
    good = body_of(dialin("dialin.connected"))
    forged = {**signed_headers(good), "X-Webhook-Signature": signed_headers(good + b" ")["X-Webhook-Signature"]}
    cases = [
        (good, {}, 401, "unsigned"),
        (good, forged, 401, "bad_signature"),
        (good, signed_headers(good, at=1_000_000_000), 401, "stale"),  # a captured delivery replayed years later
        (b"x" * (1 << 20) + b"x", {}, 413, "too_large"),
        (b"{not json", signed_headers(b"{not json"), 400, "malformed"),
        (b"[1,2]", signed_headers(b"[1,2]"), 400, "malformed"),
        (b'{"type":"dialin.connected"}', signed_headers(b'{"type":"dialin.connected"}'), 400, "malformed"),
        (b"\xff\xfe", signed_headers(b"\xff\xfe"), 400, "malformed"),
    ]
    for body, headers, status, reason in cases:
        response = client.post("/webhook", content=body, headers=headers)
        assert (response.status_code, response.json()) == (status, {"error": reason}), reason
    big = signed_headers(b"x" * 10)
    response = client.post("/webhook", content=iter([b"{" * 700_000, b"}" * 700_000]), headers=big)  # no length
    assert response.status_code == 413
    assert store_of(client)._rooms == {}
    assert store_of(client)._seen == {}
    for reason, count in (("unsigned", 1), ("bad_signature", 1), ("stale", 1), ("too_large", 2), ("malformed", 4)):
        assert metric(client, f'dialfsm_rejections_total{{reason="{reason}"}}') == count
    assert metric(client, 'dialfsm_deliveries_total{result="applied"}') == 0


def test_insecure_mode_takes_unsigned_deliveries_and_says_so() -> None:
    with pytest.raises(ConfigError, match="DAILY_WEBHOOK_SECRET"):
        create_app(ServerConfig(), environ={})
    with client_for(ServerConfig(insecure=True), env={}) as c:
        assert c.post("/webhook", content=body_of(dialin("dialin.connected"))).json()["status"] == "applied"
        assert c.get("/calls").json()["insecure"] is True
        assert c.get("/healthz").json() == {"ok": True, "store": "memory", "insecure": True}
        assert "INSECURE" in c.get("/").text


def test_reading_endpoints_need_the_token_when_one_is_set() -> None:
    env = {**ENV, "DIALFSM_TOKEN": "s3cret-token"}
    with client_for(env=env) as c:
        assert post(c, dialin("dialin.connected")).status_code == 200  # the webhook has its own signature
        for path in ("/calls", f"/calls/{SID}", "/rooms/room-a", "/events", "/metrics"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert c.get("/calls", headers={"Authorization": "Bearer s3cret-token"}).json()["count"] == 1
        assert c.get("/healthz").status_code == 200
        assert c.get("/").status_code == 200  # the page holds no data; its requests need the cookie
        assert c.post("/login", data={"token": "nope"}).status_code == 401
        response = c.post("/login", data={"token": "s3cret-token"}, follow_redirects=False)
        assert response.status_code == 303
        assert "httponly" in response.headers["set-cookie"].lower()
        assert c.get("/calls").json()["count"] == 1  # the cookie is sent from now on


def test_phone_numbers_are_masked_unless_configured(client: TestClient) -> None:
    number = "+15551234567"
    post(client, dialin("dialin.connected", sip_from=number))
    post(client, dialin("dialin.error", error_msg=f"could not reach {number}"))
    text = client.get(f"/calls/{SID}").text + client.get("/calls").text + client.get("/rooms/room-a").text
    assert number not in text
    assert "+00000004567" in text
    with client_for(ServerConfig(show_numbers=True)) as c:
        post(c, dialin("dialin.connected", sip_from=number))
        post(c, dialin("dialin.error", error_msg=f"could not reach {number}"))
        assert number in c.get(f"/calls/{SID}").text
        assert c.get("/calls").json()["redacted"] is False


def test_finished_calls_are_listed_for_keep_finished_seconds() -> None:
    with client_for(ServerConfig(options=StoreOptions(keep_finished=60))) as c:
        for sid, age in (("old", 120), ("recent", 30)):
            for kind in ("dialin.connected", "dialin.stopped"):
                data = dialin(kind, sid=sid)
                data["payload"]["timestamp"] = str(int(time.time()) - age)
                post(c, data)
        post(
            c,
            dialin("dialin.connected", sid="live-old")
            | {"payload": {"room": "room-a", "session_id": "live-old", "timestamp": "1"}},
        )
        assert sorted(call["session_id"] for call in c.get("/calls").json()["calls"]) == ["live-old", "recent"]


def test_calls_can_be_filtered_by_state_room_kind_and_liveness(client: TestClient) -> None:
    post(client, dialin("dialin.connected", sid="a", room="r1"))
    post(client, dialin("dialin.connected", sid="b", room="r2"))
    post(client, dialin("dialin.stopped", sid="b", room="r2"))

    def ids(query: str) -> list[str]:
        return sorted(c["session_id"] for c in client.get("/calls" + query).json()["calls"])

    assert ids("") == ["a", "b"]
    assert ids("?state=connected") == ["a"]
    assert ids("?room=r2") == ["b"]
    assert ids("?kind=dialout") == []
    assert ids("?live=1") == ["a"]
    assert ids("?live=0") == ["b"]
    assert client.get("/calls?limit=x").status_code == 400


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    post(client, dialin("dialin.connected"))
    text = client.get("/metrics").text
    for family in ("deliveries_total", "rejections_total", "anomalies_total", "calls", "store_latency_seconds"):
        assert f"# TYPE dialfsm_{family} " in text
    assert 'dialfsm_calls{kind="dialin",state="connected"} 1' in text
    assert 'dialfsm_store_latency_seconds_bucket{le="+Inf"} 1' in text
    assert re.search(r"^dialfsm_store_latency_seconds_count 1$", text, flags=re.M)


def test_the_board_is_one_page_with_no_third_party_resources(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    assert "EventSource" in page.text
    assert json.loads(client.get("/healthz").text)["ok"] is True
