"""The tracker's rules: routing, binding, anomalies, refusals, outcomes, errors, the journal."""

from __future__ import annotations

import pytest

from dialfsm import (
    AnomalyCode,
    CallRefused,
    CallTracker,
    DialinState,
    DialoutError,
    DialoutState,
    Disposition,
    ErrorCode,
    Input,
    Origin,
    Outcome,
    RefusalCode,
    SessionKind,
)
from tests.helpers import PHONE, SID, dialin_in, dialout_in

OTHER = "5c7f0d2e-0000-4000-8000-000000000002"


# --- the happy paths -----------------------------------------------------------------


def test_dialout_happy_path_with_completion_first() -> None:
    """Start -> completion(id) -> connected -> answered -> stop -> stopped is 'completed'."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    assert session.state is DialoutState.CONNECTING
    assert session.settings == PHONE
    tracker.start_completed(session, session_id=SID, error=None)
    assert session.session_id == SID
    tracker.handle("dialout-connected", {"sessionId": SID})
    tracker.handle("dialout-answered", {"sessionId": SID})
    tracker.stop_dialout(SID)
    tracker.stop_completed(session)
    tracker.handle("dialout-stopped", {"sessionId": SID})
    assert session.states[-1] is DialoutState.STOPPED
    assert session.outcome is Outcome.COMPLETED
    assert [s.value for s in session.states] == [
        "idle",
        "connecting",
        "connected",
        "answered",
        "stopping",
        "stopped",
    ]
    assert not tracker.anomalies


def test_events_before_the_completion_bind_the_id() -> None:
    """daily-python order: the events come first; the completion then only confirms the id."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.handle("on_dialout_connected", {"sessionId": SID})
    assert session.session_id == SID
    entry = tracker.start_completed(session, session_id=SID)
    assert entry.disposition is Disposition.RECORDED
    assert session.state is DialoutState.CONNECTED
    assert not tracker.anomalies


def test_connected_can_be_skipped() -> None:
    """dialout-answered straight from connecting is a transition."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.handle("dialout-answered", {"sessionId": SID})
    assert session.state is DialoutState.ANSWERED


def test_dialin_happy_path() -> None:
    """dialin-connected -> participant-joined -> dialin-stopped is 'completed'."""
    _, session = dialin_in(DialinState.STOPPED)
    assert session.kind is SessionKind.DIALIN
    assert [s.value for s in session.states] == ["idle", "connected", "joined", "stopped"]
    assert session.outcome is Outcome.COMPLETED


def test_dialin_stopped_before_joined_is_not_answered() -> None:
    """A dial-in that ends before media flowed is 'not_answered'."""
    tracker, session = dialin_in(DialinState.CONNECTED)
    tracker.handle("dialin.stopped", {"session_id": SID})
    assert session.outcome is Outcome.NOT_ANSWERED


# --- routing and binding -----------------------------------------------------------------


def test_dialout_error_without_session_id_binds_to_the_waiting_dialout() -> None:
    """An id-less dialout-error fails the oldest dial-out waiting for an id."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.handle("dialout-error", {"errorMsg": "dial-out not enabled for room"})
    assert session.state is DialoutState.ERROR
    assert session.outcome is Outcome.FAILED
    assert session.error_code is ErrorCode.NOT_ALLOWED
    entry = tracker.start_completed(session, error="dial-out not enabled for room")
    assert entry.disposition is Disposition.RECORDED  # a confirmation, not an anomaly


