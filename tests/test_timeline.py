"""Timelines: a Mermaid sequence diagram per session, and `dialfsm replay --mermaid / --svg / progress`."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from dialfsm import CallTracker, RetryDialout, RetryPolicy, render_timeline, replay_path, timelines, write_timelines
from dialfsm._cli import main

ROOT = Path(__file__).resolve().parent.parent
HAPPY = ROOT / "examples" / "dialout_happy.jsonl"
MESSY = ROOT / "examples" / "messy_room.jsonl"
SID = "5c7f0d2e-8d4b-4f7c-9a61-2a1f6d0c9b11"

HAPPY_TIMELINE = f"""\
sequenceDiagram
    title dial-out {SID}, stopped, completed
    participant bot
    participant dialfsm
    participant Daily
    bot->>dialfsm: 0s start_dialout
    Note over dialfsm: idle → connecting
    Daily->>dialfsm: 0.4s dialout-connected
    Note over dialfsm: connecting → connected
    Daily-->>dialfsm: 0.5s start_dialout.ok
    Daily->>dialfsm: 6.2s dialout-answered
    Note over dialfsm: connected → answered
    Daily->>dialfsm: 6.3s dialout-warning (Dialout codec did not match, using fallback.)
    bot->>dialfsm: 9s send_dtmf
    Daily-->>dialfsm: 9.1s send_dtmf.ok
    Daily->>dialfsm: 12s dtmf-event (9)
    bot->>dialfsm: 30s stop_dialout
    Note over dialfsm: answered → stopping
    Daily->>dialfsm: 30.2s dialout-stopped
    Note over dialfsm: stopping → stopped
    Daily-->>dialfsm: 30.3s stop_dialout.ok
    Note over dialfsm: ended stopped (completed)
"""


def test_timeline_of_a_full_call() -> None:
    """A whole dial-out (start, ring, answer, warning, DTMF both ways, stop) draws as expected."""
    (timeline,) = timelines(replay_path(str(HAPPY), CallTracker()).tracker)
    assert timeline.label == f"dial-out {SID}"
    assert timeline.slug == f"01-dialout-{SID}"
    assert timeline.text == HAPPY_TIMELINE


def test_timelines_are_deterministic() -> None:
    """Two replays of the same log give the same bytes."""
    for path in (HAPPY, MESSY):
        first = [t.text for t in timelines(replay_path(str(path), CallTracker()).tracker)]
        second = [t.text for t in timelines(replay_path(str(path), CallTracker()).tracker)]
        assert first == second


def test_anomalies_and_refusals_are_marked() -> None:
    """Anomalies and refusals are crossed arrows with a note naming the code and the log line."""
    dialout, dialin, room = timelines(replay_path(str(MESSY), CallTracker()).tracker)
    assert dialout.label == "dial-out (no id, index 0)"
    assert "Daily->>dialfsm: 2s dialout-error" in dialout.text
    assert "Daily-xdialfsm: 5.6s participant-joined" in dialin.text
    assert "Note over dialfsm,Daily: anomaly DUPLICATE_EVENT (line 10):" in dialin.text
    assert "bot-xdialfsm: 7s send_dtmf" in dialin.text  # a refused call on the session is its own
    assert "Note over bot,dialfsm: refused INVALID_SETTINGS (line 12):" in dialin.text
    assert "anomaly LATE_EVENT (line 16)" in dialin.text
    assert room.label == "room"
    assert room.session is None
    assert "refused DIALOUT_IN_PROGRESS (line<br/>5)" in room.text  # notes are wrapped, to stay in their box
    assert "anomaly UNKNOWN_SESSION (line 13)" in room.text
    assert "anomaly MALFORMED_INPUT (line 14)" in room.text


def test_a_retried_attempt_says_so() -> None:
    """The retry chain shows in the timelines too: each attempt names the one it retries, and its retry."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    first = tracker.start_dialout({"phoneNumber": "+15551234567"}, t=0.0)
    tracker.start_completed(first, error="No workers available", t=0.1)
    (effect,) = tracker.take_effects()
    assert isinstance(effect, RetryDialout)
    second = tracker.start_dialout(effect.settings, retry_of=effect.previous, t=2.0)
    tracker.start_completed(second, session_id="b2", t=2.1)
    one, two = timelines(tracker)
    assert "Note over dialfsm: retried by dial-out b2" in one.text
    assert "Note over dialfsm: attempt 2, retrying dial-out (no id, index 0)" in two.text


