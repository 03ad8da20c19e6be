"""Redaction keeps its promise (issue 13, point 2): no number and no SIP user is written whole.

The property plants phone numbers (5 digits or more) and SIP users anywhere a
payload can hold them (values, keys, nested containers, ints, bytes, sets,
objects, after a word character, inside a display name's URI), feeds them to a
tracker as events, call settings, completions and notes, and reads what a
redacting :class:`~dialfsm.Recorder` wrote.  Identifiers a recording keeps so
replay routes and pairs the same (session ids, refs, the room's own
``dialin-ready`` endpoint) are not where it plants them.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import CallRefused, CallTracker, Recorder
from dialfsm._redact import redact_record, redact_value

#: Digits a planted number is made of: no 0 or 1, so no masked number (``1000...4567``) can hold one by chance.
_DIGITS = "23456789"
_USER_CHARS = "abcdefghijklmnopqrstuvwxyz.;-_=%"
_KEYS = ["a", "b", "note", "detail", "phoneNumber", "callerId", "from", "to", "list", "extra", "x-custom"]


@st.composite
def _number(draw: st.DrawFn) -> str:
    return draw(st.text(alphabet=_DIGITS, min_size=5, max_size=22))


@st.composite
def _user(draw: st.DrawFn) -> str:
    return "Zq" + draw(st.text(alphabet=_USER_CHARS, min_size=3, max_size=24))


class _SdkObject:
    """An object as an SDK might hand over: JSON cannot hold it; its repr says what it holds."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<Participant {self.text}>"


class _Convertible:
    def __init__(self, value: Any) -> None:
        self.value = value

    def to_daily(self) -> Any:
        return {"detail": self.value}


@st.composite
def _secret_text(draw: st.DrawFn, numbers: list[str], users: list[str]) -> str:
    """A string holding one planted secret, the way text holds them."""
    number, user = draw(_number()), draw(_user())
    form = draw(st.integers(0, 10))
    if form <= 5:
        numbers.append(number)
        return [
            f"+{number}",
            number,
            f"call to +{number} failed",
            f"dial_+{number}",
            f"user{number}x",
            f"tel:+{number};ext=1",
        ][form]
    users.append(user)
    host = draw(st.sampled_from(["example.com", "10.0.0.1:5060", "pstn.example.org"]))
    return [
        f"sip:{user}@{host}",
        f"sips:{user}:secret@{host};transport=tls",
        f'"Agent" <sip:{user}@{host}>',
        f"Agent Smith <sip:{user}@{host}>",
        f"sip:{user}@{host}?X-Caller=1",
    ][form - 6]


@st.composite
def _value(draw: st.DrawFn, numbers: list[str], users: list[str], depth: int = 0) -> Any:
    kind = draw(st.integers(0, 9 if depth < 3 else 3))
    if kind <= 1:
        return draw(_secret_text(numbers, users))
    if kind == 2:
        number = draw(_number())
        numbers.append(number)
        return int(number)
    if kind == 3:
        return draw(st.sampled_from(["plain", 7, None, True, 1.5]))
    if kind == 4:
        return draw(_secret_text(numbers, users)).encode()
    if kind == 5:
        return {draw(_secret_text(numbers, users))}
    if kind == 6:
        return _SdkObject(draw(_secret_text(numbers, users)))
    if kind == 7:
        return _Convertible(draw(_value(numbers, users, depth + 1)))
    if kind == 8:
        return [draw(_value(numbers, users, depth + 1)) for _ in range(draw(st.integers(1, 3)))]
    return draw(_object(numbers, users, depth + 1))


@st.composite
def _object(draw: st.DrawFn, numbers: list[str], users: list[str], depth: int = 0) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        key_kind = draw(st.integers(0, 3))
        if key_kind == 0:
            key: Any = draw(_secret_text(numbers, users))
        elif key_kind == 1:
            number = draw(_number())
            numbers.append(number)
            key = int(number)
        else:
            key = draw(st.sampled_from(_KEYS))
        out[key] = draw(_value(numbers, users, depth))
    return out


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[list[tuple[str, Any]], list[str], list[str]]:
    numbers: list[str] = []
    users: list[str] = []
    inputs = []
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["event", "dialin-ready", "call", "completion", "note"]))
        inputs.append((where, draw(_object(numbers, users))))
    return inputs, numbers, users


