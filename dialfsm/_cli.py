"""The ``dialfsm`` command: ``replay``, ``diagram``, ``paths``, ``coverage``, ``serve``; a Unix tool.

* ``dialfsm --version``; ``-h`` on every command.
* Output goes to stdout, problems to stderr (one line each, never a
  traceback).  A closed pipe (``| head``) ends the command quietly with exit
  status 1, as Python's documentation recommends for SIGPIPE; any other write
  error (a full disk) prints one line and exits 2.
* Every text written for a terminal has its control characters escaped
  (:func:`~dialfsm._text.printable`): a log cannot move the cursor, colour the
  screen or forge a report line.
* Exit status: 0 done; 1 ``--strict`` found something (or the pipe closed);
  2 a file could not be read or written, a header was invalid, or the
  arguments were wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from dialfsm._coverage import Coverage
from dialfsm._errors import ReplayError
from dialfsm._machine import TABLES
from dialfsm._options import OptionsError
from dialfsm._paths import TablePath, pair_cover, state_cover, transition_cover
from dialfsm._policy import RetryPolicy, Timeouts
from dialfsm._replay import MAX_LINE_BYTES, PROBLEM_LIMIT, REPORT_SCHEMA, ReplayResult, replay_path
from dialfsm._table import SessionKind
from dialfsm._text import printable
from dialfsm._version import VERSION
from dialfsm.server._cli import add_serve_parser

if TYPE_CHECKING:
    from dialfsm.timeline import Timeline

__all__ = ["build_parser", "main"]


def _write_all(text: str, out: TextIO | None = None) -> None:
    """Write a long text whole, or raise: a write to a pipe its reader closed is never silently cut short.

    Under ``python -u`` (or ``PYTHONUNBUFFERED``) ``sys.stdout`` writes straight to the file, and a
    write that a closing reader cut short returns the bytes written without an error, which the text
    layer drops.  Writing through the binary layer, chunk by chunk, meets the closed pipe at the next
    chunk instead (``BrokenPipeError``: exit status 1).
    """
    stream = sys.stdout if out is None else out
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text-only stream (a StringIO in tests): nothing to cut short
        stream.write(text)
        return
    stream.flush()
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        written = binary.write(data[:_CHUNK])
        data = data[written or 0 :]  # a partial write: the rest again (the next write meets a closed pipe)
    binary.flush()


_CHUNK = 1 << 16


def _say(text: str, out: TextIO | None = None) -> None:
    """One line of text for a person: its control characters escaped."""
    (sys.stdout if out is None else out).write(printable(text) + "\n")


def _error(command: str, text: str) -> None:
    sys.stderr.write(printable(f"dialfsm {command}: {text}") + "\n")


# --- replay: the text report -----------------------------------------------------------------


def _last(counted: dict[str, Any], joiner: str) -> str:
    shown = joiner.join(counted["last"])
    more = " (last: " if counted["count"] > len(counted["last"]) else " ("
    return f"{counted['count']}{more}{shown})"


def _session_lines(s: dict[str, Any], sessions: list[dict[str, Any]]) -> list[str]:
    label = s["session_id"] or f"(no id, #{s['index']})"
    ending = f" ({s['outcome']})" if s["outcome"] else ""
    lines = [f"{s['kind']:<7} {label}  {s['state']}{ending}"]
    lines.append(f"        {' -> '.join(s['states'])}")
    if s["retry_of"] is not None:
        previous = next((p for p in sessions if p["index"] == s["retry_of"]), None)
        named = "?" if previous is None else previous["session_id"] or f"(no id, #{previous['index']})"
        lines.append(f"        attempt {s['attempt']}, retrying {named}")
    if s["error"] is not None:
        lines.append(f"        error [{s['error_code']}]: {s['error'][:200]}")
    if s["warnings"]["count"]:
        lines.append(f"        warnings: {_last(s['warnings'], '; ')}")
    if s["dtmf"]["count"]:
        lines.append(f"        dtmf received: {_last(s['dtmf'], ' ')}")
    return lines


def _summary(result: ReplayResult, out: TextIO) -> None:
    report = result.report()
    for s in report["sessions"]:
        for line in _session_lines(s, report["sessions"]):
            _say(line, out)
    for r in report["rejected"]:
        _say(f"rejected  line {r['line']}: {r['call']} {r['code']}: {r['message']}", out)
    for a in report["anomalies"]:
        _say(f"anomaly   line {a['line']}: {a['code']}: {a['message']}", out)
    for kind, rows in (("rejected", report["rejected"]), ("anomalies", report["anomalies"])):
        if report["totals"][kind] > len(rows):
            _say(f"... {report['totals'][kind] - len(rows)} more {kind} (--all-problems lists them all)", out)
    if report["dialin_endpoints"]:
        _say(f"dial-in endpoints: {', '.join(report['dialin_endpoints'])}", out)
    for note in (*report["notes"], *(["the log was empty"] if result.empty else [])):
        _say(f"note: {note}", out)
    totals = report["totals"]
    _say(
        f"{report['inputs']} inputs, {len(report['sessions'])} sessions, "
        f"{totals['rejected']} rejected, {totals['anomalies']} anomalies",
        out,
    )


class _Progress:
    """A one-line progress indicator on a terminal: ``replaying... 1,048,576 lines``."""

    def __init__(self, stream: TextIO, interval: float = 0.2) -> None:
        self.stream = stream
        self.interval = interval
        self._last = float("-inf")
        self._shown = False

    def __call__(self, line: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self._shown = True
        self.stream.write(f"\rdialfsm replay: {line:,} lines...")
        self.stream.flush()

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _print_timelines(items: list[Timeline], out: TextIO) -> None:
    for n, item in enumerate(items):
        if n:
            out.write("\n")
        session = item.session
        ending = (
            ""
            if session is None
            else f" ({session.state.value}{f', {session.outcome.value}' if session.outcome else ''})"
        )
        _say(f"## {item.label}{ending}", out)
        out.write("\n```mermaid\n")
        _write_all(item.text, out)
        out.write("```\n")


# --- replay: options from the command line ------------------------------------------------------


#: An option left as the recording's header says (argparse converts string defaults, so not a string).
_KEEP: Any = object()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _limit(text: str) -> int | None:
    if text.lower() in ("none", "off"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer or 'none': {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _number(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "-"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'none': {text!r}") from None


def _fields(cls: type, text: str, positional: Sequence[str]) -> dict[str, Any]:
    """``a,b,c`` (the ``positional`` fields in order) or ``name=value,...`` for any field of ``cls``."""
    names = [f.name for f in attrs.fields(cls)]
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts and all("=" not in part for part in parts):
        if len(parts) != len(positional):
            raise argparse.ArgumentTypeError(f"give {','.join(positional)} ({len(positional)} values), got {text!r}")
        return dict(zip(positional, parts, strict=True))
    pairs = dict(part.split("=", 1) for part in parts if "=" in part)
    unknown = sorted(set(pairs) - set(names)) or [p for p in parts if "=" not in p]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {cls.__name__} field {unknown[0]!r} (known: {', '.join(names)})")
    return pairs


def _timeouts(text: str) -> dict[str, Any]:
    """``--timeouts start,ring,stop`` or ``--timeouts ring=5,stop=none``, as a patch of the header's."""
    patch = {name: _number(value) for name, value in _fields(Timeouts, text, ("start", "ring", "stop")).items()}
    try:
        Timeouts(**patch)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return patch


