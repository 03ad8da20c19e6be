"""The journal and the histories keep rows of atoms; what they give back is what the tracker said.

The tracker keeps each entry as a plain tuple of atoms so that a tracker keeping
everything does not feed CPython's cyclic collector (see ``_tracker``'s notes on
"how the journal and histories keep entries").  These tests pin both halves:
reading the journal or a history gives back exactly the entries the tracker
returned and told its listeners, for any run; and keeping entries leaves no
GC-tracked object behind per Daily event.
"""

from __future__ import annotations

import gc
import itertools
import sys
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialfsm import CallCompleted, CallTracker, Disposition, Input, JournalEntry, StartDialout
from dialfsm.testing import adversarial_sequences, feed, machine_sequences, typed_events

RUNS = st.one_of(machine_sequences(), adversarial_sequences())


def _run(records: list[Any], **options: Any) -> tuple[CallTracker, list[JournalEntry]]:
    tracker = CallTracker(max_dialouts=3, **options)
    told: list[JournalEntry] = []
    tracker.add_entry_listener(told.append)
    for record in records:
        feed(tracker, record)
    return tracker, told


@given(records=RUNS)
def test_the_journal_gives_back_every_entry_the_tracker_told(records: list[Any]) -> None:
    tracker, told = _run(records)
    assert tracker.journal == tuple(told)
    assert tracker.anomalies == tuple(e for e in told if e.disposition is Disposition.ANOMALY)
    assert tracker.refusals == tuple(e for e in told if e.disposition is Disposition.REFUSED)
    for entry in tracker.journal:  # the session itself, not a copy
        assert all(step.session is None or step.session in tracker.sessions for step in entry.steps)


@given(records=RUNS)
def test_each_history_gives_back_the_steps_that_reached_its_session(records: list[Any]) -> None:
    tracker, told = _run(records)
    for session in tracker.sessions:
        steps = tuple(step for entry in told for step in entry.steps if step.session is session)
        assert session.history == steps
        kind = type(session.state)  # the states come back as the session's own enum (StrEnums of both compare equal)
        assert all(isinstance(step.source, kind) and isinstance(step.dest, kind) for step in steps)


@given(records=RUNS, limit=st.integers(0, 6), since=st.integers(-2, 40))
def test_a_bounded_journal_and_journal_since_keep_the_latest(records: list[Any], limit: int, since: int) -> None:
    tracker, told = _run(records, journal_limit=limit)
    kept = tuple(told[-limit:]) if limit else ()
    assert tracker.journal == kept
    assert tracker.journal_since(since) == tuple(e for e in kept if e.seq >= since)
    assert tracker.journal_limit == limit
    unbounded, all_told = _run(records)
    assert unbounded.journal_since(since) == tuple(e for e in all_told if e.seq >= since)


@given(event=typed_events())
def test_every_typed_event_comes_back_equal(event: object) -> None:
    tracker = CallTracker()
    tracker.start_dialout({"phoneNumber": "+15551234567"})
    returned = tracker.receive(event)  # type: ignore[arg-type]
    (kept,) = tracker.journal_since(returned.seq)
    assert kept == returned
    assert type(kept.input) is type(event)
    assert kept.input == event


def test_the_engines_keep_the_same_rows() -> None:
    records: list[Any] = [
        {"call": "start_dialout", "settings": {"phoneNumber": "+15551234567"}, "ref": "a", "t": 0.0},
        {"completion": "start_dialout", "session_id": "s1", "error": None, "ref": "a", "t": 1.0},
        {"event": "dialout-connected", "data": {"sessionId": "s1"}, "t": 2.0},
        {"t": 100.0},  # the ring timeout fires: a TimerExpired row
        {"event": "dialout-stopped", "data": {"sessionId": "s1"}, "t": 101.0},
    ]
    compiled, told = _run(records)
    machine, _ = _run(records, engine="transitions")
    assert compiled.journal == tuple(told)
    assert [e[:4] + e[6:8] for e in machine.journal] == [e[:4] + e[6:8] for e in compiled.journal]
    assert [(e.source, e.dest) for e in machine.journal] == [(e.source, e.dest) for e in compiled.journal]
    assert any(e.name == "ring_timeout" for e in compiled.journal)


