"""dialfsm._routing: every Daily event has a route, and the routing rules pick the right session."""

from __future__ import annotations

import typing

from dialfsm import AnomalyCode, CallTracker, DailyEvent, Disposition, SessionKind
from dialfsm._journal import ATOM_CLASSES, ENCODERS
from dialfsm._routing import ROUTES


def test_every_daily_event_has_a_route_and_a_row_codec() -> None:
    events = set(typing.get_args(DailyEvent))
    assert set(ROUTES) == events
    assert events <= set(ENCODERS)
    assert events <= set(ATOM_CLASSES)


def test_an_event_with_an_unknown_id_binds_to_the_oldest_dialout_waiting() -> None:
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": "+15551234567"})
    second = tracker.start_dialout({"phoneNumber": "+15557654321"})
    tracker.handle("dialout-connected", {"sessionId": "a"})
    assert (first.session_id, second.session_id) == ("a", None)


def test_an_event_naming_a_session_of_the_other_kind_is_unknown() -> None:
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "in"})
    entry = tracker.handle("dialout-answered", {"sessionId": "in"})
    assert entry.code is AnomalyCode.UNKNOWN_SESSION
    assert tracker["in"].kind is SessionKind.DIALIN


def test_dtmf_without_an_id_goes_to_the_only_live_session() -> None:
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "in"})
    assert tracker.handle("dtmf-event", {"tone": "1"}).session is tracker["in"]
    tracker.handle("dialin-connected", {"sessionId": "in2"})
    assert tracker.handle("dtmf-event", {"tone": "1"}).code is AnomalyCode.UNKNOWN_SESSION


def test_an_untracked_participant_and_leaving_an_empty_room_are_only_journaled() -> None:
    tracker = CallTracker()
    assert (
        tracker.handle("participant-joined", {"participant": {"session_id": "x"}}).disposition is Disposition.JOURNALED
    )
    assert tracker.handle("left-meeting").disposition is Disposition.JOURNALED
