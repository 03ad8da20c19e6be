r"""Recording live calls: every input a tracker sees, as the JSON Lines that ``dialfsm replay`` reads.

A :class:`Recorder` attached to a tracker (:meth:`Recorder.attach`) is an
input listener: the tracker hands it each Daily event, each of the bot's calls
and each completion, each clock tick, withdrawal, note and outside anomaly, as
a replay-log record, and the recorder writes that record as one line, flushed
at once.  A bot that crashes loses at most the line being written; ``dialfsm
replay`` reports a partial line as ``MALFORMED_INPUT``, and a recorder
appending to that file starts on a fresh line.

**A recording replays to what the live tracker concluded.**

* Its first line is a header (:mod:`dialfsm._header`): the format version and
  the tracker's behaviour options (timeouts, ``max_dialouts``,
  ``allow_dialout``, the retry policy and its seed, ``finished_limit``...),
  from which ``dialfsm replay`` builds its tracker.  A recorder appending to a
  non-empty file writes no second header: it checks that the file's header
  matches its tracker's options, and raises :class:`RecordingError` if not.
* ``"t"`` is written only when the input had a time: a bot that passes no
  times arms no timer live, and none on replay.  The recorder's own clock is
  written as ``"at"`` (for people; replay never reads it).
* Attaching a recorder changes nothing the tracker does: the names that pair
  completions with their calls on replay are keys in a namespace of their own
  (:class:`~dialfsm.CallKey`), given whether or not anything records.
* **Every input gives one line.**  A value JSON cannot hold exactly (a key
  that is no string, an int of thousands of digits, a payload nested a
  thousand levels deep, a cycle, a set, bytes, an SDK object) is written as
  close as JSON allows, and an event so written is replaced by the event the
  tracker read from it (its payload as :func:`~dialfsm._parse.to_daily` writes
  it), with ``"lossy"`` saying what could not be written; an event the
  tracker could not read carries ``"anomaly"`` instead, so replay records the
  same anomaly.

Writing is serialised by a lock, so one recorder may be called from several
threads (daily-python delivers events on its own thread) and lines are never
interleaved.  A recorder's memory is bounded, whatever it writes.

**Redaction** (on by default; ``redact=False`` for local debugging) runs on
exactly what is written; its rules are :mod:`dialfsm._redact`'s: numbers of 5
digits or more keep their last 4 (``+15551234567`` -> ``+00000004567``), SIP
users, headers and display names become ``*`` s of the same length, keys
pressed become ``0`` s, and every value stays as valid for Daily as it was.
One :class:`~dialfsm._redact.Redactor` serves the whole file, so two values
the tracker compares equal are written alike and two it tells apart are
written apart (``+15559994567`` -> ``+10000004567``, ``sip:1002@pbx`` ->
``sip:***~@pbx`` next to ``sip:1001@pbx`` -> ``sip:****@pbx``): replay binds
events to dial-outs and pairs completions as live.  Identifiers (session ids,
refs) have their numbers and SIP URIs masked the same way, so a ref still
names its call; UUIDs, call keys and the room's own ``dialin-ready`` endpoint
are kept.  The redactor remembers the last
:data:`~dialfsm._redact.MAX_REMEMBERED` distinct values (in memory, never
written); a recorder appending to a file starts with an empty memory
(:mod:`dialfsm._redact` says what that and a full masked region give).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import IO, Any, Final

from dialfsm._errors import DialfsmError
from dialfsm._header import header_record as _header_record_of
from dialfsm._header import is_header, read_header
from dialfsm._jsonable import to_jsonable
from dialfsm._options import behaviour_options
from dialfsm._parse import ParseProblem, from_daily, to_daily
from dialfsm._redact import KEEP_FIELDS, NAME_FIELDS, TONE_FIELDS, Redactor, redact_record, redact_text
from dialfsm._text import describe_error, short_repr
from dialfsm._tracker import CallTracker

__all__ = ["KEEP_FIELDS", "NAME_FIELDS", "TONE_FIELDS", "Recorder", "RecordingError", "redact_record", "redact_text"]

_FIRST_LINE_LIMIT: Final = 1 << 20


class RecordingError(DialfsmError):
    """The recording could not be opened, written or closed, or does not match the tracker attached."""


def _canonical_event(record: Mapping[str, Any], written: dict[str, Any], lost: list[str]) -> dict[str, Any]:
    """An event line whose payload JSON could not hold: the event the tracker read instead, or its anomaly."""
    out = dict(written)
    out["lossy"] = "; ".join(lost[:3]) + ("; ..." if len(lost) > 3 else "")
    try:
        event = from_daily(record["event"], record.get("data"))
    except ParseProblem as problem:
        out.update(anomaly=problem.code.value, message=problem.message)
        return out
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (as the tracker: a payload no parser foresaw)
        out.update(anomaly="MALFORMED_INPUT", message=f"payload could not be read: {describe_error(exc)}")
        return out
    out["data"], _ = to_jsonable(to_daily(event))
    return out


def _line_of(record: Mapping[str, Any], redactor: Redactor | None, at: float | None) -> bytes:
    """One record as the bytes of one line (encoded, then redacted: redaction sees exactly what is written)."""
    written, lost = to_jsonable(record)
    if lost and "event" in record and "anomaly" not in record:
        written = _canonical_event(record, written, lost)
    elif lost:
        written["lossy"] = "; ".join(lost[:3]) + ("; ..." if len(lost) > 3 else "")
    if redactor is not None and not is_header(written):
        written = redactor.record(written)
    if at is not None:
        written["at"] = at
    text = json.dumps(written, ensure_ascii=False, separators=(", ", ": "))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON escapes it
        return (json.dumps(written, separators=(", ", ": ")) + "\n").encode("ascii")


class Recorder:
    """Writes every input a tracker sees as JSON Lines, one line per input, flushed per line.

    Args:
        target: A file path (opened for writing, or appending with ``append=True``)
            or an open text stream (written to and flushed, never closed by the
            recorder; one not at its start, which the recorder cannot read back,
            continues what it holds: no header is written to it).
        redact: Mask numbers, SIP users and names (:mod:`dialfsm._redact`'s rules),
            values equal for the tracker alike and others apart, over the whole
            file (appending: from the first line this recorder writes);
            ``False`` writes inputs verbatim, for local debugging.
        clock: Gives ``"at"`` (seconds, for people; replay never reads it);
            ``None`` writes none.  It never gives ``"t"``.
        append: With a path, add to the file instead of replacing it: no second
            header, the file's header must match the tracker attached, and a torn
            last line is ended first.

    Raises:
        RecordingError: the file cannot be opened, or its first line is no header.

    Use it from any thread::

        with Recorder("calls.jsonl") as recorder:
            recorder.attach(tracker)
            ...

    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[str],
        *,
        redact: bool = True,
        clock: Callable[[], float] | None = time.time,
        append: bool = False,
    ) -> None:
        self.redact = redact
        self._redactor = Redactor() if redact else None  # one for the whole file: equal values masked alike
        self.clock = clock
        self._lock = threading.Lock()
        self._lines = 0
        self._closed = False
        self._torn = False
        self._header: Mapping[str, Any] | None = None  # the options the recording's header holds
        self._fresh = True  # nothing is written yet: a header can still be line 1
        self._trackers: list[CallTracker] = []
        self._file: Any = None
        self._stream: IO[str] | None = None
        self._continues = False  # a stream given mid-way: it continues what it holds, with no header of ours
        if isinstance(target, (str, os.PathLike)):
            self._name = os.fspath(target)
            self._open(append)
        else:
            self._name = str(getattr(target, "name", type(target).__name__))
            self._stream = target
            self._continues = not _at_start(target)

    def _open(self, append: bool) -> None:
        try:
            if append and os.path.exists(self._name) and os.path.getsize(self._name) > 0:
                self._read_existing()
            self._file = open(self._name, "ab" if append else "wb", buffering=0)  # noqa: SIM115  (closed by close())
        except OSError as exc:
            raise RecordingError(f"cannot open {self._name}: {exc.strerror or type(exc).__name__}") from exc

    def _read_existing(self) -> None:
        """An existing recording: its header (checked when a tracker is attached), and whether it ends torn."""
        with open(self._name, "rb") as existing:
            first = existing.readline(_FIRST_LINE_LIMIT)
            existing.seek(-1, os.SEEK_END)
            self._torn = existing.read(1) != b"\n"
        self._fresh = False
        try:
            record = json.loads(first.decode("utf-8").lstrip("\ufeff"))
            header = read_header(record, CallTracker) if is_header(record) else None
        except (ValueError, RecursionError, DialfsmError) as exc:
            raise RecordingError(f"cannot append to {self._name}: its first line is no valid header ({exc})") from None
        if header is None:
            raise RecordingError(f"cannot append to {self._name}: it has no header (a recording of another version?)")
        self._header = header.options

    @property
    def lines_written(self) -> int:
        """How many whole lines this recorder has written (its header included)."""
        return self._lines

    @property
    def redactor(self) -> Redactor | None:
        """The recorder's :class:`~dialfsm._redact.Redactor` (``collisions``, ``forgotten``); ``None`` unredacted."""
        return self._redactor

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def header_options(self) -> Mapping[str, Any] | None:
        """The tracker options the recording's header holds (``None`` before a tracker is attached)."""
        return self._header

    def __call__(self, record: Mapping[str, Any]) -> None:
        """Write one replay-log record as one line (the input-listener protocol).

        Raises:
            RecordingError: the recorder is closed, or the write failed.

        """
        with self._lock:
            if self._closed:
                raise RecordingError("the recorder is closed")
            self._write(_line_of(record, self._redactor, self._at()))

    def _at(self) -> float | None:
        if self.clock is None:
            return None
        try:
            at = self.clock()
        except Exception:  # noqa: BLE001  (a clock that fails writes no "at")
            return None
        return at if isinstance(at, (int, float)) and not isinstance(at, bool) and at - at == 0 else None

    def _write(self, line: bytes) -> None:
        """Write one whole line (after a torn one, on a fresh line); count it once it is all written."""
        if self._torn:
            line = b"\n" + line
        try:
            if self._file is not None:
                view = memoryview(line)
                while view:
                    written = self._file.write(view)
                    self._torn = True  # until the whole line is out
                    view = view[written or 0 :]
            else:
                assert self._stream is not None
                self._stream.write(line.decode("utf-8"))
                self._stream.flush()
        except (OSError, ValueError) as exc:
            raise RecordingError(f"cannot write to {self._name}: {describe_error(exc)}") from exc
        self._torn = False
        self._fresh = False
        self._lines += 1

    def attach(self, tracker: CallTracker) -> Recorder:
        """Record every input ``tracker`` sees from now on; returns the recorder.

        The first tracker attached to a fresh recording writes its header.

        Raises:
            RecordingError: the recording's header (or the tracker attached
                first) has other options than ``tracker``, or the recording
                already has lines and no header, or is closed.

        """
        options = behaviour_options(tracker)
        with self._lock:
            if self._closed:
                raise RecordingError("the recorder is closed")
            if self._header is None:
                if not self._fresh:
                    raise RecordingError(f"cannot attach a tracker to {self._name}: it has lines but no header")
                if not self._continues:
                    self._write(_line_of(_header_record_of(tracker, redacted=self.redact), None, None))
                self._header = options
            elif dict(self._header) != options:
                raise RecordingError(_mismatch(self._name, self._header, options))
        tracker.add_input_listener(self)
        self._trackers.append(tracker)
        return self

    def detach(self, tracker: CallTracker) -> None:
        """Stop recording ``tracker``'s inputs."""
        tracker.remove_input_listener(self)
        self._trackers.remove(tracker)

    def close(self) -> None:
        """Detach from every tracker, and close a file the recorder opened (flush a stream it was given).

        Raises:
            RecordingError: the last data could not be written (a full disk).

        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for tracker in list(self._trackers):
            self.detach(tracker)
        try:
            if self._file is not None:
                self._file.close()
            elif self._stream is not None:
                self._stream.flush()
        except (OSError, ValueError) as exc:
            raise RecordingError(f"cannot close {self._name}: {describe_error(exc)}") from exc

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Recorder {self._name!r} lines={self._lines} redact={self.redact}>"


def _at_start(stream: IO[str]) -> bool:
    """Whether a stream is at its start (nothing written before): a header can be its first line."""
    try:
        return stream.tell() == 0
    except (OSError, ValueError, AttributeError):  # a pipe, a terminal: a fresh stream as far as we know
        return True


def _mismatch(name: str, header: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    differ = sorted(k for k in {*header, *options} if header.get(k) != options.get(k))
    shown = ", ".join(
        f"{k}: {short_repr(header.get(k))} in the recording, {short_repr(options.get(k))} here" for k in differ[:3]
    )
    return f"cannot record into {name}: its header's tracker options differ from this tracker's ({shown})"
