"""dialfsm benchmarks: every figure against baselines measured in the same run.

Run ``python benchmarks/bench.py`` (``--quick`` for a smoke run with small sizes).
It prints a table of medians and ratios and writes it to ``benchmarks/RESULTS.md``
(not with ``--quick``).  Timings on a shared machine are noisy; the ratios, taken
between numbers measured side by side in one process, are what the goals are about.

Baselines:

* the floor: hand-written tracking, a dict routing by ``sessionId`` and a dict-of-dicts table;
* transitions, one shared ``Machine`` with ``add_model`` (the engine dialfsm's tables build);
* transitions, one ``Machine`` per call;
* dialfsm: ``CallTracker.handle(name, data)``, the whole path (parse the payload, route,
  transition, journal).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import transitions
from transitions import Machine

from dialfsm import CallTracker, replay_lines, replay_path

ROOT = Path(__file__).resolve().parent
STATES = ["idle", "connecting", "connected", "answered", "stopping", "stopped", "error"]
EVENTS = ["dialout-connected", "dialout-answered", "dialout-stopped"]
TRIGGERS: list[dict[str, Any]] = [
    {"trigger": "start", "source": "idle", "dest": "connecting"},
    {"trigger": "dialout_connected", "source": "connecting", "dest": "connected"},
    {"trigger": "dialout_answered", "source": ["connecting", "connected"], "dest": "answered"},
    {"trigger": "dialout_stopped", "source": ["connecting", "connected", "answered", "stopping"], "dest": "stopped"},
    {"trigger": "stop", "source": ["connecting", "connected", "answered"], "dest": "stopping"},
    {"trigger": "dialout_error", "source": ["connecting", "connected", "answered", "stopping"], "dest": "error"},
]
FLOOR_TABLE: dict[str, dict[str, str]] = {}
for _row in TRIGGERS:
    for _src in [_row["source"]] if isinstance(_row["source"], str) else _row["source"]:
        FLOOR_TABLE.setdefault(_src, {})[_row["trigger"]] = _row["dest"]


class Model:
    """A bare model for transitions."""

    state: str


# --- figure 1: per event ---------------------------------------------------------------


class FloorCall:
    """The floor: a hand-written state machine, a dict-of-dicts table and one method per event."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = "connecting"


class FloorTracker:
    """The floor for a tracker: route by the payload's ``sessionId``, then move by a dict-of-dicts table.

    The least any code can do to track calls from Daily's events: no validation, no journal.
    """

    def __init__(self) -> None:
        self.calls: dict[str, FloorCall] = {}

    def handle(self, name: str, data: dict[str, str]) -> None:
        """Route and move."""
        call = self.calls[data["sessionId"]]
        call.state = FLOOR_TABLE[call.state][name]


def floor_events(calls: int) -> int:
    """The floor: the 3 events of each call through a hand-written routing dict and table."""
    tracker = FloorTracker()
    payloads = []
    for i in range(calls):
        sid = f"5c7f0d2e-8d4b-4f7c-9a61-{i:012d}"
        tracker.calls[sid] = FloorCall()
        payloads.append({"sessionId": sid})
    handle = tracker.handle
    gc.collect()  # the set-up's garbage is not the loop's to collect
    start = time.perf_counter()
    for data in payloads:
        handle("dialout_connected", data)
        handle("dialout_answered", data)
        handle("dialout_stopped", data)
    floor_events.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    return calls * 3


def transitions_shared_events(calls: int) -> int:
    """transitions, one shared Machine: the 3 events of each call on a model added to it."""
    machine = Machine(model=None, states=STATES, transitions=TRIGGERS, initial="idle", auto_transitions=False)
    models = []
    for _ in range(calls):
        model = Model()
        machine.add_model(model, initial="connecting")
        models.append(model)
    gc.collect()  # the set-up's garbage is not the loop's to collect
    start = time.perf_counter()
    for model in models:
        model.trigger("dialout_connected")  # type: ignore[attr-defined]
        model.trigger("dialout_answered")  # type: ignore[attr-defined]
        model.trigger("dialout_stopped")  # type: ignore[attr-defined]
    transitions_shared_events.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    return calls * 3


