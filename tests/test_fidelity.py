"""Real calls end right: one test (or a few) per case of the fidelity issue, built from real payload shapes.

Sources (cited per test):

* **dpy** — daily-python 0.36.0: its payload keys (``message``, ``sessionId``),
  completion shapes ``(session_id, error)`` / ``(error,)``, and the Rust ``Debug``
  error texts its completions carry (read from the installed binary and a real
  offline ``CallClient``);
* **djs** — daily-js 0.92.2 ``index.d.ts``: ``dialout-error`` / ``-warning`` /
  ``-stopped`` may carry no ``sessionId``; ``details.destination``,
  ``details.sipHeaders``; ``dialin-error`` ``type: 'start-failed'``;
* **hooks** — Daily's webhook event pages (``dialout.connected`` ...:
  ``session_id``, ``destination``, ``room``, ``caller_id``);
* **pc-cold** — pipecat-examples ``phone-chatbot/daily-pstn-cold-transfer/bot.py``
  (the bot calls ``sip_call_transfer`` and leaves on ``on_dialout_answered``);
* **pc-2418** — https://github.com/pipecat-ai/pipecat/issues/2418
  (``Dialout(Properties(UnknownCallClientError))`` on a room without dial-out).

The error texts themselves are pinned one by one in ``tests/test_errors.py``; the
end-to-end cases are replay logs under ``examples/real/`` (``tests/test_real_logs.py``).
"""

from __future__ import annotations

import json

import pytest

from dialfsm import (
    AnomalyCode,
    CallTracker,
    DialinState,
    DialoutState,
    ErrorCode,
    Input,
    Origin,
    Outcome,
    RetryDialout,
    RetryPolicy,
    Session,
    SessionKind,
    StopCall,
    Timeouts,
)
from dialfsm.testing import replay
from dialfsm.webhooks import handle_webhook

PHONE = "+12125550100"
OTHER = "+12125550199"
SID = "8c2ef0c4-3a1e-4c55-9f0b-3c8d2b9f2a10"
SID2 = "0b6f3d7e-51a2-4ad4-8f1b-6f4b93c1e7d2"


def _placed(tracker: CallTracker, phone: str = PHONE, sid: str | None = SID, t: float = 0.0) -> Session:
    session = tracker.start_dialout({"phoneNumber": phone}, t=t)
    if sid is not None:
        tracker.start_completed(session, sid, None, t=t + 0.5)
    return session


# --- 1. real error texts: permanent failures are never retried -------------------------


def test_a_room_without_dialout_is_not_allowed_and_not_redialled() -> None:
    """pc-2418: the start completion's text is a Rust Debug path; it is NOT_ALLOWED, and no retry is queued."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.start_completed(session, None, "Dialout(Properties(UnknownCallClientError))", t=0.3)
    assert (session.state, session.outcome, session.error_code) == (
        DialoutState.ERROR,
        Outcome.REJECTED,
        ErrorCode.NOT_ALLOWED,
    )
    assert tracker.take_effects() == []
    assert session.retry_pending is False


def test_dialling_before_joining_is_not_in_call_and_not_retried() -> None:
    """dpy: a real offline CallClient completes ``start_dialout`` with ``Dialout(CallState(NotInACall))``."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.start_completed(session, None, "Dialout(CallState(NotInACall))", t=0.1)
    assert session.error_code is ErrorCode.NOT_IN_CALL
    assert tracker.take_effects() == []


