"""Generated live runs of a bot with a recorder attached, for the record/replay properties.

A run is a tracker's options, whether the bot passes times, whether the
recorder redacts, and a list of actions a bot takes, played against a live
tracker through its public API: calls (valid, invalid, with refs a bot could
choose, ``retry_of``), completions (paired by ``session=``, by ref, or not at
all; ok or failed), Daily's events (in every dialect, some with payloads JSON
cannot hold), clock ticks, effects taken, carried out and withdrawn, notes
and outside anomalies; and what real calls add (review of the merge): calls the
bot made on its SDK directly (``observe_call``, refused or not, naming a
session without an id), events naming their destination before any start
completed (several calls to one number, or to SIP users that redaction could
confuse), and dial-outs started elsewhere (every ``adopt_unknown_dialouts``).
:func:`conclusions` is what a replay must reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from dialfsm import CallRefused, CallTracker, Input, RetryDialout, RetryPolicy, Session, StopCall, Timeouts
from dialfsm.testing.strategies import dialout_settings, invalid_dialout_settings

SIDS = ("s1", "s2", "s3", "d1", "d2")
REFS = (None, None, None, "a", "b", "#1", "#3", "ring_timeout#4", "ring_timeout:s1")
ERRORS = (None, None, "No workers available", "Dialout(Properties(UnknownCallClientError))", "timed out")
#: Destinations redaction could make equal: same length and last 4 digits; same host and user length.
DESTINATIONS = ("+15551234567", "+15559994567", "+15551234567", "sip:1001@pbx.example", "sip:1002@pbx.example")


class _Odd:
    """An SDK-like object JSON cannot hold."""

    def __repr__(self) -> str:
        return "<Odd +15551234567>"


def _payload_extra() -> st.SearchStrategy[dict[Any, Any]]:
    odd = st.sampled_from([{1, 2}, b"+15551234567", _Odd(), {3: "x"}, 10**5000, "\ud83d", [[[[]]]]])
    return st.dictionaries(st.sampled_from(["x", "y", 7]), odd, max_size=2)


@st.composite
def tracker_options(draw: st.DrawFn) -> dict[str, Any]:
    """Options a bot's tracker may run with (behaviour options, and an engine)."""
    seconds = st.one_of(st.none(), st.floats(0.5, 90))
    timeouts = draw(
        st.one_of(
            st.none(),
            st.builds(Timeouts, start=seconds, ring=seconds, stop=seconds, join=seconds, max_call=seconds),
        )
    )
    retry = draw(
        st.one_of(
            st.none(),
            st.builds(
                RetryPolicy,
                max_attempts=st.integers(1, 4),
                base_delay=st.floats(0, 5),
                seed=st.one_of(st.none(), st.integers(0, 2**32)),
            ),
        )
    )
    return {
        "max_dialouts": draw(st.integers(1, 3)),
        "allow_dialout": draw(st.sampled_from([True, True, True, True, False])),
        "timeouts": timeouts,
        "retry": retry,
        "finished_limit": draw(st.one_of(st.none(), st.integers(0, 3))),
        "engine": draw(st.sampled_from(["compiled", "transitions"])),
        "adopt_unknown_dialouts": draw(st.sampled_from(["never", "webhook", "always"])),
    }


_EVENT_NAMES = (
    "dialout-connected",
    "on_dialout_answered",
    "dialout.stopped",
    "dialout-error",
    "dialout-warning",
    "dialin-connected",
    "on_dialin_stopped",
    "dialin-error",
    "participant-joined",
    "dtmf-event",
    "left-meeting",
    "dialin-ready",
    "nonsense",
)


