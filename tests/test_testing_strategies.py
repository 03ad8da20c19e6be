"""dialfsm.testing's strategies: events in every dialect, settings, and whole sequences.

Also the differential suite: over generated sequences (following the machine or
adversarial), every session step the tracker journals is what a plain dict
interpreter of the literal table says for that ``(state, input)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from dialfsm import (
    TABLES,
    CallTracker,
    DailyEvent,
    Disposition,
    InvalidSettings,
    Origin,
    SessionKind,
    parse_dialout_settings,
    parse_dtmf_settings,
    parse_sip_call_transfer_settings,
    parse_sip_refer_settings,
)
from dialfsm._parse import from_daily
from dialfsm.testing import (
    DIALECTS,
    Dialect,
    InvalidSettingsCase,
    adversarial_sequences,
    daily_events,
    dialin_events,
    dialout_events,
    dialout_settings,
    dtmf_settings,
    feed,
    inputs_journaled,
    invalid_dialout_settings,
    invalid_dtmf_settings,
    is_tick,
    machine_sequences,
    render_event,
    replay,
    sip_call_transfer_settings,
    sip_refer_settings,
    to_jsonl,
    typed_events,
)
from dialfsm.testing.strategies import MUTATIONS
from tests.helpers import DictInterpreter, observed

INTERPRETERS = {kind: DictInterpreter(kind) for kind in SessionKind}


def check_against_dict_interpreter(tracker: CallTracker) -> None:
    """Every session step agrees with the dict interpreter; every session's states follow its transitions."""
    for entry in tracker.journal:
        input_ = entry.table_input
        for step in entry.steps:
            assert step.session is not None
            assert input_ is not None
            expected = INTERPRETERS[step.session.kind].resolve(step.source, input_)
            assert (step.dest, step.disposition, step.code) == expected, (entry, step)
    for session in tracker:
        moved = [s.dest for s in session.history if s.disposition is Disposition.TRANSITION]
        assert list(session.states) == [TABLES[session.kind].initial, *moved]


# --- events ------------------------------------------------------------------------------


@given(typed_events(), st.sampled_from(DIALECTS), st.integers(0, 1))
def test_every_rendering_of_an_event_parses_back_to_it(event: DailyEvent, dialect: Dialect, variant: int) -> None:
    """render_event in any dialect and variant, read by dialfsm's parser, gives the same typed event."""
    record = render_event(event, dialect, variant=variant)
    assert from_daily(record["event"], record["data"]) == event


@pytest.mark.parametrize("dialect", DIALECTS)
@given(data=st.data())
def test_event_strategies_speak_the_dialect_asked_for(dialect: Dialect, data: st.DataObject) -> None:
    """dialout_events / dialin_events / daily_events use the requested dialect's names."""
    for strategy in (dialout_events(dialect), dialin_events(dialect), daily_events(dialect)):
        name = data.draw(strategy)["event"]
        if dialect == "daily-js":
            assert "-" in name
            assert "." not in name
            assert not name.startswith("on_")
        elif dialect == "daily-python":
            assert name.startswith("on_")
        else:
            assert "." in name


@given(dialout_events(session_ids=st.just("s1")))
def test_dialout_events_are_dialout_events(record: dict[str, Any]) -> None:
    """dialout_events only draws dialout-* events."""
    assert "dialout" in record["event"]


# --- settings ----------------------------------------------------------------------------


@given(dialout_settings())
def test_valid_dialout_settings_pass_and_round_trip(settings: dict[str, Any]) -> None:
    """dialout_settings() draws settings daily-js accepts; to_daily() gives them back."""
    assert parse_dialout_settings(settings).to_daily() == settings


@given(invalid_dialout_settings())
def test_invalid_dialout_settings_break_exactly_the_named_rule(case: InvalidSettingsCase) -> None:
    """The repaired settings pass; the broken ones are refused naming case.field, by the tracker too."""
    parse_dialout_settings(case.valid)
    with pytest.raises(InvalidSettings) as refused:
        parse_dialout_settings(case.settings)
    assert refused.value.field == case.field, (case.rule, refused.value)
    tracker = CallTracker()
    with pytest.raises(InvalidSettings):
        tracker.start_dialout(case.settings)
    assert [e.disposition for e in tracker.journal] == [Disposition.REFUSED]


@given(invalid_dtmf_settings())
def test_invalid_dtmf_settings_break_exactly_the_named_rule(case: InvalidSettingsCase) -> None:
    """The repaired DTMF settings pass; the broken ones are refused naming case.field."""
    parse_dtmf_settings(case.valid)
    with pytest.raises(InvalidSettings) as refused:
        parse_dtmf_settings(case.settings)
    assert refused.value.field == case.field, (case.rule, refused.value)


@given(dtmf_settings("s1"), sip_call_transfer_settings("s1"), sip_refer_settings("s1"))
def test_call_settings_strategies_draw_valid_settings(
    dtmf: dict[str, Any], transfer: dict[str, Any], refer: dict[str, Any]
) -> None:
    """dtmf_settings, sip_call_transfer_settings and sip_refer_settings pass daily-js's rules."""
    assert parse_dtmf_settings(dtmf).session_id == "s1"
    assert parse_sip_call_transfer_settings(transfer).session_id == "s1"
    assert parse_sip_refer_settings(refer).session_id == "s1"


# --- sequences ---------------------------------------------------------------------------