def test_unknown_id_binds_to_the_oldest_waiting_dialout() -> None:
    """With two dial-outs waiting, an unknown id binds to the older one."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout(PHONE)
    second = tracker.start_dialout({"sipUri": "sip:bob@example.com"})
    tracker.handle("dialout-connected", {"sessionId": SID})
    tracker.handle("dialout-connected", {"sessionId": OTHER})
    assert (first.session_id, second.session_id) == (SID, OTHER)


def test_event_that_cannot_be_routed_is_unknown_session() -> None:
    """No session has the id and none waits for one: UNKNOWN_SESSION, never an exception."""
    tracker = CallTracker()
    entry = tracker.handle("dialout-answered", {"sessionId": SID})
    assert entry.code == AnomalyCode.UNKNOWN_SESSION
    assert tracker.handle("dialin-stopped", {"sessionId": SID}).code == AnomalyCode.UNKNOWN_SESSION
    assert tracker.handle("dialout-error", {}).code == AnomalyCode.UNKNOWN_SESSION


def test_dialin_events_never_bind_to_a_waiting_dialout() -> None:
    """Binding unknown ids applies to dialout-* only; dialin-connected makes a dial-in."""
    tracker = CallTracker()
    waiting = tracker.start_dialout(PHONE)
    tracker.handle("dialin-connected", {"sessionId": SID})
    assert waiting.session_id is None
    assert tracker[SID].kind is SessionKind.DIALIN


def test_participant_events_for_untracked_participants_are_journaled() -> None:
    """participant-joined/left of someone we do not track: journaled, not anomalies."""
    tracker = CallTracker()
    assert tracker.handle("participant-joined", {"participant": {"session_id": "bob"}}).disposition is (
        Disposition.JOURNALED
    )
    assert tracker.handle("on_participant_left", {"id": "bob"}).disposition is Disposition.JOURNALED
    assert not tracker.anomalies


def test_participant_left_changes_no_state() -> None:
    """participant-left of a joined dial-in is recorded; dialin-stopped ends it."""
    tracker, session = dialin_in(DialinState.JOINED)
    entry = tracker.handle("participant-left", {"participant": {"session_id": SID}})
    assert entry.disposition is Disposition.RECORDED
    assert session.state is DialinState.JOINED


def test_dtmf_without_session_goes_to_the_only_live_session_else_the_only_one_with_media() -> None:
    """An id-less dtmf-event: the single live session; else the single one answered or joined; else unknown."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.handle("dtmf-event", {"tone": "5"})
    assert session.dtmf == ("5",)
    tracker.handle("dialin-connected", {"sessionId": OTHER})  # connected: no media yet
    assert tracker.handle("dtmf-event", {"tone": "6"}).session is session
    tracker.handle("participant-joined", {"participant": {"session_id": OTHER}})  # a warm transfer: two with media
    assert tracker.handle("dtmf-event", {"tone": "7"}).code == AnomalyCode.UNKNOWN_SESSION
    assert tracker.handle("dtmf-event", {"tone": "8", "sessionId": OTHER}).session is tracker[OTHER]


# --- anomalies ---------------------------------------------------------------------------