def actions() -> st.SearchStrategy[tuple[Any, ...]]:
    """One thing the bot does or Daily says."""
    settings = st.one_of(dialout_settings(), invalid_dialout_settings().map(lambda case: case.settings))
    index = st.integers(0, 7)
    progress = st.sampled_from(["dialout-connected", "dialout-answered", "dialout-stopped", "dialout-error"])
    return st.one_of(
        st.tuples(st.just("start"), settings, st.sampled_from(REFS), st.sampled_from([None, "session", "id"]), index),
        st.tuples(st.just("start"), dialout_settings(), st.sampled_from(REFS), st.just(None), index),
        st.tuples(
            st.just("call"),
            st.sampled_from(SIDS[:3]),
            st.lists(
                st.sampled_from(["connected", "answered", "stopped", "tick", "ring", "hangup", "fail"]), max_size=5
            )
            | st.just(["connected", "ring"]),
        ),
        st.tuples(
            st.just("dialin"), st.sampled_from(SIDS[3:]), st.lists(st.sampled_from(["joined", "dtmf", "stopped"]))
        ),
        st.tuples(st.just("progress"), index, progress, st.sampled_from(SIDS)),
        st.tuples(st.just("progress"), index, progress, st.sampled_from(SIDS)),
        st.tuples(st.just("complete"), index, st.sampled_from(ERRORS), st.sampled_from(SIDS), st.integers(0, 2)),
        st.tuples(st.just("complete"), index, st.sampled_from(ERRORS), st.sampled_from(SIDS), st.integers(0, 2)),
        st.tuples(st.just("event"), st.sampled_from(_EVENT_NAMES), st.sampled_from(SIDS), _payload_extra()),
        st.tuples(st.just("event"), st.sampled_from(_EVENT_NAMES), st.sampled_from(SIDS), st.just({})),
        st.tuples(st.just("stop"), index, st.sampled_from(REFS), st.booleans()),
        st.tuples(st.just("dtmf"), st.sampled_from(SIDS), st.sampled_from(["1", "12#", "x"]), st.sampled_from(REFS)),
        st.tuples(st.just("transfer"), st.sampled_from(SIDS), st.sampled_from(["+15559876543", "sip:a@b.c", "bad"])),
        st.tuples(st.just("tick"), st.floats(0, 120)),
        st.tuples(st.just("effects"), st.integers(0, 3)),
        st.tuples(st.just("effects"), st.just(3)),
        st.tuples(st.just("note"), st.sampled_from(["calltransfer.triggered", "app marker +15551234567"])),
        st.tuples(st.just("place"), st.sampled_from(DESTINATIONS), st.sampled_from(REFS)),
        st.tuples(
            st.just("observe"),
            st.sampled_from(["start", "stop", "stop_by_id", "dtmf"]),
            index,
            st.sampled_from(DESTINATIONS),
            st.sampled_from(REFS),
        ),
        st.tuples(
            st.just("named"),
            st.sampled_from(["dialout-connected", "dialout.connected", "dialout-answered", "dialout.stopped"]),
            st.sampled_from(SIDS),
            st.sampled_from(DESTINATIONS),
        ),
    )


@st.composite
def live_runs(draw: st.DrawFn) -> tuple[dict[str, Any], bool, bool, list[tuple[Any, ...]]]:
    """``(tracker options, timed, redact, actions)``."""
    timed = draw(st.sampled_from([True, True, False]))
    return draw(tracker_options()), timed, draw(st.booleans()), draw(st.lists(actions(), min_size=2, max_size=50))


