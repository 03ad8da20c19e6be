"""Replay: feed a recorded JSON Lines log through a fresh tracker, built as the recording says.

The log contract (one JSON object per line; blank lines skipped; a UTF-8
byte-order mark before the first line is skipped):

* **line 1 may be a header** ``{"dialfsm": {...}}`` (:mod:`dialfsm._header`):
  the recording's format version and the tracker options it was made with,
  from which replay builds its tracker (options given to :func:`replay_lines`
  override them).  Without a header, the tracker has this version's defaults
  and the result says so (:attr:`ReplayResult.notes`);
* a Daily event: ``{"event": NAME, "data": PAYLOAD}``, NAME and PAYLOAD in any dialect;
* a call: ``{"call": "start_dialout", "settings": {...}}``,
  ``{"call": "stop_dialout", "session_id": "..."}``, ``{"call": "send_dtmf" |
  "sip_call_transfer" | "sip_refer", "settings": {...}}``; ``"ref"`` (a string)
  or ``"key"`` (an int) names the call; ``"refused": CODE`` says it was refused
  live, and replay refuses it the same way; a ``start_dialout`` may carry
  ``"retry_of"`` (the failed attempt's session id or start ``ref``, or
  ``{"key": ...}``); ``"unguarded": true``: a call the bot made on its SDK
  directly, replayed through ``observe_call`` (never refused; a ``"refused"``
  code is journaled as ``UNGUARDED_CALL``); a ``stop_dialout`` may name its
  session ``{"key": ...}`` (its start's key, before Daily named the call);
* a completion: ``{"completion": CALL, "session_id": str | null, "error": null | str}``,
  paired with its call by ``"ref"`` or ``"key"`` (``"key": null``: with no call);
  without either, with the oldest call of its kind still waiting;
* a withdrawn effect: ``{"withdraw": "stop" | "retry", ...}``; a note:
  ``{"note": NAME, "data": ...}``; an outside anomaly ``{"anomaly": CODE,
  "name": ..., "message": ...}`` (``"anomaly"`` on any other line: the live
  tracker journaled that input as this anomaly, and replay records the same);
* a clock tick: ``{"t": now}`` alone (what ``CallTracker.advance(now)`` records).

Any line may carry ``"t"`` (seconds: the time the input was given, which arms
and fires timers) and ``"at"`` (the recorder's wall clock, never read).
Lines are numbered from 1, blank ones included.  A line that is not UTF-8, not
JSON, not an object, of no known kind, or longer than the line cap
(:data:`MAX_LINE_BYTES` by default, read without holding it whole) is a
``MALFORMED_INPUT`` anomaly, and replay goes on.

**Memory** grows with the sessions, never with the lines: the tracker keeps
no journal or history; the problems are counted, and the first
``problem_limit`` of each kind kept; per session only counts and the last few
warnings and tones.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final

import attrs

from dialfsm._errors import CallRefused, ErrorCode, RefusalCode, ReplayError
from dialfsm._header import Header, is_header, read_header
from dialfsm._inputs import CallCompleted, CallKey, Ref
from dialfsm._options import behaviour_options, merge_options, tracker_options
from dialfsm._policy import RetryDialout, StopCall
from dialfsm._session import JournalEntry, Session
from dialfsm._slots import fields_maker
from dialfsm._table import (
    AnomalyCode,
    DialinState,
    DialoutState,
    Disposition,
    Input,
    InputKind,
    Origin,
    Outcome,
    SessionKind,
)
from dialfsm._text import finite_float, short_repr
from dialfsm._tracker import CallTracker
from dialfsm._version import VERSION as DIALFSM_VERSION

__all__ = [
    "MAX_LINE_BYTES",
    "PROBLEM_LIMIT",
    "REPORT_SCHEMA",
    "LongLine",
    "ReplayResult",
    "Starts",
    "feed_record",
    "iter_log_lines",
    "replay_lines",
    "replay_path",
    "report",
]

#: The default cap on a log line's length (bytes); a longer line is ``MALFORMED_INPUT``, never read whole.
MAX_LINE_BYTES: Final = 1 << 20
#: How many refusals and anomalies a replay keeps by default (all are counted).
PROBLEM_LIMIT: Final = 1000
#: The version of the ``--json`` report's shape.
REPORT_SCHEMA: Final = 2
#: How many of a session's latest warnings and tones a replay report shows (all are counted).
LAST_FEW: Final = 3
#: How many of the sessions its start calls created a replay remembers by key, to find the one a ``retry_of``
#: names even after the tracker forgot it (``finished_limit``), as the live bot's ``retry_of=session`` could.
STARTS_KEPT: Final = 1024

_CALLS: Final[Mapping[str, Input]] = {i.value: i for i in Input if i.kind is InputKind.CALL}
_KINDS: Final = ("event", "call", "completion", "withdraw", "note")
_BOM: Final = b"\xef\xbb\xbf"
#: The name replay pairs a completion with when the log says it paired with no call live.
_UNPAIRED: Final = CallKey("")
#: The journal name of a line that was no input.
_LINE: Final = "line"


@attrs.frozen
class LongLine:
    """A log line longer than the cap, skipped unread: only its length is known."""

    length: int


class _Problems:
    """The refusals and anomalies of a replay: counted, the first ``limit`` of each kept."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.rejected: list[dict[str, Any]] = []
        self.anomalies: list[dict[str, Any]] = []
        self.unreadable: list[dict[str, Any]] = []  # lines that were no input at all (not JSON, too long...)
        self.totals = {"rejected": 0, "anomalies": 0, "unreadable": 0}
        self.codes: dict[str, int] = {}

    def __call__(self, entry: JournalEntry) -> None:
        row = _problem_row(entry)
        if row is None:
            return
        kind = "rejected" if "call" in row else "anomalies"
        self.totals[kind] += 1
        self.codes[row["code"]] = self.codes.get(row["code"], 0) + 1
        self._keep(self.rejected if kind == "rejected" else self.anomalies, row)
        if entry.name == _LINE:
            self.totals["unreadable"] += 1
            self._keep(self.unreadable, row)

    def _keep(self, rows: list[dict[str, Any]], row: dict[str, Any]) -> None:
        if self.limit is None or len(rows) < self.limit:
            rows.append(row)


