r"""The workload shapes of figure 1, each against a floor written for it (issue 16).

A shape is a stream of inputs a tracker reads: long calls (events on sessions
that exist), dial-in calls of 3 events, dial-out calls of 5 inputs (the bot's
start and its completion, then 3 events), and a mix with refused calls and
anomalies.  dialfsm's side is a default ``CallTracker()`` fed through its
public API (``handle``, ``start_dialout``, ``start_completed``): session
creation included, every journal entry and history kept.

**The floor** of a shape is the least a tracker of that shape can do, and
nothing else: a routing dict by session id, a dict-of-dicts table, a small
object created per call, one tuple appended to a list per input (a journal),
and for the bot's calls daily-js's own check of the number (``^\+\d+$``).

Each function times its loop only (inputs are built first) and returns
``(seconds, inputs)``.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from typing import Any

from dialfsm import CallRefused, CallTracker

__all__ = ["SHAPES", "Shape"]

#: The floor's table: (state, input) -> state, for every shape.
FLOOR_TABLE: dict[str, dict[str, str]] = {
    "idle": {"start": "connecting", "dialin-connected": "connected"},
    "connecting": {
        "start.ok": "connecting",
        "dialout-connected": "connected",
        "dialout-answered": "answered",
        "dialout-stopped": "stopped",
    },
    "connected": {
        "dialout-answered": "answered",
        "dialout-stopped": "stopped",
        "participant-joined": "joined",
        "dialin-stopped": "stopped",
    },
    "answered": {"dialout-stopped": "stopped"},
    "joined": {"dialin-stopped": "stopped"},
    "stopped": {},
}
_PHONE = re.compile(r"^\+\d+$")
PHONE = "+15551234567"


class FloorCall:
    """The floor's object per call."""

    __slots__ = ("session_id", "state")

    def __init__(self, state: str) -> None:
        self.state = state
        self.session_id: str | None = None


class FloorTracker:
    """The floor: route by id, move by the table, journal a tuple; a start checks the number."""

    def __init__(self, max_dialouts: int = 1) -> None:
        self.by_id: dict[str, FloorCall] = {}
        self.journal: list[tuple[Any, ...]] = []
        self.live_dialouts = 0
        self.max_dialouts = max_dialouts

    def handle(self, name: str, data: dict[str, Any]) -> None:
        """One event: its call by id (a dial-in's first event creates it), moved by the table, journaled."""
        sid = data.get("sessionId")
        if sid is None:
            sid = data["participant"]["session_id"]
        call = self.by_id.get(sid)
        if call is None:
            if name != "dialin-connected":
                self.journal.append((name, sid, "unknown session"))
                return
            call = self.by_id[sid] = FloorCall("idle")
        before = call.state
        after = FLOOR_TABLE[before].get(name)
        if after is None:
            self.journal.append((name, sid, before, "anomaly"))
            return
        call.state = after
        if after == "stopped" and name.startswith("dialout"):
            self.live_dialouts -= 1
        self.journal.append((name, sid, before, after))

    def start(self, settings: dict[str, str]) -> FloorCall:
        """The bot's start: daily-js's number check, the in-progress check, a new call, journaled."""
        if _PHONE.match(settings["phoneNumber"]) is None:
            raise ValueError("invalid phoneNumber")
        if self.live_dialouts >= self.max_dialouts:
            self.journal.append(("start", None, "refused"))
            raise RuntimeError("DIALOUT_IN_PROGRESS")
        call = FloorCall("connecting")
        self.live_dialouts += 1
        self.journal.append(("start", None, "idle", "connecting"))
        return call

    def completed(self, call: FloorCall, session_id: str) -> None:
        """The start's completion: bind the id."""
        call.session_id = session_id
        self.by_id[session_id] = call
        self.journal.append(("start.ok", session_id, call.state, call.state))


def _sid(i: int) -> str:
    return f"5c7f0d2e-8d4b-4f7c-9a61-{i:012d}"


def _timed(loop: Callable[[], None]) -> float:
    gc.collect()  # the set-up's garbage is not the loop's to collect
    start = time.perf_counter()
    loop()
    return time.perf_counter() - start


# --- long calls: 3 events on sessions that already exist ---------------------------------------


def long_floor(calls: int) -> tuple[float, int]:
    """Floor: dial-outs already placed and bound; their connected, answered, stopped."""
    tracker = FloorTracker(max_dialouts=calls + 1)
    payloads = []
    for i in range(calls):
        tracker.completed(tracker.start({"phoneNumber": PHONE}), _sid(i))
        payloads.append({"sessionId": _sid(i)})
    handle = tracker.handle

    def loop() -> None:
        for data in payloads:
            handle("dialout-connected", data)
            handle("dialout-answered", data)
            handle("dialout-stopped", data)

    return _timed(loop), calls * 3


def long_ours(calls: int) -> tuple[float, int]:
    """dialfsm: the same events through ``handle()`` (daily-python's names and dicts)."""
    tracker = CallTracker(max_dialouts=calls + 1)
    payloads = []
    for i in range(calls):
        tracker.start_completed(tracker.start_dialout({"phoneNumber": PHONE}), session_id=_sid(i))
        payloads.append({"sessionId": _sid(i)})
    handle = tracker.handle

    def loop() -> None:
        for data in payloads:
            handle("on_dialout_connected", data)
            handle("on_dialout_answered", data)
            handle("on_dialout_stopped", data)

    return _timed(loop), calls * 3


# --- dial-in calls of 3 events: a third of the events create a session ----------------------------


