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
import compileall
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import transitions
from shapes import SHAPES
from transitions import Machine

from dialfsm import CallTracker, Recorder, replay_lines, replay_path

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


# --- figure 1, by shape: every workload shape against its own floor ------------------------------


def shape_rounds(calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Figure 1: each shape's floor and dialfsm, interleaved round after round (us per input)."""
    samples: dict[str, dict[str, list[float]]] = {shape.name: {"floor": [], "ours": []} for shape in SHAPES}
    samples["transitions"] = {"shared": [], "ours": []}
    for _ in range(rounds):
        for shape in SHAPES:
            for side in ("floor", "ours"):
                gc.collect()
                seconds, inputs = getattr(shape, side)(calls)
                samples[shape.name][side].append(seconds / inputs * 1e6)
        gc.collect()
        ops = transitions_shared_events(calls)
        samples["transitions"]["shared"].append(transitions_shared_events.elapsed / ops * 1e6)  # type: ignore[attr-defined]
        samples["transitions"]["ours"].append(samples[SHAPES[0].name]["ours"][-1])
    return samples


# --- figure 7: start-up, whole processes -----------------------------------------------------------


def _process_s(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup_rounds(rounds: int, five_lines: Path) -> dict[str, float]:
    """Median seconds of each start-up, interleaved: ``pass``, attrs + transitions, dialfsm, a 5-line replay.

    dialfsm's modules are byte-compiled first, as a wheel's installation does (this
    machine sets ``PYTHONDONTWRITEBYTECODE``: without it every run would compile them).
    """
    compileall.compile_dir(str(ROOT.parent / "dialfsm"), quiet=1)
    python = sys.executable
    command = str(Path(python).with_name("dialfsm"))
    runs = {
        "pass": [python, "-c", "pass"],
        "attrs, transitions": [python, "-c", "import attrs, transitions"],
        "import dialfsm": [python, "-c", "import dialfsm"],
        "from dialfsm import CallTracker": [python, "-c", "from dialfsm import CallTracker"],
        "dialfsm replay (5 lines)": [command, "replay", str(five_lines)],
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, argv in runs.items():
            samples[name].append(_process_s(argv))
    return {name: statistics.median(values) for name, values in samples.items()}


# --- figure 8: replay, whole processes --------------------------------------------------------------


def write_short_calls(path: Path, calls: int) -> None:
    """A recording of ``calls`` dial-outs of 5 inputs each (start, completion, connected, answered, stopped)."""
    tracker = CallTracker()
    with Recorder(path, redact=False, clock=None) as recorder:
        recorder.attach(tracker)
        for i in range(calls):
            sid = f"5c7f0d2e-8d4b-4f7c-9a61-{i:012d}"
            tracker.start_completed(tracker.start_dialout({"phoneNumber": "+15551234567"}), session_id=sid)
            data = {"sessionId": sid}
            for name in ("on_dialout_connected", "on_dialout_answered", "on_dialout_stopped"):
                tracker.handle(name, data)


_LOADS = "import json, sys\nloads = json.loads\nfor line in open(sys.argv[1], 'rb'):\n    loads(line)"


def replay_process_rounds(rounds: int, logs: dict[str, Path]) -> dict[str, tuple[float, float]]:
    """Per log: median seconds of ``dialfsm replay --json LOG`` and of ``json.loads`` of its lines, as processes."""
    command = str(Path(sys.executable).with_name("dialfsm"))
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in logs}
    for _ in range(rounds):
        for name, log in logs.items():
            samples[name][0].append(_process_s([command, "replay", "--json", str(log)]))
            samples[name][1].append(_process_s([sys.executable, "-c", _LOADS, str(log)]))
    return {name: (statistics.median(a), statistics.median(b)) for name, (a, b) in samples.items()}


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
    short_calls = 4_000 if quick else 40_000

    rows: list[tuple[str, str, str]] = []

    def add(name: str, value: str, ratio: str = "") -> None:
        rows.append((name, value, ratio))
        print(f"{name:<66} {value:>14} {ratio}", flush=True)

    print(f"dialfsm benchmarks ({'quick' if quick else 'full'}), Python {platform.python_version()}, "
          f"transitions {transitions.__version__}, {os.cpu_count()} cores")  # fmt: skip

    shaped = shape_rounds(calls, rounds)

    def ratio(name: str, ours: str, base: str) -> float:
        """The median over rounds of ``ours / base``, both measured in the same round."""
        pairs = zip(shaped[name][ours], shaped[name][base], strict=True)
        return statistics.median(a / b for a, b in pairs)

    for n, shape in enumerate(SHAPES):
        letter = "abcd"[n]
        floor_us, ours_us = (statistics.median(shaped[shape.name][side]) for side in ("floor", "ours"))
        add(f"1{letter}. {shape.name}: its floor", f"{floor_us:.3f} us")
        add(
            f"1{letter}. {shape.name}: dialfsm",
            f"{ours_us:.2f} us",
            f"{ratio(shape.name, 'ours', 'floor'):.1f}x its floor (goal <= 10x)",
        )
    shared = statistics.median(shaped["transitions"]["shared"])
    add("1e. a bare transitions trigger (shared Machine + add_model)", f"{shared:.2f} us")
    add(
        "1e. dialfsm on long calls, against it",
        f"{statistics.median(shaped['transitions']['ours']):.2f} us",
        f"{ratio('transitions', 'ours', 'shared'):.2f}x a transitions trigger (goal <= 1)",
    )

    small = create_retire_us(1_000, 2_000 if quick else 10_000, rounds)
    large = create_retire_us(big_live, 2_000 if quick else 10_000, rounds)
    add("2. create + retire a session (2 inputs), 1,000 live", f"{small:.2f} us")
    add(
        f"2. create + retire a session (2 inputs), {big_live:,} live",
        f"{large:.2f} us",
        f"{large / small:.2f}x the 1,000-live figure (goal <= 1.3x)",
    )

    live, finished = memory_per_session(mem_sessions)
    add(f"3. memory per live answered dial-out ({mem_sessions:,} live, 4 inputs)", f"{live:,.0f} B", "(goal <= 2048 B)")
    add(f"3. memory per finished 5-input dial-out ({mem_sessions:,})", f"{finished:,.0f} B", "(goal <= 2048 B)")

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "big.jsonl"
        write_log(log, log_lines, log_sessions)
        floor_s = min(json_floor_s(log) for _ in range(3 if quick else 2))
        replay_t = min(replay_plain_s(log) for _ in range(3 if quick else 2))
        _, peak = replay_s(log)
        half = Path(tmp) / "half.jsonl"
        write_log(half, log_lines // 10, log_sessions)
        _, peak_small = replay_s(half)
        short = Path(tmp) / "short.jsonl"
        write_short_calls(short, short_calls)
        five = Path(tmp) / "five.jsonl"
        five.write_text("".join(short.read_text().splitlines(keepends=True)[:6]))  # the header and 5 lines
        processes = replay_process_rounds(3, {"short": short, "long": log})
        started = startup_rounds(7 if quick else 15, five)
    add(f"4. json.loads over {log_lines:,} lines (in process)", f"{floor_s:.2f} s")
    add(
        f"4. replay_path of {log_lines:,} lines over {log_sessions:,} sessions",
        f"{replay_t:.2f} s",
        f"{replay_t / floor_s:.2f}x json.loads",
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

    base = started["pass"]
    bare = started["attrs, transitions"]
    add("7. python -c pass", f"{base * 1e3:.0f} ms")
    add("7. python -c 'import attrs, transitions'", f"{bare * 1e3:.0f} ms")
    for name in ("import dialfsm", "from dialfsm import CallTracker"):
        add(
            f"7. python -c '{name}'",
            f"{started[name] * 1e3:.0f} ms",
            f"{(started[name] - base) / (bare - base):.2f}x attrs + transitions, less `pass` (goal <= 2x)",
        )
    add(
        "7. dialfsm replay of a 5-line log",
        f"{started['dialfsm replay (5 lines)'] * 1e3:.0f} ms",
        f"{started['dialfsm replay (5 lines)'] / bare:.2f}x `import attrs, transitions` (goal <= 2.5x)",
    )
    for name, what in (
        ("short", f"{short_calls:,} dial-outs of 5 lines"),
        ("long", f"{log_lines:,} lines, long calls"),
    ):
        ours_s, loads_s = processes[name]
        add(f"8. json.loads of {what}, a whole process", f"{loads_s:.2f} s")
        add(
            f"8. dialfsm replay --json of {what}", f"{ours_s:.2f} s", f"{ours_s / loads_s:.2f}x json.loads (goal <= 4x)"
        )

    if not quick:
        table = ["| figure | median | ratio |", "|---|---:|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
        header = (
            "# Benchmark results\n\n"
            f"`python benchmarks/bench.py`, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
            f"transitions {transitions.__version__}, {os.cpu_count()} cores, {platform.machine()}.\n"
            "Every ratio is between figures measured in the same run.  Figure 1 times each shape's floor and\n"
            "dialfsm in turn, round after round, and its ratios are medians of per-round ratios; figures 7\n"
            "and 8 time whole processes, interleaved, medians of their rounds.  See README.md for the method.\n\n"
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