class _Extras:
    """Per session: how many warnings and tones it had, and the last few (an entry listener)."""

    def __init__(self) -> None:
        self.sessions: dict[int, dict[str, Any]] = {}

    def __call__(self, entry: JournalEntry) -> None:
        if entry[11] is None and entry[3] is not _RECORDED_D:  # one step that recorded nothing: the common entry
            return
        for step in entry.steps:
            if step.disposition is not Disposition.RECORDED or step.session is None:
                continue
            field = {"dialout-warning": "warnings", "dialin-warning": "warnings", "dtmf-event": "dtmf"}.get(step.name)
            if field is not None:
                extra = self.sessions.setdefault(step.session.index, {"warnings": [0, []], "dtmf": [0, []]})
                counted = extra[field]
                counted[0] += 1
                counted[1] = [*counted[1][1 - LAST_FEW :], step.message or ""]

    def prune(self, tracker: CallTracker) -> None:
        """Drop what was kept of sessions the tracker forgot (``finished_limit``)."""
        if len(self.sessions) > 2 * len(tracker) + 64:
            kept = {s.index for s in tracker}
            self.sessions = {i: e for i, e in self.sessions.items() if i in kept}


class _Watch:
    """The one entry listener of a replay: most entries (a step that moved one session) concern neither part."""

    __slots__ = ("extras", "problems")

    def __init__(self, problems: _Problems, extras: _Extras) -> None:
        self.problems, self.extras = problems, extras

    def __call__(self, entry: JournalEntry) -> None:
        disposition = entry[3]  # by index, not by name: one call per input
        if entry[11] is None and disposition is _TRANSITION_D:
            return
        self.problems(entry)
        self.extras(entry)


