"""Timelines: one Mermaid sequence diagram per call, from the tracker's journal.

Three participants: ``bot`` (the bot's calls), ``dialfsm`` (the tracker) and
``Daily`` (events and completions).  Each input is one arrow; each transition
a note over ``dialfsm`` (``connecting -> answered``); anomalies and refusals
are crossed arrows (``-x``) with a note naming the code and the line of the
log it came from.  Inputs that reached no session (a ``start_dialout``
refused before it created one, a line that is not JSON, ``dialin-ready``) go
to a last diagram, ``room``.

A retried attempt says so in a note (``attempt 2, retrying dial-out ...``), and
so does an attempt that was retried.  Text from the log (ids, error texts,
warnings) has its control characters escaped and Mermaid's reserved
characters written as entity codes, so a log cannot break a diagram.

The text is deterministic: the same journal gives the same bytes.

:func:`write_timelines` renders SVGs with Mermaid's CLI (``mmdc``), pointing
its browser at an installed Chromium or Chrome (``PUPPETEER_EXECUTABLE_PATH``,
else ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH``) so the
CLI needs no browser download of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import attrs

from dialfsm._session import JournalEntry, Session
from dialfsm._table import Disposition, Input, InputKind, SessionKind
from dialfsm._text import printable
from dialfsm._tracker import CallTracker
from dialfsm.diagrams import DiagramError

__all__ = [
    "BROWSERS",
    "BROWSER_ARGS",
    "MMDC_INSTALL_HINT",
    "Timeline",
    "TimelineFiles",
    "find_browser",
    "render_timeline",
    "timelines",
    "write_timelines",
]

_KINDS: Final[Mapping[str, InputKind]] = {i.value: i.kind for i in Input}
_TITLES: Final[Mapping[SessionKind, str]] = {SessionKind.DIALOUT: "dial-out", SessionKind.DIALIN: "dial-in"}
_DETAIL_LIMIT: Final = 80
_NOTE_WIDTH: Final = 36
#: Characters Mermaid's sequence grammar gives meaning to, as its entity codes.
_ENTITIES: Final[Mapping[str, str]] = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "%": "#37;"}
_RESERVED: Final = re.compile("[#;<>%]")


@attrs.frozen
class Timeline:
    """The sequence diagram of one session (or of the room's unattributed inputs).

    Attributes:
        label: ``"dial-out 5c7f0d2e-..."``, ``"dial-in #1"`` (no id yet), or ``"room"``.
        slug: A file-name-safe, ordered name (``"01-dialout-5c7f0d2e-..."``).
        session: The session, or ``None`` for the room.
        text: The Mermaid ``sequenceDiagram``, ending with a newline.

    """

    label: str
    slug: str
    session: Session | None
    text: str


def _escape(text: str) -> str:
    """Text safe in a Mermaid message or note: reserved characters as entity codes, one line."""
    text = printable(" ".join(text.split()))
    if len(text) > _DETAIL_LIMIT:
        text = text[: _DETAIL_LIMIT - 3] + "..."
    return _RESERVED.sub(lambda m: _ENTITIES[m.group()], text)


def _wrapped(text: str) -> str:
    """A note's text, escaped, in lines of about :data:`_NOTE_WIDTH` characters (a note is as wide as its text)."""
    lines: list[str] = []
    for word in _escape(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= _NOTE_WIDTH:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br/>".join(lines)


def _time(t: float | None) -> str:
    if t is None:
        return ""
    return f"{t:.3f}".rstrip("0").rstrip(".") + "s "


def _label(session: Session | None) -> str:
    if session is None:
        return "room"
    return f"{_TITLES[session.kind]} {session.session_id or f'(no id, index {session.index})'}"


def _slug(position: int, session: Session | None) -> str:
    name = "room" if session is None else f"{session.kind.value}-{session.session_id or f'no-id-{session.index}'}"
    return f"{position:02d}-" + re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _arrow_lines(entry: JournalEntry, step: JournalEntry) -> list[str]:
    """The lines one journal entry (``step``: its step for this session) adds to a diagram."""
    kind = _KINDS.get(entry.name)
    bad = step.disposition in (Disposition.ANOMALY, Disposition.REFUSED)
    where = "" if entry.line is None else f" (line {entry.line})"
    detail = ""
    if step.message and not bad:
        detail = f" ({step.message})"
    text = _escape(f"{_time(entry.t)}{entry.name}{detail}")
    if kind is InputKind.CALL:
        lines = [f"    bot{'-x' if bad else '->>'}dialfsm: {text}"]
    elif kind is InputKind.COMPLETION:
        lines = [f"    Daily{'--x' if bad else '-->>'}dialfsm: {text}"]
    else:
        lines = [f"    Daily{'-x' if bad else '->>'}dialfsm: {text}"]
    why = step.message or ""
    if step.disposition is Disposition.REFUSED:
        lines.append(f"    Note over bot,dialfsm: {_wrapped(f'refused {step.code}{where}: {why}')}")
    elif step.disposition is Disposition.ANOMALY:
        lines.append(f"    Note over dialfsm,Daily: {_wrapped(f'anomaly {step.code}{where}: {why}')}")
    elif step.disposition is Disposition.TRANSITION and step.source is not None and step.dest is not None:
        lines.append(f"    Note over dialfsm: {_escape(f'{step.source.value} → {step.dest.value}')}")
    elif step.disposition is Disposition.JOURNALED:
        lines.append(f"    Note over dialfsm: {_escape('journaled (no tracked session)')}")
    return lines


def render_timeline(steps: Iterable[tuple[JournalEntry, JournalEntry]], *, session: Session | None = None) -> str:
    """A Mermaid ``sequenceDiagram`` of ``(entry, step)`` pairs (use :func:`timelines` to get them).

    Args:
        steps: Each journal entry with its step for this session (the entry
            itself for an input that reached one session or none).
        session: The session drawn, for the title and the closing note; ``None`` for the room.

    """
    title = _label(session)
    if session is not None:
        ending = f"{session.state.value}, {session.outcome.value}" if session.outcome else session.state.value
        title += f", {ending}"
    out = [
        "sequenceDiagram",
        f"    title {_escape(title)}",
        "    participant bot",
        "    participant dialfsm",
        "    participant Daily",
    ]
    if session is not None and session.previous is not None:
        retried = f"attempt {session.attempt}, retrying {_label(session.previous)}"
        out.append(f"    Note over dialfsm: {_escape(retried)}")
    for entry, step in steps:
        out += _arrow_lines(entry, step)
    if session is not None and session.next_attempt is not None:
        out.append(f"    Note over dialfsm: {_escape(f'retried by {_label(session.next_attempt)}')}")
    if session is not None:
        if session.outcome is not None:
            out.append(f"    Note over dialfsm: {_escape(f'ended {session.state.value} ({session.outcome.value})')}")
        else:
            out.append(f"    Note over dialfsm: {_escape(f'still {session.state.value}')}")
    return "\n".join(out) + "\n"


def _session_id_of(entry: JournalEntry) -> str | None:
    """The session id a step-less entry names (a refused call on a session, an unknown-session event)."""
    raw = entry.input
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping):
        sid = raw.get("sessionId", raw.get("session_id"))
        return sid if isinstance(sid, str) else None
    for attr in ("session_id", "participant_id"):
        sid = getattr(raw, attr, None)
        if isinstance(sid, str):
            return sid
    return None


def timelines(source: CallTracker | Iterable[JournalEntry]) -> list[Timeline]:
    """One :class:`Timeline` per session, in order of creation, then ``room`` if anything reached none.

    Args:
        source: A tracker (its journal is read: keep ``journal_limit=None`` for
            whole timelines) or journal entries in order.

    """
    entries = list(source.journal if isinstance(source, CallTracker) else source)
    per_session: dict[int, list[tuple[JournalEntry, JournalEntry]]] = {}
    sessions: dict[int, Session] = {}
    for entry in entries:
        for step in entry.steps:
            assert step.session is not None
            sessions.setdefault(step.session.index, step.session)
    by_id = {s.session_id: s for s in sessions.values() if s.session_id is not None}
    room: list[tuple[JournalEntry, JournalEntry]] = []
    for entry in entries:
        steps = entry.steps
        if steps:
            for step in steps:
                assert step.session is not None
                per_session.setdefault(step.session.index, []).append((entry, step))
            continue
        sid = _session_id_of(entry) if entry.disposition in (Disposition.REFUSED, Disposition.ANOMALY) else None
        owner = None if sid is None else by_id.get(sid)
        if owner is None:
            room.append((entry, entry))
        else:
            per_session.setdefault(owner.index, []).append((entry, entry))
    result = []
    for position, index in enumerate(sorted(sessions), start=1):
        session = sessions[index]
        text = render_timeline(per_session.get(index, []), session=session)
        result.append(Timeline(label=_label(session), slug=_slug(position, session), session=session, text=text))
    if room:
        result.append(
            Timeline(label="room", slug=_slug(len(result) + 1, None), session=None, text=render_timeline(room))
        )
    return result


#: How to get the Mermaid CLI where it is missing (printed in one line).
MMDC_INSTALL_HINT: Final = "install the Mermaid CLI (npm install -g @mermaid-js/mermaid-cli)"


@attrs.frozen
class TimelineFiles:
    """What :func:`write_timelines` wrote.

    Attributes:
        written: Every file written (``.mmd``, and ``.svg`` where ``mmdc`` ran).
        svg_skipped: Why SVGs were not rendered (``mmdc`` missing), else ``None``.

    """

    written: tuple[Path, ...]
    svg_skipped: str | None


def write_timelines(
    items: Iterable[Timeline], directory: str | os.PathLike[str], *, mmdc: str | None = "mmdc"
) -> TimelineFiles:
    """Write each timeline as ``<slug>.mmd`` into ``directory`` and render ``<slug>.svg`` with ``mmdc``.

    ``directory`` is created if its parent exists.  Without the Mermaid CLI
    (``mmdc``) only the ``.mmd`` files are written, and ``svg_skipped`` says why.

    Raises:
        DiagramError: the folder or a file cannot be written, or ``mmdc`` fails.

    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise DiagramError(f"cannot write into {folder}: not a folder")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise DiagramError(f"cannot create {folder}: {exc.strerror or type(exc).__name__}") from exc
    exe = None if mmdc is None else shutil.which(mmdc)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="dialfsm-mmdc-") as scratch:
        options = [] if exe is None else _browser_options(Path(scratch))
        for item in items:
            source = folder / f"{item.slug}.mmd"
            try:
                source.write_text(item.text, encoding="utf-8")
            except OSError as exc:
                raise DiagramError(f"cannot write {source}: {exc.strerror or type(exc).__name__}") from exc
            written.append(source)
            if exe is not None:
                written.append(_render_svg(exe, options, source, folder / f"{item.slug}.svg"))
    skipped = None if exe is not None else f"mmdc (Mermaid CLI) not found, wrote .mmd only: {MMDC_INSTALL_HINT}"
    return TimelineFiles(written=tuple(written), svg_skipped=skipped)


#: Where Chromium or Chrome may be installed, tried in order after ``PUPPETEER_EXECUTABLE_PATH``.
BROWSERS: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The flags the browser runs with: no sandbox (it may run as root, in CI), nothing fetched or synced.
BROWSER_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def find_browser() -> str | None:
    """The Chromium or Chrome the Mermaid CLI should drive, if one is installed."""
    given = os.environ.get("PUPPETEER_EXECUTABLE_PATH")
    if given and os.access(given, os.X_OK):
        return given
    return next((found for name in BROWSERS if (found := shutil.which(name)) is not None), None)


def _browser_options(scratch: Path) -> list[str]:
    """``mmdc`` options pointing puppeteer at the installed browser (none: let mmdc use its own)."""
    browser = find_browser()
    if browser is None:
        return []
    config = scratch / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": browser, "args": list(BROWSER_ARGS)}), encoding="utf-8")
    return ["--puppeteerConfigFile", str(config)]


def _render_svg(exe: str, options: list[str], source: Path, target: Path) -> Path:
    try:
        done = subprocess.run(
            [exe, "--quiet", "--input", str(source), "--output", str(target), *options],
            capture_output=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DiagramError(f"mmdc failed: {exc}") from exc
    if done.returncode != 0:
        first = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[0]
        raise DiagramError(f"mmdc failed on {source} (exit {done.returncode}): {printable(first)}")
    return target
