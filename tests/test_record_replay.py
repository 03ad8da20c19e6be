"""Record and replay faithfully (issue 12): what a recording replays to is what the live tracker concluded.

The property (point 4) plays generated live runs of a bot (``tests/live_runs.py``)
with a :class:`~dialfsm.Recorder` attached, options generated too, with and
without times and redaction, and replays each recording through the CLI's code
path (:func:`dialfsm.replay_path` on the file): the sessions (kind, id, states,
outcome, error code, attempt chain), the refusals and the anomalies must be the
live ones.  The regression tests below pin each case of the issue's list.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from dialfsm import (
    CallRefused,
    CallTracker,
    Recorder,
    RecordingError,
    RetryPolicy,
    StopCall,
    Timeouts,
    replay_lines,
    replay_path,
)
from dialfsm._cli import main
from tests.live_runs import Bot, conclusions, live_runs

PHONE = {"phoneNumber": "+15551234567"}


def _live_conclusions(tracker: CallTracker) -> Any:
    anomalies = [str(e.code) for e in tracker.anomalies]
    refusals = [(e.name, str(e.code)) for e in tracker.refusals]
    return conclusions(tracker, anomalies, refusals)


def _replayed_conclusions(path: str) -> Any:
    result = replay_path(path)
    anomalies = [str(a["code"]) for a in result.anomalies]
    refusals = [(r["call"], str(r["code"])) for r in result.rejected]
    return conclusions(result.tracker, anomalies, refusals)


@given(run=live_runs())
def test_a_recording_replays_to_what_the_live_tracker_concluded(run: tuple[Any, ...]) -> None:
    """Point 4: any live run, any options, timed or not, redacted or not: the replay concludes the same."""
    options, timed, redact, actions = run
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "run.jsonl")
        live = CallTracker(**options)
        with Recorder(path, redact=redact) as recorder:
            recorder.attach(live)
            bot = Bot(live, timed)
            for action in actions:
                bot.play(action)
        assert live.listener_errors == []
        assert _replayed_conclusions(path) == _live_conclusions(live)


def _record(live: CallTracker, play: Any, *, redact: bool = True) -> tuple[str, Any]:
    log = io.StringIO()
    Recorder(log, redact=redact, clock=None).attach(live)
    play(live)
    lines = list(enumerate(log.getvalue().splitlines(keepends=True), start=1))
    return log.getvalue(), replay_lines(lines)


def _states(tracker: CallTracker) -> list[tuple[Any, ...]]:
    return [(s.session_id, [x.value for x in s.states], s.outcome) for s in tracker]


# --- the cases at the top of the issue, one by one -------------------------------------------


def test_options_are_carried_max_dialouts_and_ring_timeout() -> None:
    """`max_dialouts=2` and `Timeouts(ring=5)`: the second dial-out is accepted and the ring timeout fires on replay."""

    def play(t: CallTracker) -> None:
        a = t.start_dialout(PHONE, t=0.0)
        b = t.start_dialout({"phoneNumber": "+15557654321"}, t=0.1)
        t.start_completed(a, session_id="a", t=0.2)
        t.start_completed(b, session_id="b", t=0.3)
        t.handle("dialout-connected", {"sessionId": "a"}, t=1.0)
        t.advance(7.0)

    live = CallTracker(max_dialouts=2, timeouts=Timeouts(ring=5))
    _, result = _record(live, play)
    assert _states(result.tracker) == _states(live)
    assert result.tracker["a"].state.value == "stopping"  # the ring timeout fired at 6
    assert result.clean


def test_options_are_carried_allow_dialout_false() -> None:
    """A start the live bot saw refused NOT_ALLOWED is refused on replay, not a session."""

    def play(t: CallTracker) -> None:
        with pytest.raises(CallRefused, match="NOT_ALLOWED"):
            t.start_dialout(PHONE)

    _, result = _record(CallTracker(allow_dialout=False), play)
    assert list(result.tracker) == []
    assert [r["code"] for r in result.rejected] == ["NOT_ALLOWED"]


def test_times_are_not_invented() -> None:
    """A bot that passes no times arms no timer live; the recording has no `t`, and the replay arms none either."""

    def play(t: CallTracker) -> None:
        session = t.start_dialout(PHONE)
        t.start_completed(session, session_id="a")
        t.handle("dialout-connected", {"sessionId": "a"})
        t.handle("dialout-answered", {"sessionId": "a"})  # 99 s later, live: no timer was armed
        t.stop_dialout(session)
        t.handle("dialout-stopped", {"sessionId": "a"})

    live = CallTracker()
    log = io.StringIO()
    clock = iter(range(0, 1000, 99))
    Recorder(log, clock=lambda: float(next(clock))).attach(live)
    play(live)
    assert all("t" not in json.loads(line) for line in log.getvalue().splitlines())
    result = replay_lines(list(enumerate(log.getvalue().splitlines(keepends=True), start=1)))
    assert result.tracker["a"].outcome is not None
    assert result.tracker["a"].outcome.value == "completed"
    assert result.clean


def test_withdrawn_stops_are_recorded() -> None:
    """A ring timeout's stop withdrawn live (the call ended first) is withdrawn on replay: it waits no more."""

    def play(t: CallTracker) -> None:
        session = t.start_dialout(PHONE, t=0.0)
        t.start_completed(session, session_id="a", t=0.1)
        t.handle("dialout-connected", {"sessionId": "a"}, t=1.0)
        t.advance(100.0)
        t.handle("dialout-stopped", {"sessionId": "a"}, t=101.0)
        assert t.take_effects() == []  # withdrawn: the call ended before it was stopped

    text, result = _record(CallTracker(), play)
    assert '"withdraw": "stop"' in text
    assert [e.name for e in result.tracker.journal] if result.tracker.journal_limit != 0 else True
    replayed = replay_lines(list(enumerate(text.splitlines(keepends=True), start=1)), CallTracker())
    assert replayed.tracker.queued_effects == ()
    late = replayed.tracker.stop_completed(replayed.tracker["a"], t=102.0)
    assert late.code == "UNEXPECTED_COMPLETION"  # nothing waits for it, as live


