"""docs/bots.md (the bot-facing sections of the README): every fence closes, every Python block runs.

Each block runs in a fresh interpreter: the daily-python block calls
``daily.Daily.init()``, which daily-python 0.36 allows once per process.
The bots shown are the example bots' own ``run_bot`` functions, verbatim.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bots.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.S | re.M)


def test_every_fence_is_closed() -> None:
    """Fences open and close in pairs (an unclosed one would swallow the rest of the page)."""
    opened: str | None = None
    for number, line in enumerate(TEXT.splitlines(), 1):
        fence = re.match(r"^(`{3,})(\S*)\s*$", line)
        if fence is None:
            continue
        if opened is None:
            opened = fence.group(1)
            assert fence.group(2), f"line {number}: a fence that opens should name its language"
        elif fence.group(1) == opened and not fence.group(2):
            opened = None
    assert opened is None, "a code fence is never closed"
    assert len(BLOCKS) == 4


@pytest.mark.parametrize("block", BLOCKS, ids=["pipecat-dialout", "pipecat-dialin", "daily-dialout", "core"])
def test_every_python_block_runs(block: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("example", ["pipecat_dialout_bot", "pipecat_dialin_bot", "daily_dialout_bot"])
def test_the_bots_shown_are_the_examples(example: str) -> None:
    """Each bot in the doc is its example's ``run_bot``, verbatim: the example's tests test the doc."""
    spec = importlib.util.spec_from_file_location(example, ROOT / "examples" / f"{example}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[example] = module
    spec.loader.exec_module(module)
    assert inspect.getsource(module.run_bot) in "".join(BLOCKS)
