"""SVG timelines for real (issue 12, point 6): Mermaid's CLI, driving the system's Chromium, renders a call.

``tests/js`` holds the Mermaid CLI (``npm ci --prefix tests/js`` with
``PUPPETEER_SKIP_DOWNLOAD=1``, as ``.ci/run`` does); dialfsm points it at an
installed Chromium or Chrome.  Without Node, the CLI or a browser the tests
are skipped, saying which is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialfsm import replay_path, timelines, write_timelines
from dialfsm.timeline import find_browser

ROOT = Path(__file__).resolve().parent.parent
MMDC = ROOT / "tests" / "js" / "node_modules" / ".bin" / "mmdc"
HAPPY = ROOT / "examples" / "dialout_happy.jsonl"
MESSY = ROOT / "examples" / "messy_room.jsonl"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed: Mermaid's CLI needs `node`"),
    pytest.mark.skipif(
        not MMDC.exists(),
        reason="Mermaid's CLI is not installed: run `PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/js`",
    ),
    pytest.mark.skipif(find_browser() is None, reason="no Chromium or Chrome installed (apt-get install chromium)"),
]


def _texts(svg: str) -> str:
    """The words an SVG shows (its text nodes), whitespace squeezed."""
    return " ".join(" ".join(re.findall(r">([^<>]+)<", svg)).split())


def test_a_timeline_renders_to_an_svg_with_its_participants_and_messages(tmp_path: Path) -> None:
    """The happy call's timeline, rendered by mmdc: the three participants, every message, every transition."""
    (timeline,) = timelines(replay_path(str(HAPPY), keep_journal=True).tracker)
    files = write_timelines([timeline], tmp_path, mmdc=str(MMDC))
    assert files.svg_skipped is None
    svg = (tmp_path / f"{timeline.slug}.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg")
    shown = _texts(svg)
    for participant in ("bot", "dialfsm", "Daily"):
        assert participant in shown
    for message in (
        "0s start_dialout",
        "0.4s dialout-connected",
        "6.2s dialout-answered",
        "6.3s dialout-warning (Dialout codec did not match, using fallback.)",
        "12s dtmf-event (9)",
        "30s stop_dialout",
        "connected → answered",
        "ended stopped (completed)",
    ):
        assert message in shown, message


def test_cli_svg_writes_a_real_svg_per_session(tmp_path: Path) -> None:
    """`dialfsm replay --svg DIR` with mmdc on PATH: an .mmd and an .svg per session and for the room."""
    env = {**os.environ, "PATH": f"{MMDC.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "dialfsm", "replay", str(MESSY), "--svg", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    svgs = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert svgs == ["01-dialout-no-id-0.svg", "02-dialin-ff1e7130-7752-4304-9cf4-08d2583a41dc.svg", "03-room.svg"]
    assert "anomaly" in _texts((tmp_path / "03-room.svg").read_text(encoding="utf-8"))
