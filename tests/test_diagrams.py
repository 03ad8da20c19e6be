"""Diagrams: drawn from the tables, deterministic, committed, and checked for drift."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, cast

import attrs
import pytest

from dialfsm import TABLES, Disposition, Input, SessionKind
from dialfsm._cli import main
from dialfsm.diagrams import (
    README_END,
    README_START,
    DiagramError,
    check_diagrams,
    expected_files,
    readme_block,
    render_dot,
    render_mermaid,
    render_transitions_markdown,
    sync_readme,
    write_diagrams,
)

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
README = ROOT / "README.md"
HAS_DOT = shutil.which("dot") is not None
KINDS = list(TABLES)


class _Model:
    """A bare model for transitions' GraphMachine (which binds ``get_graph`` onto it)."""


def _changed_tables() -> dict[SessionKind, object]:
    """The tables with one dial-in row dropped (a table edited without regenerating)."""
    dialin = TABLES[SessionKind.DIALIN]
    return {**TABLES, SessionKind.DIALIN: attrs.evolve(dialin, rows=dialin.rows[:-1])}


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_text_renderers_are_deterministic(kind: SessionKind) -> None:
    """Two renderings of the same table are the same bytes (Mermaid, Graphviz, Markdown)."""
    table = TABLES[kind]
    assert render_mermaid(table) == render_mermaid(table)
    assert render_dot(table) == render_dot(table)
    assert render_transitions_markdown(table) == render_transitions_markdown(table)