def transitions_per_call_events(calls: int) -> int:
    """transitions, one Machine per call: the 3 events of each call."""
    models = []
    for _ in range(calls):
        model = Model()
        Machine(model=model, states=STATES, transitions=TRIGGERS, initial="connecting", auto_transitions=False)
        models.append(model)
    gc.collect()  # the set-up's garbage is not the loop's to collect
    start = time.perf_counter()
    for model in models:
        model.trigger("dialout_connected")  # type: ignore[attr-defined]
        model.trigger("dialout_answered")  # type: ignore[attr-defined]
        model.trigger("dialout_stopped")  # type: ignore[attr-defined]
    transitions_per_call_events.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    return calls * 3


def dialfsm_events(calls: int, **options: Any) -> int:
    """dialfsm: handle() for the 3 events of each call (daily-python dicts), sessions started beforehand."""
    tracker = CallTracker(max_dialouts=calls + 1, **options)
    payloads = []
    for i in range(calls):
        sid = f"5c7f0d2e-8d4b-4f7c-9a61-{i:012d}"
        tracker.start_completed(tracker.start_dialout({"phoneNumber": "+15551234567"}), session_id=sid)
        payloads.append({"sessionId": sid})
    handle = tracker.handle
    gc.collect()  # the set-up's garbage is not the loop's to collect
    start = time.perf_counter()
    for data in payloads:
        handle("on_dialout_connected", data)
        handle("on_dialout_answered", data)
        handle("on_dialout_stopped", data)
    dialfsm_events.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    return calls * 3


def dialfsm_bounded_events(calls: int) -> int:
    """The same, configured as a long-running service runs it: a bounded journal, no per-session history."""
    ops = dialfsm_events(calls, journal_limit=10_000, keep_history=False)
    dialfsm_bounded_events.elapsed = dialfsm_events.elapsed  # type: ignore[attr-defined]
    return ops


def per_event_rounds(calls: int, rounds: int) -> dict[str, list[float]]:
    """Figure 1, interleaved: each round times every contestant once (us per event, set-up excluded).

    Interleaving puts a slow spell of a shared machine into one round of every
    contestant rather than into all rounds of one; ratios are then taken per round.
    """
    contestants: dict[str, tuple[Callable[[int], int], int]] = {
        "floor": (floor_events, calls * 10),
        "shared": (transitions_shared_events, calls),
        "per_call": (transitions_per_call_events, calls),
        "ours": (dialfsm_events, calls),
        "bounded": (dialfsm_bounded_events, calls),
    }
    samples: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(rounds):
        for name, (fn, n) in contestants.items():
            gc.collect()
            ops = fn(n)
            samples[name].append(fn.elapsed / ops * 1e6)  # type: ignore[attr-defined]
    return samples


# --- figure 2: creating and retiring sessions -------------------------------------------


def create_retire_us(live: int, ops: int, rounds: int) -> float:
    """Median time to create and retire one dial-in session with ``live`` other sessions live."""
    tracker = CallTracker()
    for i in range(live):
        tracker.handle("dialin-connected", {"sessionId": f"live-{i}"})
    samples = []
    counter = 0
    for _ in range(rounds):
        ids = [f"new-{counter + k}" for k in range(ops)]
        counter += ops
        connected = [{"sessionId": sid} for sid in ids]
        gc.collect()
        start = time.perf_counter()
        for data in connected:
            tracker.handle("dialin-connected", data)
            tracker.handle("dialin-stopped", data)
        samples.append((time.perf_counter() - start) / ops * 1e6)
    return statistics.median(samples)


# --- figure 3: memory per live session ----------------------------------------------------


def memory_per_session(sessions: int) -> tuple[float, float]:
    """Bytes per session: (live answered dial-out after 4 inputs, finished 5-input dial-out)."""
    results = []
    for finish in (False, True):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        tracker = CallTracker(max_dialouts=sessions + 1)
        for i in range(sessions):
            sid = f"5c7f0d2e-8d4b-4f7c-9a61-{i:012d}"
            session = tracker.start_dialout({"phoneNumber": "+15551234567"})
            tracker.start_completed(session, session_id=sid)
            data = {"sessionId": sid}
            tracker.handle("on_dialout_connected", data)
            tracker.handle("on_dialout_answered", data)
            if finish:
                tracker.handle("on_dialout_stopped", data)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        results.append(grown / sessions)
        del tracker
    return results[0], results[1]


# --- figure 4: replay of a large log --------------------------------------------------------