class Starts:
    """The sessions a replay's start calls created, by the ``"key"`` their lines give (the latest :data:`STARTS_KEPT`).

    A recording names the attempt a retry follows by its start call's key;
    replay finds it here, whether or not the tracker still holds it.
    """

    def __init__(self) -> None:
        self._by_key: OrderedDict[object, Session] = OrderedDict()

    def add(self, key: object, session: Session) -> None:
        """The start call of line key ``key`` created ``session``."""
        self._by_key[key] = session
        self._by_key.move_to_end(key)
        if len(self._by_key) > STARTS_KEPT:
            self._by_key.popitem(last=False)

    def find(self, name: object) -> Session | None:
        """The session a recorded ``retry_of`` (``{"key": k}``) names, if a start line gave it."""
        if isinstance(name, dict) and set(name) == {"key"}:
            return self._by_key.get(name["key"])
        return None


class ReplayResult:
    """The tracker after a replay, how many input lines it read, and what went wrong where.

    Attributes:
        tracker: The tracker every line was fed to.
        inputs: The number of input lines read (not blank, not the header).
        rejected: The first refused calls, as report rows (``line``, ``call``, ``code``, ``message``).
        anomalies: The first anomalies, as report rows (``line``, ``code``, ``message``).
        unreadable: The first lines that were no input at all (not UTF-8, not JSON, too long...), as anomaly rows.
        totals: How many were refused (``"rejected"``), anomalous (``"anomalies"``) and unreadable in all.
        header: The recording's header, or ``None``.
        notes: What a reader should know (no header; options overridden).

    """

    def __init__(
        self,
        tracker: CallTracker,
        inputs: int,
        rejected: list[dict[str, Any]] | None = None,
        anomalies: list[dict[str, Any]] | None = None,
        *,
        problems: _Problems | None = None,
        extras: _Extras | None = None,
        header: Header | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        self.tracker = tracker
        self.inputs = inputs
        if problems is None:
            problems = _Problems(None)
            if rejected is None or anomalies is None:
                for entry in tracker.journal:
                    problems(entry)
            else:
                problems.rejected, problems.anomalies = rejected, anomalies
                problems.totals = {"rejected": len(rejected), "anomalies": len(anomalies)}
        self._problems = problems
        self._extras = extras
        self.rejected = problems.rejected
        self.anomalies = problems.anomalies
        self.unreadable = problems.unreadable
        self.totals = dict(problems.totals)
        self.header = header
        self.notes = tuple(notes)

    def report(self) -> dict[str, Any]:
        """The ``--json`` report (see the README's replay contract)."""
        result = _report(self.tracker, self.inputs, self._problems, self._extras)
        result["header"] = None if self.header is None else self.header.to_json()
        result["options"] = behaviour_options(self.tracker)
        result["notes"] = list(self.notes)
        return result

    @property
    def clean(self) -> bool:
        """Whether nothing was refused and nothing was anomalous."""
        return not self.totals["rejected"] and not self.totals["anomalies"]

    @property
    def empty(self) -> bool:
        """Whether the log held no input at all."""
        return self.inputs == 0


_RECORDED_D: Final = Disposition.RECORDED
_TRANSITION_D: Final = Disposition.TRANSITION


def _problem_row(entry: JournalEntry) -> dict[str, Any] | None:
    if entry.disposition is Disposition.REFUSED:
        return {"line": entry.line, "call": entry.name, "code": entry.code, "message": entry.message}
    if entry.disposition is Disposition.ANOMALY:
        return {"line": entry.line, "code": entry.code, "message": entry.message}
    return None


def report(tracker: CallTracker, *, inputs: int | None = None) -> dict[str, Any]:
    """A JSON-able report of ``tracker``: sessions, refusals, anomalies (from its journal), dial-in endpoints."""
    problems = _Problems(None)
    for entry in tracker.journal:
        problems(entry)
    return _report(tracker, inputs, problems, None)


def _counted(count: int, last: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {"count": count, "last": list(last[-LAST_FEW:])}


def _session_report(session: Session, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    # One per session of a replay's report (40,000 for a day of short calls): each enum's value
    # is looked up in a dict (an Enum's .value is a slow descriptor).
    if extra is None:  # the tracker's own (it kept every warning and tone, or none)
        warnings, dtmf = _counted(len(session.warnings), session.warnings), _counted(len(session.dtmf), session.dtmf)
    else:
        warnings, dtmf = _counted(*extra["warnings"]), _counted(*extra["dtmf"])
    value = _ENUM_VALUE
    outcome, code, previous, source = session.outcome, session.error_code, session.previous, session.transferred_from
    return {
        "kind": value[session.kind],
        "session_id": session.session_id,
        "state": value[session.state],
        "outcome": None if outcome is None else value[outcome],
        "states": [value[state] for state in session.states],
        "error_code": None if code is None else value[code],
        "error": session.error,
        "attempt": session.attempt,
        "retry_of": None if previous is None else previous.index,
        "index": session.index,
        "origin": value[session.origin],
        "started_at": session.started_at,
        "answered_at": session.answered_at,
        "ended_at": session.ended_at,
        "duration": session.duration,
        "talk_time": session.talk_time,
        "destination": session.destination,
        "caller_id": session.caller_id,
        "room": session.room,
        "transferred_from": None if source is None else source.index,
        "retry_pending": session.retry_pending,
        "warnings": warnings,
        "dtmf": dtmf,
    }


#: Every enum member a report writes, and its value.
_ENUM_VALUE: Final[Mapping[object, str]] = {
    member: member.value
    for enum_class in (SessionKind, DialoutState, DialinState, Outcome, ErrorCode, Origin)
    for member in enum_class
}


def _report(tracker: CallTracker, inputs: int | None, problems: _Problems, extras: _Extras | None) -> dict[str, Any]:
    result: dict[str, Any] = {"schema": REPORT_SCHEMA}
    if inputs is not None:
        result["inputs"] = inputs
    kept = None if extras is None or tracker.keep_history else extras.sessions
    empty = {"warnings": [0, []], "dtmf": [0, []]}
    result["sessions"] = [_session_report(s, None if kept is None else kept.get(s.index, empty)) for s in tracker]
    result["rejected"] = problems.rejected
    result["anomalies"] = problems.anomalies
    result["totals"] = dict(problems.totals)
    result["codes"] = dict(sorted(problems.codes.items()))
    result["problem_limit"] = problems.limit
    result["dialin_endpoints"] = list(tracker.dialin_endpoints)
    return result


# --- reading lines ----------------------------------------------------------------------------


def iter_log_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | LongLine]]:
    """Yield ``(line_number, raw_line)`` from a binary stream, 1-based, one line at a time.

    A line longer than ``max_bytes`` is yielded as a :class:`LongLine`, read
    through in chunks and never held whole.  A byte-order mark before the first
    line is dropped.
    """
    number = 0
    while True:
        raw = stream.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :] + (b"" if raw.endswith(b"\n") or len(raw) <= max_bytes else stream.readline(3))
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            length = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(1 << 16)
                length += len(raw)
            yield number, LongLine(length)
            continue
        yield number, raw


