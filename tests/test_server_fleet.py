"""The fleet test: 4 worker processes on one real Redis, one of them killed mid-run (see tests/fleet.py).

CI runs the reduced run (about 5,000 deliveries over 50 rooms).  The full run
(50,000 deliveries over 500 rooms) is marked ``slow``: ``DIALFSM_RUN_SLOW=1``
runs it, and ``DIALFSM_FLEET_FIGURES=path.json`` saves its figures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fleet import Figures, run_fleet, send_plan
from tests.server_support import flush_redis, redis_url

__all__ = ["redis_url"]  # the fixture, used by name


def check(figures: Figures) -> None:
    assert figures.mismatched_rooms == 0, "a room's stored state differs from a replay of its stream"
    assert figures.missing == 0, "a delivery answered 200 is in no stream"
    assert figures.repeated == 0, "a delivery was applied twice, or to two rooms"
    assert figures.in_streams == figures.deliveries
    assert sum(figures.answered.values()) == figures.deliveries + figures.redeliveries  # every send answered once
    assert figures.answered["applied"] <= figures.deliveries  # one the killed worker stored is a duplicate later
    assert figures.answered["duplicate"] >= figures.redeliveries
    assert figures.killed_worker_answered > 0, "the killed worker had taken deliveries before it died"


def test_the_plan_has_the_shapes_redeliveries_and_shuffles_asked_for() -> None:
    plan, copies = send_plan(rooms=5, per_room=100, redelivered=0.10, seed=1)
    assert copies == 50
    assert len(plan) == 550
    types = {d["type"].split(".")[0] for d in plan}
    assert types >= {"dialin", "dialout", "calltransfer", "participant"}
    room = [d for d in plan if d["payload"]["room"] == "room-0000"]
    stamps = [int(d["payload"]["timestamp"]) for d in room]
    assert stamps != sorted(stamps)  # shuffled within the room


def test_a_fleet_of_four_workers_with_one_killed_agrees_with_a_replay(redis_url: str, tmp_path: Path) -> None:
    flush_redis(redis_url)
    figures = run_fleet(redis_url, tmp_path, rooms=50, per_room=100)
    print(json.dumps(figures.as_dict()))  # noqa: T201  (shown with -s)
    check(figures)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("DIALFSM_RUN_SLOW") != "1", reason="the full fleet run: set DIALFSM_RUN_SLOW=1")
def test_the_full_fleet_run(redis_url: str, tmp_path: Path) -> None:
    flush_redis(redis_url)
    figures = run_fleet(redis_url, tmp_path, rooms=500, per_room=100)
    out = os.environ.get("DIALFSM_FLEET_FIGURES")
    if out:
        Path(out).write_text(json.dumps(figures.as_dict(), indent=2), encoding="utf-8")
    print(json.dumps(figures.as_dict()))  # noqa: T201  (shown with -s)
    check(figures)