def write_log(path: Path, lines: int, sessions: int) -> None:
    """A dial-in log of ``lines`` lines over ``sessions`` sessions (connected, joined, DTMF..., stopped)."""
    per = max(4, lines // sessions)
    with path.open("w") as out:
        written = 0
        for s in range(sessions):
            sid = f"ff1e7130-7752-4304-9cf4-{s:012d}"
            body = [
                {"event": "on_dialin_connected", "data": {"sessionId": sid, "sipFrom": "sip:caller@example.com"}},
                {"event": "on_participant_joined", "data": {"id": sid, "info": {"isLocal": False}}},
            ]
            body += [{"event": "on_dtmf_event", "data": {"sessionId": sid, "tone": "1"}}] * (per - 3)
            body.append({"event": "on_dialin_stopped", "data": {"sessionId": sid}})
            for k, record in enumerate(body):
                if written >= lines:
                    return
                out.write(json.dumps({"t": s + k / 100, **record}) + "\n")
                written += 1


def json_floor_s(path: Path) -> float:
    """Seconds to json.loads every line of the log (the floor for reading it at all)."""
    start = time.perf_counter()
    loads = json.loads
    with path.open("rb") as stream:
        for line in stream:
            loads(line)
    return time.perf_counter() - start


def replay_s(path: Path) -> tuple[float, float]:
    """Seconds to replay the log with ``replay_path``, and the peak traced memory in MB."""
    tracemalloc.start()
    start = time.perf_counter()
    result = replay_path(str(path))
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert result.inputs > 0
    return elapsed, peak


def replay_plain_s(path: Path) -> float:
    """Seconds to replay the log with tracemalloc off."""
    start = time.perf_counter()
    replay_path(str(path))
    return time.perf_counter() - start


# --- figure 5: forgetting sessions whose calls never completed ----------------------------------


def forget_us(calls: int) -> float:
    """Microseconds per dial-in that gets an unacknowledged send_dtmf and is forgotten at once (finished_limit=0)."""
    tracker = CallTracker(finished_limit=0, journal_limit=0, keep_history=False)
    gc.collect()
    start = time.perf_counter()
    for i in range(calls):
        sid = f"d{i}"
        tracker.handle("dialin-connected", {"sessionId": sid})
        tracker.handle("participant-joined", {"participant": {"session_id": sid}})
        tracker.send_dtmf({"sessionId": sid, "tones": "1"})
        tracker.handle("dialin-stopped", {"sessionId": sid})
    return (time.perf_counter() - start) / calls * 1e6


# --- figure 6: replay of lines that are no input ------------------------------------------------


def garbage_peak_mb(lines: int) -> float:
    """Peak traced memory (MB) replaying ``lines`` lines that are not JSON (each one an anomaly)."""
    tracemalloc.start()
    result = replay_lines((n, b"not json at all\n") for n in range(1, lines + 1))
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert result.totals["anomalies"] == lines
    return peak


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, and write RESULTS.md (unless --quick)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run (CI)")
    args = parser.parse_args(argv)
    quick = args.quick
    calls = 2_000 if quick else 20_000
    rounds = 3 if quick else 7
    big_live = 10_000 if quick else 100_000
    mem_sessions = 10_000 if quick else 100_000
    log_lines, log_sessions = (50_000, 1_000) if quick else (1_000_000, 10_000)

    rows: list[tuple[str, str, str]] = []

    def add(name: str, value: str, ratio: str = "") -> None:
        rows.append((name, value, ratio))
        print(f"{name:<62} {value:>14} {ratio}", flush=True)

    print(f"dialfsm benchmarks ({'quick' if quick else 'full'}), Python {platform.python_version()}, "
          f"transitions {transitions.__version__}, {os.cpu_count()} cores")  # fmt: skip
    per_event = per_event_rounds(calls, rounds)
    floor = statistics.median(per_event["floor"])

    def ratio(name: str, baseline: str) -> float:
        """The median over rounds of ``name / baseline``, both measured in the same round."""
        return statistics.median(a / b for a, b in zip(per_event[name], per_event[baseline], strict=True))

    def figure(name: str) -> float:
        return statistics.median(per_event[name])

    add("1. per event: dict-of-dicts floor", f"{floor:.3f} us")
    add(
        "1. per event: transitions, shared Machine + add_model",
        f"{figure('shared'):.2f} us",
        f"{ratio('shared', 'floor'):.0f}x floor",
    )
    add(
        "1. per event: transitions, Machine per call",
        f"{figure('per_call'):.2f} us",
        f"{ratio('per_call', 'floor'):.0f}x floor",
    )
    add(
        "1. per event: dialfsm handle(name, data), whole path",
        f"{figure('ours'):.2f} us",
        f"{ratio('ours', 'floor'):.1f}x floor (goal <= 20x), "
        f"{ratio('ours', 'shared'):.2f}x transitions shared (goal <= 1)",
    )
    add(
        "1. per event: the same, journal_limit=10,000, keep_history=False",
        f"{figure('bounded'):.2f} us",
        f"{ratio('bounded', 'floor'):.1f}x floor (goal <= 20x), "
        f"{ratio('bounded', 'shared'):.2f}x transitions shared (goal <= 1)",
    )

    small = create_retire_us(1_000, 2_000 if quick else 10_000, rounds)
    large = create_retire_us(big_live, 2_000 if quick else 10_000, rounds)
    add("2. create + retire a session (2 inputs), 1,000 live", f"{small:.2f} us")
    add(
        f"2. create + retire a session (2 inputs), {big_live:,} live",
        f"{large:.2f} us",
        f"{large / small:.2f}x the 1,000-live figure (goal <= 1.5x); {large / 2:.1f} us each (goal <= 10 us)",
    )

    live, finished = memory_per_session(mem_sessions)
    add(f"3. memory per live answered dial-out ({mem_sessions:,} live, 4 inputs)", f"{live:,.0f} B", "(goal <= 2048 B)")
    add(f"3. memory per finished 5-input dial-out ({mem_sessions:,})", f"{finished:,.0f} B", "(goal <= 2048 B)")

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "big.jsonl"
        write_log(log, log_lines, log_sessions)
        floor_s = min(json_floor_s(log) for _ in range(3 if quick else 2))
        replay_times = [replay_plain_s(log) for _ in range(3 if quick else 2)]
        replay_t = min(replay_times)
        _, peak = replay_s(log)
        half = Path(tmp) / "half.jsonl"
        write_log(half, log_lines // 10, log_sessions)
        _, peak_small = replay_s(half)
    add(f"4. json.loads over {log_lines:,} lines (floor)", f"{floor_s:.2f} s")
    add(
        f"4. replay of {log_lines:,} lines over {log_sessions:,} sessions",
        f"{replay_t:.2f} s",
        f"{replay_t / floor_s:.2f}x json.loads (goal <= 5x)",
    )
    add(
        "4. replay peak traced memory, 1/10 of the lines vs all",
        f"{peak_small:.1f} / {peak:.1f} MB",
        f"{peak / peak_small:.2f}x for 10x the lines (constant: ~1x)",
    )

    small_n, large_n = (2_000, 10_000) if quick else (8_000, 40_000)
    forget_small = min(forget_us(small_n) for _ in range(3))
    forget_large = min(forget_us(large_n) for _ in range(3))
    add(f"5. an unacknowledged call, its session forgotten: {small_n:,} calls", f"{forget_small:.2f} us")
    add(
        f"5. the same, {large_n:,} calls",
        f"{forget_large:.2f} us",
        f"{forget_large / forget_small:.2f}x per call (goal <= 1.5x: nothing left behind)",
    )
    garbage_small = garbage_peak_mb(log_lines // 10)
    garbage_large = garbage_peak_mb(log_lines)
    add(
        "6. replay peak memory, garbage lines, 1/10 of them vs all",
        f"{garbage_small:.1f} / {garbage_large:.1f} MB",
        f"{garbage_large / garbage_small:.2f}x for 10x the lines (constant: ~1x)",
    )

    if not quick:
        table = ["| figure | median | ratio |", "|---|---:|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
        header = (
            "# Benchmark results\n\n"
            f"`python benchmarks/bench.py`, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
            f"transitions {transitions.__version__}, {os.cpu_count()} cores, {platform.machine()}.\n"
            "Every ratio is between figures measured in the same process run.  Figure 1 times its\n"
            "contestants in turn, round after round, and its ratios are medians of per-round ratios.\n\n"
        )
        (ROOT / "RESULTS.md").write_text(header + "\n".join(table) + "\n", encoding="utf-8")
        readme = ROOT.parent / "README.md"
        text = readme.read_text(encoding="utf-8")
        start, end = "<!-- results:start -->", "<!-- results:end -->"
        if start in text and end in text:
            block = (
                f"{start}\n" + "\n".join(table) + f"\n\n(`benchmarks/RESULTS.md`, {time.strftime('%Y-%m-%d')})\n{end}"
            )
            text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
            readme.write_text(text, encoding="utf-8")
        print(f"wrote {ROOT / 'RESULTS.md'} and the README's results block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
