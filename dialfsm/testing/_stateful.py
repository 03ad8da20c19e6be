"""``CallFlowMachine``: a Hypothesis state machine that plays Daily against a bot's handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dialfsm._coverage import Coverage
from dialfsm._inputs import TimerExpired
from dialfsm._table import Disposition, SessionKind, State
from dialfsm._tracker import CallTracker
from dialfsm.testing._render import Dialect
from dialfsm.testing._room import Completion, Room, is_tick
from dialfsm.testing.strategies import daily_events, json_values

__all__ = ["CallFlowMachine", "FakeDaily"]

_JUNK = json_values(max_leaves=3)

_GHOSTS: dict[Dialect | None, st.SearchStrategy[dict[str, Any]]] = {}


def _ghost_records(dialect: Dialect | None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid events naming a session no one knows, in ``dialect``."""
    if dialect not in _GHOSTS:
        _GHOSTS[dialect] = daily_events(dialect, session_ids=st.just("ghost"))
    return _GHOSTS[dialect]


class FakeDaily:
    """What the bot calls instead of daily-python's ``CallClient`` (or pipecat's transport).

    Each method registers the call with the machine's tracker (its guards run:
    a call Daily would refuse raises :class:`~dialfsm.exceptions.CallRefused`,
    which fails the test with the bot's mistake) and queues its completion,
    which the machine delivers later, in any order relative to Daily's events.
    ``completion``, if given, is called with daily-python's ``(session_id, error)``.
    """

    def __init__(self, machine: CallFlowMachine) -> None:
        self._machine = machine

    def _call(self, record: dict[str, Any], completion: Completion | None) -> None:
        room = self._machine.room
        record["ref"] = room.new_ref()
        try:
            room.call(record, completion)
        finally:
            note(f"bot: {json.dumps(record, default=repr)}")

    def start_dialout(self, settings: Mapping[str, Any], completion: Completion | None = None) -> None:
        """The bot's ``start_dialout(settings)``."""
        self._call({"call": "start_dialout", "settings": dict(settings)}, completion)

    def stop_dialout(self, session_id: str, completion: Completion | None = None) -> None:
        """The bot's ``stop_dialout(session_id)``."""
        self._call({"call": "stop_dialout", "session_id": session_id}, completion)

    def send_dtmf(self, settings: Mapping[str, Any], completion: Completion | None = None) -> None:
        """The bot's ``send_dtmf(settings)``."""
        self._call({"call": "send_dtmf", "settings": dict(settings)}, completion)

    def sip_call_transfer(self, settings: Mapping[str, Any], completion: Completion | None = None) -> None:
        """The bot's ``sip_call_transfer(settings)``."""
        self._call({"call": "sip_call_transfer", "settings": dict(settings)}, completion)

    def sip_refer(self, settings: Mapping[str, Any], completion: Completion | None = None) -> None:
        """The bot's ``sip_refer(settings)``."""
        self._call({"call": "sip_refer", "settings": dict(settings)}, completion)