def _retry(text: str) -> dict[str, Any] | None:
    """``--retry none`` or ``--retry max_attempts=3,base_delay=1,seed=7,retry_on=UNKNOWN+TEMPORARILY_NOT_AVAILABLE``."""
    if text.strip().lower() in ("none", "off"):
        return None
    patch: dict[str, Any] = {}
    for name, value in _fields(RetryPolicy, text, ()).items():
        if name == "retry_on":
            patch[name] = [code for code in value.split("+") if code]
        elif name in ("max_attempts", "seed"):
            patch[name] = None if value.lower() == "none" else _integer(value)
        else:
            patch[name] = _number(value)
    try:
        RetryPolicy(**patch)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return patch


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _option_patch(args: argparse.Namespace) -> dict[str, Any]:
    """The options the command line sets over the recording's header (JSON, merged by replay)."""
    patch: dict[str, Any] = {}
    if args.max_dialouts is not None:
        patch["max_dialouts"] = args.max_dialouts
    if args.allow_dialout is not None:
        patch["allow_dialout"] = args.allow_dialout == "yes"
    if args.finished_limit is not _KEEP:
        patch["finished_limit"] = args.finished_limit
    if args.no_timers:
        patch["timeouts"] = None
    elif args.timeouts is not None:
        patch["timeouts"] = args.timeouts
    if args.retry is not _KEEP:
        patch["retry"] = args.retry
    if args.adopt_unknown_dialouts is not None:
        patch["adopt_unknown_dialouts"] = args.adopt_unknown_dialouts
    return patch