def test_a_busy_callee_is_busy_and_a_worker_shortage_is_retried() -> None:
    """RFC 3261 486 in an error event is BUSY (not retried by default); ``NoWorkerForRoom`` is transient."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    busy = _placed(tracker)
    tracker.handle("on_dialout_error", {"sessionId": SID, "message": "486 Busy Here"}, t=2.0)
    assert busy.error_code is ErrorCode.BUSY
    assert tracker.take_effects() == []
    short = tracker.start_dialout({"phoneNumber": PHONE}, t=3.0)
    tracker.start_completed(short, None, "Dialout(Signalling(NoWorkerForRoom))", t=3.2)
    assert short.error_code is ErrorCode.TEMPORARILY_NOT_AVAILABLE
    (retry,) = tracker.take_effects()
    assert isinstance(retry, RetryDialout)
    assert retry.previous is short
    assert short.retry_pending is True


# --- 2. session-less events reach the call they are about --------------------------------


def test_a_sessionless_error_after_the_id_is_bound_ends_the_only_live_dialout() -> None:
    """djs: ``dialout-error`` without ``sessionId`` (allowed by the types) once the completion bound the id."""
    tracker = CallTracker()
    session = _placed(tracker)
    entry = tracker.handle("dialout-error", {"errorMsg": "Dialout(Signalling(NoWorkerForRoom))"}, t=1.0)
    assert entry.session is session
    assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.FAILED)


def test_with_two_live_dialouts_the_payloads_destination_picks_one() -> None:
    """djs: ``details.destination`` names the call; without it, two live dial-outs make the event ambiguous."""
    tracker = CallTracker(max_dialouts=3)
    first = _placed(tracker, PHONE, SID)
    second = _placed(tracker, OTHER, SID2, t=1.0)
    entry = tracker.handle("dialout-error", {"errorMsg": "603 Decline", "details": {"destination": OTHER}}, t=2.0)
    assert entry.session is second
    assert second.state is DialoutState.ERROR
    assert first.state is DialoutState.CONNECTING
    third = tracker.start_dialout({"sipUri": "sip:desk@example.com"}, t=3.0)
    tracker.start_completed(third, "3f0c", None, t=3.5)
    ambiguous = tracker.handle("dialout-warning", {"errorMsg": "codec fallback"}, t=4.0)
    assert ambiguous.code is AnomalyCode.UNKNOWN_SESSION
    assert first.state is DialoutState.CONNECTING
    assert third.state is DialoutState.CONNECTING


# --- 3. no call is stuck before it is answered ------------------------------------------


def test_every_pre_answer_state_ends_on_its_own_with_the_default_timeouts() -> None:
    """A dial-out Daily stops talking about after its completion, and a dial-in whose caller never joins, end."""
    tracker = CallTracker()
    dialout = _placed(tracker)  # completed: connecting, and Daily says nothing more
    tracker.handle("on_dialin_connected", {"sessionId": "in-1", "sipFrom": "sip:+15555550001@example.com"}, t=1.0)
    dialin = tracker.get("in-1")
    assert dialin is not None
    assert tracker.next_deadline is not None
    tracker.advance(10_000.0)
    assert dialout.state is DialoutState.STOPPED
    assert dialout.outcome is Outcome.NOT_ANSWERED
    assert (dialin.state, dialin.outcome) == (DialinState.ERROR, Outcome.FAILED)
    assert "join timed out" in (dialin.error or "")


def test_an_answered_call_outlives_every_default_timer_and_max_call_bounds_it() -> None:
    """Real calls are long: no default timer ends an answered call; ``Timeouts(max_call=...)`` is opt-in."""
    for timeouts, ends in ((Timeouts(), False), (Timeouts(max_call=600), True)):
        tracker = CallTracker(timeouts=timeouts)
        session = _placed(tracker)
        tracker.handle("on_dialout_answered", {"sessionId": SID}, t=5.0)
        tracker.advance(605.0)  # past max_call, within the stop timeout after it
        if not ends:
            assert session.state is DialoutState.ANSWERED
            assert tracker.take_effects() == []
        else:
            assert session.state is DialoutState.STOPPING
            (stop,) = tracker.take_effects()
            assert isinstance(stop, StopCall)
            assert stop.reason == "max_call"
            assert stop.session_id == SID


# --- 4. a start completing after its watchdog fired is hung up ------------------------------


def test_a_late_start_is_hung_up_and_its_retry_withdrawn() -> None:
    """The watchdog gave up (error, retry queued); the completion then names a call that may ring: stop it."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.advance(25.0)
    assert session.state is DialoutState.ERROR
    assert session.retry_pending
    tracker.start_completed(session, SID, None, t=26.0)
    assert session.state is DialoutState.ERROR
    assert session.session_id == SID
    assert not session.retry_pending
    (stop,) = tracker.take_effects()  # exempt from the withdrawal of stops for ended calls
    assert isinstance(stop, StopCall)
    assert stop.after_end
    assert stop.session_id == SID
    tracker.stop_completed(session, None, ref=stop.ref, t=26.5)
    assert tracker.anomalies == ()


# --- 5. a dial-in that failed to start is a session -----------------------------------------


