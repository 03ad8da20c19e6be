"""Path generation: shortest paths, transition and pair covers, and ``dialfsm paths``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialfsm import TABLES, CallTracker, SessionKind, replay_lines, replay_path
from dialfsm._cli import main
from dialfsm._coverage import untimed_entry
from dialfsm._paths import PATH_TIMEOUTS, path_header
from dialfsm.testing import (
    Coverage,
    TablePath,
    pair_cover,
    shortest_paths,
    state_cover,
    transition_cover,
    transition_pairs,
    transition_rows,
)

KINDS = list(SessionKind)
ALL_PATHS = [
    (f"{kind.value}-{cover.__name__}-{i}", path)
    for kind in KINDS
    for cover in (state_cover, transition_cover, pair_cover)
    for i, path in enumerate(cover(kind))
]


def observing(coverage: Coverage) -> CallTracker:
    """A fresh tracker reporting to ``coverage``, with the timeouts paths are made for."""
    tracker = CallTracker(timeouts=PATH_TIMEOUTS)
    tracker.add_entry_listener(coverage.observe)
    return tracker


def _replay(text: str) -> dict[str, object]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(keepends=True), start=1)]
    return replay_lines(lines, CallTracker(timeouts=PATH_TIMEOUTS)).report()


@pytest.mark.parametrize("path", [p for _, p in ALL_PATHS], ids=[name for name, _ in ALL_PATHS])
def test_every_path_replays_to_its_target(path: TablePath) -> None:
    """Each path's JSON Lines, replayed by a fresh tracker, visits exactly its states, cleanly."""
    report = _replay(path.to_jsonl())
    sessions = report["sessions"]
    assert isinstance(sessions, list)
    (session,) = sessions
    assert session["states"] == [s.value for s in path.states]
    assert session["state"] == path.target.value
    assert report["anomalies"] == []
    assert report["rejected"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_shortest_paths_reach_every_state_by_a_shortest_route(kind: SessionKind) -> None:
    """One path per state, as short as a plain BFS over the rows of sessions whose timers run finds."""
    table = TABLES[kind]
    paths = shortest_paths(kind)
    assert set(paths) == set(table.states)
    distance = {table.initial: 0}
    frontier = [table.initial]
    timed = [row for row in transition_rows(table) if not untimed_entry(table, row)]
    while frontier:
        nxt = []
        for state in frontier:
            for row in timed:
                if row.source == state and row.dest not in distance:
                    assert row.dest is not None
                    distance[row.dest] = distance[state] + 1
                    nxt.append(row.dest)
        frontier = nxt
    assert {s: len(p.rows) for s, p in paths.items()} == distance
    assert paths[table.initial].records == ()


@pytest.mark.parametrize("kind", KINDS)
def test_transition_cover_takes_every_transition(kind: SessionKind) -> None:
    """Replaying the transition cover gives 100% transition coverage of the table."""
    coverage = Coverage()
    for path in transition_cover(kind):
        replay_lines(enumerate(path.to_jsonl().splitlines(), start=1), observing(coverage))
    report = coverage.report()[kind]
    assert report.transitions == (len(transition_rows(TABLES[kind])),) * 2
    assert report.states[0] == report.states[1]


@pytest.mark.parametrize("kind", KINDS)
def test_pair_cover_takes_every_feasible_pair(kind: SessionKind) -> None:
    """Replaying the pair cover gives 100% transition-pair coverage of the table."""
    coverage = Coverage()
    for path in pair_cover(kind):
        replay_lines(enumerate(path.to_jsonl().splitlines(), start=1), observing(coverage))
    assert coverage.report()[kind].pairs == (len(transition_pairs(TABLES[kind])),) * 2


def test_transition_cover_has_no_redundant_path() -> None:
    """Every path of the cover takes a transition no other path takes."""
    for kind in KINDS:
        paths = transition_cover(kind)
        for path in paths:
            others = {row for other in paths if other is not path for row in other.rows}
            assert set(path.rows) - others, path.name


def test_cli_paths_prints_blank_line_separated_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """``dialfsm paths`` prints every transition-cover path, each block a replayable log."""
    assert main(["paths"]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    expected = [p for kind in KINDS for p in transition_cover(kind)]
    assert len(blocks) == len(expected)
    for block, path in zip(blocks, expected, strict=True):
        header, *records = [json.loads(line) for line in block.splitlines()]
        assert header == path_header()
        assert header["dialfsm"]["options"]["timeouts"]["max_call"] == PATH_TIMEOUTS.max_call
        assert records == list(path.records)


def test_cli_paths_kind_and_cover_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``--kind dialin --cover states`` prints the shortest path to each dial-in state but idle."""
    assert main(["paths", "--kind", "dialin", "--cover", "states"]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    assert len(blocks) == len(TABLES[SessionKind.DIALIN].states) - 1


def test_cli_paths_out_writes_one_file_per_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--out DIR`` writes one file per path, named by the inputs and states it covers, that replays to its target."""
    assert main(["paths", "--kind", "dialout", "--out", str(tmp_path)]) == 0
    paths = transition_cover("dialout")
    files = [tmp_path / p.file_name for p in paths]
    assert sorted(tmp_path.glob("*.jsonl")) == sorted(files)
    assert all(f.name.startswith("dialout__") for f in files)
    assert len({f.name for f in files}) == len(files)
    assert capsys.readouterr().out.split() == [str(f) for f in files]
    for file, path in zip(files, paths, strict=True):
        result = replay_path(str(file))  # the header names PATH_TIMEOUTS: the opt-in max_call rows are taken
        assert result.clean
        assert [s.value for s in result.tracker.sessions[0].states] == [s.value for s in path.states]
    assert main(["replay", "--strict", *map(str, files)]) == 0


def test_cli_paths_out_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second ``--out`` into the same folder refuses, in one line, before writing anything (issue 12, point 5)."""
    assert main(["paths", "--kind", "dialin", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / transition_cover("dialout")[0].file_name).write_text("mine\n")
    assert main(["paths", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dialfsm paths: will not overwrite ")
    assert err.count("\n") == 1
    assert {p: p.read_bytes() for p in before} == before
    assert (tmp_path / transition_cover("dialout")[0].file_name).read_text() == "mine\n"


def test_cli_paths_out_reports_an_unwritable_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory that cannot be created: exit status 2 and one line on stderr."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["paths", "--out", str(blocker / "sub")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_coverage_of_replay_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``dialfsm coverage`` replays logs and reports coverage, as text or JSON."""
    main(["paths", "--out", str(tmp_path)])
    capsys.readouterr()
    logs = [str(p) for p in sorted(tmp_path.glob("*.jsonl"))]
    assert main(["coverage", "--json", *logs]) == 0
    report = json.loads(capsys.readouterr().out)
    # Each log's header names the opt-in max_call its path was made with: every row is taken.
    assert report["dialout"]["transitions"] == [30, 30]
    assert report["dialin"]["transitions"] == [11, 11]
    assert report["dialout"]["missing_transitions"] == report["dialin"]["missing_transitions"] == []
    assert main(["coverage", logs[0]]) == 0
    out = capsys.readouterr().out
    assert "dialout: states" in out
    assert "missing transition:" in out
    assert main(["coverage", str(tmp_path / "nope.jsonl")]) == 2
