"""dialfsm's Hypothesis toolkit: fuzz a bot's call handling over every event ordering Daily can deliver.

Install with the ``testing`` extra (``pip install "dialfsm[testing]"``); this
package imports Hypothesis, the rest of dialfsm does not.

* :mod:`dialfsm.testing.strategies`: Daily's events in every dialect, call
  settings (valid, and invalid by exactly one rule), whole sequences that
  follow the tables (:func:`machine_sequences`) or spoil them
  (:func:`adversarial_sequences`), all as replay-log records.
* :class:`CallFlowMachine`: a ``RuleBasedStateMachine`` to subclass; it plays
  Daily against your bot's handlers and checks your invariants after every step.
* :func:`shortest_paths`, :func:`transition_cover`, :func:`pair_cover`: XState-style
  path generation over the tables, as replay logs (``dialfsm paths``).
* :class:`Coverage`: state, transition and transition-pair coverage of a run.
* :func:`feed`, :func:`to_jsonl`: feed records to a tracker; write them out as a replay log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dialfsm._coverage import Coverage, KindCoverage, transition_pairs, transition_rows
from dialfsm._inputs import TimerExpired
from dialfsm._paths import TablePath, pair_cover, path_records, shortest_paths, state_cover, transition_cover
from dialfsm._replay import feed_record
from dialfsm._session import JournalEntry
from dialfsm._tracker import CallTracker
from dialfsm.testing import strategies
from dialfsm.testing._render import DIALECTS, Dialect, render_event
from dialfsm.testing._room import is_tick
from dialfsm.testing._stateful import CallFlowMachine, FakeDaily
from dialfsm.testing.strategies import (
    InvalidSettingsCase,
    adversarial_sequences,
    daily_events,
    dialin_events,
    dialout_events,
    dialout_settings,
    dtmf_settings,
    invalid_dialout_settings,
    invalid_dtmf_settings,
    json_values,
    machine_sequences,
    sip_call_transfer_settings,
    sip_refer_settings,
    typed_events,
)

__all__ = [
    "DIALECTS",
    "CallFlowMachine",
    "Coverage",
    "Dialect",
    "FakeDaily",
    "InvalidSettingsCase",
    "KindCoverage",
    "TablePath",
    "adversarial_sequences",
    "daily_events",
    "dialin_events",
    "dialout_events",
    "dialout_settings",
    "dtmf_settings",
    "feed",
    "inputs_journaled",
    "invalid_dialout_settings",
    "invalid_dtmf_settings",
    "is_tick",
    "json_values",
    "machine_sequences",
    "pair_cover",
    "path_records",
    "render_event",
    "replay",
    "shortest_paths",
    "sip_call_transfer_settings",
    "sip_refer_settings",
    "state_cover",
    "strategies",
    "to_jsonl",
    "transition_cover",
    "transition_pairs",
    "transition_rows",
    "typed_events",
]


def feed(tracker: CallTracker, record: object) -> JournalEntry | None:
    """Feed one replay-log record (a decoded JSON line) to ``tracker``, as ``dialfsm replay`` would.

    Never raises: a refused call is journaled as refused, anything malformed as
    an anomaly.  Returns the entry it produced; for a clock tick ``{"t": now}``,
    the last timer it fired, or ``None``.
    """
    return feed_record(tracker, record)


def replay(records: Iterable[object], tracker: CallTracker | None = None) -> CallTracker:
    """Feed every record to ``tracker`` (a fresh ``CallTracker()`` by default) and return it."""
    tracker = CallTracker() if tracker is None else tracker
    for record in records:
        feed(tracker, record)
    return tracker


def inputs_journaled(tracker: CallTracker) -> int:
    """How many of the tracker's journal entries are inputs (every entry but the timers that fired)."""
    return sum(1 for entry in tracker.journal if not isinstance(entry.input, TimerExpired))


def to_jsonl(records: Iterable[Any]) -> str:
    """Records as a JSON Lines replay log (one line each, newline-terminated)."""
    return "".join(json.dumps(record) + "\n" for record in records)