@pytest.mark.parametrize("ref", ["#0", "#1", "#2", "ring_timeout#3", "ring_timeout:a"])
def test_attaching_a_recorder_changes_no_refs(ref: str) -> None:
    """A bot's own refs, even ones that look like the tracker's, are accepted with or without a recorder."""

    def play(t: CallTracker) -> list[str]:
        out = []
        session = t.start_dialout(PHONE, t=0.0)
        t.start_completed(session, session_id="a", t=0.1)
        t.handle("dialout-connected", {"sessionId": "a"}, t=0.2)
        t.advance(61.0)  # the ring timeout: a stop the tracker registers
        try:
            t.stop_dialout("a", ref=ref, t=61.5)
            out.append("accepted")
        except CallRefused as refusal:
            out.append(refusal.code.value)
        (effect,) = t.take_effects()
        assert isinstance(effect, StopCall)
        out.append(t.stop_completed(effect.session, ref=effect.ref, t=62.0).disposition.value)
        out.append(t.stop_completed(effect.session, ref=ref, t=62.1).disposition.value)
        return out

    bare = play(CallTracker())
    recorded = CallTracker()
    Recorder(io.StringIO(), clock=None).attach(recorded)
    assert play(recorded) == bare == ["accepted", "recorded", "recorded"]


@pytest.mark.parametrize(
    "settings",
    [
        {"sipUri": "sip:" + "a" * 2100 + "@example.com"},  # over the length cap: its user part is redacted
        {"phoneNumber": "+١٥٥٥١٢٣٤٥٦٧"},  # non-ASCII digits
        {"phoneNumber": "+15551234567", "displayName": "x" * 200},
    ],
    ids=["long-sip-uri", "non-ascii-digits", "long-display-name"],
)
def test_redaction_never_turns_a_refusal_into_an_acceptance(settings: dict[str, str]) -> None:
    """Refused live, refused on replay: redaction keeps length and class, and the line says `refused`."""

    def play(t: CallTracker) -> None:
        with pytest.raises(CallRefused, match="INVALID_SETTINGS"):
            t.start_dialout(settings)

    text, result = _record(CallTracker(), play)
    line = json.loads(text.splitlines()[1])
    assert line["refused"] == "INVALID_SETTINGS"
    for key, value in settings.items():
        assert len(line["settings"][key]) == len(value)
    assert [r["code"] for r in result.rejected] == ["INVALID_SETTINGS"]
    assert list(result.tracker) == []


def test_a_refused_line_is_refused_whatever_its_settings_say() -> None:
    """A hand-made line whose settings are valid but which says `refused` is refused with that code."""
    lines = [(1, '{"call": "start_dialout", "settings": {"phoneNumber": "+15551234567"}, "refused": "NOT_ALLOWED"}')]
    result = replay_lines(lines)
    assert [(r["call"], r["code"]) for r in result.rejected] == [("start_dialout", "NOT_ALLOWED")]
    assert list(result.tracker) == []


