"""The README's Python examples run as written, its bots are the examples', and CI runs its set-up commands.

A block that uses an SDK (pipecat, daily-python, or the adapters and the
scripted Daily built on them) runs in a fresh interpreter: daily-python 0.36
aborts the process on a second ``daily.Daily.init()``, and pipecat's transport
makes one.  Every other block runs in this process.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import dialfsm

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCES = [t for t in MarkdownIt("commonmark").parse(TEXT) if t.type == "fence"]
BLOCKS = [t.content for t in FENCES if t.info.strip() == "python"]
SDK = re.compile(r"^\s*(?:import|from)\s+(?:daily|pipecat|dialfsm\.(?:daily|pipecat|scripted))\b", re.M)
IN_PROCESS = [b for b in BLOCKS if not SDK.search(b)]
IN_SUBPROCESS = [b for b in BLOCKS if SDK.search(b)]
BOTS = ["pipecat_dialout_bot", "pipecat_dialin_bot", "daily_dialout_bot"]


def _section(heading: str) -> str:
    """The README's text under ``## heading``, up to the next ``## `` heading."""
    start = TEXT.index(f"\n## {heading}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end >= 0 else len(TEXT)]


def test_readme_has_python_examples() -> None:
    """The README shows Python examples to test: the three bots in a fresh process, the rest in this one."""
    assert len(IN_SUBPROCESS) == len(BOTS)
    assert len(IN_PROCESS) >= 5


@pytest.mark.parametrize("block", IN_PROCESS, ids=[f"block{i}" for i in range(len(IN_PROCESS))])
def test_readme_example_runs(block: str) -> None:
    """Each ```python block of the README that uses no SDK executes without error (its asserts included)."""
    exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})


@pytest.mark.parametrize("block", IN_SUBPROCESS, ids=BOTS)
def test_readme_sdk_example_runs_in_a_fresh_process(block: str, tmp_path: Path) -> None:
    """Each ```python block that uses an SDK runs, as a script, in an interpreter of its own."""
    script = tmp_path / "block.py"
    script.write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("example", "block"), list(zip(BOTS, IN_SUBPROCESS, strict=True)), ids=BOTS)
def test_the_bots_shown_are_the_examples(example: str, block: str) -> None:
    """Each bot in the README is its example's ``run_bot``, verbatim: the example's tests test the README."""
    spec = importlib.util.spec_from_file_location(example, ROOT / "examples" / f"{example}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[example] = module
    spec.loader.exec_module(module)
    assert inspect.getsource(module.run_bot) in block


def test_a_pipecat_bot_is_wired_in_two_lines() -> None:
    """The README's claim: the import and one ``track_transport(...)`` call are all it takes to track a bot."""
    tree = ast.parse((ROOT / "examples" / "pipecat_dialout_bot.py").read_text(encoding="utf-8"))
    lines = {
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.ImportFrom) and node.module == "dialfsm.pipecat")
        or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "track_transport")
    }
    assert len(lines) == 2
    assert "Two lines wire a bot" in TEXT


def test_ci_runs_the_set_up_commands_verbatim() -> None:
    """The two commands under "Set up" are lines of ``.ci/run``, character for character."""
    setup = _section("Development")
    fences = [t for t in MarkdownIt("commonmark").parse(setup) if t.type == "fence" and t.info.strip() == "sh"]
    commands = [t.content.strip() for t in fences[:2]]
    assert commands[0].startswith("python3 -m venv .venv")
    assert commands[1] == ".venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in ci, f"{command!r} is not a line of .ci/run"


def test_the_api_reference_names_every_public_name() -> None:
    """Every name in ``dialfsm.__all__`` appears, in backticks, in the API reference."""
    reference = _section("API reference")
    missing = [name for name in dialfsm.__all__ if f"`{name}`" not in reference]
    assert missing == []


def test_the_versions_table_matches_the_pins() -> None:
    """The install section's version ranges are pyproject's."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    install = _section("Install")
    pins = (("daily-python", ">=0.36,<1"), ("pipecat-ai[daily]", ">=1.14,<2"), ("transitions", ">=0.9.2,<0.10"))
    for package, pin in pins:
        assert f'"{package}{pin}"' in pyproject
        assert f"`{pin}`" in install