def test_duplicates_late_and_out_of_order_leave_state_unchanged() -> None:
    """DUPLICATE_EVENT, OUT_OF_ORDER and LATE_EVENT are recorded, state kept."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    assert tracker.handle("dialout-answered", {"sessionId": SID}).code == AnomalyCode.DUPLICATE_EVENT
    assert tracker.handle("dialout-connected", {"sessionId": SID}).code == AnomalyCode.OUT_OF_ORDER
    assert session.state is DialoutState.ANSWERED
    tracker.handle("dialout-stopped", {"sessionId": SID})
    for name in ("dialout-stopped", "dialout-warning", "dtmf-event"):
        entry = tracker.handle(name, {"sessionId": SID, "tone": "1", "errorMsg": "x"})
        assert entry.code == AnomalyCode.LATE_EVENT, name
    assert session.states[-1] is DialoutState.STOPPED
    assert session.outcome is Outcome.COMPLETED
    assert session.dtmf == ()
    assert session.warnings == ()


def test_warnings_and_dtmf_are_recorded_without_moving() -> None:
    """dialout-warning and dtmf-event never change state."""
    tracker, session = dialout_in(DialoutState.CONNECTED)
    tracker.handle("dialout-warning", {"sessionId": SID, "errorMsg": "codec fallback"})
    tracker.handle("dtmf-event", {"sessionId": SID, "tone": "#"})
    assert session.state is DialoutState.CONNECTED
    assert session.warnings == ("codec fallback",)
    assert session.dtmf == ("#",)


def test_dialin_ready_once_per_endpoint() -> None:
    """One dialin-ready per endpoint is normal; the same endpoint twice is a duplicate."""
    tracker = CallTracker()
    assert tracker.handle("on_dialin_ready", "sip:room.0@x.daily.co").disposition is Disposition.RECORDED
    assert tracker.handle("dialin-ready", {"sipEndpoint": "sip:room.1@x.daily.co"}).disposition is (
        Disposition.RECORDED
    )
    assert tracker.handle("dialin.ready", {"sip_endpoint": "sip:room.0@x.daily.co"}).code == (
        AnomalyCode.DUPLICATE_EVENT
    )
    assert tracker.dialin_endpoints == ("sip:room.0@x.daily.co", "sip:room.1@x.daily.co")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dialout-answered", "not an object"),
        ("dialout-answered", {"sessionId": 42}),
        ("dialout-answered", {}),
        ("dialin-connected", None),
        ("dtmf-event", {"sessionId": SID}),
        ("participant-joined", {"participant": {}}),
        ("dialout-error", {"errorMsg": ["list"]}),
        ("dialout-answered", {"sessionId": "x" * 5000}),
    ],
)
def test_malformed_payloads_are_anomalies(name: str, data: object) -> None:
    """Wrong shapes and types become MALFORMED_INPUT; nothing changes."""
    tracker, session = dialout_in(DialoutState.CONNECTING)
    entry = tracker.handle(name, data)
    assert entry.code == AnomalyCode.MALFORMED_INPUT
    assert session.state is DialoutState.CONNECTING


@pytest.mark.parametrize("name", ["dialout-ringing", "on_foo", 42, None, "x" * 100_000])
def test_unknown_or_invalid_event_names(name: object) -> None:
    """Unknown names are UNKNOWN_EVENT; names that are not strings MALFORMED_INPUT."""
    entry = CallTracker().handle(name, {})
    expected = AnomalyCode.UNKNOWN_EVENT if isinstance(name, str) else AnomalyCode.MALFORMED_INPUT
    assert entry.code == expected


def test_unmatched_completion_is_unexpected() -> None:
    """A completion with no call waiting for it is UNEXPECTED_COMPLETION."""
    tracker = CallTracker()
    assert tracker.stop_completed().code == AnomalyCode.UNEXPECTED_COMPLETION
    assert tracker.start_completed(session_id=SID).code == AnomalyCode.UNEXPECTED_COMPLETION
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.stop_dialout(session, ref="hangup")
    assert tracker.stop_completed(ref="other").code == AnomalyCode.UNEXPECTED_COMPLETION
    assert tracker.stop_completed(ref="hangup").disposition is Disposition.RECORDED


def test_completion_with_wrong_types_is_malformed() -> None:
    """A completion whose error is not text is MALFORMED_INPUT, not an exception."""
    tracker, session = dialout_in(DialoutState.CONNECTING)
    assert tracker.start_completed(session, error=123).code == AnomalyCode.MALFORMED_INPUT  # type: ignore[arg-type]
    assert session.state is DialoutState.CONNECTING


# --- refusals ------------------------------------------------------------------------


def test_dialout_in_progress() -> None:
    """A second dial-out while one is live is DIALOUT_IN_PROGRESS; the limit is a setting."""
    tracker, _ = dialout_in(DialoutState.CONNECTING)
    with pytest.raises(CallRefused) as info:
        tracker.start_dialout(PHONE)
    assert info.value.code is RefusalCode.DIALOUT_IN_PROGRESS
    assert len(tracker) == 1
    tracker2 = CallTracker(max_dialouts=2)
    tracker2.start_dialout(PHONE)
    tracker2.start_dialout(PHONE)
    assert len(tracker2) == 2


def test_a_finished_dialout_frees_its_slot() -> None:
    """After a dial-out ends, another may start."""
    tracker, _ = dialout_in(DialoutState.STOPPED)
    assert tracker.start_dialout(PHONE).state is DialoutState.CONNECTING


def test_not_allowed_when_dialout_is_disabled() -> None:
    """allow_dialout=False refuses with NOT_ALLOWED."""
    with pytest.raises(CallRefused) as info:
        CallTracker(allow_dialout=False).start_dialout(PHONE)
    assert info.value.code is RefusalCode.NOT_ALLOWED


def test_refusal_precedence() -> None:
    """INVALID_SETTINGS beats NOT_ALLOWED beats DIALOUT_IN_PROGRESS; NOT_FOUND beats INVALID_STATE."""
    tracker = CallTracker(allow_dialout=False)
    with pytest.raises(CallRefused) as info:
        tracker.start_dialout({"phoneNumber": "555"})
    assert info.value.code is RefusalCode.INVALID_SETTINGS
    busy, _ = dialout_in(DialoutState.CONNECTING)
    busy.allow_dialout = False
    with pytest.raises(CallRefused) as info:
        busy.start_dialout(PHONE)
    assert info.value.code is RefusalCode.NOT_ALLOWED
    with pytest.raises(CallRefused) as info:
        busy.send_dtmf({"sessionId": "nobody", "tones": "1"})
    assert info.value.code is RefusalCode.NOT_FOUND
    with pytest.raises(CallRefused) as info:
        busy.send_dtmf({"sessionId": "nobody", "tones": "x"})
    assert info.value.code is RefusalCode.INVALID_SETTINGS


@pytest.mark.parametrize(
    "state", [DialoutState.CONNECTING, DialoutState.CONNECTED, DialoutState.STOPPING, DialoutState.STOPPED]
)
def test_dtmf_and_transfers_need_an_answered_call(state: DialoutState) -> None:
    """send_dtmf / sip_call_transfer / sip_refer before answered (or after) are INVALID_STATE."""
    tracker, session = dialout_in(state)
    sid = session.session_id or SID
    before = (session.state, len(session.history))
    for call, settings in (
        (tracker.send_dtmf, {"sessionId": sid, "tones": "1"}),
        (tracker.sip_call_transfer, {"sessionId": sid, "toEndPoint": "+15550001111"}),
        (tracker.sip_refer, {"sessionId": sid, "toEndPoint": "sip:desk@example.com"}),
    ):
        with pytest.raises(CallRefused) as info:
            call(settings)
        assert info.value.code in (RefusalCode.INVALID_STATE, RefusalCode.NOT_FOUND)
    assert (session.state, len(session.history)) == before


def test_stop_after_stopped_is_invalid_state_and_journaled() -> None:
    """A refused call changes nothing but lands in the journal as REFUSED."""
    tracker, session = dialout_in(DialoutState.STOPPED)
    journal = len(tracker.journal)
    with pytest.raises(CallRefused) as info:
        tracker.stop_dialout(SID)
    assert info.value.code is RefusalCode.INVALID_STATE
    assert session.state is DialoutState.STOPPED
    assert len(tracker.journal) == journal + 1
    assert tracker.journal[-1].disposition is Disposition.REFUSED


def test_stop_unknown_and_bad_ids() -> None:
    """stop_dialout of an unknown id is NOT_FOUND; of a non-string INVALID_SETTINGS."""
    tracker = CallTracker()
    with pytest.raises(CallRefused) as info:
        tracker.stop_dialout("nobody")
    assert info.value.code is RefusalCode.NOT_FOUND
    with pytest.raises(CallRefused) as info:
        tracker.stop_dialout(None)  # type: ignore[arg-type]
    assert info.value.code is RefusalCode.INVALID_SETTINGS


def test_stop_without_an_id_is_invalid_state() -> None:
    """A dial-out with no id yet cannot be stopped at Daily: INVALID_STATE."""
    tracker, session = dialout_in(DialoutState.CONNECTING)
    with pytest.raises(CallRefused) as info:
        tracker.stop_dialout(session)
    assert info.value.code is RefusalCode.INVALID_STATE


def test_a_session_of_another_tracker_is_not_found() -> None:
    """Passing another tracker's session object is NOT_FOUND."""
    _, foreign = dialout_in(DialoutState.ANSWERED)
    with pytest.raises(CallRefused) as info:
        CallTracker().stop_dialout(foreign)
    assert info.value.code is RefusalCode.NOT_FOUND