def _malformed(tracker: CallTracker, message: str, t: float | None = None) -> JournalEntry:
    return tracker.record_anomaly(AnomalyCode.MALFORMED_INPUT, message, name=_LINE, t=t)


def _decode(raw: bytes | str | LongLine, max_bytes: int) -> object:
    """The JSON value of a line, or a :class:`_Why` saying why it has none (``None``: a blank line)."""
    if isinstance(raw, LongLine):
        return _Why(f"line is {raw.length:,} bytes long, over the {max_bytes:,}-byte cap (not read)")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _Why(f"line is not UTF-8: {exc.reason}")
    try:
        if raw[:1] == "{":  # a record, as every writer writes it: the C scanner alone (json.loads adds regexes)
            try:
                value, end = _scan(raw, 0)
            except (StopIteration, ValueError):
                pass  # json.loads below says what is wrong
            else:
                if end == len(raw) or raw[end:].isspace():
                    return value
        return _loads(raw)
    except (ValueError, RecursionError) as exc:
        if not raw.strip():  # a blank line (found only once JSON failed: the common line pays nothing)
            return None
        return _Why(f"line is not JSON: {short_repr(str(exc), 80)}")


_loads: Final = json.loads
_scan: Final = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads runs


@attrs.frozen
class _Why:
    """Why a line holds no JSON value."""

    message: str