def test_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    """`write_diagrams` twice, into two folders, writes identical files (SVGs included where dot exists)."""
    first, second = tmp_path / "a", tmp_path / "b"
    write_diagrams(first)
    write_diagrams(second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {"dialout.mmd", "dialin.mmd", "dialout.dot", "dialin.dot"} <= set(names)
    if HAS_DOT:
        assert {"dialout.svg", "dialin.svg"} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_every_transition_row_is_a_mermaid_edge(kind: SessionKind) -> None:
    """Each TRANSITION row appears on the edge between its states, parallel edges merged into one label."""
    table = TABLES[kind]
    edges: dict[tuple[str, str], list[str]] = {}
    for line in render_mermaid(table).splitlines():
        match = re.fullmatch(r"    (\w+) --> (\w+): (.*)", line)
        if match:
            src, dst, label = match.groups()
            assert (src, dst) not in edges, "parallel edges must be merged"
            edges[src, dst] = label.split(", ")
    expected: dict[tuple[str, str], list[str]] = {}
    for row in table.rows:
        if row.disposition is Disposition.TRANSITION:
            assert row.dest is not None
            expected.setdefault((row.source.value, row.dest.value), []).append(row.input.value)
    assert {k: sorted(v) for k, v in edges.items()} == {k: sorted(v) for k, v in expected.items()}


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_recorded_and_anomaly_rows_are_notes_not_edges(kind: SessionKind) -> None:
    """Rows that keep the state are listed in the state's note in Mermaid and its box in Graphviz."""
    table = TABLES[kind]
    mermaid, dot = render_mermaid(table), render_dot(table)
    notes = dict(re.findall(r"note right of (\w+)\n(.*?)end note", mermaid, flags=re.S))
    for row in table.rows:
        if row.disposition is Disposition.TRANSITION:
            continue
        assert re.search(rf"(^|[ ,]){re.escape(row.input.value)}(,|$)", notes[row.source.value], flags=re.M)
        assert row.input.value in dot
        if row.anomaly is not None:
            assert f"anomaly {row.anomaly} on {row.input.value}" in notes[row.source.value]
    assert "LATE_EVENT" in mermaid
    assert "LATE_EVENT" in dot
    assert not re.search(r"(\w+) --> \1\b", mermaid), "no self-loops in Mermaid"


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_edges_match_transitions_graph_machine(kind: SessionKind) -> None:
    """The solid edges are exactly the ones transitions' own GraphMachine (Mermaid engine) draws."""
    from transitions.extensions import GraphMachine

    table = TABLES[kind]
    machine = GraphMachine(
        model=None, states=list(table.states), initial=table.initial, auto_transitions=False, graph_engine="mermaid"
    )
    for row in table.rows:
        if row.disposition is Disposition.TRANSITION:
            machine.add_transition(row.input.trigger, row.source, row.dest)
    model = _Model()
    machine.add_model(model)
    theirs: set[tuple[str, str, str]] = set()
    for src, dst, label in re.findall(
        r"^\s*(\w+) --> (\w+): (.*)$", cast(Any, model).get_graph().draw(None), flags=re.M
    ):
        theirs |= {(src.lower(), dst.lower(), Input[trigger.strip().upper()].value) for trigger in label.split("|")}
    ours: set[tuple[str, str, str]] = set()
    for src, dst, label in re.findall(r"^    (\w+) --> (\w+): (.*)$", render_mermaid(table), flags=re.M):
        ours |= {(src, dst, value) for value in label.split(", ")}
    assert ours == theirs


def test_committed_diagrams_match_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dialfsm diagram --check` passes on the repository: diagrams/ and the README are up to date."""
    monkeypatch.chdir(ROOT)
    assert main(["diagram", "--check"]) == 0


def test_committed_svgs_are_there() -> None:
    """The SVGs rendered by Graphviz are committed next to the text formats."""
    for kind in KINDS:
        svg = (DIAGRAMS / f"{kind.value}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg
        assert "Generated by graphviz version" in svg


def test_drift_check_fails_on_a_changed_table(tmp_path: Path) -> None:
    """Diagrams written from the tables fail the check against a table changed since."""
    write_diagrams(tmp_path)
    assert check_diagrams(tmp_path).ok
    result = check_diagrams(tmp_path, tables=_changed_tables())  # type: ignore[arg-type]
    assert not result.ok
    assert any("dialin.mmd" in p for p in result.problems)
    assert any("dialin.dot" in p for p in result.problems)


def test_drift_check_fails_on_a_stale_readme(tmp_path: Path) -> None:
    """A README block generated from another table fails the check."""
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\n{README_END}\n\nrest\n", encoding="utf-8")
    write_diagrams(tmp_path / "diagrams", readme=readme)
    assert check_diagrams(tmp_path / "diagrams", readme=readme).ok
    readme.write_text(sync_readme(readme.read_text(encoding="utf-8"), _changed_tables()), encoding="utf-8")  # type: ignore[arg-type]
    result = check_diagrams(tmp_path / "diagrams", readme=readme)
    assert [p for p in result.problems if "README" in p]


def test_cli_check_exits_1_and_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` exits 1 naming every differing file, missing file and unexpected file."""
    out = tmp_path / "diagrams"
    assert main(["diagram", "--out", str(out), "--no-readme"]) == 0
    (out / "dialout.mmd").write_text("stateDiagram-v2\n", encoding="utf-8")
    (out / "dialin.dot").unlink()
    (out / "old.svg").write_text("<svg/>", encoding="utf-8")
    capsys.readouterr()
    assert main(["diagram", "--out", str(out), "--no-readme", "--check"]) == 1
    err = capsys.readouterr().err
    assert "dialout.mmd: differs" in err
    assert "dialin.dot: missing" in err
    assert "old.svg: not produced by the tables" in err
    assert "Traceback" not in err


def test_readme_block_is_in_sync() -> None:
    """The README's generated block is what the tables produce (both diagrams and the rows)."""
    text = README.read_text(encoding="utf-8")
    assert sync_readme(text) == text
    block = readme_block()
    assert block.count("```mermaid") == 2
    for kind in KINDS:
        assert render_mermaid(TABLES[kind]).rstrip("\n") in text
        assert render_transitions_markdown(TABLES[kind]).rstrip("\n") in text


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_markdown_table_has_one_line_per_row(kind: SessionKind) -> None:
    """The generated table of transitions lists every row of the table once."""
    table = TABLES[kind]
    lines = render_transitions_markdown(table).splitlines()
    assert len(lines) == 2 + len(table.rows)


def test_sync_readme_refuses_a_readme_without_markers() -> None:
    """A README with no (or repeated) markers is an error, not a silent no-op."""
    with pytest.raises(DiagramError):
        sync_readme("# nothing here\n")
    with pytest.raises(DiagramError):
        sync_readme(f"{README_START}{README_END}{README_START}{README_END}")


def test_expected_files_are_the_text_formats() -> None:
    """The text formats are one Mermaid and one Graphviz file per machine."""
    assert sorted(expected_files()) == ["dialin.dot", "dialin.mmd", "dialout.dot", "dialout.mmd"]


# --- without dot --------------------------------------------------------------------------------


def test_missing_dot_writes_text_formats_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `dot` the command writes .mmd and .dot, and says so in one line with the install hint."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "diagrams"
    assert main(["diagram", "--out", str(out), "--no-readme"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "dot (Graphviz) not found" in err[0]
    assert "install Graphviz" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["dialin.dot", "dialin.mmd", "dialout.dot", "dialout.mmd"]


def test_check_without_dot_skips_svgs_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `dot`, the check compares the text formats and notes the SVGs it could not compare."""
    shutil.copytree(DIAGRAMS, tmp_path / "diagrams")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = check_diagrams(tmp_path / "diagrams")
    assert result.ok
    assert len(result.notes) == 2
    assert all("not compared" in note for note in result.notes)


def test_check_skips_svgs_from_another_graphviz_version(tmp_path: Path) -> None:
    """An SVG committed by another Graphviz version is noted, not compared."""
    write_diagrams(tmp_path, dot=None)
    for kind in KINDS:
        (tmp_path / f"{kind.value}.svg").write_text(
            "<!-- Generated by graphviz version 0.0.1 (0)\n -->\n<svg/>", encoding="utf-8"
        )
    result = check_diagrams(tmp_path)
    assert result.ok
    assert len(result.notes) == 2


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_check_compares_svgs_with_the_same_graphviz(tmp_path: Path) -> None:
    """With the recorded Graphviz version installed, an edited SVG is drift."""
    write_diagrams(tmp_path)
    svg = tmp_path / "dialout.svg"
    svg.write_bytes(svg.read_bytes().replace(b"connecting", b"ringing"))
    result = check_diagrams(tmp_path)
    assert [p for p in result.problems if "dialout.svg" in p]


# --- bad input ------------------------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_cli_diagrams_folder_that_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A diagrams folder under a regular file: one line, exit 2."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["diagram", "--out", str(tmp_path / "file" / "diagrams"), "--no-readme"]) == 2
    assert "cannot create" in _one_line_error(capsys)


def test_cli_diagrams_path_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out` naming a regular file: one line, exit 2."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["diagram", "--out", str(tmp_path / "file"), "--no-readme"]) == 2
    assert "not a folder" in _one_line_error(capsys)


def test_cli_check_of_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` of a folder that does not exist: one line, exit 2."""
    assert main(["diagram", "--check", "--out", str(tmp_path / "nope"), "--no-readme"]) == 2
    assert "no such folder" in _one_line_error(capsys)


def test_cli_missing_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An explicit `--readme` that does not exist: one line, exit 2, nothing written."""
    out = tmp_path / "diagrams"
    assert main(["diagram", "--out", str(out), "--readme", str(tmp_path / "README.md")]) == 2
    assert "cannot read" in _one_line_error(capsys)


def test_cli_readme_without_markers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A README without the diagrams markers: one line, exit 2."""
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    assert main(["diagram", "--out", str(tmp_path / "d"), "--readme", str(readme)]) == 2
    assert "diagrams:start" in _one_line_error(capsys)


def test_cli_readme_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A README that is not UTF-8: one line, exit 2."""
    readme = tmp_path / "README.md"
    readme.write_bytes(b"\xff\xfe\x00bad")
    assert main(["diagram", "--out", str(tmp_path / "d"), "--readme", str(readme)]) == 2
    assert "not UTF-8" in _one_line_error(capsys)


def test_default_readme_is_synced_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where a README.md with markers exists, the command fills its block."""
    monkeypatch.chdir(tmp_path)
    Path("README.md").write_text(f"# t\n{README_START}\n{README_END}\n", encoding="utf-8")
    assert main(["diagram"]) == 0
    assert Path("README.md").read_text(encoding="utf-8") == f"# t\n{readme_block()}\n"
    assert main(["diagram", "--check"]) == 0
