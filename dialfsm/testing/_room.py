"""A simulated Daily room: which inputs Daily (and the bot) may send next, following the tables.

:class:`Room` wraps a :class:`~dialfsm.CallTracker` and offers, at each step,
the inputs that follow the machine: for every live session, each input whose
``(state, input)`` resolution in the table is a transition or a recorded row
(never an anomaly or a refusal), restricted to what Daily really sends:

* completions only for calls still waiting for one, in any order relative to
  the events (daily-python delivers events first);
* ``start_dialout.error`` only for a dial-out Daily has not yet named;
* ``dialout-error`` / ``dialout-warning`` may omit ``sessionId`` while the
  dial-out has none yet;
* ``dtmf-event`` may omit ``sessionId`` when exactly one session is live;
* ``dialin-ready`` once per endpoint;
* time passes: every record carries a ``"t"`` a millisecond after the last, and
  a clock tick ``{"t": deadline}`` may fire the tracker's next timer
  (``start_timeout``, ``ring_timeout``, ``stop_timeout``); a ``ring_timeout``
  asks the bot to stop the call, so its ``stop_dialout`` completion follows;
* after ``left-meeting`` only completions (and ticks).

Both :func:`~dialfsm.testing.machine_sequences` and
:class:`~dialfsm.testing.CallFlowMachine` are built on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs
from hypothesis import strategies as st

from dialfsm._inputs import (
    DailyEvent,
    DialinConnected,
    DialinError,
    DialinReady,
    DialinStopped,
    DialinWarning,
    DialoutAnswered,
    DialoutConnected,
    DialoutError,
    DialoutStopped,
    DialoutWarning,
    DtmfReceived,
    LeftMeeting,
    ParticipantJoined,
    ParticipantLeft,
    TimerExpired,
)
from dialfsm._machine import TABLES
from dialfsm._replay import feed_record
from dialfsm._session import JournalEntry, Session
from dialfsm._table import Disposition, Input, InputKind, SessionKind
from dialfsm._tracker import CallTracker
from dialfsm.testing._render import DIALECTS, Dialect, render_event
from dialfsm.testing._values import dialout_settings, dtmf_settings, sip_call_transfer_settings, sip_refer_settings

__all__ = ["COMPLETION_ERRORS", "EVENT_ERRORS", "Action", "Completion", "Draw", "Room", "is_tick"]

#: Error texts Daily returns in completions, verbatim (sources: tests/test_errors.py).
COMPLETION_ERRORS: Final = (
    "Dialout(Properties(UnknownCallClientError))",
    "Dialout(CallState(NotInACall))",
    "Dialout(Signalling(NoWorkerForRoom))",
    'Dialout(Properties(CallClientError("dial-out not enabled for room. add enable_dialout property to room")))',
    'Dialout settings are not valid: JsonApiError { message: "Dialout settings is not an object" }',
)
#: Error and warning texts Daily sends in ``*-error`` / ``*-warning`` events (the warning is the
#: ``dialin.warning`` webhook docs' example; the errors are RFC 3261 reasons, unsourced for Daily).
EVENT_ERRORS: Final = (
    "486 Busy Here",
    "480 Temporarily Unavailable",
    "Dialin codec did not match, using fallback.",
)


def _asks_the_bot_to_stop(step: JournalEntry) -> bool:
    """Whether a journal step registered a stop the tracker asks the bot for (ring or call timeout, late start)."""
    if isinstance(step.input, TimerExpired):
        asks = step.name in (Input.RING_TIMEOUT.value, Input.CALL_TIMEOUT.value) and step.dest is not step.source
        return asks and step.session is not None and step.session.kind is SessionKind.DIALOUT
    return step.name == Input.START_OK.value and step.source is step.dest and "hang it up" in (step.message or "")


def is_tick(record: object) -> bool:
    """Whether a record is a clock tick ``{"t": now}`` (it journals the timers it fires, maybe none)."""
    if not isinstance(record, dict) or len(record) != 1 or "t" not in record:
        return False
    t = record["t"]
    return not isinstance(t, bool) and isinstance(t, int | float) and math.isfinite(t)


_ACCEPTED: Final = frozenset({Disposition.TRANSITION, Disposition.RECORDED})
_DTMF_KEYS: Final = "0123456789*#ABCD"

#: What a completion callback receives: daily-python's ``(session_id, error)``.
Completion = Callable[[str | None, str | None], object]
#: Hypothesis's ``draw`` (from ``@composite`` or ``data().draw``).
Draw = Callable[[st.SearchStrategy[Any]], Any]


@attrs.define(eq=False)
class _Pending:
    ref: str | None
    call: Input
    session: Session
    callback: Completion | None = None


class Action:
    """One thing that may happen next.

    Attributes:
        what: ``"event"``, ``"completion"``, ``"call"``, ``"dialin"`` (a new
            dial-in), ``"dialout"`` (a new dial-out), ``"ready"`` (a new
            ``dialin-ready``), ``"tick"`` (time passes to the next timer) or
            ``"left"`` (``left-meeting``).
        input: The table input, for events, calls and completions.
        session: The session it concerns, if one.
        pending: For a completion, the call it completes.

    """

    __slots__ = ("input", "pending", "session", "what")

    def __init__(
        self, what: str, input: Input | None = None, session: Session | None = None, pending: _Pending | None = None
    ) -> None:
        self.what = what
        self.input = input
        self.session = session
        self.pending = pending

    def __repr__(self) -> str:
        parts = [self.what]
        if self.input is not None:
            parts.append(self.input.value)
        if self.session is not None:
            parts.append(f"session #{self.session.index} ({self.session.state.value})")
        return f"<{' '.join(parts)}>"


_KEYS: Final[tuple[tuple[str, Input | None], ...]] = (
    *(("completion", i) for i in Input if i.kind is InputKind.CALL),
    *(("event", i) for i in Input if i.kind is InputKind.EVENT),
    *(("call", i) for i in Input if i.kind is InputKind.CALL),
    ("dialout", None),
    ("dialin", None),
    ("ready", None),
    ("tick", None),
    ("left", None),
    ("elsewhere", None),
    ("leg", None),
    ("failed_dialin", None),
)
_RANK: Final = {key: rank for rank, key in enumerate(_KEYS)}
_RANKS: Final = st.integers(0, len(_KEYS) - 1)


class Room:
    """A simulated room around a tracker; see the module docstring for the rules it follows.

    Args:
        tracker: The tracker every input is fed to.
        kinds: Which session kinds may be created.
        max_sessions: How many sessions of each kind may be created.
        max_endpoints: How many distinct ``dialin-ready`` endpoints may be reported.
        dialect: The dialect events are rendered in; ``None`` draws one per event.
        allow_left_meeting: Whether Daily may report ``left-meeting``.
        allow_timeouts: Whether time may pass until the tracker's next timer fires.
        allow_webhooks: Whether webhook deliveries of dial-outs started elsewhere (adopted) happen.

    """

    def __init__(
        self,
        tracker: CallTracker,
        *,
        kinds: Sequence[SessionKind] = (SessionKind.DIALOUT, SessionKind.DIALIN),
        max_sessions: int = 2,
        max_endpoints: int = 2,
        dialect: Dialect | None = None,
        allow_left_meeting: bool = True,
        allow_timeouts: bool = True,
        allow_webhooks: bool = True,
    ) -> None:
        self.tracker = tracker
        self.kinds = tuple(kinds)
        self.max_sessions = max_sessions
        self.max_endpoints = max_endpoints
        self.dialect = dialect
        self.allow_left_meeting = allow_left_meeting
        self.allow_timeouts = allow_timeouts
        self.allow_webhooks = allow_webhooks
        #: Every record fed, in order: the run as a replay log.
        self.records: list[dict[str, Any]] = []
        self.endpoints: list[str] = []
        self.left = False
        self._pending: list[_Pending] = []
        self._planned: dict[int, str] = {}
        self._created: dict[SessionKind, int] = dict.fromkeys(SessionKind, 0)
        self._elsewhere = 0  # dial-outs started elsewhere (adopted from a webhook delivery)
        self._legs: list[Session] = []  # sessions whose SIP call transfer's new leg Daily has yet to report
        self._refs = 0
        #: The time the next record carries.
        self.now = 0.0

    # --- what may happen ----------------------------------------------------------------

    def session_id(self, session: Session) -> str:
        """The id Daily gives (or will give) a session."""
        return session.session_id or self._planned[session.index]

    def _oldest_unnamed(self) -> Session | None:
        for session in self.tracker.live:
            if session.kind is SessionKind.DIALOUT and session.session_id is None:
                return session
        return None

    def actions(self, *, calls: bool, new_dialouts: bool) -> list[Action]:
        """What may happen next, completions first and room-level happenings last."""
        out = [Action("completion", p.call, p.session, p) for p in self._pending if self._completions(p)]
        if self.allow_timeouts and self.tracker.next_deadline is not None:
            out.append(Action("tick"))
        if self.left:
            return out
        live = self.tracker.live
        unnamed = self._oldest_unnamed()
        for session in live:
            out += self._session_actions(session, live, unnamed, calls=calls)
        return out + self._room_actions(live, new_dialouts=new_dialouts)

    def _session_actions(
        self, session: Session, live: tuple[Session, ...], unnamed: Session | None, *, calls: bool
    ) -> list[Action]:
        """The events Daily may send, and the calls the bot may make, for one live session."""
        out = []
        resolve = TABLES[session.kind].resolve
        named = session.session_id is not None
        for input_ in TABLES[session.kind].inputs:
            if resolve[session.state, input_].disposition not in _ACCEPTED:
                continue
            kind = input_.kind
            if kind is InputKind.EVENT:
                if input_ in (Input.LEFT_MEETING, Input.DIALIN_CONNECTED):
                    continue
                if input_.value.startswith("dialout-") and not named and (session is not unnamed or self._legs):
                    continue  # (while a transfer's leg is awaited, a new id would be taken for the leg)
                if input_ in (Input.PARTICIPANT_JOINED, Input.PARTICIPANT_LEFT) and not named:
                    continue
                if input_ is Input.DTMF_EVENT and not named and len(live) != 1:
                    continue
                out.append(Action("event", input_, session))
            elif kind is InputKind.CALL and calls and named and input_ is not Input.START_DIALOUT:
                out.append(Action("call", input_, session))
        return out

    def _room_actions(self, live: tuple[Session, ...], *, new_dialouts: bool) -> list[Action]:
        """New calls, endpoints, and leaving the room."""
        out = []
        created = self._created
        if (
            new_dialouts
            and SessionKind.DIALOUT in self.kinds
            and created[SessionKind.DIALOUT] < self.max_sessions
            and sum(s.kind is SessionKind.DIALOUT for s in live) < self.tracker.max_dialouts
        ):
            out.append(Action("dialout"))
        if SessionKind.DIALIN in self.kinds and created[SessionKind.DIALIN] < self.max_sessions:
            out.append(Action("dialin"))
        if SessionKind.DIALIN in self.kinds and len(self.endpoints) < self.max_endpoints:
            out.append(Action("ready"))
        if self.allow_left_meeting and live:
            out.append(Action("left"))
        return out + self._arrivals()

    def _arrivals(self) -> list[Action]:
        """Calls Daily reports that the bot did not place: started elsewhere, a transfer's leg, a failed dial-in."""
        out = []
        elsewhere = self.allow_webhooks and SessionKind.DIALOUT in self.kinds
        if elsewhere and self._elsewhere < self.max_sessions and not self._legs:
            out.append(Action("elsewhere"))  # (while a leg is expected, a new id would be taken for the leg)
        if self._legs and self._oldest_unnamed() is None:
            out.append(Action("leg"))  # (while a placed call has no id, a new id would be taken for it)
        if SessionKind.DIALIN in self.kinds and self._created[SessionKind.DIALIN] < self.max_sessions:
            out.append(Action("failed_dialin"))
        return out

    def _completions(self, pending: _Pending) -> list[bool]:
        """Which results (``True`` ok, ``False`` error) this pending call may complete with."""
        if pending.ref is None and pending.session.session_id is None:
            return []  # a stop the tracker asked for: the bot sends it once Daily names the call
        state = pending.session.state
        resolve = TABLES[pending.session.kind].resolve
        results = []
        for ok in (True, False):
            input_ = Input(f"{pending.call.value}.{'ok' if ok else 'error'}")
            if resolve[state, input_].disposition not in _ACCEPTED:
                continue
            if input_ is Input.START_ERROR and pending.session.session_id is not None:
                continue  # Daily named the call: its start did not fail
            results.append(ok)
        return results

    def choose(self, actions: Sequence[Action], draw: Draw) -> Action:
        """Draw one of ``actions`` by a key that does not depend on the state (so it shrinks well).

        The draw is a position in one fixed list of every kind of action
        (completions, then events, calls and room-level happenings); the first
        enabled kind at or after it is taken, then one of its sessions.  Deleting
        an earlier step leaves a later step's draw meaning the same thing.
        """
        by_key: dict[int, list[Action]] = {}
        for action in actions:
            by_key.setdefault(_RANK[action.what, action.input], []).append(action)
        start = draw(_RANKS)
        key = min(by_key, key=lambda rank: (rank - start) % len(_KEYS))
        group = by_key[key]
        return group[0] if len(group) == 1 else group[draw(st.integers(0, len(group) - 1))]

    # --- making it happen -------------------------------------------------------------

    def render(self, action: Action, draw: Draw) -> dict[str, Any]:
        """Draw the details of ``action`` (payload, dialect, error text) as a replay-log record."""
        what = action.what
        if what == "tick":
            deadline = self.tracker.next_deadline
            assert deadline is not None
            return {"t": deadline}
        if what == "completion":
            assert action.pending is not None
            return self._render_completion(action.pending, draw)
        if what == "call":
            assert action.input is not None
            assert action.session is not None
            return self._render_call(action.input, self.session_id(action.session), draw)
        if what == "dialout":
            return {"call": "start_dialout", "settings": draw(dialout_settings()), "ref": self.new_ref()}
        event: DailyEvent
        if what == "elsewhere":  # a webhook delivery: it adopts the dial-out (named, so no waiting one takes it)
            event = self._elsewhere_event(draw)
            return render_event(event, "webhook", variant=draw(st.integers(0, 1)))
        if what == "leg":
            event = DialoutConnected(session_id=f"leg-{len(self.records)}")
        elif what == "failed_dialin":
            n = self._created[SessionKind.DIALIN] + 1
            event = DialinError(
                session_id=f"dialin-{n}", error_msg=draw(st.sampled_from(EVENT_ERRORS)), type="start-failed"
            )
        elif what == "dialin":
            n = self._created[SessionKind.DIALIN] + 1
            event = DialinConnected(session_id=f"dialin-{n}", sip_from=f"sip:+1555555{n:04d}@example.com")
        elif what == "ready":
            event = DialinReady(sip_endpoint=f"sip:room-{len(self.endpoints) + 1}@example.sip.daily.co")
        elif what == "left":
            event = LeftMeeting()
        else:
            assert action.input is not None
            assert action.session is not None
            event = self._event(action.input, action.session, draw)
        dialect = self.dialect if self.dialect is not None else draw(st.sampled_from(DIALECTS))
        return render_event(event, dialect, variant=draw(st.integers(0, 1)))

    def _elsewhere_event(self, draw: Draw) -> DailyEvent:
        sid, info = f"elsewhere-{self._elsewhere + 1}", ("+15555550199", None, None, "a-room")
        first = draw(st.sampled_from((DialoutConnected, DialoutAnswered, DialoutStopped, DialoutWarning, DialoutError)))
        if first in (DialoutWarning, DialoutError):
            return first(session_id=sid, error_msg=draw(st.sampled_from(EVENT_ERRORS)), info=info)  # type: ignore[no-any-return]
        return first(session_id=sid, info=info)  # type: ignore[no-any-return]

    def _event(self, input_: Input, session: Session, draw: Draw) -> DailyEvent:
        sid = self.session_id(session)
        named = session.session_id is not None
        error = draw(st.sampled_from(EVENT_ERRORS))
        if input_ is Input.DIALOUT_CONNECTED:
            return DialoutConnected(session_id=sid)
        if input_ is Input.DIALOUT_ANSWERED:
            return DialoutAnswered(session_id=sid)
        if input_ is Input.DIALOUT_STOPPED:
            return DialoutStopped(session_id=sid)
        if input_ in (Input.DIALOUT_ERROR, Input.DIALOUT_WARNING):
            # Daily may send these before the call has an id, and then without one.
            maybe = None if not named and draw(st.booleans()) else sid
            cls = DialoutError if input_ is Input.DIALOUT_ERROR else DialoutWarning
            return cls(session_id=maybe, error_msg=error)
        if input_ is Input.DIALIN_STOPPED:
            return DialinStopped(session_id=sid)
        if input_ is Input.DIALIN_ERROR:
            return DialinError(session_id=sid, error_msg=error)
        if input_ is Input.DIALIN_WARNING:
            return DialinWarning(session_id=sid, error_msg=error)
        if input_ is Input.DTMF_EVENT:
            alone = len(self.tracker.live) == 1
            dtmf_sid = None if (not named or (alone and draw(st.booleans()))) else sid
            return DtmfReceived(session_id=dtmf_sid, tone=draw(st.sampled_from(_DTMF_KEYS)))
        if input_ is Input.PARTICIPANT_JOINED:
            return ParticipantJoined(participant_id=sid)
        assert input_ is Input.PARTICIPANT_LEFT, input_
        return ParticipantLeft(participant_id=sid)

    def new_ref(self) -> str:
        """A fresh ``ref`` pairing a call with its completion."""
        self._refs += 1
        return f"c{self._refs}"

    def _render_call(self, input_: Input, sid: str, draw: Draw) -> dict[str, Any]:
        ref = self.new_ref()
        if input_ is Input.STOP_DIALOUT:
            return {"call": "stop_dialout", "session_id": sid, "ref": ref}
        strategies: Mapping[Input, Callable[[str], st.SearchStrategy[dict[str, Any]]]] = {
            Input.SEND_DTMF: dtmf_settings,
            Input.SIP_CALL_TRANSFER: sip_call_transfer_settings,
            Input.SIP_REFER: sip_refer_settings,
        }
        return {"call": input_.value, "settings": draw(strategies[input_](sid)), "ref": ref}

    def _render_completion(self, pending: _Pending, draw: Draw) -> dict[str, Any]:
        ok = draw(st.sampled_from(self._completions(pending)))
        error = None if ok else draw(st.sampled_from(COMPLETION_ERRORS))
        if pending.ref is None:  # the stop the tracker asked for on a ring timeout: named by session id
            return {"completion": pending.call.value, "session_id": self.session_id(pending.session), "error": error}
        sid = self.session_id(pending.session) if ok and pending.call is Input.START_DIALOUT else None
        return {"completion": pending.call.value, "session_id": sid, "error": error, "ref": pending.ref}

    def apply(self, action: Action, record: dict[str, Any]) -> JournalEntry | None:
        """Feed ``record`` (rendered from ``action``) to the tracker and keep the books."""
        if action.what in ("call", "dialout"):
            return self.call(record)
        if action.what == "completion":
            assert action.pending is not None
            self._pending.remove(action.pending)
        before = self.tracker.inputs_read
        entry = self.feed(record)
        for step in self.tracker.journal_since(before):
            if _asks_the_bot_to_stop(step):  # the tracker registered a stop of its own: Daily completes it
                assert step.session is not None
                self._pending.append(_Pending(None, Input.STOP_DIALOUT, step.session))
        if action.what in ("dialin", "failed_dialin"):
            self._created[SessionKind.DIALIN] += 1
        elif action.what == "elsewhere":
            self._elsewhere += 1
        elif action.what == "leg":
            self._legs.pop(0)
        elif action.what == "ready":
            self.endpoints.append(f"sip:room-{len(self.endpoints) + 1}@example.sip.daily.co")
        elif action.what == "left":
            self.left = True
        pending = action.pending if action.what == "completion" else None
        failed_transfer = pending is not None and pending.call is Input.SIP_CALL_TRANSFER and record.get("error")
        if failed_transfer and pending is not None and pending.session in self._legs:
            self._legs.remove(pending.session)  # a transfer that failed brings no leg
        if pending is not None and pending.callback is not None:
            pending.callback(record.get("session_id"), record.get("error"))
        return entry

    def stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        """Give ``record`` the current time (a tick keeps its own) and move the clock on.

        The clock moves a millisecond per record, but never up to the tracker's next
        deadline: only a tick fires a timer, so what an action does is what the table says.
        """
        if "t" in record:
            self.now = max(self.now, float(record["t"]))
        else:
            record["t"] = self.now
        deadline = self.tracker.next_deadline
        step = 0.001 if deadline is None else min(0.001, max(0.0, (deadline - self.now) / 2))
        self.now += step
        return record

    def feed(self, record: dict[str, Any]) -> JournalEntry | None:
        """Feed any record (events, completions, ticks) through the replay path.  Never raises."""
        self.records.append(self.stamp(record))
        return feed_record(self.tracker, record)

    def call(self, record: dict[str, Any], callback: Completion | None = None) -> JournalEntry:
        """Feed a call record through the tracker's method; a refusal raises ``CallRefused`` (journaled)."""
        self.records.append(self.stamp(record))
        tracker, name, ref, t = self.tracker, record["call"], record.get("ref"), record["t"]
        if name == "start_dialout":
            session = tracker.start_dialout(record["settings"], ref=ref, t=t)
            self._created[SessionKind.DIALOUT] += 1
            self._planned[session.index] = f"dialout-{self._created[SessionKind.DIALOUT]}"
        elif name == "stop_dialout":
            session = tracker.stop_dialout(record["session_id"], ref=ref, t=t)
        else:
            session = getattr(tracker, name)(record["settings"], ref=ref, t=t)
        if ref is not None:
            self._pending.append(_Pending(ref, Input(name), session, callback))
        if name == "sip_call_transfer":
            self._legs.append(session)  # Daily will report the new leg it dials
        assert tracker.last_entry is not None
        return tracker.last_entry