# --- feeding records --------------------------------------------------------------------------


def feed_record(tracker: CallTracker, record: object, *, starts: Starts | None = None) -> JournalEntry | None:
    """Feed one decoded log record (a JSON value) to ``tracker``.  Never raises.

    ``starts``: the sessions earlier start lines created, by key (a replay
    keeps one for the whole log, so a ``retry_of`` finds its attempt).

    Returns the journal entry it produced (a refused call's entry too).
    """
    if not isinstance(record, dict):
        return _malformed(tracker, f"line is not a JSON object: {short_repr(record)}")
    t = record.get("t")
    if "event" in record and (t is None or (type(t) is float and t - t == 0.0)) and _EVENT_LINE.issuperset(record):
        return tracker.handle(record["event"], record.get("data"), t=t)  # the common line: the checks below pass
    tf = None if t is None else finite_float(t)
    if t is not None and tf is None:
        return _malformed(tracker, f"'t' must be a finite number, got {short_repr(t)}")
    if is_header(record):
        return _malformed(tracker, "a header ({'dialfsm': ...}) is only read on the first line", tf)
    kinds = [k for k in _KINDS if k in record]
    if not kinds and "anomaly" not in record and t is not None and set(record) <= {"t", "at"}:
        entries = tracker.advance(tf)  # type: ignore[arg-type]  # a clock tick: {"t": now}
        return entries[-1] if entries else None
    if "anomaly" in record:
        return _feed_anomaly(tracker, record, kinds, tf)
    if len(kinds) != 1:
        what = "no" if not kinds else "more than one"
        return _malformed(tracker, f"line has {what} of {', '.join(repr(k) for k in _KINDS)}", tf)
    if kinds[0] in ("call", "withdraw"):
        return (_feed_call if kinds[0] == "call" else _feed_withdraw)(tracker, record, tf, starts or Starts())
    return _FEEDERS[kinds[0]](tracker, record, tf)


#: The keys of an event line and nothing else (the common line).
_EVENT_LINE: Final = frozenset({"event", "data", "t"})


def _feed_anomaly(tracker: CallTracker, record: Mapping[str, Any], kinds: list[str], t: float | None) -> JournalEntry:
    """A line the live tracker journaled as an anomaly without reading it: the same anomaly again."""
    try:
        code = AnomalyCode(record["anomaly"])
    except (ValueError, TypeError):
        return _malformed(tracker, f"unknown anomaly code {short_repr(record['anomaly'])}", t)
    name = record.get("name")
    if not isinstance(name, str):
        name = _anomaly_name(record, kinds)
    message = record.get("message")
    text = message if isinstance(message, str) else f"recorded as {code.value}"
    return tracker.record_anomaly(code, text, name=name, source=record.get("data"), t=t)


def _anomaly_name(record: Mapping[str, Any], kinds: list[str]) -> str:
    if kinds == ["completion"] and isinstance(record["completion"], str):
        return f"{record['completion']}.{'ok' if record.get('error') is None else 'error'}"
    if kinds and isinstance(record[kinds[0]], str):
        return str(record[kinds[0]]) if kinds[0] != "withdraw" else "withdraw"
    return "input"


