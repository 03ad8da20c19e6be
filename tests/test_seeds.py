"""The examples of the two Daily documentation pages dialfsm was created from (shared/seeds)."""

from __future__ import annotations

from typing import Any

import pytest

from dialfsm import CallTracker, DialoutState, Outcome

SID = "7d6f2c4e-3f1b-4d8e-9a0c-5b1e2f3a4c5d"

START_DIALOUT_EXAMPLES: list[dict[str, Any]] = [
    # startDialOut() reference, "Examples"
    {"sipUri": "sip:bob@example.com"},
    {
        "sipUri": "sip:boardroom@example.com",
        "video": True,
        "displayName": "Board Room",
        "codecs": {"video": ["H264"], "audio": ["OPUS"]},
        "videoSettings": {"width": 1280, "height": 720, "fps": 15, "videoBitrate": 900},
    },
    {"phoneNumber": "+12268077097", "displayName": "Support Line", "extension": "1234",
     "waitBeforeExtensionDialSec": 4},
    # "Dial-in and dial-out" guide, "Starting a session"
    {"sipUri": "sip:conference@pbx.example.com", "displayName": "Conference Bridge", "video": False,
     "codecs": {"audio": ["OPUS", "G722"]}},
    {"phoneNumber": "+15551234567", "displayName": "Jane Smith", "callerId": "+18005551000", "extension": "4321",
     "waitBeforeExtensionDialSec": 3},
]  # fmt: skip


@pytest.mark.parametrize("settings", START_DIALOUT_EXAMPLES)
def test_start_dialout_examples_are_accepted(settings: dict[str, Any]) -> None:
    """Every startDialOut example of the seed docs passes the guards and starts a session."""
    tracker = CallTracker()
    session = tracker.start_dialout(settings)
    assert session.state is DialoutState.CONNECTING
    assert session.settings == settings
    tracker.start_completed(session, session_id=SID)
    assert session.session_id == SID


def test_send_dtmf_example() -> None:
    """The guide's sendDTMF example is accepted on an answered call."""
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(session, session_id=SID)
    tracker.handle("dialout-answered", {"sessionId": SID})
    assert tracker.send_dtmf({"sessionId": SID, "tones": "1234#", "method": "auto", "digitDurationMs": 100}) is session
    tracker.dtmf_completed(session)
    assert session.state is DialoutState.ANSWERED
    assert not tracker.anomalies


def test_full_dial_out_flow_of_the_guide() -> None:
    """CallPhoneNumber -> dialout-answered -> pressKey -> endCall -> dialout-stopped, as the guide wires it."""
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})  # callPhoneNumber()
    tracker.start_completed(session, session_id=SID)  # const { session } = await call.startDialOut(...)
    tracker.handle("dialout-connected", {"action": "dialout-connected", "sessionId": SID, "sipCallId": "s"})
    tracker.handle("dialout-answered", {"action": "dialout-answered", "sessionId": SID})  # status: connected
    tracker.send_dtmf({"sessionId": SID, "tones": "5", "method": "auto"})  # pressKey('5')
    tracker.dtmf_completed(session)
    tracker.stop_dialout(SID)  # endCall()
    tracker.stop_completed(session)
    tracker.handle("dialout-stopped", {"action": "dialout-stopped", "sessionId": SID})  # status: idle
    assert session.state is DialoutState.STOPPED
    assert session.outcome is Outcome.COMPLETED
    assert not tracker.anomalies
    assert not tracker.refusals


def test_full_flow_error_branch() -> None:
    """The guide's dialout-error handler: the session ends in error with errorMsg kept."""
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(session, session_id=SID)
    tracker.handle("dialout-error", {"sessionId": SID, "errorMsg": "SDP negotiation failed"})
    assert (session.state, session.outcome, session.error) == (
        DialoutState.ERROR,
        Outcome.FAILED,
        "SDP negotiation failed",
    )