def _tracked_after(fn: Any) -> int:
    gc.collect()
    gc.collect()
    before = len(gc.get_objects())
    fn()
    gc.collect()
    gc.collect()  # a row seen before its values tuple in one collection is untracked in the next
    return len(gc.get_objects()) - before


@pytest.mark.parametrize("timed", [False, True])
@pytest.mark.parametrize("options", [{}, {"journal_limit": 10_000, "keep_history": False}])
def test_keeping_entries_leaves_no_gc_tracked_object_per_event(options: dict[str, Any], timed: bool) -> None:
    """4 events x 2,000 calls (one late), every entry kept, timers armed or not: nothing new for the collector."""
    calls = 2_000
    tracker = CallTracker(max_dialouts=calls, **options)
    payloads = []
    for i in range(calls):
        sid = f"sid-{i}"
        t = i / 1000 if timed else None  # within the ring timeout of every start
        tracker.start_completed(tracker.start_dialout({"phoneNumber": "+15551234567"}, t=t), session_id=sid, t=t)
        payloads.append({"sessionId": sid})

    def events() -> None:
        for i, data in enumerate(payloads):
            t = (calls + i) / 1000 if timed else None  # the ring timer is armed (and stays in the heap) when timed
            tracker.handle("on_dialout_connected", data, t=t)
            tracker.handle("on_dialout_answered", data, t=t)
            tracker.handle("on_dialout_stopped", data, t=t)
            tracker.handle("on_dialout_answered", data, t=t)  # late: an anomaly row

    grown = _tracked_after(events)
    assert len(tracker.journal) == min(6 * calls, options.get("journal_limit", 6 * calls))
    assert len(tracker.anomalies) == calls  # a bounded journal keeps the last 10,000: every event
    assert all(s.outcome is not None for s in tracker.sessions)
    assert grown <= 10, f"{grown} GC-tracked objects left behind by {4 * calls} events"
    rows = [item for item in tracker._journal if type(item) is tuple]  # not the sessions, not JournalEntry
    rows += [row for session in tracker.sessions for row in session._history]
    assert rows
    assert not any(gc.is_tracked(row) for row in rows)  # a start's row too: it keeps its ref, not its call


def test_a_start_row_reads_back_with_its_sessions_settings() -> None:
    """A start's row keeps only its ref; read back, the entry equals what start_dialout journaled."""
    tracker = CallTracker(max_dialouts=2)
    first = tracker.start_dialout({"phoneNumber": "+15551234567"}, ref="a")
    returned = tracker.last_entry
    tracker.start_dialout({"sipUri": "sip:desk@example.com", "displayName": "Desk"})
    assert tracker.journal[0] == returned
    start = tracker.journal[0].input
    assert isinstance(start, StartDialout)
    assert (start.settings.phone_number, start.ref) == ("+15551234567", "a")
    second = tracker.journal[1].input
    assert isinstance(second, StartDialout)
    assert (second.settings.sip_uri, second.settings.display_name) == ("sip:desk@example.com", "Desk")
    assert first.history[0] == returned
    gc.collect()
    gc.collect()
    assert not any(gc.is_tracked(row) for row in (first._history[0], tracker._journal[3]))


