"""Every Mermaid text dialfsm writes parses with Mermaid's own parser (npm ``mermaid``, run by Node).

transitions' Mermaid output does not escape every state name, and Mermaid's
grammar gives meaning to characters like ``:``, ``;`` and ``#``; only
Mermaid's parser can say a diagram is valid.  The Node project is
``tests/js`` (``npm ci --prefix tests/js``, which ``.ci/run`` does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dialfsm import TABLES, CallTracker
from dialfsm.diagrams import render_mermaid
from dialfsm.timeline import timelines

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the Mermaid parse check needs `node`"),
    pytest.mark.skipif(
        not (JS / "node_modules" / "mermaid").is_dir(),
        reason="the npm packages are not installed: run `npm ci --prefix tests/js`",
    ),
]


def _parse(texts: list[str]) -> list[dict[str, object]]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "parse.mjs"), "-"],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=JS,
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(texts), done.stderr
    return results


def test_state_diagrams_parse() -> None:
    """Both committed state diagrams, and the renderer's output for each table, parse in Mermaid."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "diagrams").glob("*.mmd"))]
    texts += [render_mermaid(table) for table in TABLES.values()]
    results = _parse(texts)
    assert all(r["ok"] for r in results), results
    assert {r["type"] for r in results} == {"stateDiagram"}


def test_timelines_of_the_examples_parse() -> None:
    """The sequence diagrams of every example log, anomalies and refusals included, parse in Mermaid."""
    from dialfsm import replay_path

    texts: list[str] = []
    for path in sorted((ROOT / "examples").glob("*.jsonl")):
        texts += [t.text for t in timelines(replay_path(str(path), CallTracker()).tracker)]
    assert len(texts) >= 3
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a;b#c"})
    tracker.handle("dialin-warning", {"sessionId": "a;b#c", "errorMsg": "50% <lost>; retry #2: end\nloop alt -->> x"})
    tracker.handle("dialin-stopped", {"sessionId": "a;b#c"})
    texts += [t.text for t in timelines(tracker)]
    results = _parse(texts)
    assert all(r["ok"] for r in results), results
    assert {r["type"] for r in results} == {"sequence"}


def test_parser_rejects_broken_text() -> None:
    """The check has teeth: a label with characters Mermaid reserves, unescaped, fails to parse."""
    bad = "stateDiagram-v2\n    a-b --> c: x\n"
    (result,) = _parse([bad])
    assert result["ok"] is False
