"""Packaging and architecture: version, the sans-I/O core's imports, optional extras, no stray merge markers."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import dialfsm

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted(
    p.stem
    for p in (ROOT / "dialfsm").glob("_*.py")
    if p.stem not in ("__init__", "__main__", "_cli", "_replay", "_adapters", "_drivers")
)
FORBIDDEN = {"asyncio", "threading", "time", "socket", "daily", "pipecat", "hypothesis"}


def test_version_matches_the_metadata() -> None:
    """dialfsm.__version__ is the installed distribution's version."""
    assert dialfsm.__version__ == importlib.metadata.version("dialfsm")


@pytest.mark.parametrize("module", CORE)
def test_the_core_is_sans_io(module: str) -> None:
    """The core modules import no SDK, event loop, thread, clock or socket (DESIGN.md: sans-I/O)."""
    tree = ast.parse((ROOT / "dialfsm" / f"{module}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, imported & FORBIDDEN


def test_importing_dialfsm_loads_no_extra() -> None:
    """``import dialfsm`` loads neither the SDKs, nor Hypothesis, nor asyncio."""
    extras = ("asyncio", "daily", "pipecat", "hypothesis")
    code = f"import sys, dialfsm; print(sorted(m for m in {extras!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_has_a_docstring() -> None:
    """Every name in dialfsm.__all__ that can carry a docstring has one."""
    missing = [
        name
        for name in dialfsm.__all__
        if (obj := getattr(dialfsm, name)) is not None
        and (callable(obj) or isinstance(obj, type))
        and not (getattr(obj, "__doc__", None) or "").strip()
    ]
    assert missing == []


def test_no_merge_markers_in_tracked_files() -> None:
    """No file under version control still holds a conflict marker."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    markers = ("<" * 7 + " ", ">" * 7 + " ")
    bad = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".svg", ".json"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(line.startswith(markers) for line in text.splitlines()):
            bad.append(name)
    assert bad == []