def _name(record: Mapping[str, Any]) -> Ref | None:
    """What a line names its call by: ``"ref"`` (a string), or ``"key"`` (a :class:`CallKey`; null: none)."""
    ref = record.get("ref")
    if ref is not None:
        if not isinstance(ref, str):
            raise _LineError(f"'ref' must be a string, got {short_repr(ref)}")
        return ref
    if "key" not in record:
        return None
    key = record["key"]
    if key is None:
        return _UNPAIRED
    if (type(key) is int and key >= 0) or (type(key) is str and key):
        return CallKey(key)
    raise _LineError(f"'key' must be an int >= 0, a non-empty string or null, got {short_repr(key)}")


class _LineError(Exception):
    """A line that breaks the log contract (journaled as ``MALFORMED_INPUT``)."""


def _feed_event(tracker: CallTracker, record: Mapping[str, Any], t: float | None) -> JournalEntry:
    return tracker.handle(record["event"], record.get("data"), t=t)


def _retry_of(value: object) -> object:
    if isinstance(value, dict):
        if set(value) != {"key"} or type(value["key"]) is not int or value["key"] < 0:
            raise _LineError(f"'retry_of' must be a session id, a ref or {{'key': int}}, got {short_repr(value)}")
        return CallKey(value["key"])
    return value


def _feed_call(tracker: CallTracker, record: Mapping[str, Any], t: float | None, starts: Starts) -> JournalEntry:
    name = record["call"]
    call = _CALLS.get(name) if isinstance(name, str) else None
    if call is None:
        return _malformed(tracker, f"unknown call {short_repr(name)}", t)
    refused = record.get("refused")
    try:
        code = None if refused is None else RefusalCode(refused)
    except (ValueError, TypeError):
        return _malformed(tracker, f"unknown refusal code {short_repr(refused)}", t)
    ref: Ref | None = None
    try:
        ref = _name(record)
        if type(ref) is CallKey and type(ref.value) is not int:
            raise _LineError(f"a call's 'key' must be an int, got {short_repr(ref.value)}")
        retry_of = starts.find(record.get("retry_of")) or _retry_of(record.get("retry_of"))
    except _LineError as exc:
        if code is None:
            return _malformed(tracker, str(exc), t)
        retry_of = None  # refused live: it is refused again, whatever its names hold
    argument = record.get("session_id") if call is Input.STOP_DIALOUT else record.get("settings")
    if call is Input.STOP_DIALOUT and isinstance(argument, dict):  # a session without an id, by its start's key
        argument = starts.find(argument) or argument
    session: Session | None = None
    if record.get("unguarded") is True:  # the bot's own SDK call, past the guards: never refused
        session = tracker.observe_call(call, argument, ref=ref, t=t, retry_of=retry_of, refused=code)  # type: ignore[arg-type]
    else:
        try:  # noqa: SIM105  (a plain try: contextlib.suppress costs a context manager per call line)
            session = tracker.place(call, argument, ref=ref, t=t, retry_of=retry_of, refused=code)[0]  # type: ignore[arg-type]
        except CallRefused:
            pass  # journaled by the tracker as REFUSED
    if session is not None and call is Input.START_DIALOUT and "key" in record:
        starts.add(record["key"], session)
    assert tracker.last_entry is not None
    return tracker.last_entry


def _feed_completion(tracker: CallTracker, record: Mapping[str, Any], t: float | None) -> JournalEntry:
    name = record["completion"]
    call = _CALLS.get(name) if isinstance(name, str) else None
    if call is None:
        return _malformed(tracker, f"unknown completion {short_repr(name)}", t)
    try:
        ref = _name(record)
    except _LineError as exc:
        return _malformed(tracker, str(exc), t)
    completion = _COMPLETED((call, record.get("session_id"), record.get("error"), ref))  # through its slots
    return tracker.complete(completion, t=t)


