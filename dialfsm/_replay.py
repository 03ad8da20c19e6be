"""Replay: feed a recorded JSON Lines log through a fresh tracker.

The log contract (one JSON object per line; blank lines skipped; an optional
number ``"t"`` in seconds on any line):

* a Daily event: ``{"event": NAME, "data": PAYLOAD}``, NAME and PAYLOAD in any dialect;
* a call: ``{"call": "start_dialout", "settings": {...}}``,
  ``{"call": "stop_dialout", "session_id": "..."}``, ``{"call": "send_dtmf" |
  "sip_call_transfer" | "sip_refer", "settings": {...}}``; an optional ``"ref"``
  names the call;
* a completion: ``{"completion": CALL, "session_id": str | null, "error": null | str}``,
  with an optional ``"ref"`` pairing it with its call;
* a clock tick: ``{"t": now}`` alone (what ``CallTracker.advance(now)`` records), which
  fires the timers due by then.  A ``start_dialout`` call may carry ``"retry_of"``
  (the failed attempt's session id or start ``ref``).

Lines are numbered from 1, blank ones included.  A line that is not UTF-8,
not JSON, not an object, or of no known kind is a ``MALFORMED_INPUT`` anomaly,
and replay goes on.  The log is read one line at a time.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final

from dialfsm._calls import CALLS_BY_NAME
from dialfsm._errors import CallRefused
from dialfsm._inputs import CallCompleted
from dialfsm._session import JournalEntry
from dialfsm._table import AnomalyCode, Disposition, Input, InputKind
from dialfsm._text import short_repr
from dialfsm._tracker import CallTracker

__all__ = ["ReplayResult", "iter_log_lines", "replay_lines", "replay_path", "report"]

_CALLS: Final[Mapping[str, Input]] = {i.value: i for i in Input if i.kind is InputKind.CALL}
_KINDS: Final = ("event", "call", "completion")


class ReplayResult:
    """The tracker after a replay, how many input lines it read, and what went wrong where.

    Attributes:
        tracker: The tracker every line was fed to.
        inputs: The number of non-blank lines read.
        rejected: The refused calls, as report rows (``line``, ``call``, ``code``, ``message``).
        anomalies: The anomalies, as report rows (``line``, ``code``, ``message``).

    """

    def __init__(
        self,
        tracker: CallTracker,
        inputs: int,
        rejected: list[dict[str, Any]] | None = None,
        anomalies: list[dict[str, Any]] | None = None,
    ) -> None:
        self.tracker = tracker
        self.inputs = inputs
        if rejected is None or anomalies is None:
            rejected, anomalies = _problems(tracker.journal)
        self.rejected = rejected
        self.anomalies = anomalies

    def report(self) -> dict[str, Any]:
        """The ``--json`` report (see the README's replay contract)."""
        return _report(self.tracker, self.inputs, self.rejected, self.anomalies)

    @property
    def clean(self) -> bool:
        """Whether nothing was refused and nothing was anomalous."""
        return not self.rejected and not self.anomalies


def _problem_row(entry: JournalEntry) -> dict[str, Any] | None:
    if entry.disposition is Disposition.REFUSED:
        return {"line": entry.line, "call": entry.name, "code": entry.code, "message": entry.message}
    if entry.disposition is Disposition.ANOMALY:
        return {"line": entry.line, "code": entry.code, "message": entry.message}
    return None


def _problems(entries: Iterable[JournalEntry]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rejected: list[dict[str, Any]] = []
    anomalies: list[dict[str, Any]] = []
    for entry in entries:
        row = _problem_row(entry)
        if row is not None:
            (rejected if "call" in row else anomalies).append(row)
    return rejected, anomalies


def report(tracker: CallTracker, *, inputs: int | None = None) -> dict[str, Any]:
    """A JSON-able report of ``tracker``: sessions, refusals, anomalies (from its journal), dial-in endpoints."""
    rejected, anomalies = _problems(tracker.journal)
    return _report(tracker, inputs, rejected, anomalies)


def _report(
    tracker: CallTracker, inputs: int | None, rejected: list[dict[str, Any]], anomalies: list[dict[str, Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = {} if inputs is None else {"inputs": inputs}
    result["sessions"] = [
        {
            "kind": s.kind.value,
            "session_id": s.session_id,
            "state": s.state.value,
            "outcome": None if s.outcome is None else s.outcome.value,
            "states": [state.value for state in s.states],
            "error_code": None if s.error_code is None else s.error_code.value,
            "error": s.error,
            "attempt": s.attempt,
            "retry_of": None if s.previous is None else s.previous.index,
            "origin": s.origin.value,
            "started_at": s.started_at,
            "answered_at": s.answered_at,
            "ended_at": s.ended_at,
            "duration": s.duration,
            "talk_time": s.talk_time,
            "destination": s.destination,
            "caller_id": s.caller_id,
            "room": s.room,
            "transferred_from": None if s.transferred_from is None else s.transferred_from.index,
            "retry_pending": s.retry_pending,
        }
        for s in tracker
    ]
    result["rejected"] = rejected
    result["anomalies"] = anomalies
    result["dialin_endpoints"] = list(tracker.dialin_endpoints)
    return result


def iter_log_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` from a binary stream, 1-based, one line at a time."""
    yield from enumerate(stream, start=1)


def _malformed(tracker: CallTracker, message: str, t: float | None = None) -> JournalEntry:
    return tracker.record_anomaly(AnomalyCode.MALFORMED_INPUT, message, name="line", t=t)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def feed_record(tracker: CallTracker, record: object) -> JournalEntry | None:
    """Feed one decoded log record (a JSON value) to ``tracker``.  Never raises.

    Returns the journal entry it produced (a refused call's entry too).
    """
    if not isinstance(record, dict):
        return _malformed(tracker, f"line is not a JSON object: {short_repr(record)}")
    t = record.get("t")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not _finite(t)):
        return _malformed(tracker, f"'t' must be a finite number, got {short_repr(t)}")
    kinds = [k for k in _KINDS if k in record]
    if not kinds and t is not None and len(record) == 1:
        entries = tracker.advance(float(t))  # a clock tick: {"t": now}
        return entries[-1] if entries else None
    if len(kinds) != 1:
        what = "no" if not kinds else "more than one"
        return _malformed(tracker, f"line has {what} of 'event', 'call', 'completion'")
    tf = None if t is None else float(t)
    ref = record.get("ref")
    if ref is not None and not isinstance(ref, str):
        return _malformed(tracker, f"'ref' must be a string, got {short_repr(ref)}", tf)
    if kinds[0] == "event":
        return tracker.handle(record["event"], record.get("data"), t=tf)
    if kinds[0] == "call":
        return _feed_call(tracker, record, ref, tf)
    name = record["completion"]
    call = _CALLS.get(name) if isinstance(name, str) else None
    if call is None:
        return _malformed(tracker, f"unknown completion {short_repr(name)}", tf)
    completion = CallCompleted(call=call, session_id=record.get("session_id"), error=record.get("error"), ref=ref)
    return tracker.complete(completion, t=tf)


def _feed_call(tracker: CallTracker, record: Mapping[str, Any], ref: str | None, t: float | None) -> JournalEntry:
    """A call line: through the guards (``place``), or, marked ``"unguarded"``, as the bot's own SDK call."""
    name = record["call"]
    spec = CALLS_BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None:
        return _malformed(tracker, f"unknown call {short_repr(name)}", t)
    argument, retry_of = record.get(spec.argument), record.get("retry_of")
    if record.get("unguarded") is True:
        tracker.observe_call(spec.input, argument, ref=ref, t=t, retry_of=retry_of)
    else:
        with contextlib.suppress(CallRefused):  # a refusal is journaled by the tracker (REFUSED)
            tracker.place(spec.input, argument, ref=ref, t=t, retry_of=retry_of)
    assert tracker.last_entry is not None
    return tracker.last_entry


def _feed_line(tracker: CallTracker, raw: bytes | str) -> int:
    """Feed one log line to ``tracker``; 1 if it was an input (anything but a blank line), else 0."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            _malformed(tracker, f"line is not UTF-8: {exc.reason}")
            return 1
    else:
        text = raw
    if not text.strip():
        return 0
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:
        _malformed(tracker, f"line is not JSON: {short_repr(str(exc), 80)}")
        return 1
    try:
        feed_record(tracker, record)
    except Exception as exc:  # noqa: BLE001  (a line no check foresaw must not stop the replay)
        _malformed(tracker, f"line could not be fed: {type(exc).__name__}: {short_repr(str(exc), 80)}")
    return 1


def replay_lines(
    lines: Iterable[tuple[int, bytes | str]],
    tracker: CallTracker | None = None,
    *,
    progress: Callable[[int], object] | None = None,
) -> ReplayResult:
    """Replay numbered log lines through ``tracker`` (a fresh one by default).

    Args:
        lines: ``(line_number, text)`` pairs, as :func:`iter_log_lines` yields.
        tracker: The tracker to feed; a fresh ``CallTracker()`` by default.
        progress: Called with the line number every 4096 lines (a progress bar, say).

    """
    if tracker is None:
        # The journal is not kept (the problems are collected as they happen), nor the per-session
        # history: a log of any length replays in memory proportional to its sessions.
        tracker = CallTracker(journal_limit=0, keep_history=False)
    rejected: list[dict[str, Any]] = []
    anomalies: list[dict[str, Any]] = []

    def collect(entry: JournalEntry) -> None:
        row = _problem_row(entry)
        if row is not None:
            (rejected if "call" in row else anomalies).append(row)

    inputs = 0
    tracker.add_entry_listener(collect)
    try:
        for number, raw in lines:
            tracker.line = number
            if progress is not None and not number & 0xFFF:
                progress(number)
            inputs += _feed_line(tracker, raw)
    finally:
        tracker.line = None
        tracker.remove_entry_listener(collect)
    return ReplayResult(tracker, inputs, rejected, anomalies)


def replay_path(
    path: str, tracker: CallTracker | None = None, *, progress: Callable[[int], object] | None = None
) -> ReplayResult:
    """Replay the log at ``path`` (``"-"`` for standard input).

    Raises:
        OSError: the file cannot be opened or read.

    """
    if path == "-":
        return replay_lines(iter_log_lines(sys.stdin.buffer), tracker, progress=progress)
    with open(path, "rb") as stream:
        return replay_lines(iter_log_lines(stream), tracker, progress=progress)