@given(planted=_inputs())
def test_no_planted_number_or_sip_user_is_written_whole(planted: tuple[list[tuple[str, Any]], Any, Any]) -> None:
    inputs, numbers, users = planted
    log = io.StringIO()
    tracker = CallTracker()
    Recorder(log, clock=None).attach(tracker)
    for where, payload in inputs:
        if where == "event":
            tracker.handle("dialout-warning", {"sessionId": "s1", **payload})
        elif where == "dialin-ready":
            tracker.handle("dialin-ready", {"sipEndpoint": "sip:room@daily.example", **payload})
        elif where == "call":
            with contextlib.suppress(CallRefused):  # refused or not, its line is written
                tracker.start_dialout({"phoneNumber": "+15550000000", "permissions": payload})
        elif where == "completion":
            tracker.start_completed(None, error=json.dumps(payload, default=repr))
        else:
            tracker.note("marker", payload)
    assert tracker.listener_errors == []
    text = log.getvalue()
    for number in numbers:
        assert number not in text
    for user in users:
        assert user not in text


# --- the cases the issue names -----------------------------------------------------------------------------


def _written(payload: Any, name: str = "dialout-warning") -> str:
    log = io.StringIO()
    tracker = CallTracker()
    Recorder(log, clock=None).attach(tracker)
    tracker.handle(name, payload)
    return log.getvalue().splitlines()[1]


@pytest.mark.parametrize(
    ("payload", "secret"),
    [
        ({"phoneNumber": 15551234567}, "5551234567"),
        ({"callerId": 12025550199}, "2025550199"),
        ({"note": "+1234567890123456789"}, "234567890123456789"),
        ({"note": "dial_+15551234567"}, "5551234567"),
        ({"tags": {"+15551234567"}}, "5551234567"),
        ({"raw": b"from +15551234567"}, "5551234567"),
        ({"who": _SdkObject("+15551234567")}, "5551234567"),
        ({"+15551234567": "key"}, "5551234567"),
        ({15551234567: "key"}, "5551234567"),
        ({"to": "sip:alice.smith;tag=1@example.com"}, "alice.smith"),
        ({"from": "Alice Smith <sip:alice@example.com>"}, "Alice Smith"),
    ],
    ids=[
        "int-phone",
        "int-caller-id",
        "19-digits",
        "after-a-word-character",
        "set",
        "bytes",
        "sdk-object",
        "key",
        "int-key",
        "sip-user-with-semicolon",
        "unquoted-display-name",
    ],
)
def test_each_leak_the_issue_names_is_closed(payload: Any, secret: str) -> None:
    assert secret not in _written({"sessionId": "s1", **payload})


def test_extra_fields_of_dialin_ready_are_redacted_the_endpoint_kept() -> None:
    line = _written({"sipEndpoint": "sip:room.0@daily.example", "caller": "+15551234567"}, name="dialin-ready")
    assert "5551234567" not in line
    assert "sip:room.0@daily.example" in line


def test_redacting_keys_never_merges_two_into_one() -> None:
    redacted = redact_value({"+15551234567": 1, "+15559994567": 2, "+00000004567": 3})
    assert sorted(redacted.values()) == [1, 2, 3]
    assert len(redacted) == 3


def test_redaction_keeps_length_and_class() -> None:
    """A value valid for Daily stays valid: lengths and character classes are kept."""
    record = {
        "call": "start_dialout",
        "settings": {"phoneNumber": "+15551234567", "userId": "u-15551234567", "extension": "12#4"},
    }
    settings = redact_record(record)["settings"]
    assert settings == {"phoneNumber": "+00000004567", "userId": "u-00000004567", "extension": "0000"}