#: ``CallCompleted(call=..., session_id=..., error=..., ref=...)`` from its fields in order (dialfsm._slots).
_COMPLETED: Final[Callable[[tuple[Any, ...]], CallCompleted]] = fields_maker(CallCompleted)  # type: ignore[assignment]


def _feed_withdraw(tracker: CallTracker, record: Mapping[str, Any], t: float | None, starts: Starts) -> JournalEntry:
    kind, reason = record["withdraw"], record.get("reason")
    text = reason if isinstance(reason, str) else "not carried out"
    try:
        ref = _name(record)
    except _LineError as exc:
        return _malformed(tracker, str(exc), t)
    for effect in tracker.queued_effects:
        if (kind == "stop" and isinstance(effect, StopCall) and ref is not None and effect.ref == ref) or (
            kind == "retry"
            and isinstance(effect, RetryDialout)
            and effect.previous is (starts.find(record.get("retry_of")) or tracker.get(record.get("retry_of")))  # type: ignore[arg-type]
            and effect.attempt == record.get("attempt")
        ):
            return tracker.withdraw(effect, reason=text, t=t)
    session = tracker.get(record["session_id"]) if isinstance(record.get("session_id"), str) else None
    if kind == "stop" and session is not None:  # taken live and still waiting: withdraw its stop all the same
        return tracker.withdraw(StopCall(session=session, session_id=session.session_id, reason=text, ref=ref), t=t)
    if kind in ("stop", "retry"):
        return tracker.note(f"{kind} withdrawn", record, t=t)
    return _malformed(tracker, f"unknown effect {short_repr(kind)} withdrawn", t)


def _feed_note(tracker: CallTracker, record: Mapping[str, Any], t: float | None) -> JournalEntry:
    return tracker.note(record["note"], record.get("data"), t=t)


_FEEDERS: Final[Mapping[str, Callable[[CallTracker, Mapping[str, Any], float | None], JournalEntry]]] = {
    "event": _feed_event,
    "completion": _feed_completion,
    "note": _feed_note,
}


def _feed_line(
    tracker: CallTracker, raw: bytes | str | LongLine, max_bytes: int = MAX_LINE_BYTES, starts: Starts | None = None
) -> int:
    """Feed one log line to ``tracker``; 1 if it was an input (anything but a blank line), else 0."""
    value = _decode(raw, max_bytes)
    if value is None:
        return 0
    if isinstance(value, _Why):
        _malformed(tracker, value.message)
        return 1
    try:
        feed_record(tracker, value, starts=starts)
    except Exception as exc:  # noqa: BLE001  (a line no check foresaw must not stop the replay)
        _malformed(tracker, f"line could not be fed: {type(exc).__name__}: {short_repr(str(exc), 80)}")
    return 1


# --- replaying a whole log ---------------------------------------------------------------------


def _build_tracker(
    header: Header | None, options: Mapping[str, Any] | None, keep_journal: bool
) -> tuple[CallTracker, list[str]]:
    """The tracker the header describes, with ``options`` (JSON, merged) over it; and what to tell the reader."""
    notes = []
    base = dict(header.options) if header is not None else behaviour_options(CallTracker())
    if header is None:
        notes.append(f"no header: replayed with dialfsm {DIALFSM_VERSION}'s default options")
    if options:
        base = merge_options(CallTracker, base, options)
        notes.append(f"options overridden: {', '.join(sorted(options))}")
    kwargs = tracker_options(CallTracker, base)
    memory: dict[str, Any] = {} if keep_journal else {"journal_limit": 0, "keep_history": False}
    return CallTracker(**kwargs, **memory), notes


