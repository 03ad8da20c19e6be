"""The project's Markdown renders as written: no fence swallows the page, every folded part folds.

Each page is parsed with a real CommonMark parser (markdown-it-py) and
compared with a plain line scan: if the two disagree on the code blocks, a
fence is unbalanced somewhere and a renderer would swallow what follows.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "benchmarks" / "README.md",
        ROOT / "examples" / "real" / "README.md",
        *ROOT.glob("docs/*.md"),
    ]
)
#: The README's sections, in order (the bot author's path through it).
README_SECTIONS = [
    (1, "dialfsm"),
    (2, "Install"),
    (2, "Your bot"),
    (3, "A pipecat dial-out bot"),
    (3, "A pipecat dial-in bot"),
    (3, "A daily-python bot"),
    (3, "The core without an SDK"),
    (2, "Reading a call: states, outcomes, error codes"),
    (2, "What raises, and what never does"),
    (2, "Timers and retries"),
    (2, "Recording and replay"),
    (2, "Testing your bot with Hypothesis"),
    (2, "The command line"),
    (2, "API reference"),
    (2, "Guarantees under bad input"),
    (2, "Tracking a fleet from webhooks: dialfsm serve"),
    (2, "Rules"),
    (2, "Development"),
    (3, "Set up"),
    (3, "Where things are"),
    (3, "Performance"),
]


def _tokens(text: str) -> list[Token]:
    return MarkdownIt("commonmark").parse(text)


def _opening_fences(text: str) -> int:
    """Code blocks by a plain scan: a fence opens a block, the next fence of the same kind and length closes it."""
    count, opened = 0, None
    for line in text.splitlines():
        fence = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence is None:
            continue
        marks, rest = fence.groups()
        if opened is None:
            count += 1
            opened = marks
        elif marks[0] == opened[0] and len(marks) >= len(opened) and not rest.strip():
            opened = None
    assert opened is None, "a code fence is never closed"
    return count


def _headings(tokens: list[Token]) -> list[tuple[int, str]]:
    out = []
    for open_, inline in itertools.pairwise(tokens):
        if open_.type == "heading_open":
            text = "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))
            out.append((int(open_.tag[1]), text))
    return out


def _html(tokens: list[Token]) -> str:
    """The raw HTML of a page: its HTML blocks and the HTML inside its paragraphs."""
    blocks = [t.content for t in tokens if t.type == "html_block"]
    return "".join(blocks + [c.content for t in tokens for c in t.children or [] if c.type == "html_inline"])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fence_is_balanced(page: Path) -> None:
    """The parser finds as many code blocks as the line scan opens; none swallowed a heading."""
    text = page.read_text(encoding="utf-8")
    tokens = _tokens(text)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == _opening_fences(text)
    assert not [t for t in tokens if t.type == "code_block"], "an indented code block: a stray indent"
    for fence in fences:
        assert fence.info.strip(), f"line {fence.map and fence.map[0] + 1}: a fence that opens should name its language"
        swallowed = [line for line in fence.content.splitlines() if line.startswith("## ")]
        assert swallowed == [], f"a code block swallowed a heading: {swallowed}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_details_block_is_balanced(page: Path) -> None:
    """Each ``<details>`` closes, and Markdown inside it renders (a blank line follows ``<summary>``)."""
    text = page.read_text(encoding="utf-8")
    html = _html(_tokens(text))
    assert html.count("<details>") == html.count("</details>")
    lines = text.splitlines()
    depth = 0
    for number, line in enumerate(lines):
        if line.strip() == "<details>":
            depth += 1
        elif line.strip() == "</details>":
            depth -= 1
            assert depth >= 0, f"line {number + 1}: </details> closes nothing"
            assert lines[number - 1] == "", f"line {number + 1}: no blank line before </details>"
        elif line.startswith("<summary>"):
            assert line.endswith("</summary>"), f"line {number + 1}: <summary> on one line"
            assert lines[number + 1] == "", f"line {number + 1}: no blank line after <summary>"
    assert depth == 0


def test_the_readme_has_its_sections_in_order() -> None:
    """Every section of the README is a heading the parser sees, in the bot author's order."""
    headings = _headings(_tokens((ROOT / "README.md").read_text(encoding="utf-8")))
    wanted = [h for h in headings if h in README_SECTIONS]
    assert wanted == README_SECTIONS
    assert [h for h in headings if h[0] == 2] == [h for h in README_SECTIONS if h[0] == 2]


def test_the_readme_opens_with_no_diagram_source() -> None:
    """Before "Install" the page has text and one ``text`` picture: nothing PyPI would show as raw Mermaid."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text[: text.index("\n## Install\n")]
    assert [t.info for t in _tokens(head) if t.type == "fence"] == ["text"]
    assert "<details>" not in head


def test_the_generated_tables_are_folded() -> None:
    """The diagrams block and the full tables sit inside the "Rules" section's ``<details>``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rules = text[text.index("\n## Rules\n") : text.index("\n## Development\n")]
    assert rules.index("<details>") < rules.index("<!-- diagrams:start -->")
    assert rules.index("<!-- diagrams:end -->") < rules.rindex("</details>")
    assert text.count("```mermaid") == rules.count("```mermaid") == 2


def test_the_results_block_is_there_for_the_benchmarks() -> None:
    """``benchmarks/bench.py`` rewrites the block between the results markers; both are in the README once."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count("<!-- results:start -->") == text.count("<!-- results:end -->") == 1
    assert text.index("<!-- results:start -->") > text.index("\n### Performance\n")
    assert "## Results" in (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
