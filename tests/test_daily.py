"""The daily-python adapter, against the real installed ``daily`` package (only the network is absent)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Iterator
from typing import Any

import daily
import pytest

from dialfsm import (
    CallRefused,
    CallTracker,
    DialinState,
    DialoutState,
    Outcome,
    RefusalCode,
    RetryDialout,
    RetryPolicy,
    StopCall,
)
from dialfsm.aio import AsyncTracker
from dialfsm.daily import PARTICIPANT_CALLBACKS, TELEPHONY_CALLBACKS, TRACKED_CALLBACKS, DailyCalls, event_handler_class
from dialfsm.threads import LockedTracker, LoopHandoff
from tests.sdk import init_daily

SID = "5c7f0d2e-0000-4000-8000-000000000001"
DIALIN = "5c7f0d2e-0000-4000-8000-0000000000d1"
PHONE = {"phoneNumber": "+15551234567"}
NOT_IN_CALL = "Dialout(CallState(NotInACall))"  # what the real engine answers when not joined


@pytest.fixture(autouse=True)
def _close_adapters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every adapter a test made, so no timers thread outlives its test."""
    made: list[DailyCalls] = []
    original = DailyCalls.__init__

    @functools.wraps(original)
    def init(self: DailyCalls, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(DailyCalls, "__init__", init)
    yield
    for calls in made:
        calls.close()
        assert not calls.timers_running


def on_engine_thread(*calls: tuple[Any, ...]) -> None:
    """Invoke handler methods from a thread Python did not run the test on, as daily-python's engine does."""

    def run() -> None:
        for method, *args in calls:
            method(*args)

    thread = threading.Thread(target=run, name="daily-engine")
    thread.start()
    thread.join()


def test_every_telephony_callback_the_installed_sdk_defines_is_tracked() -> None:
    defined = {name for name in dir(daily.EventHandler) if name.startswith(("on_dialin", "on_dialout", "on_dtmf"))}
    assert defined == set(TELEPHONY_CALLBACKS)
    assert len(TELEPHONY_CALLBACKS) == 11
    assert set(PARTICIPANT_CALLBACKS) <= set(dir(daily.EventHandler))
    cls = event_handler_class()
    assert issubclass(cls, daily.EventHandler)
    for name in dir(daily.EventHandler):
        if name.startswith("on_"):
            assert name in cls.__dict__, name  # every callback overridden (forwarded to the delegate)
            assert cls.__dict__[name].__doc__


def test_each_tracked_callback_reaches_the_tracker() -> None:
    calls = DailyCalls()
    handler = calls.event_handler
    assert isinstance(handler, daily.EventHandler)
    expected = {
        "on_dialin_ready": ("sip:room@sip.daily.co",),
        "on_dialin_connected": ({"sessionId": DIALIN, "sipFrom": "+15550000001"},),
        "on_dialin_warning": ({"sessionId": DIALIN, "message": "codec fallback"},),
        "on_participant_joined": ({"id": DIALIN, "info": {"userName": "+1555"}},),
        "on_dtmf_event": ({"sessionId": DIALIN, "tone": "5", "method": "telephone-event", "volume": 10},),
        "on_dialin_error": ({"sessionId": DIALIN, "message": "SDP negotiation failed"},),
        "on_dialin_stopped": ({"sessionId": DIALIN},),
        "on_participant_left": ({"id": DIALIN}, "hungUp"),
        "on_call_state_updated": ("left",),
    }
    assert set(expected) == {name for name in TRACKED_CALLBACKS if not name.startswith("on_dialout")}
    for name, args in expected.items():
        before = calls.tracker.inputs_read
        on_engine_thread((getattr(handler, name), *args))
        assert calls.tracker.inputs_read == before + 1, name
    assert calls.tracker.dialin_endpoints == ("sip:room@sip.daily.co",)
    session = calls.tracker[DIALIN]
    assert session.states == (DialinState.IDLE, DialinState.CONNECTED, DialinState.JOINED, DialinState.ERROR)
    assert session.dtmf == ("5",)
    assert session.warnings == ("codec fallback",)
    assert session.error == "SDP negotiation failed"
    assert not calls.errors


def test_dialout_callbacks_before_and_after_the_completion() -> None:
    calls = DailyCalls(client=_ScriptedClient())
    handler = calls.event_handler
    session = calls.start_dialout(PHONE)
    on_engine_thread(
        (handler.on_dialout_connected, {"sessionId": SID}),  # before the completion, as daily-python delivers
        (calls.client.complete_start, SID, None),
        (handler.on_dialout_warning, {"sessionId": SID, "message": "codec"}),
        (handler.on_dialout_answered, {"sessionId": SID}),
    )
    assert session.session_id == SID
    assert session.state is DialoutState.ANSWERED
    calls.send_dtmf({"sessionId": SID, "tones": "12#"})
    calls.stop_dialout(session)
    on_engine_thread(
        (calls.client.complete, None),
        (handler.on_dialout_stopped, {"sessionId": SID}),
        (calls.client.complete, None),
        (handler.on_dialout_error, {"message": "late"}),
    )
    assert (session.state, session.outcome) == (DialoutState.STOPPED, Outcome.COMPLETED)
    assert [c[0] for c in calls.client.calls] == ["start_dialout", "send_dtmf", "stop_dialout"]
    assert calls.client.calls[0][1] == {"phoneNumber": "+15551234567"}
    assert calls.client.calls[1][1] == {"sessionId": SID, "tones": "12#"}
    assert [e.code for e in calls.tracker.anomalies] == ["UNKNOWN_SESSION"]  # the late error with no id
    assert not calls.errors


class _ScriptedClient:
    """Records calls and lets the test play their completions; stands in where the real client needs a call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.pending: list[Any] = []

    def _record(self, name: str, argument: object, completion: Any) -> None:
        self.calls.append((name, argument))
        self.pending.append(completion)

    def start_dialout(self, settings: object, completion: Any = None) -> None:
        self._record("start_dialout", settings, completion)

    def stop_dialout(self, participant_id: object, completion: Any = None) -> None:
        self._record("stop_dialout", participant_id, completion)

    def send_dtmf(self, settings: object, completion: Any = None) -> None:
        self._record("send_dtmf", settings, completion)

    def complete_start(self, session_id: str | None, error: str | None) -> None:
        self.pending.pop(0)(session_id, error)

    def complete(self, error: str | None) -> None:
        self.pending.pop(0)(error)


def test_the_real_call_client_completions_reach_the_tracker() -> None:
    """Not joined, the real engine answers every call with an error, on its own thread."""
    init_daily()
    delegate_seen: list[tuple[str, str]] = []

    class Bot(daily.EventHandler):
        def on_error(self, message: str) -> None:
            delegate_seen.append((threading.current_thread().name, message))

    calls = DailyCalls(CallTracker(), delegate=Bot())
    client = calls.create_client()
    try:
        session = calls.start_dialout(PHONE)
        _wait(lambda: session.is_terminal)
        assert (session.state, session.outcome, session.error) == (DialoutState.ERROR, Outcome.REJECTED, NOT_IN_CALL)
        # A dial-out driven to answered by (scripted) events; the real client then refuses to stop it.
        other = calls.tracker.start_dialout(PHONE)  # placed without the client: its completion is ours to give
        calls.tracker.start_completed(other, session_id=SID)
        calls.event_handler.on_dialout_answered({"sessionId": SID})
        calls.send_dtmf({"sessionId": SID, "tones": "1"})
        calls.sip_call_transfer({"sessionId": SID, "toEndPoint": "+15550000000"})
        calls.sip_refer({"sessionId": SID, "toEndPoint": "sip:agent@example.com"})
        calls.stop_dialout(other)
        _wait(lambda: sum(e.name.endswith(".error") for e in calls.tracker.journal) == 5)
        assert other.state is DialoutState.STOPPING
        assert other.error is not None
        # The engine completes them in its own order (stop's came first in a probe); refs pair each with its call.
        errors = {e.name: e.message for e in calls.tracker.journal if e.name.endswith(".error")}
        assert errors == {
            "start_dialout.error": NOT_IN_CALL,
            "send_dtmf.error": NOT_IN_CALL,
            "stop_dialout.error": NOT_IN_CALL,
            "sip_call_transfer.error": "Sip(CallState(NotInACall))",
            "sip_refer.error": "Sip(CallState(NotInACall))",
        }
        assert not calls.tracker.anomalies
        _wait(lambda: len(delegate_seen) >= 1)  # the engine's own on_error reached the bot's handler...
        assert delegate_seen[0][0] != threading.current_thread().name  # ...on the engine's thread
        assert not calls.errors
    finally:
        client.release()


def test_the_real_call_client_with_a_loop_hand_off() -> None:
    init_daily()

    async def main() -> None:
        calls = DailyCalls(CallTracker(), loop=asyncio.get_running_loop())
        assert isinstance(calls.feed, LoopHandoff)
        client = calls.create_client()
        try:
            session = calls.start_dialout(PHONE)
            await AsyncTracker(calls.tracker).wait_for(session, outcome=Outcome.REJECTED, timeout=5)
            assert session.error == NOT_IN_CALL
        finally:
            client.release()

    asyncio.run(main())


def _wait(condition: Any, timeout: float = 5.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not met in time")


def test_refused_calls_raise_and_call_nothing() -> None:
    client = _ScriptedClient()
    calls = DailyCalls(CallTracker(allow_dialout=False), client=client)
    with pytest.raises(CallRefused) as info:
        calls.start_dialout(PHONE)
    assert info.value.code is RefusalCode.NOT_ALLOWED
    with pytest.raises(CallRefused):
        calls.send_dtmf({"sessionId": SID, "tones": "1"})
    assert client.calls == []
    with pytest.raises(RuntimeError, match="no CallClient"):
        DailyCalls().start_dialout(PHONE)


def test_a_client_that_raises_at_once_rejects_the_session_and_re_raises() -> None:
    class Broken:
        def start_dialout(self, settings: object, completion: Any = None) -> None:
            raise TypeError("'None' is not an instance of 'str'")

    calls = DailyCalls(client=Broken())
    with pytest.raises(TypeError):
        calls.start_dialout(PHONE)
    (session,) = calls.tracker.sessions
    assert session.outcome is Outcome.REJECTED
    assert session.error is not None
    assert session.error.startswith("start_dialout raised TypeError")


def test_nothing_raises_into_the_sdk() -> None:
    class Delegate:
        def on_dialout_answered(self, data: object) -> None:
            raise RuntimeError("bot bug")

    locked = LockedTracker()

    def bad_listener(entry: object) -> None:
        raise RuntimeError("listener bug")

    locked.tracker.add_entry_listener(bad_listener)
    calls = DailyCalls(locked, delegate=Delegate(), client=_ScriptedClient())
    handler = calls.event_handler
    session = calls.start_dialout(PHONE)
    on_engine_thread(
        (handler.on_dialout_answered, {"sessionId": SID}),
        (handler.on_dialout_answered, "not a dict"),  # malformed: an anomaly, not an exception
        (handler.on_dtmf_event, {"sessionId": 5}),
        (handler.on_participant_left,),  # wrong arity
        (handler.on_call_state_updated, "joined"),  # not fed
        (calls.client.complete_start, object(), 12),  # odd completion values
    )
    assert session.state is DialoutState.ANSWERED
    assert [type(e).__name__ for e in calls.errors] == ["RuntimeError", "RuntimeError"]
    assert locked.tracker.listener_errors
    calls.tracker.handle = None  # type: ignore[assignment,method-assign]  # now even feeding fails
    on_engine_thread((handler.on_dialin_ready, "sip:x"))
    assert len(calls.errors) == 3


def test_the_handler_class_is_built_once_and_payloads_are_copied() -> None:
    assert event_handler_class() is event_handler_class()
    calls = DailyCalls()
    payload = {"sessionId": DIALIN}
    handler: Any = calls.event_handler  # daily-python's stub omits the four on_dialin_* but ready
    handler.on_dialin_connected(payload)
    payload["sessionId"] = "changed"
    assert calls.tracker.journal[0].input.session_id == DIALIN  # type: ignore[attr-defined]
    assert "delegate" in inspect.signature(DailyCalls).parameters


def test_inputs_carry_the_adapters_clock_so_timers_arm() -> None:
    """Every callback is fed with t from the adapter's clock; a dial-out's ring timer is armed from it."""
    now = [100.0]
    calls = DailyCalls(client=_ScriptedClient(), clock=lambda: now[0])
    session = calls.start_dialout(PHONE)
    on_engine_thread((calls.event_handler.on_dialout_connected, {"sessionId": SID}))
    assert all(entry.t == 100.0 for entry in calls.tracker.journal)
    assert session.deadline == 160.0
    no_clock = DailyCalls(client=_ScriptedClient(), clock=None)
    assert no_clock.start_dialout(PHONE).deadline is None


def test_perform_stops_a_call_and_places_a_retry_through_the_real_client() -> None:
    """StopCall and RetryDialout carried out with the real CallClient (not joined: it answers with errors)."""
    init_daily()
    now = [0.0]
    calls = DailyCalls(CallTracker(retry=RetryPolicy(seed=1, jitter=0.0)), clock=lambda: now[0], perform_effects=False)
    calls.close()  # this test drives the timers and the effects by hand
    client = calls.create_client()
    tracker = calls.tracker
    try:
        session = tracker.start_dialout(PHONE, t=0.0)  # placed without the client: its completion is ours to give
        tracker.start_completed(session, session_id=SID, t=0.5)
        calls.event_handler.on_dialout_connected({"sessionId": SID})
        now[0] = 61.0
        tracker.advance(61.0)
        (stop,) = tracker.take_effects()
        assert isinstance(stop, StopCall)
        assert asyncio.run(calls.perform(stop)) is None
        _wait(lambda: tracker.journal[-1].name == "stop_dialout.error")
        assert tracker.journal[-1].message == NOT_IN_CALL
        assert session.state is DialoutState.STOPPING
        calls.event_handler.on_dialout_stopped({"sessionId": SID})
        assert session.outcome is Outcome.NOT_ANSWERED

        failed = tracker.start_dialout(PHONE, t=70.0)
        tracker.start_completed(failed, None, "start_dialout timed out", t=70.5)
        (retry,) = tracker.take_effects()
        assert isinstance(retry, RetryDialout)
        now[0] = 80.0  # already due
        second = asyncio.run(calls.perform(retry))
        assert second is not None
        assert (second.attempt, second.previous) == (2, failed)
        _wait(lambda: second.is_terminal)
        assert (second.outcome, second.error) == (Outcome.REJECTED, NOT_IN_CALL)
        assert not tracker.anomalies
        assert not calls.errors
    finally:
        client.release()


def test_perform_does_not_stop_a_call_that_ended_meanwhile() -> None:
    init_daily()
    calls = DailyCalls(CallTracker(), clock=lambda: 61.0, perform_effects=False)
    calls.close()  # this test drives the timers and the effects by hand
    client = calls.create_client()
    tracker = calls.tracker
    try:
        session = tracker.start_dialout(PHONE, t=0.0)
        tracker.start_completed(session, session_id=SID, t=0.5)
        tracker.handle("dialout-connected", {"sessionId": SID}, t=1.0)
        tracker.advance(61.0)
        (stop,) = tracker.take_effects()
        calls.event_handler.on_dialout_stopped({"sessionId": SID})  # before perform ran
        assert asyncio.run(calls.perform(stop)) is None
        assert tracker.journal[-1].name == "stop withdrawn"
        assert (session.outcome, session.error) == (Outcome.NOT_ANSWERED, None)
        assert not any(e.name.startswith("stop_dialout.") for e in tracker.journal)  # Daily was not asked
    finally:
        client.release()