def _dialin_payloads(calls: int) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    return [
        (
            {"sessionId": _sid(i), "sipFrom": "sip:+15551234567@example.com"},
            {"participant": {"session_id": _sid(i), "info": {"isLocal": False}}},
            {"sessionId": _sid(i)},
        )
        for i in range(calls)
    ]


def dialin_floor(calls: int) -> tuple[float, int]:
    """Floor: dialin-connected creates the call; participant-joined; dialin-stopped."""
    tracker = FloorTracker()
    payloads = _dialin_payloads(calls)
    handle = tracker.handle

    def loop() -> None:
        for connected, joined, stopped in payloads:
            handle("dialin-connected", connected)
            handle("participant-joined", joined)
            handle("dialin-stopped", stopped)

    return _timed(loop), calls * 3


def dialin_ours(calls: int) -> tuple[float, int]:
    """dialfsm: the same three events through ``handle()``."""
    tracker = CallTracker()
    payloads = _dialin_payloads(calls)
    handle = tracker.handle

    def loop() -> None:
        for connected, joined, stopped in payloads:
            handle("dialin-connected", connected)
            handle("participant-joined", joined)
            handle("dialin-stopped", stopped)

    return _timed(loop), calls * 3


# --- dial-out calls of 5 inputs: start, completion, connected, answered, stopped -------------------


def dialout_floor(calls: int) -> tuple[float, int]:
    """Floor: the bot's start (number checked), its completion, then three events."""
    tracker = FloorTracker()
    ids = [_sid(i) for i in range(calls)]
    start, completed, handle = tracker.start, tracker.completed, tracker.handle

    def loop() -> None:
        for sid in ids:
            completed(start({"phoneNumber": PHONE}), sid)
            data = {"sessionId": sid}
            handle("dialout-connected", data)
            handle("dialout-answered", data)
            handle("dialout-stopped", data)

    return _timed(loop), calls * 5


def dialout_ours(calls: int) -> tuple[float, int]:
    """dialfsm: ``start_dialout``, ``start_completed``, then the three events through ``handle()``."""
    tracker = CallTracker()
    ids = [_sid(i) for i in range(calls)]
    start, completed, handle = tracker.start_dialout, tracker.start_completed, tracker.handle

    def loop() -> None:
        for sid in ids:
            completed(start({"phoneNumber": PHONE}), session_id=sid)
            data = {"sessionId": sid}
            handle("on_dialout_connected", data)
            handle("on_dialout_answered", data)
            handle("on_dialout_stopped", data)

    return _timed(loop), calls * 5


# --- a mix: a dial-out, a start refused while it rings, a dial-in, an event for no session ---------


def mix_floor(calls: int) -> tuple[float, int]:
    """Floor: per unit, a dial-out (5 inputs), a refused start, a dial-in (3 events), an unknown event."""
    tracker = FloorTracker()
    ids = [(_sid(i), _sid(calls + i), f"gone-{i}") for i in range(calls)]
    start, completed, handle = tracker.start, tracker.completed, tracker.handle

    def loop() -> None:
        for out, into, gone in ids:
            completed(start({"phoneNumber": PHONE}), out)
            data = {"sessionId": out}
            handle("dialout-connected", data)
            try:  # noqa: SIM105  (a plain try: contextlib.suppress would cost the floor more than the check)
                start({"phoneNumber": PHONE})
            except RuntimeError:
                pass
            handle("dialin-connected", {"sessionId": into, "sipFrom": "sip:+15551234567@example.com"})
            handle("participant-joined", {"participant": {"session_id": into}})
            handle("dialout-answered", data)
            handle("dtmf-event", {"sessionId": gone, "tone": "1"})
            handle("dialout-stopped", data)
            handle("dialin-stopped", {"sessionId": into})

    return _timed(loop), calls * 10


def mix_ours(calls: int) -> tuple[float, int]:
    """dialfsm: the same mix (the refused start raises ``CallRefused``, the unknown event is an anomaly)."""
    tracker = CallTracker()
    ids = [(_sid(i), _sid(calls + i), f"gone-{i}") for i in range(calls)]
    start, completed, handle = tracker.start_dialout, tracker.start_completed, tracker.handle

    def loop() -> None:
        for out, into, gone in ids:
            completed(start({"phoneNumber": PHONE}), session_id=out)
            data = {"sessionId": out}
            handle("on_dialout_connected", data)
            try:  # noqa: SIM105  (as the floor does)
                start({"phoneNumber": PHONE})
            except CallRefused:
                pass
            handle("on_dialin_connected", {"sessionId": into, "sipFrom": "sip:+15551234567@example.com"})
            handle("on_participant_joined", {"participant": {"session_id": into}})
            handle("on_dialout_answered", data)
            handle("on_dtmf_event", {"sessionId": gone, "tone": "1"})
            handle("on_dialout_stopped", data)
            handle("on_dialin_stopped", {"sessionId": into})

    return _timed(loop), calls * 10


class Shape:
    """A workload shape: its name, its floor, dialfsm's side, and how many calls make one run."""

    def __init__(
        self,
        name: str,
        floor: Callable[[int], tuple[float, int]],
        ours: Callable[[int], tuple[float, int]],
        per_call: int,
    ) -> None:
        self.name = name
        self.floor = floor
        self.ours = ours
        self.per_call = per_call


#: The shapes of figure 1, in order.
SHAPES: tuple[Shape, ...] = (
    Shape("long calls (3 events on placed calls)", long_floor, long_ours, 3),
    Shape("dial-in calls of 3 events", dialin_floor, dialin_ours, 3),
    Shape("dial-out calls of 5 inputs", dialout_floor, dialout_ours, 5),
    Shape("mix: refused calls and anomalies", mix_floor, mix_ours, 10),
)