# --- replay: one or several files -------------------------------------------------------------------


def _replay_one(path: str, args: argparse.Namespace, patch: dict[str, Any]) -> ReplayResult:
    """Replay one log as the arguments say (raises OSError, ReplayError, OptionsError)."""
    progress = _Progress(sys.stderr) if not args.json and sys.stderr.isatty() else None
    try:
        return replay_path(
            path,
            options=patch,
            problem_limit=None if args.all_problems else args.problem_limit,
            keep_journal=bool(args.mermaid or args.svg),  # timelines need the journal; a plain replay keeps none
            max_line_bytes=args.max_line_bytes,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.done()


def _svg_folder(base: str, path: str, several: bool) -> str:
    if not several:
        return base
    stem = "stdin" if path == "-" else Path(path).stem
    return os.path.join(base, "".join(c if c.isalnum() or c in "._-" else "_" for c in stem) or "log")


def _write_svgs(result: ReplayResult, folder: str) -> bool:
    from dialfsm.diagrams import DiagramError  # noqa: PLC0415  (loaded when used)
    from dialfsm.timeline import timelines, write_timelines  # noqa: PLC0415  (loaded when used)

    try:
        files = write_timelines(timelines(result.tracker), folder)
    except DiagramError as exc:
        _error("replay", str(exc))
        return False
    if files.svg_skipped is not None:
        _error("replay", files.svg_skipped)
    return True


def _show(path: str, result: ReplayResult, args: argparse.Namespace, several: bool) -> None:
    from dialfsm.timeline import timelines  # noqa: PLC0415  (loaded when used)

    if several and not args.json:
        _say(f"{'#' if args.mermaid else '=='} {path}")
        sys.stdout.write("\n" if args.mermaid else "")
    if args.mermaid:
        _print_timelines(timelines(result.tracker), sys.stdout)
    elif not args.json:
        _summary(result, sys.stdout)


def _batch_gc() -> None:
    """Tune the cyclic garbage collector for a batch run that holds every session it replays.

    What is loaded so far lives as long as the process (``gc.freeze``), and young objects
    are collected after 100,000 allocations instead of 700: a replay makes few cycles, and
    walking the sessions it keeps again and again was an eighth of its time.  Only the
    ``dialfsm`` command does this; a library never tunes its host's collector.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def _replay(args: argparse.Namespace) -> int:
    _batch_gc()
    try:
        patch = _option_patch(args)
    except OptionsError as exc:
        _error("replay", str(exc))
        return 2
    several, status, reports = len(args.paths) > 1, 0, []
    for n, path in enumerate(args.paths):
        try:
            result = _replay_one(path, args, patch)
        except (OSError, ReplayError, OptionsError) as exc:
            problem = (
                f"cannot read {path}: {exc.strerror or type(exc).__name__}"
                if isinstance(exc, OSError)
                else f"{path}: {exc}"
            )
            _error("replay", problem)
            reports.append({"path": path, "error": problem})
            status = 2
            continue
        if args.svg and not _write_svgs(result, _svg_folder(args.svg, path, several)):
            return 2
        if n and several and not args.json:
            sys.stdout.write("\n")
        _show(path, result, args, several)
        reports.append({"path": path, **result.report()})
        if args.strict and result.empty:
            _error("replay", f"{path}: the log was empty")
        if args.strict and status == 0 and (result.empty or not result.clean):
            status = 1
    if args.json and (several or "error" not in reports[0]):
        body = reports[0] if not several else {"schema": REPORT_SCHEMA, "files": reports}
        _write_all(json.dumps(body) + "\n")  # dumps, not dump: the C encoder (dump is pure Python)
    return status


# --- diagram, paths, coverage ---------------------------------------------------------------------------


def _diagram_stdout(args: argparse.Namespace) -> int:
    from dialfsm.diagrams import render_dot, render_mermaid  # noqa: PLC0415  (loaded when used)

    table = TABLES[SessionKind(args.stdout)]
    _write_all(render_mermaid(table) if args.format == "mermaid" else render_dot(table))
    return 0


def _readme_for(args: argparse.Namespace) -> tuple[str | None, bool]:
    """The README to sync, and whether this folder looks like a dialfsm checkout."""
    from dialfsm.diagrams import README_START  # noqa: PLC0415  (loaded when used)

    if args.no_readme:
        return None, True
    if args.readme is not None:
        return args.readme, True
    try:
        marked = README_START in Path("README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        marked = False
    return ("README.md" if marked else None), marked


def _diagram(args: argparse.Namespace) -> int:
    from dialfsm.diagrams import DiagramError, write_diagrams  # noqa: PLC0415  (loaded when used)

    if args.stdout is not None:
        return _diagram_stdout(args)
    readme, checkout = _readme_for(args)
    out = args.out
    if out is None:
        if not checkout and not Path("diagrams").is_dir():
            _error(
                "diagram",
                "this folder is no dialfsm checkout (no diagrams/ folder, no README.md with the diagrams block): "
                "give --out DIR to write the diagrams there, or --stdout dialout|dialin to print one",
            )
            return 2
        out = "diagrams"
    try:
        if args.check:
            return _check(out, readme)
        written = write_diagrams(out, readme=readme)
    except DiagramError as exc:
        _error("diagram", str(exc))
        return 2
    if written.svg_skipped is not None:
        _error("diagram", written.svg_skipped)
    for path in written.written:
        _say(str(path))
    return 0


def _check(out: str, readme: str | None) -> int:
    from dialfsm.diagrams import check_diagrams  # noqa: PLC0415  (loaded when used)

    result = check_diagrams(out, readme=readme)
    for line in (*result.notes, *result.problems):
        _error("diagram", line)
    if not result.ok:
        _error("diagram", "run `dialfsm diagram` and commit the result")
        return 1
    return 0


_COVERS: dict[str, Callable[[SessionKind], tuple[TablePath, ...]]] = {
    "states": state_cover,
    "transitions": transition_cover,
    "pairs": pair_cover,
}


def _paths(args: argparse.Namespace) -> int:
    kinds = list(SessionKind) if args.kind == "all" else [SessionKind(args.kind)]
    paths: list[TablePath] = [path for kind in kinds for path in _COVERS[args.cover](kind)]
    if args.out is None:
        _write_all("\n".join(path.to_jsonl() for path in paths))
        return 0
    targets = [(os.path.join(args.out, path.file_name), path) for path in paths]
    existing = [name for name, _ in targets if os.path.lexists(name)]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        _error("paths", f"will not overwrite {existing[0]}{more}: choose another --out folder or remove them")
        return 2
    try:
        os.makedirs(args.out, exist_ok=True)
        for name, path in targets:
            with open(name, "x", encoding="utf-8") as stream:
                stream.write(path.to_jsonl())
            _say(name)
    except OSError as exc:
        _error("paths", f"cannot write to {args.out}: {exc.strerror or type(exc).__name__}")
        return 2
    return 0


def _coverage(args: argparse.Namespace) -> int:
    _batch_gc()
    coverage, unreadable, status = Coverage(), 0, 0
    for path in args.paths:
        try:
            result = coverage.observe_log(path)
        except (OSError, ReplayError) as exc:
            reason = exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc)
            _error("coverage", f"cannot read {path}: {reason}")
            return 2
        for row in result.unreadable:
            _error("coverage", f"{path} line {row['line']}: {row['message']}")
        unreadable += result.totals["unreadable"]
        if result.totals["unreadable"] > len(result.unreadable):
            _error("coverage", f"{path}: {result.totals['unreadable'] - len(result.unreadable)} more unreadable lines")
    report = coverage.report()
    if args.json:
        _coverage_json(report, unreadable)
    else:
        for k in report.values():
            _say(k.summary())
            for label in k.missing_transitions:
                _say(f"  missing transition: {label}")
            for label in k.missing_pairs:
                _say(f"  missing transition pair: {label}")
        if unreadable:
            _say(f"{unreadable} log lines could not be read (not counted)")
    if args.fail_under is not None:
        status = _below(coverage, args.metric, args.fail_under)
    return 1 if (args.strict and unreadable) else status


def _coverage_json(report: dict[SessionKind, Any], unreadable: int) -> None:
    body: dict[str, Any] = {
        kind.value: {
            "states": list(k.states),
            "transitions": list(k.transitions),
            "transition_pairs": list(k.pairs),
            "missing_states": list(k.missing_states),
            "missing_transitions": list(k.missing_transitions),
            "missing_transition_pairs": list(k.missing_pairs),
        }
        for kind, k in report.items()
    }
    body["unreadable_lines"] = unreadable
    _write_all(json.dumps(body) + "\n")  # the C encoder


def _below(coverage: Coverage, metric: str, threshold: float) -> int:
    """1 (and one line on stderr per table) if a table the logs reached is under ``threshold`` percent."""
    status = 0
    for kind, k in coverage.report().items():
        if not coverage.reached(kind):
            continue
        percent = {"states": k.state_percent, "transitions": k.transition_percent, "pairs": k.pair_percent}[metric]
        if percent < threshold:
            _error("coverage", f"{kind.value} {metric} coverage {percent:.1f}% is under {threshold:g}%")
            status = 1
    return status


# --- the parser and main ---------------------------------------------------------------------------------------


def _add_replay_options(replay: argparse.ArgumentParser) -> None:
    group = replay.add_argument_group("tracker options (over the recording's header)")
    group.add_argument("--max-dialouts", type=_positive_int, metavar="N", help="dial-outs live at once")
    group.add_argument("--allow-dialout", choices=["yes", "no"], help="whether dial-out is allowed")
    group.add_argument(
        "--timeouts", type=_timeouts, metavar="SPEC", help="start,ring,stop seconds (none disables one), or ring=5,..."
    )
    group.add_argument("--no-timers", action="store_true", help="no timer at all")
    group.add_argument(
        "--retry", type=_retry, default=_KEEP, metavar="SPEC", help="none, or max_attempts=3,base_delay=1,seed=7,..."
    )
    group.add_argument("--finished-limit", type=_limit, default=_KEEP, metavar="N", help="N or none")
    group.add_argument(
        "--adopt-unknown-dialouts", choices=["never", "webhook", "always"], help="dial-outs started elsewhere"
    )


def _add_replay(sub: Any) -> None:
    replay = sub.add_parser("replay", help="replay JSON Lines logs, each through a fresh tracker")
    replay.add_argument("paths", nargs="+", metavar="PATH", help="log files, or - for standard input")
    output = replay.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON report (several files: a 'files' list)")
    output.add_argument("--mermaid", action="store_true", help="print a Mermaid sequence diagram per session")
    replay.add_argument("--svg", metavar="DIR", help="write each session's timeline to DIR (.mmd, and .svg with mmdc)")
    replay.add_argument("--strict", action="store_true", help="exit 1 if any file was empty, rejected or anomalous")
    replay.add_argument(
        "--problem-limit", type=_positive_int, default=PROBLEM_LIMIT, metavar="N", help="problems kept per file"
    )
    replay.add_argument("--all-problems", action="store_true", help="keep every refusal and anomaly")
    replay.add_argument(
        "--max-line-bytes", type=_positive_int, default=MAX_LINE_BYTES, metavar="N", help="longer lines are skipped"
    )
    _add_replay_options(replay)
    replay.set_defaults(func=_replay)


def _add_diagram(sub: Any) -> None:
    diagram = sub.add_parser(
        "diagram", help="write the state diagrams (Mermaid, Graphviz, SVG) and the README's block from the tables"
    )
    diagram.add_argument("--out", default=None, help="the diagrams folder (default: ./diagrams in a dialfsm checkout)")
    diagram.add_argument(
        "--readme", default=None, help="the README whose diagrams block to sync (default: ./README.md if it has one)"
    )
    diagram.add_argument("--no-readme", action="store_true", help="leave the README alone")
    diagram.add_argument("--check", action="store_true", help="write nothing; exit 1 if the diagrams differ")
    diagram.add_argument("--stdout", choices=[k.value for k in SessionKind], help="print one machine's diagram")
    diagram.add_argument("--format", choices=["mermaid", "dot"], default="mermaid", help="with --stdout")
    diagram.set_defaults(func=_diagram)


def _add_paths(sub: Any) -> None:
    paths = sub.add_parser(
        "paths",
        help="print input sequences that reach every state or take every transition, as replay logs",
        description="Paths through the tables, each a JSON Lines replay log; paths are separated by a blank line.",
    )
    paths.add_argument("--kind", choices=["dialout", "dialin", "all"], default="all", help="which table (default: all)")
    paths.add_argument("--cover", choices=sorted(_COVERS), default="transitions", help="what the paths cover")
    paths.add_argument("--out", metavar="DIR", help="write one file per path into DIR (never overwriting)")
    paths.set_defaults(func=_paths)


def _add_coverage(sub: Any) -> None:
    coverage = sub.add_parser("coverage", help="state, transition and transition-pair coverage of replay logs")
    coverage.add_argument("paths", nargs="+", metavar="PATH", help="log files (each replayed by a fresh tracker)")
    coverage.add_argument("--json", action="store_true", help="print one JSON report")
    coverage.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 if a table reached is under PCT%%")
    coverage.add_argument(
        "--metric", choices=["states", "transitions", "pairs"], default="transitions", help="for --fail-under"
    )
    coverage.add_argument("--strict", action="store_true", help="exit 1 if a log line could not be read")
    coverage.set_defaults(func=_coverage)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dialfsm`` command."""
    parser = argparse.ArgumentParser(prog="dialfsm", description="Daily telephony call state machines.")
    parser.add_argument("--version", action="version", version=f"dialfsm {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_replay, _add_diagram, _add_paths, _add_coverage, add_serve_parser):  # serve imports uvicorn lazily
        add(sub)
    return parser


def _quiet_stdout() -> None:
    """Point stdout at devnull, so the interpreter's last flush at exit has nowhere to fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dialfsm`` command; returns the exit status (a closed pipe: 1; a write error: 2)."""
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    args = build_parser().parse_args(argv)
    thresholds = gc.get_threshold()
    try:
        status: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except OSError as exc:
        _error(args.command, f"cannot write the output: {exc.strerror or type(exc).__name__}")
        _quiet_stdout()
        return 2
    finally:  # a batch run's collector settings end with it (main() also runs in-process: tests, scripts)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return status