def test_a_start_failed_dialin_is_a_failed_session_in_the_report() -> None:
    """djs: ``dialin-error`` with ``type: 'start-failed'`` and no ``dialin-connected`` before it."""
    records = [
        {
            "event": "dialin-error",
            "data": {"sessionId": "in-9", "errorMsg": "no SIP answer", "type": "start-failed"},
            "t": 0.0,
        }
    ]
    tracker = replay(records)
    (session,) = tracker
    assert (session.kind, session.state, session.outcome) == (SessionKind.DIALIN, DialinState.ERROR, Outcome.FAILED)
    assert session.origin is Origin.CALLER
    assert tracker.anomalies == ()


# --- 6. transfers --------------------------------------------------------------------


def test_pipecats_cold_transfer_ends_transferred_with_a_linked_operator_leg() -> None:
    """pc-cold: transfer the caller, leave on the operator's ``on_dialout_answered``; nothing is unknown."""
    tracker = CallTracker()
    tracker.handle("on_dialin_connected", {"sessionId": "in-1", "sipFrom": "sip:+15555550001@example.com"}, t=0.0)
    tracker.handle("on_participant_joined", {"id": "in-1", "info": {"userName": "+15555550001"}}, t=0.2)
    caller = tracker.get("in-1")
    assert caller is not None
    tracker.sip_call_transfer({"sessionId": "in-1", "toEndPoint": "+15555550111"}, ref="xfer", t=10.0)
    tracker.transfer_completed(caller, None, ref="xfer", t=10.4)
    tracker.handle("on_dialout_connected", {"sessionId": "op-1"}, t=11.0)
    tracker.handle("on_dialout_answered", {"sessionId": "op-1"}, t=15.0)
    tracker.handle("on_left_meeting", None, t=15.5)  # the bot queues an EndFrame on answer
    operator = tracker.get("op-1")
    assert operator is not None
    assert operator.origin is Origin.TRANSFER
    assert operator.transferred_from is caller
    assert caller.transferred_to is operator
    assert caller.outcome is Outcome.TRANSFERRED
    assert tracker.anomalies == ()


def test_a_transfer_failing_after_the_bot_left_ends_abandoned() -> None:
    """pc-cold's failure path, after the bot already left: the caller was abandoned."""
    tracker = CallTracker()
    tracker.handle("on_dialin_connected", {"sessionId": "in-1"}, t=0.0)
    tracker.handle("on_participant_joined", {"id": "in-1"}, t=0.2)
    tracker.sip_call_transfer({"sessionId": "in-1", "toEndPoint": "+15555550111"}, ref="xfer", t=10.0)
    tracker.handle("on_left_meeting", None, t=10.1)
    caller = tracker.get("in-1")
    assert caller is not None
    before = caller.outcome
    tracker.transfer_completed(caller, "Sip(Properties(UnknownCallClientError))", ref="xfer", t=10.5)
    assert (before, caller.outcome) == (Outcome.TRANSFERRED, Outcome.ABANDONED)


def test_a_sessionless_dtmf_in_a_warm_transfer_goes_to_the_call_with_media() -> None:
    """Warm transfer: a dial-in joined and the agent's dial-out ringing; a DTMF without an id is the caller's."""
    tracker = CallTracker()
    tracker.handle("on_dialin_connected", {"sessionId": "in-1"}, t=0.0)
    tracker.handle("on_participant_joined", {"id": "in-1"}, t=0.2)
    _placed(tracker, OTHER, SID, t=1.0)
    tracker.handle("on_dialout_connected", {"sessionId": SID}, t=2.0)
    entry = tracker.handle("dtmf-event", {"tone": "5", "method": "telephone-event"}, t=3.0)
    assert entry.session is tracker.get("in-1")


# --- 7. dial-outs started elsewhere ------------------------------------------------------


def _hook(kind: str, sid: str, ts: int) -> str:
    payload = {"domain_id": "d", "room": "sales", "timestamp": ts, "session_id": sid, "destination": PHONE}
    return json.dumps({"version": "1.0.0", "type": kind, "id": f"{kind}-{sid}", "payload": payload, "event_ts": ts})


def test_webhook_deliveries_adopt_a_dialout_started_elsewhere() -> None:
    """hooks: a server sees ``dialout.*`` for calls placed by a bot or the REST API; it tracks them all."""
    tracker = CallTracker()
    for kind, ts in (("dialout.connected", 1), ("dialout.answered", 4), ("dialout.stopped", 60)):
        handle_webhook(tracker, _hook(kind, SID, ts), t=float(ts))
    (session,) = tracker
    assert (session.origin, session.state, session.outcome) == (Origin.ADOPTED, DialoutState.STOPPED, Outcome.COMPLETED)
    assert (session.destination, session.room) == (PHONE, "sales")
    assert tracker.anomalies == ()


