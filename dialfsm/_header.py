"""The first line of a recording: what wrote it, and the tracker options it was made with.

A recording (:class:`~dialfsm.Recorder`) starts with one header line, an
object with one reserved key::

    {"dialfsm": {"format": "dialfsm.recording", "version": 2, "dialfsm": "0.2.0",
                 "times": "given", "redacted": true,
                 "options": {"max_dialouts": 2, "allow_dialout": true, "finished_limit": null,
                             "timeouts": {"start": 20.0, "ring": 5, "stop": 10.0, "join": 30.0,
                                          "max_call": null},
                             "retry": null, "adopt_unknown_dialouts": "webhook"}}}

* ``version``: the recording format (this module reads :data:`VERSION` and
  older); a newer one is an error, since its lines may mean something else.
  A version-1 header (written before the options of real calls existed) means
  ``adopt_unknown_dialouts="never"`` and no ``join`` or ``max_call`` timer
  unless it says otherwise: what its dialfsm did, not today's defaults.
* ``dialfsm``: the version that wrote it (for people; not checked).
* ``options``: the tracker's behaviour options (:mod:`dialfsm._options`), from
  which replay builds its tracker.  An option this dialfsm does not know is an
  error, not ignored: it may have changed what the live tracker concluded.
* ``times``: ``"given"``: a line carries ``"t"`` exactly when the bot gave the
  input a time, so a bot that passes no times arms no timer on replay either;
  the recorder's own clock is written as ``"at"``, which replay never reads.
* ``redacted``: whether the recorder redacted what it wrote.

Only the first line may be a header: a ``{"dialfsm": ...}`` line anywhere
else is a ``MALFORMED_INPUT`` anomaly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from dialfsm._errors import ReplayError
from dialfsm._options import OptionsError, behaviour_options, tracker_options
from dialfsm._text import short_repr
from dialfsm._version import VERSION as DIALFSM_VERSION

__all__ = [
    "FORMAT",
    "HEADER_KEY",
    "TIMES",
    "VERSION",
    "Header",
    "HeaderError",
    "header_record",
    "is_header",
    "read_header",
]

#: The reserved key of a header line.
HEADER_KEY: Final = "dialfsm"
#: The ``format`` of a recording's header.
FORMAT: Final = "dialfsm.recording"
#: The recording format version this dialfsm writes and the newest it reads.  Version 2 added the
#: options of real calls (``adopt_unknown_dialouts``, ``Timeouts.join`` and ``max_call``).
VERSION: Final = 2
#: What a version-1 header means by the options it could not know: the behaviour of the dialfsm
#: that wrote it (no adoption, no join or call timer), not this version's defaults.
_V1_MEANING: Final[Mapping[str, Any]] = {"adopt_unknown_dialouts": "never"}
_V1_TIMEOUTS_MEANING: Final[Mapping[str, Any]] = {"join": None, "max_call": None}
#: What ``"t"`` on a line means in this format: the time the bot gave the input, present only then.
TIMES: Final = "given"


class HeaderError(ReplayError):
    """A recording's header that is not valid, or of a format version this dialfsm cannot read."""


@attrs.frozen(kw_only=True)
class Header:
    """A recording's header, read and checked.

    Attributes:
        version: The recording format version.
        dialfsm: The dialfsm version that wrote it.
        options: The tracker's behaviour options, as JSON (checked against this dialfsm's tracker).
        times: What ``"t"`` means on its lines (``"given"``).
        redacted: Whether the recorder redacted its lines (``None``: not said).

    """

    version: int
    dialfsm: str
    options: Mapping[str, Any]
    times: str
    redacted: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The header's object (the value of its reserved key)."""
        return {
            "format": FORMAT,
            "version": self.version,
            "dialfsm": self.dialfsm,
            "times": self.times,
            "redacted": self.redacted,
            "options": dict(self.options),
        }


def header_record(tracker: object, *, redacted: bool) -> dict[str, Any]:
    """The header line of a recording of ``tracker`` (a :class:`~dialfsm.CallTracker`)."""
    header = Header(
        version=VERSION, dialfsm=DIALFSM_VERSION, options=behaviour_options(tracker), times=TIMES, redacted=redacted
    )
    return {HEADER_KEY: header.to_json()}


def _as_version_1_meant(options: dict[str, Any]) -> dict[str, Any]:
    """A version-1 header's options with the ones it could not name as its dialfsm behaved."""
    meant = {**_V1_MEANING, **options}
    timeouts = meant.get("timeouts")
    if isinstance(timeouts, dict):
        meant["timeouts"] = {**_V1_TIMEOUTS_MEANING, **timeouts}
    return meant


def is_header(record: object) -> bool:
    """Whether a decoded line is meant as a header (an object with the reserved key)."""
    return isinstance(record, dict) and HEADER_KEY in record


def read_header(record: object, tracker_class: type) -> Header:
    """The :class:`Header` a decoded first line holds, checked against ``tracker_class``'s options.

    Raises:
        HeaderError: not a header object, a newer format version, a field of the
            wrong type, or options ``tracker_class`` does not take or refuses.

    """
    if not isinstance(record, dict) or set(record) != {HEADER_KEY} or not isinstance(record[HEADER_KEY], dict):
        raise HeaderError(f"the header must be {{{HEADER_KEY!r}: {{...}}}} and nothing else, got {short_repr(record)}")
    body = record[HEADER_KEY]
    if body.get("format") != FORMAT:
        raise HeaderError(f"the header's format must be {FORMAT!r}, got {short_repr(body.get('format'))}")
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise HeaderError(f"the header's version must be an int >= 1, got {short_repr(version)}")
    if version > VERSION:
        raise HeaderError(
            f"the recording's format version {short_repr(version)} is newer than this dialfsm reads ({VERSION}): "
            f"it was written by dialfsm {short_repr(body.get('dialfsm'))}; upgrade dialfsm to replay it"
        )
    times, redacted, options = body.get("times"), body.get("redacted"), body.get("options")
    if times != TIMES:
        raise HeaderError(f"the header's times must be {TIMES!r}, got {short_repr(times)}")
    if redacted is not None and not isinstance(redacted, bool):
        raise HeaderError(f"the header's redacted must be a bool or null, got {short_repr(redacted)}")
    if not isinstance(options, dict):
        raise HeaderError(f"the header's options must be an object, got {short_repr(options)}")
    if version == 1:
        options = _as_version_1_meant(options)
    try:
        tracker_options(tracker_class, options)
    except OptionsError as exc:
        raise HeaderError(
            f"the header's options: {exc} (written by dialfsm {short_repr(body.get('dialfsm'))})"
        ) from None
    written_by = body.get("dialfsm")
    return Header(
        version=version,
        dialfsm=written_by if isinstance(written_by, str) else "?",
        options=options,
        times=times,
        redacted=redacted,
    )