@given(machine_sequences())
def test_machine_sequences_replay_clean_and_agree_with_the_dict_interpreter(records: list[dict[str, Any]]) -> None:
    """A sequence that follows the machine: no anomaly, no refusal, every step as the table says."""
    tracker = replay(records, observed(CallTracker(), "machine-sequences"))
    assert inputs_journaled(tracker) == sum(not is_tick(r) for r in records)
    assert not tracker.anomalies, tracker.anomalies
    assert not tracker.refusals, tracker.refusals
    check_against_dict_interpreter(tracker)


@pytest.mark.parametrize("kind", ["dialout", "dialin"])
@given(data=st.data())
def test_machine_sequences_of_one_kind_create_only_that_kind(
    kind: Literal["dialout", "dialin"], data: st.DataObject
) -> None:
    """machine_sequences(kind) creates sessions of that kind only."""
    tracker = replay(data.draw(machine_sequences(kind, max_steps=15)))
    assert all(session.kind.value == kind for session in tracker)


@given(machine_sequences(dialect="webhook", max_steps=15))
def test_machine_sequences_in_one_dialect(records: list[dict[str, Any]]) -> None:
    """With a dialect, every event of the sequence is spelled in it."""
    assert all("." in r["event"] for r in records if "event" in r)


def seen_in_examples(
    strategy: st.SearchStrategy[Any], classify: Callable[[Any], set[str]], examples: int = 200
) -> set[str]:
    """Every label ``classify`` gives some of ``examples`` generated examples (no shrinking)."""
    seen: set[str] = set()

    @settings(max_examples=examples, derandomize=True, database=None, phases=[Phase.generate])
    @given(strategy)
    def run(example: Any) -> None:
        seen.update(classify(example))

    run()
    return seen


def test_machine_sequences_include_the_documented_surprises() -> None:
    """Events before the completion, dialout-error without sessionId, skipped connected, dialin-ready twice."""

    def error_without_id(records: list[dict[str, Any]]) -> bool:
        return any(r.get("event") == "dialout-error" and "sessionId" not in r["data"] for r in records)

    def event_before_completion(records: list[dict[str, Any]]) -> bool:
        starts = [i for i, r in enumerate(records) if r.get("completion") == "start_dialout"]
        events = [i for i, r in enumerate(records) if "dialout" in str(r.get("event", ""))]
        return bool(starts and events and events[0] < starts[0])

    def skipped_connected(records: list[dict[str, Any]]) -> bool:
        return any(s.states[:3] == ("idle", "connecting", "answered") for s in replay(records))

    def two_endpoints(records: list[dict[str, Any]]) -> bool:
        return len(replay(records).dialin_endpoints) == 2

    conditions = {
        "error_without_id": error_without_id,
        "event_before_completion": event_before_completion,
        "skipped_connected": skipped_connected,
        "two_endpoints": two_endpoints,
    }

    def classify(records: list[dict[str, Any]]) -> set[str]:
        return {name for name, condition in conditions.items() if condition(records)}

    assert seen_in_examples(machine_sequences(dialect="daily-js"), classify) == set(conditions)


@example([{"event": "stop_timeout", "data": None}])  # found by the fuzz profile: an event named like a timer
@given(adversarial_sequences())
def test_adversarial_sequences_never_raise_and_agree_with_the_dict_interpreter(records: list[Any]) -> None:
    """Spoiled sequences: one journal entry per record, and every session step still as the table says."""
    tracker = observed(CallTracker(), "adversarial-sequences")
    count = 0
    for record in records:
        feed(tracker, record)
        count += not is_tick(record)
        assert inputs_journaled(tracker) == count
    check_against_dict_interpreter(tracker)


def test_adversarial_sequences_provoke_every_kind_of_anomaly() -> None:
    """Spoiled sequences make the tracker report each anomaly code (and refusals)."""

    def codes(records: list[Any]) -> set[str]:
        return {str(e.code) for e in replay(records).journal if e.code is not None}

    expected = {"UNKNOWN_SESSION", "DUPLICATE_EVENT", "LATE_EVENT", "OUT_OF_ORDER", "MALFORMED_INPUT"}
    expected |= {"UNEXPECTED_COMPLETION", "UNKNOWN_EVENT"}
    seen = seen_in_examples(adversarial_sequences(), codes, 600)
    if not seen >= expected:  # 600 examples usually suffice; the rarest code sometimes needs more
        seen |= seen_in_examples(adversarial_sequences(), codes, 3000)
    assert seen >= expected
    assert len(MUTATIONS) == 11


@given(machine_sequences(max_steps=10))
def test_records_round_trip_through_jsonl(records: list[dict[str, Any]]) -> None:
    """to_jsonl writes a log that dialfsm replay reads back to the same journal shape."""
    from dialfsm import replay_lines

    text = to_jsonl(records)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)]
    replayed = replay_lines(lines, CallTracker()).tracker
    direct = replay(records)
    assert [(e.name, e.disposition, e.code) for e in replayed.journal] == [
        (e.name, e.disposition, e.code) for e in direct.journal
    ]


def test_a_failing_sequence_shrinks_to_the_inputs_that_matter() -> None:
    """Asked for a dial-out that got answered, Hypothesis shrinks to the start and (at most) two events."""
    from hypothesis import find

    def answered(records: list[dict[str, Any]]) -> bool:
        return any(s.origin is Origin.BOT and s.answered for s in replay(records))

    found = find(machine_sequences(), answered, settings=settings(database=None, derandomize=True, max_examples=100))
    names = [r.get("call") or r.get("event") for r in found]
    assert names[0] == "start_dialout"
    assert names[-1] == "dialout-answered"
    assert len(names) <= 3
