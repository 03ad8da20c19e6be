"""Redaction keeps the tracker's equalities (review defects D2 and D7): replay binds and pairs as live did.

The tracker binds Daily's events to dial-outs by destination
(:func:`dialfsm._routing.same_destination`: phone numbers by their digits, SIP
URIs by user and host, lowercased, without parameters), and pairs completions
with calls by their ``ref``.  A recording's :class:`~dialfsm._redact.Redactor`
masks two values alike exactly when the tracker compares them equal, so a
redacted recording replays to what the live tracker concluded.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import CallRefused, CallTracker, Recorder, replay_lines, replay_path
from dialfsm._redact import SIP_MASKS, Redactor, redact_record
from dialfsm._routing import same_destination

# --- the property ------------------------------------------------------------------------------------------

_ARABIC_INDIC_ZERO = 0x0660


@st.composite
def _phones(draw: st.DrawFn) -> list[str]:
    """Phone numbers sharing their length and last 4 digits, some equal, some written with separators."""
    width = draw(st.integers(3, 10))  # digits masked (numbers of 7 to 14 digits)
    last4 = draw(st.text(alphabet="23456789", min_size=4, max_size=4))
    prefixes = draw(st.lists(st.text(alphabet="23456789", min_size=width, max_size=width), min_size=1, max_size=6))
    out = []
    for prefix in draw(st.lists(st.sampled_from(prefixes), min_size=2, max_size=8)):
        digits = prefix + last4
        form = draw(st.integers(0, 4))
        if form == 0:
            out.append("+" + digits)
        elif form in (1, 3):
            out.append(digits)
        elif form == 2:
            out.append(f"+{digits[:1]} {digits[1:-4]} {digits[-4:]}")
        elif form == 3 and width > 3:
            out.append(f"({digits[:3]}) {digits[3:-4]}-{digits[-4:]}")
        else:  # the same values in Arabic-Indic digits: other characters, so another number for the tracker
            out.append("+" + "".join(chr(_ARABIC_INDIC_ZERO + int(c)) for c in digits))
    return out


@st.composite
def _sip_uris(draw: st.DrawFn) -> list[str]:
    """SIP URIs on one host whose users have one length: extensions, names, with case and parameters varied."""
    length = draw(st.integers(1, 8))
    alphabet = draw(st.sampled_from(["0123456789", "abcdefgh", "aAbB1."]))
    users = draw(st.lists(st.text(alphabet=alphabet, min_size=length, max_size=length), min_size=1, max_size=6))
    host = draw(st.sampled_from(["pbx.example.com", "10.0.0.1:5060"]))
    out = []
    for user in draw(st.lists(st.sampled_from(users), min_size=2, max_size=8)):
        form = draw(st.integers(0, 3))
        forms = [f"sip:{user}@{host}", f"sips:{user}@{host}", f"sip:{user}@{host.upper()};transport=tls"]
        out.append([*forms, f"SIP:{user}@{host}"][form])
    return out


def _recorded(values: list[str]) -> list[str]:
    """``values`` as one redacting recorder writes them, in order (each a note's ``destination``)."""
    log = io.StringIO()
    tracker = CallTracker()
    Recorder(log, clock=None).attach(tracker)
    for value in values:
        tracker.note("destination", {"destination": value})
    return [json.loads(line)["data"]["destination"] for line in log.getvalue().splitlines()[1:]]


def _same_class(original: str, masked: str) -> bool:
    """Same length; a SIP user's characters masked; a digit a digit of its own script; everything else kept."""
    if len(original) != len(masked):
        return False
    if original.lower().startswith("sip"):
        at = original.index("@")
        user = masked[masked.index(":") + 1 : at]
        if not all(c in SIP_MASKS for c in user) or user == original[masked.index(":") + 1 : at]:
            return False
        original, masked = original[at:], masked[at:]  # the host: kept, but for its numbers (an IP address)
    for a, b in zip(original, masked, strict=True):
        if a.isdecimal():
            if not (b.isdecimal() and ord(a) - int(a) == ord(b) - int(b)):
                return False
        elif a != b and b not in SIP_MASKS:
            return False
    return True


@given(values=st.one_of(_phones(), _sip_uris()))
def test_masked_destinations_are_equal_exactly_when_the_tracker_compares_them_equal(values: list[str]) -> None:
    masked = _recorded(values)
    for i, a in enumerate(values):
        assert _same_class(a, masked[i]), (a, masked[i])
        for j, b in enumerate(values):
            assert same_destination(masked[i], masked[j]) == same_destination(a, b), (a, b, masked[i], masked[j])
    if values[0].lower().startswith("sip"):
        users = {v.split(":", 1)[1].split("@", 1)[0] for v in values}
        written = {m.split(":", 1)[1].split("@", 1)[0] for m in masked}
        assert not users & written  # no SIP user written whole
    else:
        numbers = {"".join(c for c in v if c.isdecimal()) for v in values}
        assert not any(number in "\n".join(masked) for number in numbers)  # no number written whole


def test_what_the_review_saw_collide_is_told_apart() -> None:
    values = ["+15551234567", "+15559994567", "+1 555 123 4567", "sip:1001@pbx", "sip:1002@pbx", "sip:1001@PBX;x=1"]
    masked = _recorded(values)
    assert masked[:3] == ["+00000004567", "+10000004567", "+0 000 000 4567"]
    assert masked[3:] == ["sip:****@pbx", "sip:***~@pbx", "sip:****@PBX;x=1"]


def test_a_user_holding_a_semicolon_is_compared_as_the_tracker_compares_it() -> None:
    """The tracker cuts a destination at its first ``;``: the part before it decides, so only it is told apart."""
    values = ["sip:alice;tag=1@a.example", "sip:alice;tag=22@b.example", "sip:bobby;tag=1@a.example"]
    masked = _recorded(values)
    assert same_destination(masked[0], masked[1])
    assert not same_destination(masked[0], masked[2])
    assert not any("alice" in m or "bobby" in m for m in masked)


# --- the limits, counted -----------------------------------------------------------------------------------


def test_a_masked_region_too_short_for_another_mask_is_a_counted_collision() -> None:
    redactor = Redactor()
    users = [f"sip:{c}@pbx" for c in "abcdefghij"]  # 10 one-character users, 6 masks of one character
    masked = [redactor.text(u) for u in users]
    assert redactor.collisions == len(users) - len(set(masked)) > 0
    assert all(m != u for m, u in zip(masked, users, strict=True))
    assert all(m[4] in SIP_MASKS for m in masked)


def test_a_5_digit_number_is_never_written_as_itself_even_when_masks_run_out() -> None:
    redactor = Redactor()
    numbers = [f"{d}4567" for d in "0123456789"]
    masked = [redactor.text(n) for n in numbers]
    assert all(m != n and m.endswith("4567") and len(m) == 5 for m, n in zip(masked, numbers, strict=True))
    assert redactor.collisions == len(numbers) - len(set(masked))


def test_memory_is_bounded_and_forgetting_is_counted() -> None:
    redactor = Redactor(limit=2)
    first = redactor.text("+15551234567")
    redactor.text("+15559994567")
    assert redactor.text("+15551234567") == first  # remembered: the same mask
    redactor.text("+15558884567")  # the third value: the least recently written goes
    assert redactor.forgotten == 1
    assert len(redactor._masks) == 2


def test_the_stateless_functions_keep_equality_within_one_value() -> None:
    record = redact_record({"event": "x", "data": {"a": "+15551234567", "b": "+15559994567", "c": "+15551234567"}})
    assert record["data"] == {"a": "+00000004567", "b": "+10000004567", "c": "+00000004567"}


# --- end to end: replay binds as live did ------------------------------------------------------------------


def _sessions(tracker: CallTracker) -> list[tuple[Any, ...]]:
    return [
        (s.kind, s.state, tuple(s.states), s.outcome, s.session_id, s.origin, s.error_code, s.attempt) for s in tracker
    ]


def _problems(tracker: CallTracker) -> list[tuple[Any, ...]]:
    return [(e.disposition, e.code, e.name) for e in tracker.journal if e.disposition.value in ("anomaly", "refused")]


def _replayed(log: io.StringIO) -> CallTracker:
    result = replay_lines(enumerate(log.getvalue().splitlines(keepends=True), start=1), keep_journal=True)
    return result.tracker


Adopt = Literal["never", "webhook", "always"]

_PAIRS = {
    "sip extensions": ("sipUri", "sip:1001@pbx.example.com", "sip:1002@pbx.example.com"),
    "phones same last 4": ("phoneNumber", "+15551234567", "+15559994567"),
}


@pytest.mark.parametrize("pair", list(_PAIRS))
@pytest.mark.parametrize("mode", ["never", "webhook", "always"])
@pytest.mark.parametrize("ending", ["completions", "no completion", "foreign call"])
def test_two_destinations_masked_alike_before_now_replay_as_live(pair: str, mode: Adopt, ending: str) -> None:
    field, a, b = _PAIRS[pair]
    live = CallTracker(max_dialouts=2, adopt_unknown_dialouts=mode)
    log = io.StringIO()
    Recorder(log, clock=None).attach(live)
    first = live.start_dialout({field: a}, t=0.0)
    second = live.start_dialout({field: b}, t=0.1) if ending != "foreign call" else None
    live.handle("dialout.connected", {"session_id": "sB", "destination": b}, t=0.5)
    if ending != "foreign call":
        live.handle("dialout.connected", {"session_id": "sA", "destination": a}, t=0.6)
    live.handle("dialout.answered", {"session_id": "sB", "destination": b}, t=0.7)
    if ending == "completions":
        live.start_completed(first, "sA", None, t=0.8)
        live.start_completed(second, "sB", None, t=0.9)
    live.advance(5.0)
    text = log.getvalue()
    assert a.removeprefix("sip:").removeprefix("+") not in text
    assert b.removeprefix("sip:").removeprefix("+") not in text
    replayed = _replayed(log)
    assert _sessions(replayed) == _sessions(live)
    assert _problems(replayed) == _problems(live)


def test_a_recording_on_disk_replays_as_live(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    live = CallTracker(max_dialouts=2)
    with Recorder(path, clock=None) as recorder:
        recorder.attach(live)
        live.start_dialout({"sipUri": "sip:1001@pbx"}, t=0.0)
        live.start_dialout({"sipUri": "sip:1002@pbx"}, t=0.1)
        live.handle("dialout.answered", {"session_id": "B", "destination": "sip:1002@pbx"}, t=0.5)
        live.advance(1.0)
    assert _sessions(replay_path(str(path)).tracker) == _sessions(live)


# --- identifiers (D7) --------------------------------------------------------------------------------------


def test_refs_holding_numbers_are_masked_and_still_pair_every_completion() -> None:
    live = CallTracker(max_dialouts=2)
    log = io.StringIO()
    Recorder(log, clock=None).attach(live)
    live.start_dialout({"phoneNumber": "+15551234567"}, ref="call +15551234567", t=0.0)
    live.start_dialout({"phoneNumber": "+15559994567"}, ref="call +15559994567", t=0.1)
    with contextlib.suppress(CallRefused):  # refused (max_dialouts): its line is written all the same
        live.start_dialout({"sipUri": "sip:1001@pbx"}, ref="to sip:1001@pbx", t=0.2)
    live.start_completed(None, "sB", None, ref="call +15559994567", t=0.3)
    live.start_completed(None, "sA", None, ref="call +15551234567", t=0.4)
    text = log.getvalue()
    assert "5551234567" not in text
    assert "5559994567" not in text
    assert "sip:1001@" not in text
    replayed = _replayed(log)
    assert _sessions(replayed) == _sessions(live)
    assert [s.session_id for s in replayed] == ["sA", "sB"]
    assert _problems(replayed) == _problems(live)


def test_identifier_fields_are_masked_at_any_depth_and_uuids_kept() -> None:
    uuid = "0b6a3f2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
    live = CallTracker()
    log = io.StringIO()
    Recorder(log, clock=None).attach(live)
    live.handle(
        "dialout-error",
        {
            "sessionId": uuid,
            "details": {"sipHeaders": {"key": "+15551234567", "ref": "sip:alice@example.com", "action": "x"}},
        },
    )
    with contextlib.suppress(CallRefused):
        live.stop_dialout("+15559994567")
    live.handle("dialout.warning", {"session_id": "+15558884567", "message": "x"})
    text = log.getvalue()
    for secret in ("5551234567", "5559994567", "5558884567", "alice"):
        assert secret not in text
    assert uuid in text
    assert '"action": "x"' in text


def test_call_keys_past_10000_inputs_are_kept_so_completions_still_pair() -> None:
    """A call's key is its place in the journal: an int the number rule once masked, merging keys."""
    assert redact_record({"call": "start_dialout", "key": 22345, "retry_of": {"key": 32345}}) == {
        "call": "start_dialout",
        "key": 22345,
        "retry_of": {"key": 32345},
    }
    live = CallTracker(max_dialouts=2)
    log = io.StringIO()
    Recorder(log, clock=None).attach(live)
    for _ in range(22_340):
        live.note("tick")
    first = live.start_dialout({"phoneNumber": "+15551234567"}, t=0.0)
    for _ in range(9_999):
        live.note("tick")
    second = live.start_dialout({"phoneNumber": "+15557654321"}, t=0.1)
    live.start_completed(second, "sB", None, t=0.2)
    live.start_completed(first, "sA", None, t=0.3)
    replayed = _replayed(log)
    assert _sessions(replayed) == _sessions(live)
    assert _problems(replayed) == _problems(live) == []