def test_stop_dialout_of_a_dialin_is_invalid_state() -> None:
    """stop_dialout naming a dial-in session is refused (INVALID_STATE), not a crash."""
    tracker, session = dialin_in(DialinState.CONNECTED)
    with pytest.raises(CallRefused) as info:
        tracker.stop_dialout(SID)
    assert info.value.code is RefusalCode.INVALID_STATE
    assert session.state is DialinState.CONNECTED


def test_dtmf_on_a_joined_dialin_is_allowed() -> None:
    """send_dtmf to a joined dial-in is accepted and its completion recorded."""
    tracker, session = dialin_in(DialinState.JOINED)
    assert tracker.send_dtmf({"sessionId": SID, "tones": "1#"}) is session
    assert tracker.dtmf_completed(session).disposition is Disposition.RECORDED


# --- outcomes ------------------------------------------------------------------------------


def test_outcome_not_answered() -> None:
    """The far end stops before answering: not_answered."""
    _, session = dialout_in(DialoutState.STOPPED)
    assert session.outcome is Outcome.NOT_ANSWERED


def test_outcome_cancelled() -> None:
    """The bot stops before the answer: cancelled, even if the answer races the stop."""
    tracker, session = dialout_in(DialoutState.CONNECTED)
    tracker.stop_dialout(session)
    tracker.handle("dialout-answered", {"sessionId": SID})
    assert session.state is DialoutState.STOPPING
    tracker.handle("dialout-stopped", {"sessionId": SID})
    assert session.outcome is Outcome.CANCELLED
    assert not tracker.anomalies


