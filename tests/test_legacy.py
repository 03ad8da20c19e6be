"""Data written by dialfsm 0.1.0 still loads: pickled trackers and objects, and snapshots.

The fixtures under ``tests/fixtures/legacy_0_1_0`` were made by dialfsm 0.1.0 itself
(``make.py`` there says how): each scenario is a tracker pickled and snapshotted
mid-run, the digest of what it was, the records it was then fed, and what it became.
Loaded by this version, each must be what it was; fed the same records, the pickled and
the snapshotted tracker must continue alike.  (Until the rules changed on purpose in 0.2,
for dial-outs started elsewhere, transfer legs and timers before the answer, they also
continued exactly to what 0.1.0 continued to: the redesign's commit checked that.)
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from dialfsm import CallRefused, CallTracker, InvalidSettings, SessionEnded
from dialfsm._replay import feed_record
from tests.fixtures.legacy_0_1_0.make import digest, effects, entries

HERE = Path(__file__).resolve().parent / "fixtures" / "legacy_0_1_0"
SCENARIOS = sorted(p.name.removesuffix(".expected.json") for p in HERE.glob("*.expected.json"))


def _expected(name: str) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads((HERE / f"{name}.expected.json").read_text())
    return expected


def _continued(tracker: CallTracker, expected: dict[str, Any]) -> tuple[object, ...]:
    """Check ``tracker`` is what 0.1.0 saved, feed it the same records, and say what it became."""
    assert digest(tracker) == expected["before"]
    seq = tracker.inputs_read
    for record in expected["after_records"]:
        feed_record(tracker, record)
    assert tracker.inputs_read >= seq + sum(1 for r in expected["after_records"] if set(r) != {"t"})
    return digest(tracker), entries(tracker, seq), effects(tracker)


def _loaded(name: str) -> CallTracker:
    tracker = pickle.loads((HERE / f"{name}.tracker.pickle").read_bytes())
    assert type(tracker) is CallTracker
    return tracker


def _restored(name: str) -> CallTracker:
    return CallTracker.restore(json.loads((HERE / f"{name}.snapshot.json").read_text()))


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_pickled_and_a_snapshotted_tracker_load_as_saved_and_continue_alike(name: str) -> None:
    expected = _expected(name)
    assert _continued(_loaded(name), expected) == _continued(_restored(name), expected)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_loaded_tracker_pickles_again(name: str) -> None:
    """A tracker loaded from 0.1.0's pickle is pickled in this version's form, and loads back the same."""
    tracker = _loaded(name)
    again = pickle.loads(pickle.dumps(tracker))
    assert digest(again) == digest(tracker)
    assert entries(again, 0) == entries(tracker, 0)
    assert _continued(again, _expected(name)) == _continued(_loaded(name), _expected(name))


def test_pickled_objects_load() -> None:
    objects = pickle.loads((HERE / "objects.pickle").read_bytes())
    ended = objects["session_ended"]
    assert isinstance(ended, SessionEnded)
    assert (ended.session.state.value, str(ended.session.outcome)) == ("error", "rejected")
    assert "without reaching" in str(ended)
    assert isinstance(objects["refused"], CallRefused)
    assert objects["refused"].code.value == "INVALID_STATE"
    assert isinstance(objects["invalid"], InvalidSettings)
    assert objects["invalid"].field == "phoneNumber"
    assert objects["entry"].code == "UNKNOWN_SESSION"
    assert [type(e).__name__ for e in objects["events"]] == ["DialoutAnswered", "DtmfReceived"]
    assert objects["events"][0].info is None  # a field newer than the pickle gets its default
    assert objects["settings"][0].to_daily() == {"phoneNumber": "+15551234567"}
    assert objects["policies"][1].start == 5
    assert objects["policies"][1].join == 30.0
