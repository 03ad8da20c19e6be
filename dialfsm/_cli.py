"""The ``dialfsm`` command line: ``replay``, ``diagram``, ``paths``, ``coverage`` and ``serve``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from dialfsm._coverage import Coverage
from dialfsm._paths import TablePath, pair_cover, state_cover, transition_cover
from dialfsm._replay import ReplayResult, replay_path
from dialfsm._table import SessionKind
from dialfsm._tracker import CallTracker
from dialfsm.diagrams import DiagramError, check_diagrams, write_diagrams
from dialfsm.server._cli import add_serve_parser
from dialfsm.timeline import Timeline, timelines, write_timelines

__all__ = ["main"]


def _summary(result: ReplayResult, out: TextIO) -> None:
    report = result.report()
    for s, session in zip(report["sessions"], result.tracker, strict=True):
        label = s["session_id"] or f"(no id, #{session.index})"
        ending = f" ({s['outcome']})" if s["outcome"] else ""
        print(f"{s['kind']:<7} {label}  {s['state']}{ending}", file=out)
        print(f"        {' -> '.join(s['states'])}", file=out)
        if s["error"] is not None:
            print(f"        error [{s['error_code']}]: {s['error'][:200]}", file=out)
        if session.warnings:
            print(f"        warnings: {len(session.warnings)}", file=out)
        if session.dtmf:
            print(f"        dtmf received: {''.join(session.dtmf)[:80]}", file=out)
    for r in report["rejected"]:
        print(f"rejected  line {r['line']}: {r['call']} {r['code']}: {r['message']}", file=out)
    for a in report["anomalies"]:
        print(f"anomaly   line {a['line']}: {a['code']}: {a['message']}", file=out)
    if report["dialin_endpoints"]:
        print(f"dial-in endpoints: {', '.join(report['dialin_endpoints'])}", file=out)
    print(
        f"{report['inputs']} inputs, {len(report['sessions'])} sessions, "
        f"{len(report['rejected'])} rejected, {len(report['anomalies'])} anomalies",
        file=out,
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
            print(file=out)
        session = item.session
        ending = (
            ""
            if session is None
            else f" ({session.state.value}{f', {session.outcome.value}' if session.outcome else ''})"
        )
        print(f"## {item.label}{ending}", file=out)
        print(file=out)
        print("```mermaid", file=out)
        out.write(item.text)
        print("```", file=out)


def _replay(args: argparse.Namespace) -> int:
    progress = _Progress(sys.stderr) if not args.json and sys.stderr.isatty() else None
    try:
        # Timelines need the journal; a plain replay keeps none, so its memory stays flat.
        tracker = CallTracker() if args.mermaid or args.svg else None
        result = replay_path(args.path, tracker, progress=progress)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(f"dialfsm replay: cannot read {args.path}: {reason}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.done()
    items = timelines(result.tracker) if args.mermaid or args.svg else []
    if args.svg:
        try:
            files = write_timelines(items, args.svg)
        except DiagramError as exc:
            print(f"dialfsm replay: {exc}", file=sys.stderr)
            return 2
        if files.svg_skipped is not None:
            print(f"dialfsm replay: {files.svg_skipped}", file=sys.stderr)
    if args.json:
        json.dump(result.report(), sys.stdout)
        sys.stdout.write("\n")
    elif args.mermaid:
        _print_timelines(items, sys.stdout)
    else:
        _summary(result, sys.stdout)
    return 1 if args.strict and not result.clean else 0


def _diagram(args: argparse.Namespace) -> int:
    readme = None if args.no_readme else args.readme
    if readme is None and not args.no_readme and Path("README.md").is_file():
        readme = "README.md"
    try:
        if args.check:
            result = check_diagrams(args.out, readme=readme)
            for note in result.notes:
                print(f"dialfsm diagram: {note}", file=sys.stderr)
            for problem in result.problems:
                print(f"dialfsm diagram: {problem}", file=sys.stderr)
            if not result.ok:
                print("dialfsm diagram: run `dialfsm diagram` and commit the result", file=sys.stderr)
                return 1
            return 0
        written = write_diagrams(args.out, readme=readme)
    except DiagramError as exc:
        print(f"dialfsm diagram: {exc}", file=sys.stderr)
        return 2
    if written.svg_skipped is not None:
        print(f"dialfsm diagram: {written.svg_skipped}", file=sys.stderr)
    for path in written.written:
        print(path)
    return 0


_COVERS = {"states": state_cover, "transitions": transition_cover, "pairs": pair_cover}


def _paths(args: argparse.Namespace) -> int:
    kinds = list(SessionKind) if args.kind == "all" else [SessionKind(args.kind)]
    paths: list[TablePath] = [path for kind in kinds for path in _COVERS[args.cover](kind)]
    if args.out is None:
        sys.stdout.write("\n".join(path.to_jsonl() for path in paths))
        return 0
    try:
        os.makedirs(args.out, exist_ok=True)
        for number, path in enumerate(paths, start=1):
            name = os.path.join(args.out, f"{number:02d}-{path.name}.jsonl")
            with open(name, "w", encoding="utf-8") as stream:
                stream.write(path.to_jsonl())
            print(name)
    except OSError as exc:
        print(f"dialfsm paths: cannot write to {args.out}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    return 0


def _coverage(args: argparse.Namespace) -> int:
    coverage = Coverage()
    for path in args.paths:
        try:
            coverage.observe_log(path)
        except OSError as exc:
            print(f"dialfsm coverage: cannot read {path}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
            return 2
    report = coverage.report()
    if args.json:
        json.dump(
            {
                kind.value: {
                    "states": list(k.states),
                    "transitions": list(k.transitions),
                    "transition_pairs": list(k.pairs),
                    "missing_states": list(k.missing_states),
                    "missing_transitions": list(k.missing_transitions),
                    "missing_transition_pairs": list(k.missing_pairs),
                }
                for kind, k in report.items()
            },
            sys.stdout,
        )
        sys.stdout.write("\n")
    else:
        for k in report.values():
            print(k.summary())
            for label in k.missing_transitions:
                print(f"  missing transition: {label}")
    return 0


def _add_replay(sub: Any) -> None:
    replay = sub.add_parser("replay", help="replay a JSON Lines log through a fresh tracker")
    replay.add_argument("path", help="the log file, or - for standard input")
    output = replay.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON report")
    output.add_argument(
        "--mermaid", action="store_true", help="print a Mermaid sequence diagram per session (Markdown)"
    )
    replay.add_argument(
        "--svg", metavar="DIR", help="write each session's timeline to DIR (.mmd, and .svg where mmdc is installed)"
    )
    replay.add_argument("--strict", action="store_true", help="exit 1 if anything was rejected or anomalous")
    replay.set_defaults(func=_replay)


def _add_diagram(sub: Any) -> None:
    diagram = sub.add_parser(
        "diagram",
        help="write the state diagrams (Mermaid, Graphviz, SVG) and the README's block from the tables",
    )
    diagram.add_argument("--out", default="diagrams", help="the diagrams folder (default: diagrams)")
    diagram.add_argument(
        "--readme", default=None, help="the README whose diagrams block to sync (default: ./README.md if present)"
    )
    diagram.add_argument("--no-readme", action="store_true", help="leave the README alone")
    diagram.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the committed diagrams differ from the tables"
    )
    diagram.set_defaults(func=_diagram)


def _add_paths(sub: Any) -> None:
    paths = sub.add_parser(
        "paths",
        help="print input sequences that reach every state or take every transition, as replay logs",
        description="Paths through the tables, each a JSON Lines replay log; paths are separated by a blank line.",
    )
    paths.add_argument("--kind", choices=["dialout", "dialin", "all"], default="all", help="which table (default: all)")
    paths.add_argument(
        "--cover",
        choices=sorted(_COVERS),
        default="transitions",
        help="shortest path to every state, or paths taking every transition / transition pair (default: transitions)",
    )
    paths.add_argument("--out", metavar="DIR", help="write one file per path into DIR instead")
    paths.set_defaults(func=_paths)


def _add_coverage(sub: Any) -> None:
    coverage = sub.add_parser("coverage", help="state, transition and transition-pair coverage of replay logs")
    coverage.add_argument("paths", nargs="+", metavar="PATH", help="log files (each replayed by a fresh tracker)")
    coverage.add_argument("--json", action="store_true", help="print one JSON report")
    coverage.set_defaults(func=_coverage)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dialfsm`` command."""
    parser = argparse.ArgumentParser(prog="dialfsm", description="Daily telephony call state machines.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_replay, _add_diagram, _add_paths, _add_coverage, add_serve_parser):  # serve imports uvicorn lazily
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dialfsm`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status