def replay_lines(
    lines: Iterable[tuple[int, bytes | str | LongLine]],
    tracker: CallTracker | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    problem_limit: int | None = PROBLEM_LIMIT,
    keep_journal: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
    listeners: Iterable[Callable[[JournalEntry], object]] = (),
    progress: Callable[[int], object] | None = None,
) -> ReplayResult:
    """Replay numbered log lines through ``tracker``, or through a tracker built from the log's header.

    Args:
        lines: ``(line_number, text)`` pairs, as :func:`iter_log_lines` yields.
        tracker: The tracker to feed; by default one built from the header (or
            this version's defaults), keeping no journal unless ``keep_journal``.
        options: Behaviour options (as JSON, :mod:`dialfsm._options`) over the header's.
        problem_limit: How many refusals and anomalies to keep (``None``: all); all are counted.
        keep_journal: Keep the journal and histories (timelines need them).
        max_line_bytes: The line cap the lines were read with (for messages).
        listeners: Entry listeners attached to the tracker while it replays (a :class:`~dialfsm.Coverage`).
        progress: Called with the line number every 4096 lines (a progress bar, say).

    Raises:
        HeaderError: the first line is a header this dialfsm cannot read (or its options are invalid).

    """
    iterator = iter(lines)
    first = next(iterator, None)
    header = None
    if first is not None:
        value = _decode(first[1], max_line_bytes)
        if is_header(value):
            header = read_header(value, CallTracker)
            first = None
    notes: list[str] = []
    if tracker is None:
        tracker, notes = _build_tracker(header, options, keep_journal)
    head = [] if first is None else [first]
    for listener in listeners:
        tracker.add_entry_listener(listener)
    try:
        return _run(tracker, head, iterator, header, notes, problem_limit, max_line_bytes, progress)
    finally:
        for listener in listeners:
            tracker.remove_entry_listener(listener)


def _run(
    tracker: CallTracker,
    head: list[tuple[int, bytes | str | LongLine]],
    rest: Iterator[tuple[int, bytes | str | LongLine]],
    header: Header | None,
    notes: list[str],
    problem_limit: int | None,
    max_line_bytes: int,
    progress: Callable[[int], object] | None,
) -> ReplayResult:
    problems, extras, starts = _Problems(problem_limit), _Extras(), Starts()
    inputs = 0
    watch = _Watch(problems, extras)
    tracker.add_entry_listener(watch)
    try:
        for number, raw in head:
            tracker.line = number
            inputs += _feed_line(tracker, raw, max_line_bytes, starts)
        for number, raw in rest:
            tracker.line = number
            if not number & 0xFFF:
                extras.prune(tracker)
                if progress is not None:
                    progress(number)
            inputs += _feed_line(tracker, raw, max_line_bytes, starts)
    finally:
        tracker.line = None
        tracker.remove_entry_listener(watch)
    return ReplayResult(tracker, inputs, problems=problems, extras=extras, header=header, notes=notes)


def replay_path(
    path: str,
    tracker: CallTracker | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    problem_limit: int | None = PROBLEM_LIMIT,
    keep_journal: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
    listeners: Iterable[Callable[[JournalEntry], object]] = (),
    progress: Callable[[int], object] | None = None,
) -> ReplayResult:
    """Replay the log at ``path`` (``"-"`` for standard input); the arguments are :func:`replay_lines`'s.

    Raises:
        OSError: the file cannot be opened or read.
        ReplayError: standard input is closed, or the header is not valid (:class:`HeaderError`).

    """
    kwargs: dict[str, Any] = {
        "options": options,
        "problem_limit": problem_limit,
        "keep_journal": keep_journal,
        "max_line_bytes": max_line_bytes,
        "listeners": tuple(listeners),
        "progress": progress,
    }
    if path == "-":
        if sys.stdin is None:
            raise ReplayError("cannot read standard input: it is closed")
        return replay_lines(iter_log_lines(sys.stdin.buffer, max_line_bytes), tracker, **kwargs)
    with open(path, "rb") as stream:
        return replay_lines(iter_log_lines(stream, max_line_bytes), tracker, **kwargs)