def test_outcome_rejected() -> None:
    """A start completion with an error: error / rejected, error text kept verbatim."""
    _, session = dialout_in(DialoutState.ERROR)
    assert session.state is DialoutState.ERROR
    assert session.outcome is Outcome.REJECTED
    assert session.error == "Dialout(Properties(UnknownCallClientError))"
    assert session.error_code is ErrorCode.NOT_ALLOWED


def test_outcome_failed() -> None:
    """dialout-error on an answered call: error / failed."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.receive(DialoutError(session_id=SID, error_msg="SDP negotiation failed"))
    assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.FAILED)


def test_outcome_transferred_even_when_stopped_comes_before_the_completion() -> None:
    """Transfer -> dialout-stopped -> completion ok: transferred."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.sip_call_transfer({"sessionId": SID, "toEndPoint": "+15550001111"})
    tracker.handle("participant-left", {"participant": {"session_id": SID}})
    tracker.handle("dialout-stopped", {"sessionId": SID})
    assert session.outcome is Outcome.TRANSFERRED
    tracker.transfer_completed(session)
    assert session.outcome is Outcome.TRANSFERRED


def test_a_failed_transfer_after_stop_is_not_transferred() -> None:
    """A transfer whose completion fails after the stop: the outcome is decided again."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.sip_refer({"sessionId": SID, "toEndPoint": "sip:desk@example.com"})
    tracker.handle("dialout-stopped", {"sessionId": SID})
    tracker.refer_completed(session, error="unable to transfer SIP call")
    assert session.outcome is Outcome.COMPLETED
    assert session.error == "unable to transfer SIP call"


def test_a_failed_transfer_keeps_the_call() -> None:
    """A transfer error while answered: recorded, still answered."""
    tracker, session = dialout_in(DialoutState.ANSWERED)
    tracker.sip_call_transfer({"sessionId": SID, "toEndPoint": "sip:desk@example.com"})
    tracker.transfer_completed(session, error="SIP call transfer settings are not valid")
    assert session.state is DialoutState.ANSWERED
    assert session.error_code is ErrorCode.INVALID_SETTINGS
    tracker.handle("dialout-stopped", {"sessionId": SID})
    assert session.outcome is Outcome.COMPLETED


def test_left_meeting_abandons_every_live_call() -> None:
    """left-meeting stops every live session with outcome abandoned; ended ones stay."""
    tracker, out = dialout_in(DialoutState.ANSWERED)
    tracker.handle("dialin-connected", {"sessionId": OTHER})
    tracker.handle("dialin-connected", {"sessionId": "third"})
    tracker.handle("dialin-stopped", {"sessionId": "third"})
    entry = tracker.handle("left-meeting", {})
    assert len(entry.steps) == 2
    assert out.outcome is Outcome.ABANDONED
    assert tracker[OTHER].outcome is Outcome.ABANDONED
    assert tracker["third"].outcome is Outcome.NOT_ANSWERED
    assert tracker.live == ()


def test_start_error_after_progress_is_out_of_order() -> None:
    """An error completion after Daily reported the call connected: the events win."""
    tracker = CallTracker()
    session = tracker.start_dialout(PHONE)
    tracker.handle("dialout-connected", {"sessionId": SID})
    entry = tracker.start_completed(session, error="timed out")
    assert entry.code == AnomalyCode.OUT_OF_ORDER
    assert session.state is DialoutState.CONNECTED


def test_stop_error_keeps_stopping_and_a_second_stop_is_accepted() -> None:
    """A failed stop is recorded; the session stays stopping and may be stopped again."""
    tracker, session = dialout_in(DialoutState.STOPPING)
    tracker.stop_completed(session, error="NOT_FOUND")
    assert session.state is DialoutState.STOPPING
    assert session.error == "NOT_FOUND"
    tracker.stop_dialout(session)
    tracker.handle("dialout-stopped", {"sessionId": SID})
    assert session.outcome is Outcome.COMPLETED


# --- errors (classification: tests/test_errors.py) -----------------------------------------


def test_a_completion_error_is_kept_verbatim_and_classified_for_its_call() -> None:
    tracker, session = dialout_in(DialoutState.CONNECTING)
    tracker.start_completed(session, error="Dialout(Properties(UnknownCallClientError))")
    assert session.error == "Dialout(Properties(UnknownCallClientError))"
    assert session.error_code is ErrorCode.NOT_ALLOWED  # on a start: pipecat #2418


# --- the journal ---------------------------------------------------------------------------


def test_every_input_is_journaled_in_order() -> None:
    """One journal entry per input, refusals and anomalies included, with sequential seq."""
    tracker, _ = dialout_in(DialoutState.ANSWERED)
    with pytest.raises(CallRefused):
        tracker.start_dialout(PHONE)
    tracker.handle("bogus", None)
    names = [e.name for e in tracker.journal]
    assert names == [
        "start_dialout",
        "start_dialout.ok",
        "dialout-connected",
        "dialout-answered",
        "start_dialout",
        "bogus",
    ]
    assert [e.seq for e in tracker.journal] == list(range(6))


def test_lookup_and_iteration() -> None:
    """Sessions are found by id and iterate in creation order."""
    tracker, out = dialout_in(DialoutState.ANSWERED)
    tracker.handle("dialin-connected", {"sessionId": OTHER})
    assert [s.session_id for s in tracker] == [SID, OTHER]
    assert tracker.get(SID) is out
    assert SID in tracker
    assert tracker.get("nope") is None
    with pytest.raises(KeyError):
        tracker["nope"]


def test_invalid_configuration_is_refused() -> None:
    """A tracker with a nonsensical configuration raises ValueError at construction."""
    with pytest.raises(ValueError, match="max_dialouts"):
        CallTracker(max_dialouts=0)
    with pytest.raises(ValueError, match="engine"):
        CallTracker(engine="fast")  # type: ignore[arg-type]


# --- calls the bot made on its SDK directly (observe_call) ---------------------------------


def test_an_observed_call_the_guards_accept_is_tracked_like_a_placed_one() -> None:
    tracker = CallTracker()
    session = tracker.observe_call(Input.START_DIALOUT, {"phoneNumber": "+15551234567"}, ref="s")
    assert session is not None
    assert session.state is DialoutState.CONNECTING
    assert session.origin is Origin.BOT
    tracker.start_completed(session_id="a", ref="s")
    assert tracker["a"] is session
    assert tracker.anomalies == ()


def test_an_observed_call_the_guards_refuse_is_an_anomaly_and_still_tracked() -> None:
    tracker = CallTracker()
    first = tracker.start_dialout({"phoneNumber": "+15551234567"})
    second = tracker.observe_call(Input.START_DIALOUT, {"phoneNumber": "+15557654321"}, ref="x")
    (anomaly,) = tracker.anomalies
    assert anomaly.code == AnomalyCode.UNGUARDED_CALL
    assert str(anomaly.message).startswith("DIALOUT_IN_PROGRESS:")
    assert second is not None
    assert second is not first
    assert second.states == (DialoutState.IDLE, DialoutState.CONNECTING)
    tracker.start_completed(session_id="b", ref="x")
    tracker.handle("dialout-answered", {"sessionId": "b"})
    assert tracker["b"].state is DialoutState.ANSWERED


def test_an_observed_call_with_bad_settings_or_in_a_wrong_state_never_raises() -> None:
    tracker = CallTracker()
    bad = tracker.observe_call(Input.START_DIALOUT, {"phoneNumber": "not a number"})
    assert bad is not None
    assert bad.dialout_settings is None
    tracker.start_completed(bad, error='Dialout settings are not valid: JsonApiError { message: "x" }')
    assert bad.outcome is Outcome.REJECTED
    tracker.handle("dialin-connected", {"sessionId": "in"})
    early = tracker.observe_call(Input.SEND_DTMF, {"sessionId": "in", "tones": "1"}, ref="d")  # not joined yet
    assert early is tracker["in"]
    assert early.state is DialinState.CONNECTED
    assert tracker.dtmf_completed(ref="d").code is None  # its completion pairs, and moves nothing
    assert tracker.observe_call(Input.SIP_REFER, {"sessionId": "nobody", "toEndPoint": "sip:a@b"}) is None
    assert [a.code for a in tracker.anomalies] == [AnomalyCode.UNGUARDED_CALL] * 3
