"""Robustness: arbitrary JSON-like names, payloads and settings never break the tracker.

``handle()`` never raises and journals exactly one entry per input; the bot's
calls raise only dialfsm's documented refusal (``CallRefused`` and its
subclass ``InvalidSettings``), also journaled; completions never raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import EVENT_NAMES, CallCompleted, CallRefused, CallTracker, Disposition, Input, InputKind
from dialfsm.testing import inputs_journaled, is_tick, json_values, machine_sequences, replay

#: JSON-like values, NaN and infinities included, plus a few non-JSON Python objects.
ANYTHING = json_values(allow_nan=True, max_leaves=12) | st.binary(max_size=8) | st.builds(object)
NAMES = st.sampled_from(sorted(EVENT_NAMES)) | ANYTHING
CALLS = ("start_dialout", "stop_dialout", "send_dtmf", "sip_call_transfer", "sip_refer")


def _warm_tracker(records: list[dict[str, Any]]) -> CallTracker:
    """A tracker with some history, so junk meets live sessions too."""
    return replay(records, CallTracker(max_dialouts=2))


@given(machine_sequences(max_steps=8), st.lists(st.tuples(NAMES, ANYTHING), max_size=10))
def test_handle_never_raises_and_journals_every_input(records: list[dict[str, Any]], events: list[Any]) -> None:
    """Any name, any payload: handle() returns an entry and the journal grows by exactly one."""
    tracker = _warm_tracker(records)
    for name, data in events:
        before = tracker.inputs_read
        entry = tracker.handle(name, data)
        assert tracker.inputs_read == before + 1
        assert tracker.last_entry is entry
        assert entry.disposition in Disposition


#: The session ids machine_sequences gives (so junk calls also name real sessions).
KNOWN_IDS = st.sampled_from(["dialout-1", "dialout-2", "dialin-1", "dialin-2"])
ARGUMENTS = (
    ANYTHING
    | KNOWN_IDS
    | st.fixed_dictionaries({"sessionId": KNOWN_IDS}, optional={"tones": ANYTHING, "toEndPoint": ANYTHING})
)


@given(machine_sequences(max_steps=8), st.lists(st.tuples(st.sampled_from(CALLS), ARGUMENTS), max_size=8))
def test_calls_raise_only_call_refused(records: list[dict[str, Any]], calls: list[tuple[str, Any]]) -> None:
    """Any settings or session id: each call returns a session or raises CallRefused; both are journaled."""
    tracker = _warm_tracker(records)
    for call, argument in calls:
        before = tracker.inputs_read
        refusal: CallRefused | None = None
        try:
            getattr(tracker, call)(argument)
        except CallRefused as exc:
            refusal = exc
        assert tracker.inputs_read == before + 1
        assert tracker.last_entry is not None
        if refusal is not None:
            assert tracker.last_entry.disposition is Disposition.REFUSED
            assert tracker.last_entry.code == refusal.code.value


@given(
    machine_sequences(max_steps=8),
    st.lists(
        st.tuples(st.sampled_from([i for i in Input if i.kind is InputKind.CALL]) | ANYTHING, ANYTHING, ANYTHING),
        max_size=8,
    ),
)
def test_completions_never_raise(records: list[dict[str, Any]], completions: list[tuple[Any, Any, Any]]) -> None:
    """Any completion, however malformed: complete() returns an entry and journals it."""
    tracker = _warm_tracker(records)
    for call, session_id, error in completions:
        before = tracker.inputs_read
        tracker.complete(CallCompleted(call=call, session_id=session_id, error=error))
        assert tracker.inputs_read == before + 1


@given(st.lists(ANYTHING | st.dictionaries(st.sampled_from(["event", "call", "completion", "t", "ref"]), ANYTHING)))
def test_any_log_record_is_journaled(records: list[Any]) -> None:
    """Replaying arbitrary decoded JSON lines never raises; one entry per record."""
    assert inputs_journaled(replay(records)) == sum(not is_tick(r) for r in records)


def test_stop_dialout_of_a_dial_in_is_refused_with_invalid_state() -> None:
    """README: "stop_dialout of a dial-in is INVALID_STATE" (found by the call-flow suite; fixed on main)."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "in-1"})
    with pytest.raises(CallRefused) as refused:
        tracker.stop_dialout("in-1")
    assert refused.value.code.value == "INVALID_STATE"