def test_an_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path: Path) -> None:
    """A crash mid-line, then a recorder reopened in append mode: its first line is whole, and replays."""
    path = tmp_path / "calls.jsonl"
    with Recorder(path) as recorder:
        recorder.attach(CallTracker())
        recorder({"event": "dialin-connected", "data": {"sessionId": "d1"}})
    with path.open("ab") as stream:
        stream.write(b'{"event": "dialin-sto')  # the crash
    with Recorder(path, append=True) as recorder:
        tracker = CallTracker()
        recorder.attach(tracker)
        tracker.handle("dialin-connected", {"sessionId": "d2"})
    result = replay_path(str(path))
    assert [s.session_id for s in result.tracker] == ["d1", "d2"]
    assert [(a["line"], a["code"]) for a in result.anomalies] == [(3, "MALFORMED_INPUT")]


# --- the header ----------------------------------------------------------------------------------------


def test_appending_checks_the_header_against_the_tracker(tmp_path: Path) -> None:
    """Appending with a tracker of other options is refused with a clear error naming what differs."""
    path = tmp_path / "calls.jsonl"
    with Recorder(path) as recorder:
        recorder.attach(CallTracker(max_dialouts=2))
    with Recorder(path, append=True) as recorder, pytest.raises(RecordingError, match="max_dialouts"):
        recorder.attach(CallTracker())
    with Recorder(path, append=True) as recorder:
        recorder.attach(CallTracker(max_dialouts=2))
    assert sum('"dialfsm"' in line for line in path.read_text().splitlines()) == 1


def test_appending_to_a_file_without_a_header_is_refused(tmp_path: Path) -> None:
    """A non-empty file whose first line is no header cannot be appended to."""
    path = tmp_path / "old.jsonl"
    path.write_text('{"event": "left-meeting"}\n')
    with pytest.raises(RecordingError, match="no header"):
        Recorder(path, append=True)


def test_only_the_first_line_can_be_a_header() -> None:
    """A header anywhere else is a MALFORMED_INPUT anomaly, and changes nothing."""
    header = json.dumps({"dialfsm": {"format": "dialfsm.recording", "version": 1, "times": "given", "options": {}}})
    result = replay_lines([(1, '{"event": "left-meeting"}'), (2, header)])
    assert [(a["line"], a["code"]) for a in result.anomalies] == [(2, "MALFORMED_INPUT")]
    assert "first line" in result.anomalies[0]["message"]


def test_a_log_without_a_header_gets_the_defaults_and_says_so() -> None:
    """No header: this version's default options, and a note in the report."""
    result = replay_lines([(1, '{"event": "left-meeting"}')])
    assert result.header is None
    assert result.notes == ("no header: replayed with dialfsm 0.2.0's default options",)
    assert result.report()["options"]["max_dialouts"] == 1


def _log(tmp_path: Path, header: object, *lines: str) -> str:
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([json.dumps(header), *lines]) + "\n")
    return str(path)