def test_sdk_events_adopt_only_when_asked_and_adopted_calls_run_no_timers() -> None:
    """The SDK's own events for an unknown id are foreign by default; ``"always"`` adopts without timers."""
    default = CallTracker()
    entry = default.handle("on_dialout_connected", {"sessionId": SID}, t=0.0)
    assert entry.code is AnomalyCode.UNKNOWN_SESSION
    never = CallTracker(adopt_unknown_dialouts="never")
    assert handle_webhook(never, _hook("dialout.connected", SID, 1)).entry.code is AnomalyCode.UNKNOWN_SESSION
    always = CallTracker(adopt_unknown_dialouts="always", retry=RetryPolicy(seed=1))
    always.handle("on_dialout_connected", {"sessionId": SID}, t=0.0)
    (session,) = always
    assert session.origin is Origin.ADOPTED
    assert always.next_deadline is None
    always.handle("on_dialout_error", {"sessionId": SID, "message": "Dialout(Signalling(NoWorkerForRoom))"}, t=1.0)
    assert session.outcome is Outcome.FAILED
    assert always.take_effects() == []


# --- 8. several dial-outs at once -------------------------------------------------------------


def test_the_second_call_reported_first_binds_by_destination() -> None:
    """djs: ``dialout-connected`` carries ``destination``; Daily may report the second call first."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": PHONE}, ref="a", t=0.0)
    second = tracker.start_dialout({"phoneNumber": OTHER}, ref="b", t=0.1)
    tracker.handle("dialout-connected", {"sessionId": SID2, "destination": OTHER}, t=0.5)
    tracker.start_completed(None, SID, None, ref="a", t=0.6)
    tracker.start_completed(None, SID2, None, ref="b", t=0.7)
    assert (first.session_id, second.session_id) == (SID, SID2)
    assert second.state is DialoutState.CONNECTED
    assert first.state is DialoutState.CONNECTING
    assert tracker.anomalies == ()


def test_a_guess_without_destination_is_corrected_by_the_completions() -> None:
    """dpy: events carry only ``sessionId``; bound to the oldest call by guess, the completions swap it back."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": PHONE}, ref="a", t=0.0)
    second = tracker.start_dialout({"phoneNumber": OTHER}, ref="b", t=0.1)
    tracker.handle("on_dialout_connected", {"sessionId": SID2}, t=0.5)  # the second call, bound to the first
    tracker.start_completed(None, SID, None, ref="a", t=0.6)
    tracker.start_completed(None, SID2, None, ref="b", t=0.7)
    assert (first.session_id, second.session_id) == (SID, SID2)
    assert second.state is DialoutState.CONNECTED
    assert first.state is DialoutState.CONNECTING
    assert tracker.anomalies == ()


# --- 9. smaller gaps --------------------------------------------------------------------


def test_a_participant_joined_before_its_dialin_connected_is_applied() -> None:
    """Events race: the caller's ``participant-joined`` may come first; the dial-in still ends up joined."""
    tracker = CallTracker()
    tracker.handle("on_participant_joined", {"id": "in-1", "info": {"userName": "caller"}}, t=0.0)
    tracker.handle("on_dialin_connected", {"sessionId": "in-1"}, t=0.1)
    session = tracker.get("in-1")
    assert session is not None
    assert session.state is DialinState.JOINED


def test_the_last_errors_sip_details_are_kept() -> None:
    """djs: ``dialout-error.details.sipHeaders`` carries the hang-up reason; the session keeps it."""
    tracker = CallTracker()
    session = _placed(tracker)
    details = {"destination": PHONE, "sipHeaders": {"Reason": 'Q.850;cause=17;text="user busy"'}}
    tracker.handle("dialout-error", {"sessionId": SID, "errorMsg": "486 Busy Here", "details": details}, t=2.0)
    assert session.error_details == details


# --- 10. when and who -------------------------------------------------------------------