@pytest.mark.parametrize("limit", [None, 50])
def test_a_reader_on_another_thread_sees_whole_inputs(limit: int | None) -> None:
    """Reading while another thread writes: every read is a run of consecutive, whole entries."""
    tracker = CallTracker(max_dialouts=4_000, journal_limit=limit)
    sids = [f"sid-{i}" for i in range(4_000)]
    for sid in sids:
        tracker.start_completed(tracker.start_dialout({"phoneNumber": "+15551234567"}), session_id=sid)
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not done.is_set():
            try:
                journals = (tracker.journal, tracker.journal_since(tracker.inputs_read - 20))
            except Exception as exc:  # noqa: BLE001  (the test reports it)
                problems.append(repr(exc))
                return
            for journal in journals:
                seqs = [entry.seq for entry in journal]
                if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False:
                    problems.append(f"not consecutive: {seqs[:5]}...")
                if any(entry.session is not None and entry.session.session_id not in sids for entry in journal):
                    problems.append("an entry with a stranger's session")

    reader = threading.Thread(target=read)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows
    try:
        reader.start()
        for sid in sids:
            for name in ("on_dialout_connected", "on_dialout_answered", "on_dialout_stopped"):
                tracker.handle(name, {"sessionId": sid})
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(switch)
    assert problems == []
    assert len(tracker.journal) == (limit or 20_000)


def test_reading_new_entries_from_another_thread_starts_where_asked() -> None:
    """journal_since(k) while another thread writes: the first entry is input k, never a later one.

    A race shows in some runs only (the old code failed about two runs in three), so it runs three times.
    """
    wrong: list[tuple[int, int]] = []
    for _ in range(3):
        tracker = CallTracker(max_dialouts=3_000)
        sids = [f"sid-{i}" for i in range(3_000)]
        for sid in sids:
            tracker.start_completed(tracker.start_dialout({"phoneNumber": "+15551234567"}), session_id=sid)
        done = threading.Event()

        def read(tracker: CallTracker = tracker, done: threading.Event = done) -> None:
            while not done.is_set():
                k = tracker.inputs_read - 3
                since = tracker.journal_since(k)
                if since[0].seq != k:
                    wrong.append((k, since[0].seq))

        reader = threading.Thread(target=read)
        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            reader.start()
            for sid in sids:
                for name in ("on_dialout_connected", "on_dialout_answered", "on_dialout_stopped"):
                    tracker.handle(name, {"sessionId": sid})
        finally:
            done.set()
            reader.join()
            sys.setswitchinterval(switch)
    assert wrong == []


def test_journal_since_takes_an_int() -> None:
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a"})
    assert [e.seq for e in tracker.journal_since(-5)] == [0]
    assert tracker.journal_since(7) == ()
    for bad in (1.5, "0", None, True):
        with pytest.raises(TypeError, match="seq must be an int"):
            tracker.journal_since(bad)  # type: ignore[arg-type]


def test_a_completion_naming_its_call_by_string_is_applied_and_kept_whole() -> None:
    """`call="start_dialout"` passes the completion check (a StrEnum equals its value): the step must be kept too."""
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    returned = tracker.complete(CallCompleted(call="start_dialout", error="timed out"))  # type: ignore[arg-type]
    assert (returned.name, returned.disposition) == ("start_dialout.error", Disposition.TRANSITION)
    assert session.history[-1] == returned
    assert tracker.journal[-1] == returned
    kept = session.history[-1].input
    assert isinstance(kept, CallCompleted)
    assert kept.call is Input.START_DIALOUT
    assert tracker.anomalies == ()


def test_an_event_field_no_encoder_can_read_keeps_the_event_itself() -> None:
    """A typed event built by hand with an unset field: the step is applied and journaled, not half-done."""
    from dialfsm import DialinConnected

    odd = object.__new__(DialinConnected)
    object.__setattr__(odd, "session_id", "a")  # sip_from and sip_call_id never set
    tracker = CallTracker()
    returned = tracker.receive(odd)
    assert returned.disposition is Disposition.TRANSITION
    assert tracker.journal[-1].input is odd
    assert tracker["a"].history == (returned,)