class CallFlowMachine(RuleBasedStateMachine):
    """Plays Daily against a bot: every event ordering the tables allow, shrunk to the few that break it.

    Subclass it, create your bot in :meth:`on_start` (give it :attr:`daily` as
    its client or transport), forward :meth:`on_event` / :meth:`on_completion`
    to its handlers, and add ``@invariant()`` methods stating what must always
    hold of your bot.  Run it with ``TestCase = MyMachine.TestCase`` (pytest or
    unittest) or ``hypothesis.stateful.run_state_machine_as_test(MyMachine)``.

    Each step Daily does one thing the current states allow: an event (in
    :attr:`dialect`), the completion of one of the bot's calls, a new dial-in,
    a ``dialin-ready``, ``left-meeting``, or (with :attr:`allow_timeouts`) time
    passes until a tracker timer fires.  The same inputs go to
    :attr:`tracker`, so invariants can compare the bot's view with
    ``tracker.live``, ``session.state`` and ``session.outcome``.  With
    :attr:`adversarial` set, Daily also misbehaves (duplicates, late events,
    unknown sessions, junk payloads), as the real network sometimes does.

    Built-in invariants: every input is journaled, terminal states absorb, and
    (unless adversarial) Daily's inputs raise no anomaly.  When a run fails,
    :attr:`last_records` holds the (shrunk) run as replay-log records.

    Attributes:
        tracker: The tracker fed every input of the run.
        daily: The :class:`FakeDaily` the bot calls.
        room: The simulated room (pending calls, the run's records).
        coverage: The table coverage of this run (also fed to :attr:`shared_coverage`).

    """

    #: The dialect events reach the bot in (pipecat and daily-python use ``daily-python``).
    dialect: ClassVar[Dialect | None] = "daily-python"
    #: How many dial-ins Daily may bring in (0 for a bot that only dials out).
    max_dialins: ClassVar[int] = 1
    #: How many distinct ``dialin-ready`` endpoints Daily may report.
    max_ready_endpoints: ClassVar[int] = 1
    #: Whether Daily may report ``left-meeting`` (the room closed under the bot).
    allow_left_meeting: ClassVar[bool] = True
    #: Whether time may pass until the tracker's timers fire (start watchdog, ring and stop
    #: timeouts); off by default, since a bot that does not run a tracker never hears of them.
    allow_timeouts: ClassVar[bool] = False
    #: Whether Daily's webhook deliveries for dial-outs started elsewhere are part of the run (the
    #: tracker adopts them).  A bot never hears webhooks, so off by default; on for a server's handler.
    allow_webhooks: ClassVar[bool] = False
    #: Whether Daily also sends duplicates, late and unknown events, and junk payloads.
    adversarial: ClassVar[bool] = False
    #: Keyword arguments for the :class:`~dialfsm.CallTracker`.
    tracker_options: ClassVar[Mapping[str, Any]] = {}
    #: A :class:`~dialfsm.testing.Coverage` every run also reports to (``None``: none).
    shared_coverage: ClassVar[Coverage | None] = None
    #: The records of the last run that ended (after a failure: the shrunk one).
    last_records: ClassVar[list[Any]] = []

    def __init__(self) -> None:
        super().__init__()
        self.tracker = CallTracker(**self.tracker_options)
        kinds = (SessionKind.DIALOUT, SessionKind.DIALIN) if self.max_dialins else (SessionKind.DIALOUT,)
        self.room = Room(
            self.tracker,
            kinds=kinds,
            max_sessions=self.max_dialins,
            max_endpoints=self.max_ready_endpoints if self.max_dialins else 0,
            dialect=self.dialect,
            allow_left_meeting=self.allow_left_meeting,
            allow_timeouts=self.allow_timeouts,
            allow_webhooks=self.allow_webhooks,
        )
        self.daily = FakeDaily(self)
        self.coverage = Coverage()
        self.tracker.add_entry_listener(self.coverage.observe)
        if self.shared_coverage is not None:
            self.tracker.add_entry_listener(self.shared_coverage.observe)
        self._terminal: dict[int, State] = {}

    # --- hooks for subclasses ---------------------------------------------------------

    def on_start(self) -> None:
        """Called once before Daily does anything: create the bot, let it place its calls."""

    def on_event(self, name: str, data: Any) -> None:
        """Deliver one Daily event to the bot (``name`` and ``data`` in :attr:`dialect`)."""

    def on_completion(self, call: str, session_id: str | None, error: str | None) -> None:
        """Deliver the completion of one of the bot's calls (after its own ``completion`` callback)."""

    def on_timer(self, timer: str, session_id: str | None) -> None:
        """A tracker timer fired (``start_timeout``, ``ring_timeout``, ``stop_timeout``; :attr:`allow_timeouts`)."""

    # --- rules ----------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        """The bot starts (it joined the room)."""
        self.on_start()

    @rule(data=st.data())
    def daily_acts(self, data: st.DataObject) -> None:
        """Daily does one thing the current states allow; the bot hears about it."""
        actions = self.room.actions(calls=False, new_dialouts=False)
        if not actions:
            note("daily: nothing left to do")
            return
        action = self.room.choose(actions, data.draw)
        note(f"daily chose: {action!r}")
        record = self.room.render(action, data.draw)
        before = self.tracker.inputs_read
        self.room.apply(action, record)
        note(f"daily: {json.dumps(record, default=repr)}")
        if is_tick(record):
            for entry in self.tracker.journal_since(before):
                if isinstance(entry.input, TimerExpired):
                    self.on_timer(entry.name, entry.session.session_id if entry.session is not None else None)
        self._tell_bot(record)

    @precondition(lambda self: self.adversarial)
    @rule(data=st.data())
    def daily_misbehaves(self, data: st.DataObject) -> None:
        """Daily sends a duplicate, a late event, an event for an unknown session, or junk."""
        earlier = [r for r in self.room.records if "event" in r]
        choices = ["unknown", "junk", *(["repeat"] if earlier else [])]
        what = data.draw(st.sampled_from(choices), label="misbehaviour")
        if what == "repeat":
            record = dict(data.draw(st.sampled_from(earlier), label="repeat"))
        elif what == "unknown":
            record = data.draw(_ghost_records(self.dialect), label="unknown")
        else:
            name = data.draw(st.sampled_from(("dialout-answered", "dialout-error", "dialin-connected")))
            record = {"event": name, "data": data.draw(_JUNK, label="junk")}
        self.room.feed(record)
        note(f"daily (misbehaving): {json.dumps(record, default=repr)}")
        self._tell_bot(record)

    def _tell_bot(self, record: Mapping[str, Any]) -> None:
        if "event" in record:
            self.on_event(record["event"], record.get("data"))
        elif "completion" in record:
            self.on_completion(record["completion"], record.get("session_id"), record.get("error"))

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def every_input_is_journaled(self) -> None:
        """The tracker journaled exactly one entry per input of the run (clock ticks journal their timers)."""
        inputs = sum(1 for record in self.room.records if not is_tick(record))
        journaled = sum(1 for entry in self.tracker.journal if not isinstance(entry.input, TimerExpired))
        assert journaled == inputs, (journaled, inputs)

    @invariant()
    def terminal_states_absorb(self) -> None:
        """A session that reached ``stopped`` or ``error`` never leaves it."""
        for session in self.tracker:
            if session.index in self._terminal:
                assert session.state is self._terminal[session.index], session
            elif session.is_terminal:
                self._terminal[session.index] = session.state

    @invariant()
    def daily_follows_the_machine(self) -> None:
        """Unless adversarial, nothing Daily sent was an anomaly."""
        if not self.adversarial:
            anomalies = [e for e in self.tracker.journal if e.disposition is Disposition.ANOMALY]
            assert not anomalies, anomalies

    def teardown(self) -> None:
        """Keep the run's records in :attr:`last_records`."""
        type(self).last_records = list(self.room.records)