def test_control_characters_from_a_log_are_escaped() -> None:
    """An error text with an escape sequence, a newline or a lone surrogate cannot break a diagram (issue 13, 12-13)."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "d\x1b[2J"})
    tracker.handle("dialin-error", {"sessionId": "d\x1b[2J", "errorMsg": "bad\nrejected  line 1: fake\ud83d"})
    (timeline,) = timelines(tracker)
    assert "\x1b" not in timeline.text
    assert "\\x1b" in timeline.text
    assert "\ud83d" not in timeline.text
    timeline.text.encode("utf-8")  # writable as it is


def test_text_from_inputs_is_escaped() -> None:
    """Characters Mermaid reserves (; # < > %) in Daily's text become entity codes, on one line."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a"})
    tracker.handle("dialin-warning", {"sessionId": "a", "errorMsg": "50% <lost>; retry #2\nend"})
    (timeline,) = timelines(tracker)
    assert "Daily->>dialfsm: dialin-warning (50#37; #lt;lost#gt;#59; retry #35;2 end)" in timeline.text


def test_left_meeting_appears_on_every_live_session() -> None:
    """An input that reached several sessions is drawn on each of their timelines."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a"})
    tracker.handle("dialin-connected", {"sessionId": "b"})
    tracker.handle("left-meeting", {})
    first, second = timelines(tracker)
    for timeline in (first, second):
        assert "Daily->>dialfsm: left-meeting" in timeline.text
        assert "ended stopped (abandoned)" in timeline.text


def test_timelines_from_journal_entries_equal_those_from_the_tracker() -> None:
    """`timelines` reads a tracker's journal or the entries themselves alike."""
    tracker = replay_path(str(MESSY), CallTracker()).tracker
    assert [t.text for t in timelines(tracker.journal)] == [t.text for t in timelines(tracker)]


def test_live_session_ends_with_still() -> None:
    """A session that has not ended says where it stands."""
    tracker = CallTracker()
    tracker.handle("dialin-connected", {"sessionId": "a"})
    (timeline,) = timelines(tracker)
    assert timeline.text.endswith("Note over dialfsm: still connected\n")
    assert render_timeline([], session=None).startswith("sequenceDiagram\n    title room\n")


# --- the CLI: --mermaid, --svg, progress ---------------------------------------------------------


def test_cli_mermaid_prints_a_markdown_block_per_session(capsys: pytest.CaptureFixture[str]) -> None:
    """`replay --mermaid` prints a heading and a ```mermaid block per session (and the room)."""
    assert main(["replay", str(MESSY), "--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.count("```mermaid\nsequenceDiagram\n") == 3
    assert out.startswith("## dial-out (no id, index 0) (error, failed)\n\n```mermaid\n")
    assert "## dial-in ff1e7130-7752-4304-9cf4-08d2583a41dc (stopped, completed)" in out
    assert "## room\n" in out


def test_cli_mermaid_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs of `replay --mermaid` print the same bytes."""
    main(["replay", str(MESSY), "--mermaid"])
    first = capsys.readouterr().out
    main(["replay", str(MESSY), "--mermaid"])
    assert capsys.readouterr().out == first


def test_cli_svg_without_mmdc_writes_mmd_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the Mermaid CLI, `--svg DIR` writes the .mmd files and says so in one line."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "timelines"
    assert main(["replay", str(MESSY), "--svg", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "mmdc (Mermaid CLI) not found" in err[0]
    assert sorted(p.name for p in out.iterdir()) == [
        "01-dialout-no-id-0.mmd",
        "02-dialin-ff1e7130-7752-4304-9cf4-08d2583a41dc.mmd",
        "03-room.mmd",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as a stand-in for mmdc")
def test_cli_svg_runs_mmdc_per_timeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With `mmdc` on PATH, each timeline is rendered from its .mmd into an .svg next to it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mmdc"
    fake.write_text('#!/bin/sh\n# args: --quiet --input IN --output OUT\nprintf "<svg/>" > "$5"\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    (timeline,) = timelines(replay_path(str(HAPPY), CallTracker()).tracker)
    files = write_timelines([timeline], tmp_path / "out")
    assert files.svg_skipped is None
    assert [p.name for p in files.written] == [f"{timeline.slug}.mmd", f"{timeline.slug}.svg"]
    assert (tmp_path / "out" / f"{timeline.slug}.svg").read_text(encoding="utf-8") == "<svg/>"


def test_cli_svg_folder_that_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--svg` into a folder under a regular file: one line, exit 2."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["replay", str(HAPPY), "--svg", str(tmp_path / "file" / "sub")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "cannot create" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_cli_replay_of_an_unreadable_path(tmp_path: Path, what: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or a folder given as the log: one line, exit 2, no traceback."""
    path = tmp_path / "nope.jsonl" if what == "missing" else tmp_path
    assert main(["replay", str(path), "--mermaid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dialfsm replay: cannot read ")
    assert len(err.strip().splitlines()) == 1


def test_cli_replay_of_a_cut_off_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log cut off mid-line replays up to the last whole line; the partial one is MALFORMED_INPUT."""
    data = HAPPY.read_bytes()
    path = tmp_path / "cut.jsonl"
    path.write_bytes(data[: data.rindex(b"\n") + 1] + b'{"t": 31.0, "event": "dialout-st')
    assert main(["replay", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sessions"][0]["outcome"] == "completed"
    assert [a["code"] for a in report["anomalies"]] == ["MALFORMED_INPUT"]
    assert report["anomalies"][0]["line"] == len(data.splitlines()) + 1


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _big_log(tmp_path: Path, lines: int) -> Path:
    path = tmp_path / "big.jsonl"
    record = json.dumps({"event": "dialin-ready", "data": {"sipEndpoint": "sip:room.0@x"}})
    path.write_text((record + "\n") * lines, encoding="utf-8")
    return path


def test_progress_shows_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, replay shows a line count on stderr while it reads, then clears it."""
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["replay", str(_big_log(tmp_path, 10_000))]) == 0
    shown = fake.getvalue()
    assert "\rdialfsm replay: 4,096 lines..." in shown
    assert shown.endswith("\r\x1b[K")


def test_no_progress_when_piped_or_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress output when stderr is not a terminal, nor with --json."""
    log = _big_log(tmp_path, 10_000)
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert main(["replay", str(log)]) == 0
    assert piped.getvalue() == ""
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["replay", str(log), "--json"]) == 0
    assert tty.getvalue() == ""


def test_mermaid_and_json_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for both --mermaid and --json is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(HAPPY), "--mermaid", "--json"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