def test_a_session_knows_when_and_who_and_keeps_it_in_snapshots() -> None:
    """Times from the inputs' ``t``; destination from the settings, caller id from ``sipFrom``, room from a webhook."""
    tracker = CallTracker()
    session = _placed(tracker)
    tracker.handle("on_dialout_answered", {"sessionId": SID}, t=4.0)
    tracker.handle("on_dialout_stopped", {"sessionId": SID}, t=64.0)
    tracker.handle("on_dialin_connected", {"sessionId": "in-1", "sipFrom": "sip:+15555550001@example.com"}, t=70.0)
    assert (session.started_at, session.answered_at, session.ended_at) == (0.0, 4.0, 64.0)
    assert (session.duration, session.talk_time, session.destination) == (64.0, 60.0, PHONE)
    dialin = tracker.get("in-1")
    assert dialin is not None
    assert dialin.caller_id == "sip:+15555550001@example.com"
    again = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    restored = again.get(SID)
    assert restored is not None
    assert (restored.started_at, restored.answered_at, restored.ended_at, restored.destination) == (
        0.0,
        4.0,
        64.0,
        PHONE,
    )
    assert again.get("in-1").caller_id == dialin.caller_id  # type: ignore[union-attr]


# --- guesses are corrected, whatever they were (review of the first cut) -------------------


def test_a_call_placed_elsewhere_taken_for_ours_moves_to_a_session_of_its_own() -> None:
    """dpy: the only waiting dial-out takes an unknown id by guess; its completion names another: no harm done."""
    tracker = CallTracker()
    mine = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.handle("on_dialout_connected", {"sessionId": "OTHER"}, t=1.0)
    assert tracker.start_completed(mine, SID, None, t=2.0).code is None
    assert tracker.handle("on_dialout_answered", {"sessionId": SID}, t=3.0).code is None
    tracker.advance(62.0)
    assert tracker.take_effects() == []  # nobody asks to hang up the other call (it runs no timers)
    other = tracker.get("OTHER")
    assert other is not None
    assert other.origin is Origin.ADOPTED
    assert other.state is DialoutState.CONNECTED
    assert mine.state is DialoutState.ANSWERED
    assert mine.states[-1] is DialoutState.ANSWERED
    assert tracker.anomalies == ()


def test_a_late_start_whose_call_was_adopted_is_hung_up_and_not_retried() -> None:
    """Hooks + dpy: the watchdog gave up; a webhook adopted the call; the late completion claims it: hang up."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.advance(21.0)
    hook = {"type": "dialout.connected", "payload": {"session_id": SID, "destination": PHONE}}
    handle_webhook(tracker, json.dumps(hook), t=22.0)
    assert tracker.start_completed(session, SID, None, t=23.0).code is None
    (stop,) = tracker.take_effects()  # the retry was withdrawn
    assert isinstance(stop, StopCall)
    assert stop.session_id == SID
    call = tracker.get(SID)
    assert call is not None
    assert call.origin is Origin.BOT
    assert not session.retry_pending


def test_a_guessed_failure_moves_with_its_call_and_so_does_the_retry() -> None:
    """Two waiting calls; the second's error is taken by the first; the completions put failure and retry right."""
    tracker = CallTracker(max_dialouts=2, retry=RetryPolicy(seed=1))
    first = tracker.start_dialout({"phoneNumber": PHONE}, ref="a", t=0.0)
    second = tracker.start_dialout({"phoneNumber": OTHER}, ref="b", t=0.1)
    tracker.handle("on_dialout_error", {"sessionId": SID2, "message": "Dialout(Signalling(NoWorkerForRoom))"}, t=1.0)
    tracker.start_completed(None, SID, None, ref="a", t=2.0)
    tracker.start_completed(None, SID2, None, ref="b", t=2.1)
    assert (first.state, first.retry_pending) == (DialoutState.CONNECTING, False)
    assert (second.outcome, second.retry_pending) == (Outcome.FAILED, True)
    (retry,) = tracker.take_effects()
    assert isinstance(retry, RetryDialout)
    assert retry.previous is second