def test_a_nan_volume_is_left_out_so_every_entry_equals_itself() -> None:
    """The volume is informative only: a NaN is dropped (NaN != NaN), and the tone is still received."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a"})
    entry = tracker.handle("dtmf-event", {"sessionId": "a", "tone": "1", "volume": float("nan")})
    assert entry.code is None
    assert getattr(entry.input, "volume", "missing") is None
    assert tracker.journal == tracker.journal
    assert tracker.get("a").dtmf == ("1",)  # type: ignore[union-attr]


def test_completed_calls_do_not_pile_up_behind_one_still_waiting() -> None:
    """Completions paired by ref: the queue of waiting calls stays within twice the calls really waiting."""
    tracker = CallTracker()
    session = tracker.start_dialout({"phoneNumber": "+15551234567"})
    tracker.start_completed(session, session_id="s0")
    tracker.handle("dialout-answered", {"sessionId": "s0"})
    tracker.send_dtmf({"sessionId": "s0", "tones": "1"}, ref="stuck")  # its completion has not come (yet)
    for i in range(1_000):
        tracker.send_dtmf({"sessionId": "s0", "tones": "1"}, ref=f"d{i}")
        tracker.dtmf_completed(session, ref=f"d{i}")
    assert tracker._pending.queued(Input.SEND_DTMF) <= 64
    late = tracker.dtmf_completed(session, ref="stuck")  # still pairs with its call
    assert (late.name, late.code) == ("send_dtmf.ok", None)
    assert tracker.anomalies == ()


def test_an_absurd_journal_limit_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="journal_limit"):
        CallTracker(journal_limit=sys.maxsize)


def test_reads_survive_a_writer_running_while_a_finalizer_lets_go_of_the_gil() -> None:
    """A collection during the copy of a bounded journal can run a finalizer that lets another thread write.

    The copy raises (deque mutated during iteration) and is taken again.  A finalizer letting go of the
    GIL at *every* collection could starve the retries: to read while other threads write, hold the lock.
    """
    tracker = CallTracker(journal_limit=50)
    reader = threading.current_thread()
    stop = threading.Event()

    finalized = itertools.count()

    class Chain:  # garbage whose finalizer now and then lets other threads run, as one doing I/O would
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            if threading.current_thread() is reader and not stop.is_set():
                Chain()
                if next(finalized) % 4 == 0:
                    time.sleep(0.0002)

    def feed() -> None:
        while not stop.is_set():
            tracker.handle("dialout-warning", {"sessionId": "nope", "message": "x"})

    for _ in range(120):
        tracker.handle("dialout-warning", {"sessionId": "nope", "message": "x"})
    thresholds = gc.get_threshold()
    writer = threading.Thread(target=feed)
    errors: list[str] = []
    gc.set_threshold(1, 1000, 1000)
    try:
        writer.start()
        Chain()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                tracker.journal_since(tracker.inputs_read - 10)
                tracker.anomalies  # noqa: B018  (a read)
                tracker.journal  # noqa: B018
            except Exception as exc:  # noqa: BLE001  (the test reports it)
                errors.append(repr(exc))
    finally:
        stop.set()
        gc.set_threshold(*thresholds)
        writer.join()
    gc.collect()
    assert errors == []


def test_every_class_a_row_keeps_has_atom_fields_only() -> None:
    """The check that was made at import (it costs start-up time): a row of these stays untracked by the GC."""
    from dialfsm._journal import check_atom_fields

    check_atom_fields()

    import attrs

    @attrs.frozen
    class Leaky:
        payload: dict[str, object]

    from dialfsm import _journal

    saved = _journal.ATOM_CLASSES
    _journal.ATOM_CLASSES = (*saved, Leaky)  # type: ignore[misc]
    try:
        with pytest.raises(TypeError, match="not an atom field"):
            check_atom_fields()
    finally:
        _journal.ATOM_CLASSES = saved  # type: ignore[misc]


def test_importing_the_tracker_loads_no_cold_module() -> None:
    """``import dialfsm`` (and ``CallTracker``) loads neither diagrams, timelines, replay, snapshots nor json."""
    import subprocess
    import sys

    cold = ["dialfsm.diagrams", "dialfsm.timeline", "dialfsm._replay", "dialfsm._snapshot", "dialfsm._invariants"]
    cold += ["dialfsm._cli", "dialfsm._paths", "dialfsm._coverage", "dialfsm.recording", "json"]
    for statement in ("import dialfsm", "from dialfsm import CallTracker"):
        code = f"import sys; {statement}; print(sorted(m for m in {cold!r} if m in sys.modules))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "[]", (statement, out)