def _header(**over: Any) -> dict[str, Any]:
    body = {"format": "dialfsm.recording", "version": 1, "dialfsm": "0.2.0", "times": "given", "options": {}}
    return {"dialfsm": {**body, **over}}


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (_header(version=3), "newer than this dialfsm reads"),
        (_header(version="1"), "version must be an int"),
        (_header(options={"max_dialouts": 0}), "max_dialouts"),
        (_header(options={"teleport": True}), "unknown option 'teleport'"),
        (_header(options={"timeouts": {"start": 1, "warp": 2}}), "unknown field 'warp'"),
        (_header(times="clock"), "times must be"),
        ({"dialfsm": {"format": "dialfsm.recording"}, "event": "x"}, "nothing else"),
    ],
    ids=["future-version", "version-not-int", "bad-option", "unknown-option", "unknown-field", "times", "extra-keys"],
)
def test_a_header_that_is_not_valid_is_one_line_and_exit_2(
    tmp_path: Path, header: object, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: an invalid header gives one clear error line and exit 2, never a silent fall back."""
    assert main(["replay", _log(tmp_path, header, '{"event": "left-meeting"}')]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert says in captured.err
    assert "Traceback" not in captured.err


def test_replay_builds_its_tracker_from_the_header_and_the_command_line_overrides(tmp_path: Path) -> None:
    """The header's options are used; `--max-dialouts`, `--timeouts`, `--no-timers`, `--retry` override them."""
    live = CallTracker(max_dialouts=2, timeouts=Timeouts(ring=5), retry=RetryPolicy(seed=7))
    path = tmp_path / "run.jsonl"
    with Recorder(path) as recorder:
        recorder.attach(live)
    report = _json(["replay", str(path), "--json"])
    assert report["options"]["max_dialouts"] == 2
    assert report["options"]["timeouts"]["ring"] == 5
    assert report["options"]["retry"]["seed"] == 7
    report = _json(["replay", str(path), "--json", "--max-dialouts", "3", "--timeouts", "ring=9,stop=none"])
    assert (report["options"]["max_dialouts"], report["options"]["timeouts"]) == (
        3,
        {"start": 20.0, "ring": 9.0, "stop": None, "join": 30.0, "max_call": None},
    )
    assert report["notes"] == ["options overridden: max_dialouts, timeouts"]
    assert _json(["replay", str(path), "--json", "--no-timers"])["options"]["timeouts"] is None
    assert _json(["replay", str(path), "--json", "--retry", "none"])["options"]["retry"] is None
    report = _json(["replay", str(path), "--json", "--retry", "seed=3,max_attempts=5", "--timeouts", "1,2,3"])
    assert (report["options"]["retry"]["seed"], report["options"]["retry"]["max_attempts"]) == (3, 5)
    assert report["options"]["timeouts"] == {"start": 1.0, "ring": 2.0, "stop": 3.0, "join": 30.0, "max_call": None}


def _json(argv: list[str]) -> dict[str, Any]:
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-dialouts", "0"],
        ["--max-dialouts", "many"],
        ["--timeouts", "1,2"],
        ["--timeouts", "ring=-1"],
        ["--timeouts", "warp=1"],
        ["--retry", "base_delay=1e400"],
        ["--retry", "max_attempts=0"],
        ["--finished-limit", "-1"],
        ["--max-line-bytes", "0"],
    ],
)
def test_options_out_of_range_are_argparse_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input: an option out of range is a usage error (exit 2), not a traceback."""
    with pytest.raises(SystemExit) as exc:
        main(["replay", "-", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err
    assert "Traceback" not in err


def test_adopt_unknown_dialouts_is_recorded_and_can_be_overridden(tmp_path: Path) -> None:
    """The header carries `adopt_unknown_dialouts`; `--adopt-unknown-dialouts` overrides it on replay."""
    live = CallTracker(adopt_unknown_dialouts="always")
    path = tmp_path / "run.jsonl"
    with Recorder(path) as recorder:
        recorder.attach(live)
        live.handle("dialout-connected", {"sessionId": "dialout-elsewhere"})  # an SDK event for a call placed elsewhere
    assert [s.origin.value for s in live] == ["adopted"]
    report = _json(["replay", str(path), "--json"])
    assert report["options"]["adopt_unknown_dialouts"] == "always"
    assert [(s["origin"], s["state"]) for s in report["sessions"]] == [("adopted", "connected")]
    report = _json(["replay", str(path), "--json", "--adopt-unknown-dialouts", "never"])
    assert report["sessions"] == []
    assert [a["code"] for a in report["anomalies"]] == ["UNKNOWN_SESSION"]


def test_a_version_1_header_means_what_its_dialfsm_did(tmp_path: Path) -> None:
    """Review D6: options a version-1 header could not name are its dialfsm's behaviour, not today's defaults."""
    options: dict[str, Any] = {"max_dialouts": 1, "allow_dialout": True, "finished_limit": None, "retry": None}
    options["timeouts"] = {"start": 20.0, "ring": 60.0, "stop": 10.0}
    body = {"format": "dialfsm.recording", "version": 1, "dialfsm": "0.2.0", "times": "given", "options": options}
    lines = [
        json.dumps({"dialfsm": body}),
        json.dumps({"event": "dialout.connected", "data": {"session_id": "elsewhere"}, "t": 0.0}),
        json.dumps({"event": "dialin-connected", "data": {"sessionId": "caller"}, "t": 1.0}),
        json.dumps({"t": 100.0}),
    ]
    path = tmp_path / "v1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = _json(["replay", str(path), "--json"])
    assert report["options"]["adopt_unknown_dialouts"] == "never"
    assert report["options"]["timeouts"]["join"] is None
    assert [(s["kind"], s["state"]) for s in report["sessions"]] == [("dialin", "connected")]  # no join timeout
    assert [a["code"] for a in report["anomalies"]] == ["UNKNOWN_SESSION"]  # not adopted
    tracker = CallTracker(timeouts=Timeouts(join=None, max_call=None), adopt_unknown_dialouts="never")
    with Recorder(path, append=True) as recorder:
        recorder.attach(tracker)  # the header, as meant, matches this tracker's options