def test_a_guessed_transfer_leg_given_back_to_the_bots_call_is_timed() -> None:
    """A leg awaited and a placed call waiting: the leg guess is corrected, and the call's ring timer runs."""
    tracker = CallTracker()
    tracker.handle("on_dialin_connected", {"sessionId": "in-1"}, t=0.0)
    tracker.handle("on_participant_joined", {"id": "in-1"}, t=1.0)
    tracker.sip_call_transfer({"sessionId": "in-1", "toEndPoint": "+15550001111"}, t=2.0)
    mine = tracker.start_dialout({"phoneNumber": PHONE}, t=3.0)
    tracker.handle("on_dialout_connected", {"sessionId": SID}, t=4.0)  # taken for the transfer's leg
    tracker.start_completed(mine, SID, None, t=5.0)
    assert mine.session_id == SID
    assert mine.state is DialoutState.CONNECTED
    assert mine.deadline == 65.0
    assert [s.origin for s in tracker] == [Origin.CALLER, Origin.BOT]  # the leg made by the guess is gone
    tracker.advance(10_000.0)
    assert mine.outcome is Outcome.NOT_ANSWERED


def test_two_waiting_calls_to_one_number_are_a_guess_the_completions_settle() -> None:
    """djs: the destination matches both waiting calls: the oldest is a guess, corrected by the completions."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": PHONE}, ref="a", t=0.0)
    second = tracker.start_dialout({"phoneNumber": PHONE}, ref="b", t=0.1)
    tracker.handle("dialout-connected", {"sessionId": SID2, "destination": PHONE}, t=1.0)
    assert tracker.start_completed(None, SID, None, ref="a", t=2.0).code is None
    assert tracker.start_completed(None, SID2, None, ref="b", t=2.1).code is None
    assert (first.session_id, second.session_id, second.state) == (SID, SID2, DialoutState.CONNECTED)


@pytest.mark.parametrize("first_completed", ["a", "b"])
def test_a_match_left_unique_by_a_guess_is_a_guess_too(first_completed: str) -> None:
    """Review D1: both calls' events come before either completion; the second binding is a guess as well."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": PHONE}, ref="a", t=0.0)
    second = tracker.start_dialout({"phoneNumber": PHONE}, ref="b", t=0.1)
    tracker.handle("dialout.connected", {"session_id": SID2, "destination": PHONE}, t=0.5)  # guess: first
    tracker.handle("dialout.connected", {"session_id": SID, "destination": PHONE}, t=0.6)  # second: also a guess
    tracker.handle("dialout.answered", {"session_id": SID2}, t=0.7)
    ids = {"a": SID, "b": SID2}
    other = "b" if first_completed == "a" else "a"
    assert tracker.start_completed(None, ids[first_completed], None, ref=first_completed, t=0.8).code is None
    assert tracker.start_completed(None, ids[other], None, ref=other, t=0.9).code is None
    assert [(s.session_id, s.state, s.origin.value) for s in tracker] == [
        (SID, DialoutState.CONNECTED, "bot"),
        (SID2, DialoutState.ANSWERED, "bot"),
    ]
    assert [s for s in (first, second) if s.state is DialoutState.CONNECTING] == []
    assert list(tracker.anomalies) == []


def test_a_sessionless_event_with_several_live_dialouts_and_no_destination_is_unknown() -> None:
    """djs: without an id or a destination, one live call ringing and one waiting: truly ambiguous."""
    tracker = CallTracker(max_dialouts=2)
    _placed(tracker)
    tracker.handle("on_dialout_answered", {"sessionId": SID}, t=1.0)
    waiting = tracker.start_dialout({"phoneNumber": OTHER}, t=2.0)
    assert tracker.handle("dialout-error", {"errorMsg": "boom"}, t=3.0).code is AnomalyCode.UNKNOWN_SESSION
    assert waiting.state is DialoutState.CONNECTING


def test_leaving_after_the_transfer_leg_failed_ends_abandoned() -> None:
    """pc-cold: the operator's leg failed (their on_dialout_error); the bot leaves: the caller was abandoned."""
    tracker = CallTracker()
    tracker.handle("on_dialin_connected", {"sessionId": "in-1"}, t=0.0)
    tracker.handle("on_participant_joined", {"id": "in-1"}, t=1.0)
    caller = tracker.get("in-1")
    assert caller is not None
    tracker.sip_call_transfer({"sessionId": "in-1", "toEndPoint": "+15550001111"}, t=2.0)
    tracker.transfer_completed(caller, None, t=3.0)
    tracker.handle("on_dialout_connected", {"sessionId": "op-1"}, t=4.0)
    tracker.handle("on_dialout_error", {"sessionId": "op-1", "message": "486 Busy Here"}, t=5.0)
    tracker.handle("on_left_meeting", None, t=6.0)
    assert caller.outcome is Outcome.ABANDONED


