"""Timers, retries, and the effects the tracker asks the bot to carry out.

The core never reads a clock and never performs I/O.  Time arrives with the
inputs (their ``t``) or through :meth:`CallTracker.advance`; when a deadline
passes, the tracker feeds itself a timer input and may queue an *effect*: a
frozen description of something only the bot can do (call Daily's
``stop_dialout``, start a new dial-out attempt).  The bot takes them with
:meth:`CallTracker.take_effects` and performs them.
"""

from __future__ import annotations

import math
import random
from typing import Any, TypeAlias

import attrs

from dialfsm._errors import TRANSIENT_CODES, ErrorCode
from dialfsm._inputs import Ref
from dialfsm._session import Session
from dialfsm._settings import DialoutSettings
from dialfsm._slots import loads_older_pickles
from dialfsm._table import DialoutState, Origin, Outcome, SessionKind
from dialfsm._text import finite_float, short_repr

__all__ = ["Effect", "RetryDialout", "RetryPolicy", "StopCall", "Timeouts", "retry_for"]


def _seconds(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    number = finite_float(value)
    if number is None or not number > 0:
        raise ValueError(
            f"{attribute.name} must be None or a positive, finite number of seconds (use None to disable it), "
            f"got {short_repr(value)}"
        )


@loads_older_pickles
@attrs.frozen(kw_only=True)
class Timeouts:
    """How long a dial-out may stay in a state before the tracker acts (seconds; ``None`` disables one).

    Attributes:
        start: ``connecting`` with no completion and no event: the start is taken as failed
            (``error`` / ``rejected``, error code ``TEMPORARILY_NOT_AVAILABLE``).
            daily-python's own start timeout is 20 s.
        ring: ``connected`` (ringing) with no answer: the tracker moves the call to
            ``stopping`` and asks the bot to stop it (a :class:`StopCall` effect); it ends
            ``not_answered``.  Twilio's no-answer default is 60 s.
        stop: ``stopping`` with no ``dialout-stopped``: taken as ``stopped``.
        join: A dial-in ``connected`` whose caller never joins (no ``participant-joined``,
            media never flowing): ``error`` / ``failed``.
        max_call: Opt-in (``None`` by default: real calls are long): a bound on a whole
            call from its start.  An answered dial-out is then stopped like a ring timeout
            (the bot is asked to hang up); a joined dial-in, which the bot cannot hang up, is
            taken as stopped.

    Every state before a call is answered (or joined) arms one of these by default, so a call
    Daily stops talking about still ends; the timers of a dial-out started elsewhere (adopted)
    or of a transfer's new leg never run.

    """

    start: float | None = attrs.field(default=20.0, validator=_seconds)
    ring: float | None = attrs.field(default=60.0, validator=_seconds)
    stop: float | None = attrs.field(default=10.0, validator=_seconds)
    join: float | None = attrs.field(default=30.0, validator=_seconds)
    max_call: float | None = attrs.field(default=None, validator=_seconds)


def _positive_int(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int >= 1, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    number = finite_float(value)
    if number is None or not number >= 0:
        raise ValueError(
            f"{attribute.name} must be a finite number >= 0 (within a float's range), got {short_repr(value)}"
        )


def _seed(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value.bit_length() > 4096):
        raise ValueError(f"seed must be None or an int of at most 4096 bits, got {short_repr(value)}")


def _error_codes(value: object) -> frozenset[ErrorCode]:
    """``retry_on``: error codes (members or their names), as a frozenset of :class:`ErrorCode`."""
    if isinstance(value, str):
        raise ValueError(f"retry_on must be a collection of error codes, not a string: {short_repr(value)}")
    try:
        return frozenset(ErrorCode(code) for code in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"retry_on must hold error codes ({', '.join(ErrorCode)}): {exc}") from None


@loads_older_pickles
@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When a failed dial-out is worth another attempt, and after how long.

    A dial-out is retried when it ends ``rejected`` or ``failed`` (never after it
    was answered), its ``error_code`` is in ``retry_on`` (by default the transient
    codes: ``TEMPORARILY_NOT_AVAILABLE`` and ``UNKNOWN``; never ``NOT_ALLOWED``,
    ``NOT_IN_CALL``, ``DIALOUT_IN_PROGRESS``, ``INVALID_SETTINGS``, ``BUSY`` or ``DECLINED``),
    and fewer than ``max_attempts`` attempts were made.  The delay before attempt
    ``n + 1`` is ``min(max_delay, base_delay * multiplier ** (n - 1))``, times a
    random factor in ``[1 - jitter, 1 + jitter]`` drawn from a generator seeded
    with ``seed`` (deterministic under test).

    Attributes:
        max_attempts: Attempts in all, the first included.
        base_delay: Seconds before the second attempt (before jitter).
        multiplier: Growth of the delay per attempt.
        max_delay: Cap on the delay, before jitter.
        jitter: Relative spread of the random factor (0 disables it).
        seed: Seed of the jitter's random generator.
        retry_on: The error codes taken as transient.

    """

    max_attempts: int = attrs.field(default=3, validator=_positive_int)
    base_delay: float = attrs.field(default=1.0, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, validator=_non_negative)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.1, validator=_non_negative)
    seed: int | None = attrs.field(default=None, validator=_seed)
    retry_on: frozenset[ErrorCode] = attrs.field(default=TRANSIENT_CODES, converter=_error_codes)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` is the one that failed); never raises.

        Computed in floats (the options were checked to be finite floats); a
        growth that overflows is capped at ``max_delay``, and the result is finite.
        """
        cap = float(self.max_delay)
        try:
            base = min(cap, float(self.base_delay) * float(self.multiplier) ** min(attempt - 1, 1024))
        except OverflowError:
            base = cap
        if self.jitter:
            base *= 1 + float(self.jitter) * (2 * rng.random() - 1)
        if not math.isfinite(base):
            base = cap
        return max(0.0, base)


@loads_older_pickles
@attrs.frozen(kw_only=True)
class StopCall:
    """The tracker asks the bot to stop a dial-out at Daily (the ring timeout passed).

    Call Daily's ``stop_dialout(session_id)`` and report its completion with
    ``tracker.stop_completed(session, error, ref=effect.ref)``; do not call
    ``tracker.stop_dialout`` (the tracker already counts the stop as requested).
    If the call ended before you could stop it, ``tracker.withdraw(effect)``
    instead: no completion will come.  The adapters' ``perform`` does all this.
    """

    session: Session
    session_id: str | None
    reason: str
    #: The ref of the stop the tracker registered, to report its completion with: a
    #: :class:`~dialfsm.CallKey` (``str`` in snapshots of dialfsm 0.1.0).
    ref: Ref | None = None
    #: Send it although the session has ended: a start that completed after its watchdog
    #: gave up on it may be ringing (``reason="start_timeout"``).
    after_end: bool = False


@loads_older_pickles
@attrs.frozen(kw_only=True)
class RetryDialout:
    """The tracker suggests another attempt of a failed dial-out.

    At ``not_before`` (or after ``delay`` seconds when no time is known), call
    ``tracker.start_dialout(settings, retry_of=previous)`` and then Daily's
    ``start_dialout``; the new session is linked to ``previous`` (``attempt``).
    """

    previous: Session
    settings: DialoutSettings
    attempt: int
    delay: float
    not_before: float | None

    def seconds_until_due(self, now: float | None) -> float:
        """How long to wait before the retry, ``now`` read from the inputs' clock (``None``: unknown).

        ``not_before - now`` (never negative) when both are known, else :attr:`delay`.
        """
        if self.not_before is None or now is None:
            return self.delay
        return max(0.0, self.not_before - now)


#: Anything the tracker may ask the bot to do.
Effect: TypeAlias = StopCall | RetryDialout


def retry_for(session: Session, policy: RetryPolicy, rng: random.Random, now: float | None) -> RetryDialout | None:
    """The retry ``policy`` suggests for ``session``, which just ended; ``None`` if it suggests none.

    A dial-out this tracker's bot placed is retried when it ended ``rejected`` or ``failed`` with an error code in
    ``policy.retry_on``, was never answered, was not hung up by the bot (or the ring
    timeout on its behalf: no redial after a hang-up), has settings to place it again,
    and made fewer than ``policy.max_attempts`` attempts.  Draws from ``rng`` only then.
    """
    if (
        session.kind is not SessionKind.DIALOUT
        or session.origin is not Origin.BOT
        or session.outcome not in (Outcome.REJECTED, Outcome.FAILED)
        or session.error_code not in policy.retry_on
        or session.attempt >= policy.max_attempts
        or session.dialout_settings is None
        or session.answered
        or DialoutState.STOPPING in session.states
    ):
        return None
    delay = policy.delay(session.attempt, rng)
    not_before = None if now is None else now + delay
    return RetryDialout(
        previous=session,
        settings=session.dialout_settings,
        attempt=session.attempt + 1,
        delay=delay,
        not_before=not_before if not_before is None or math.isfinite(not_before) else None,
    )