@dataclass
class Bot:
    """Plays actions against a live tracker, as a bot would."""

    tracker: CallTracker
    timed: bool
    now: float = 0.0
    started: list[Session] = field(default_factory=list)
    pending: list[tuple[str, Session, str | None]] = field(default_factory=list)
    effects: list[Any] = field(default_factory=list)

    def t(self) -> float | None:
        """The time of the next input: half a second on, or ``None`` for a bot that passes no times."""
        if not self.timed:
            return None
        self.now += 0.5
        return self.now

    def play(self, action: tuple[Any, ...]) -> None:
        """Do one action."""
        getattr(self, f"_{action[0]}")(*action[1:])

    def _start(self, settings: Any, ref: str | None, retry: str | None, index: int) -> None:
        retry_of: Any = None
        if retry is not None and self.started:
            previous = self.started[index % len(self.started)]
            retry_of = previous if retry == "session" else previous.session_id
        try:
            session = self.tracker.start_dialout(settings, ref=ref, t=self.t(), retry_of=retry_of)
        except CallRefused:
            return
        self.started.append(session)
        self.pending.append(("start", session, ref))

    def _complete(self, index: int, error: str | None, sid: str, how: int) -> None:
        if not self.pending:
            self.tracker.start_completed(None, session_id=sid, error=error, t=self.t())
            return
        call, session, ref = self.pending.pop(index % len(self.pending))
        by_session = session if how == 0 else None
        by_ref = ref if how == 1 else None
        helper = getattr(
            self.tracker, {"start": "start_completed", "dtmf": "dtmf_completed"}.get(call, "stop_completed")
        )
        if call == "start":
            helper(by_session, session_id=None if error else sid, error=error, ref=by_ref, t=self.t())
        else:
            helper(by_session, error, ref=by_ref, t=self.t())

    def _event(self, name: str, sid: str, extra: dict[Any, Any]) -> None:
        data: Any = {"sessionId": sid, "participant": {"session_id": sid}, "tone": "5", "errorMsg": "timed out"}
        data.update(extra)
        if name == "dialin-ready":
            data = f"sip:room-{sid}@example.sip.daily.co"
        self.tracker.handle(name, data, t=self.t())

    def _call(self, sid: str, steps: list[str]) -> None:
        """A whole dial-out, as a well-behaved bot places it and Daily reports it (with a few surprises)."""
        try:
            session = self.tracker.start_dialout({"phoneNumber": "+15551234567"}, t=self.t())
        except CallRefused:
            return
        self.started.append(session)
        self.tracker.start_completed(session, session_id=sid, t=self.t())
        for step in steps:
            if step == "tick":
                self._tick(30.0)
            elif step == "ring":
                self._tick(70.0)
                self._effects(0)
            elif step == "hangup":
                self._stop(len(self.started) - 1, None, False)
            elif step == "fail":
                self.tracker.handle("dialout-error", {"sessionId": sid, "errorMsg": "No workers"}, t=self.t())
                self._effects(3)
            else:
                self.tracker.handle(f"dialout-{step}", {"sessionId": sid}, t=self.t())

    def _dialin(self, sid: str, steps: list[str]) -> None:
        self.tracker.handle("on_dialin_connected", {"sessionId": sid, "sipFrom": "sip:+15551234567@x"}, t=self.t())
        for step in steps:
            name = {"joined": "participant-joined", "dtmf": "dtmf-event", "stopped": "dialin-stopped"}[step]
            data = {"sessionId": sid, "participant": {"session_id": sid}, "tone": "7"}
            self.tracker.handle(name, data, t=self.t())

    def _progress(self, index: int, name: str, sid: str) -> None:
        """Daily reports on a call the bot placed (by its id, or with a new id that binds it)."""
        if not self.started:
            return
        session = self.started[index % len(self.started)]
        data = {"sessionId": session.session_id or sid, "errorMsg": "SIP 503 Service Unavailable"}
        self.tracker.handle(name, data, t=self.t())

    def _stop(self, index: int, ref: str | None, by_id: bool) -> None:
        if not self.started:
            return
        session = self.started[index % len(self.started)]
        try:
            self.tracker.stop_dialout(session.session_id if by_id else session, ref=ref, t=self.t())  # type: ignore[arg-type]
        except CallRefused:
            return
        self.pending.append(("stop", session, ref))

    def _dtmf(self, sid: str, tones: str, ref: str | None) -> None:
        try:
            session = self.tracker.send_dtmf({"sessionId": sid, "tones": tones}, ref=ref, t=self.t())
        except CallRefused:
            return
        self.pending.append(("dtmf", session, ref))

    def _transfer(self, sid: str, to: str) -> None:
        try:
            self.tracker.sip_call_transfer({"sessionId": sid, "toEndPoint": to}, t=self.t())
        except CallRefused:
            return

    def _tick(self, seconds: float) -> None:
        if self.timed:
            self.now += seconds
            self.tracker.advance(self.now)

    def _effects(self, how: int) -> None:
        for effect in self.tracker.take_effects():
            if isinstance(effect, StopCall) and how == 0:  # carried out: its completion comes back by its ref
                self.tracker.stop_completed(effect.session, ref=effect.ref, t=self.t())
            elif isinstance(effect, StopCall) and how == 1:
                self.tracker.withdraw(effect, reason="the bot could not reach Daily", t=self.t())
            elif isinstance(effect, RetryDialout) and how == 2:
                self.tracker.withdraw(effect, t=self.t())
            elif isinstance(effect, RetryDialout) and how == 3:  # carried out: the next attempt
                try:
                    session = self.tracker.start_dialout(effect.settings, retry_of=effect.previous, t=self.t())
                except CallRefused:
                    continue
                self.started.append(session)
                self.pending.append(("start", session, None))

    def _place(self, destination: str, ref: str | None) -> None:
        """A start to one of a few destinations (several live calls to one number are possible)."""
        key = "sipUri" if destination.startswith("sip:") else "phoneNumber"
        self._start({key: destination}, ref, None, 0)

    def _observe(self, call: str, index: int, destination: str, ref: str | None) -> None:
        """A call the bot made on its SDK directly: never refused, journaled (as an anomaly if the guards object)."""
        if call == "start":
            key = "sipUri" if destination.startswith("sip:") else "phoneNumber"
            session = self.tracker.observe_call(Input.START_DIALOUT, {key: destination}, ref=ref, t=self.t())
            if session is not None:
                self.started.append(session)
                self.pending.append(("start", session, ref))
            return
        if not self.started:
            return
        target = self.started[index % len(self.started)]
        if call == "dtmf":
            argument: Any = {"sessionId": target.session_id, "tones": "1"}
            found = self.tracker.observe_call(Input.SEND_DTMF, argument, ref=ref, t=self.t())
        else:  # a stop of the session itself (it may have no id yet), or of its id
            argument = target.session_id if call == "stop_by_id" else target
            found = self.tracker.observe_call(Input.STOP_DIALOUT, argument, ref=ref, t=self.t())
        if found is not None:
            self.pending.append(("dtmf" if call == "dtmf" else "stop", found, ref))

    def _named(self, name: str, sid: str, destination: str) -> None:
        """Daily reports a call by its destination (before any completion named it): SDK or webhook."""
        if "." in name:
            data: dict[str, Any] = {"session_id": sid, "destination": destination}
        else:
            data = {"sessionId": sid, "destination": destination}
        self.tracker.handle(name, data, t=self.t())

    def _note(self, name: str) -> None:
        self.tracker.note(name, {"by": "+15551234567"}, t=self.t())
        self.tracker.record_anomaly("MALFORMED_INPUT", "seen outside: +15551234567", t=self.t())  # type: ignore[arg-type]


def conclusions(tracker: CallTracker, anomalies: list[str], refusals: list[tuple[str, str]]) -> Any:
    """What a replay must reproduce: the sessions, the refusals and the anomalies, in order."""
    sessions = [
        (
            s.kind.value,
            s.session_id,
            [state.value for state in s.states],
            s.outcome,
            s.error_code,
            s.attempt,
            None if s.previous is None else s.previous.index,
            s.origin.value,
            None if s.transferred_from is None else s.transferred_from.index,
        )
        for s in tracker
    ]
    return sessions, refusals, anomalies