def test_a_sessionless_warning_is_no_sign_of_life_for_a_call_without_an_id() -> None:
    """The start watchdog keeps watching (it may be another call's warning); a late start error is then kept."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.handle("dialout-warning", {"errorMsg": "codec fallback"}, t=1.0)
    tracker.advance(61.5)
    assert (session.state, session.outcome) == (DialoutState.ERROR, Outcome.REJECTED)
    assert session.retry_pending


def test_the_snapshot_keeps_every_option_and_a_retry_the_bot_holds() -> None:
    """Restored, the tracker has the same timeouts, adoption option and retry_pending as the saved one."""
    tracker = CallTracker(
        timeouts=Timeouts(join=None, max_call=600), adopt_unknown_dialouts="always", retry=RetryPolicy(seed=1)
    )
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.advance(21.0)
    tracker.take_effects()  # the bot holds the retry, to place it when due
    again = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    assert (again.timeouts, again.adopt_unknown_dialouts) == (tracker.timeouts, "always")
    (restored,) = again
    assert restored.retry_pending
    assert restored.retry_not_before == session.retry_not_before


def test_forgotten_transfer_sources_leave_no_leg_awaited_and_the_snapshot_restores() -> None:
    """finished_limit forgets a transferred caller; its leg is awaited no more, and the snapshot still loads."""
    tracker = CallTracker(finished_limit=1)
    for n in range(3):
        sid = f"in-{n}"
        tracker.handle("on_dialin_connected", {"sessionId": sid}, t=10.0 * n)
        tracker.handle("on_participant_joined", {"id": sid}, t=10.0 * n + 1)
        tracker.sip_call_transfer({"sessionId": sid, "toEndPoint": "sip:desk@example.com"}, t=10.0 * n + 2)
        tracker.handle("on_dialin_stopped", {"sessionId": sid}, t=10.0 * n + 4)
    again = CallTracker.restore(json.loads(json.dumps(tracker.snapshot())))
    for each in (tracker, again):
        assert [s.session_id for s in each] == ["in-2"]  # the one finished session kept
        each.handle("on_dialout_connected", {"sessionId": "leg"}, t=40.0)
        leg = each.get("leg")
        assert leg is not None
        assert leg.transferred_from is each.get("in-2")
        each.handle("on_dialout_connected", {"sessionId": "next"}, t=41.0)
        assert each.get("next") is None  # no transfer awaits a leg any more: not adopted (an SDK event)


def test_a_guess_undone_after_the_bot_stopped_the_call_hands_over_a_valid_history() -> None:
    """Fuzzing: the bot stopped the call a guess gave it; its own start names another: the stop goes with the call."""
    tracker = CallTracker(adopt_unknown_dialouts="never", timeouts=None)
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=0.0)
    tracker.handle("dialout-warning", {"sessionId": SID2}, t=1.0)  # rule 4: the only call waiting, a guess
    tracker.observe_call(Input.STOP_DIALOUT, session, t=1.5)  # the bot hangs up the call it was given
    tracker.start_completed(session, session_id=SID, t=2.0)  # its own call is another
    other = tracker.sessions[1]
    assert [s.value for s in session.states] == ["idle", "connecting"]
    assert (other.session_id, [s.value for s in other.states]) == (SID2, ["idle", "connecting", "stopping"])
    assert other.origin.value == "adopted"
    from dialfsm._invariants import problems

    assert problems(tracker) == []


def test_an_adopted_call_the_bots_start_then_claims_keeps_a_valid_history() -> None:
    """Fuzzing: a warning adopts a call (connecting); the bot's start names it: no connecting -> connecting step."""
    tracker = CallTracker(max_dialouts=2, timeouts=None, adopt_unknown_dialouts="always")
    tracker.handle("dialout-warning", {"sessionId": SID}, t=0.5)
    session = tracker.start_dialout({"phoneNumber": PHONE}, t=1.0)
    tracker.start_completed(session, session_id=SID, t=1.5)
    tracker.handle("dialout-connected", {"sessionId": SID}, t=2.0)
    assert [(s.session_id, [x.value for x in s.states], s.origin.value) for s in tracker] == [
        (SID, ["idle", "connecting", "connected"], "bot")
    ]
    from dialfsm._invariants import problems

    assert problems(tracker) == []
