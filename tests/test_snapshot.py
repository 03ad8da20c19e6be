"""Saved state: snapshot / restore resumes exactly, refuses newer and corrupt snapshots."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialfsm import CallTracker, DialoutState, Outcome, RetryPolicy, SnapshotError, replay_lines
from dialfsm._replay import feed_record
from tests.helpers import PHONE, SID

SIDS = [SID, "5c7f0d2e-0000-4000-8000-000000000002", "ff1e7130-7752-4304-9cf4-08d2583a41dc"]

_events = st.builds(
    lambda name, sid, t: {"event": name, "data": {"sessionId": sid, "errorMsg": "timed out", "tone": "1",
                                                  "participant": {"session_id": sid}}, "t": t},
    st.sampled_from([
        "dialout-connected", "dialout-answered", "dialout-stopped", "dialout-error", "dialout-warning",
        "dialin-connected", "dialin-stopped", "dialin-error", "participant-joined", "dtmf-event", "left-meeting",
    ]),
    st.sampled_from(SIDS),
    st.floats(0, 200),
)  # fmt: skip
_calls = st.one_of(
    st.builds(lambda t: {"call": "start_dialout", "settings": PHONE, "t": t}, st.floats(0, 200)),
    st.builds(
        lambda sid, t: {"call": "stop_dialout", "session_id": sid, "t": t}, st.sampled_from(SIDS), st.floats(0, 200)
    ),
    st.builds(lambda sid: {"call": "send_dtmf", "settings": {"sessionId": sid, "tones": "1"}}, st.sampled_from(SIDS)),
    st.builds(lambda sid: {"call": "sip_refer", "settings": {"sessionId": sid, "toEndPoint": "sip:a@b"}},
              st.sampled_from(SIDS)),
)  # fmt: skip
_completions = st.builds(
    lambda call, sid, error, t: {"completion": call, "session_id": sid, "error": error, "t": t},
    st.sampled_from(["start_dialout", "stop_dialout", "send_dtmf", "sip_refer"]),
    st.sampled_from([*SIDS, None]),
    st.sampled_from([None, "no workers", "not enabled"]),
    st.floats(0, 200),
)
_ticks = st.builds(lambda t: {"t": t}, st.floats(0, 300))
RECORDS = st.lists(st.one_of(_events, _calls, _completions, _ticks), max_size=30)


def _tracker() -> CallTracker:
    return CallTracker(max_dialouts=2, retry=RetryPolicy(seed=3))


def _state(tracker: CallTracker) -> Any:
    sessions = [
        (s.index, s.kind, s.session_id, s.states, s.outcome, s.error, s.error_code, s.attempt, s.deadline,
         s.warnings, s.dtmf)
        for s in tracker
    ]  # fmt: skip
    effects = [
        (type(e).__name__, getattr(e, "attempt", None), getattr(e, "not_before", None)) for e in tracker._effects
    ]
    return sessions, tracker.dialin_endpoints, tracker.inputs_read, tracker.next_deadline, tracker.now, effects


@settings(max_examples=200, deadline=None)
@given(records=RECORDS, data=st.data())
def test_split_anywhere_snapshot_restore_gives_the_same_result(records: list[dict[str, Any]], data: Any) -> None:
    """For any inputs, snapshot + JSON + restore at any split point, then the rest: same as without the split."""
    split = data.draw(st.integers(0, len(records)))
    whole = _tracker()
    for record in records:
        feed_record(whole, copy.deepcopy(record))
    first = _tracker()
    for record in records[:split]:
        feed_record(first, copy.deepcopy(record))
    resumed = CallTracker.restore(json.loads(json.dumps(first.snapshot())))
    assert _state(resumed) == _state(first)
    for record in records[split:]:
        feed_record(resumed, copy.deepcopy(record))
    assert _state(resumed) == _state(whole)
    problems = [(e.name, e.code) for e in (*first.journal, *resumed.journal) if e.code is not None]
    assert problems == [(e.name, e.code) for e in whole.journal if e.code is not None]


def test_restore_mid_call_keeps_tracking() -> None:
    """A bot restarted mid-call: the restored tracker routes the next events to the same session."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, session_id=SID, t=1.0)
    tracker.handle("dialout-connected", {"sessionId": SID}, t=2.0)
    restored = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    again = restored[SID]
    assert again.state is DialoutState.CONNECTED
    assert again.deadline == 62.0
    restored.handle("dialout-answered", {"sessionId": SID}, t=5.0)
    restored.stop_dialout(SID, t=9.0)
    restored.handle("dialout-stopped", {"sessionId": SID}, t=9.5)
    assert again.outcome is Outcome.COMPLETED
    assert restored.inputs_read == 6


def test_transitions_engine_restores_too() -> None:
    """A tracker on the transitions engine restores with its models at the right states."""
    tracker = CallTracker(engine="transitions")
    tracker.handle("dialin-connected", {"sessionId": SID})
    restored = CallTracker.restore(tracker.snapshot())
    restored.handle("participant-joined", {"id": SID})
    assert restored[SID].state.value == "joined"


def test_a_newer_version_is_refused() -> None:
    """A snapshot from a future format version raises SnapshotError naming the versions."""
    data = CallTracker().snapshot()
    data["version"] = 99
    with pytest.raises(SnapshotError, match="99"):
        CallTracker.restore(data)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d.pop("sessions"),
        lambda d: d["sessions"][0].update(states=["answered"]),
        lambda d: d["sessions"][0].update(kind="fax"),
        lambda d: d["sessions"][0].update(outcome=None, states=["idle", "connecting", "error"]),
        lambda d: d.update(live=[]),
        lambda d: d["pending"].update(start_dialout=[[42, None]]),
        lambda d: d["config"].update(max_dialouts=0),
        lambda d: d.update(rng="x"),
        lambda d: d.update(now="noon"),
        lambda d: d["effects"].append({"type": "explode"}),
    ],
)
def test_a_corrupt_snapshot_never_half_restores(corrupt: Any) -> None:
    """Any corruption raises SnapshotError (nothing else) and returns no tracker."""
    tracker = CallTracker()
    tracker.start_dialout(PHONE, t=0.0)
    data = json.loads(json.dumps(tracker.snapshot()))
    corrupt(data)
    with pytest.raises(SnapshotError):
        CallTracker.restore(data)


@pytest.mark.parametrize("junk", [None, 42, "snapshot", {"format": "other"}, {"format": "dialfsm.snapshot"}])
def test_not_a_snapshot(junk: object) -> None:
    """Values that are not snapshots at all raise SnapshotError."""
    with pytest.raises(SnapshotError):
        CallTracker.restore(junk)


def test_snapshot_after_replay_equals_live() -> None:
    """A snapshot is plain JSON: the replayed tracker's and its restored copy's reports match."""
    lines = [(1, json.dumps({"event": "dialin-connected", "data": {"sessionId": SID}, "t": 1}))]
    result = replay_lines(lines)
    restored = CallTracker.restore(json.loads(json.dumps(result.tracker.snapshot())))
    assert [s.state for s in restored] == [s.state for s in result.tracker]
