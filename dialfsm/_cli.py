"""The ``dialfsm`` command line: ``replay`` and ``diagram``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from dialfsm._replay import ReplayResult, replay_path
from dialfsm._tracker import CallTracker
from dialfsm.diagrams import DiagramError, check_diagrams, write_diagrams
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dialfsm`` command."""
    parser = argparse.ArgumentParser(prog="dialfsm", description="Daily telephony call state machines.")
    sub = parser.add_subparsers(dest="command", required=True)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dialfsm`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status
