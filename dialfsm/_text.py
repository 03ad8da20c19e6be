"""Showing values in messages and on terminals: short, cheap, total, and safe to print.

A value in an anomaly's message or a refusal can be anything an SDK or a log
delivered: a 100 MB string, a dict of a million keys, a list nested 5,000
deep, an object whose ``__repr__`` raises, a ``str`` subclass whose
``__len__`` raises.  :func:`short_repr` describes any of them in a few dozen
characters without formatting it whole, and never raises.  :func:`plain_str`
turns a ``str`` subclass into the plain string it holds without calling any of
its methods.  :func:`printable` escapes what a terminal would obey (control
characters, escape sequences, lone surrogates, bidirectional overrides), so text
from a log can never forge a line of a report.  :func:`finite_float` reads a
number from outside (a time, a volume, a timeout) as a finite float, or says
it is none, without trusting the object it is given.
"""

from __future__ import annotations

import reprlib
from typing import Final

__all__ = ["describe_error", "finite_float", "plain_str", "printable", "short_repr", "type_name"]

_UNPRINTABLE: Final = "<unprintable object>"


def finite_float(value: object) -> float | None:
    """``value`` as a finite float, or ``None``: not a number (bools excluded), not finite, or unreadable.

    Never raises: an int too large for a float, or a subclass whose ``__float__`` raises, is ``None``.
    Hot (every input's ``t``): a plain finite float returns at once.
    """
    if type(value) is float and value - value == 0.0:  # finite: inf - inf and nan - nan are nan
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except Exception:  # noqa: BLE001  (an int too large for a float; a subclass whose __float__ raises)
        return None
    return number if type(number) is float and number - number == 0.0 else None


class _Short(reprlib.Repr):
    """A ``repr`` that stops at a few levels and items, so no value is formatted whole."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = self.maxother = 60
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = self.maxdeque = 6

    def repr_int(self, x: int, level: int) -> str:
        """Big ints are described, not formatted (``str`` of a huge int is slow or refused)."""
        return f"<int of {x.bit_length()} bits>" if x.bit_length() > 128 else repr(x)


_SHORT: Final = _Short()


def plain_str(text: str) -> str:
    """The plain ``str`` a ``str`` (or subclass) holds, without calling any method the subclass overrides."""
    return text if type(text) is str else str.__str__(text)


def type_name(value: object) -> str:
    """The name of ``value``'s type, or ``"object"`` if even that cannot be read."""
    try:
        name = type(value).__name__
    except Exception:  # noqa: BLE001  (a hostile metaclass)
        return "object"
    return plain_str(name) if isinstance(name, str) else "object"


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, cheap even for huge values; never raises."""
    try:
        if isinstance(value, str):
            text = plain_str(value)
            if len(text) > limit:
                return repr(text[:limit]) + f"... ({len(text)} chars)"
            return repr(text)
        if type(value) in (dict, list, tuple, set, frozenset) and len(value) >= 50:  # type: ignore[arg-type]
            return f"<{type_name(value)} of {len(value)}>"  # type: ignore[arg-type]
        text = _SHORT.repr(value)
        text = plain_str(text) if isinstance(text, str) else _UNPRINTABLE
    except (Exception, RecursionError):  # noqa: BLE001  (describing a value must never fail)
        return f"<unprintable {type_name(value)}>"
    return text if len(text) <= limit else text[:limit] + "..."


def describe_error(exc: BaseException) -> str:
    """``"TypeName: message"`` for an exception, short, whatever its arguments hold; never raises."""
    try:
        text = str(exc)
        message = short_repr(plain_str(text), 80) if isinstance(text, str) else "?"
    except (Exception, RecursionError):  # noqa: BLE001  (an exception whose str() raises)
        message = "?"
    return f"{type_name(exc)}: {message}"


def printable(text: str) -> str:
    r"""``text`` with every character a terminal would not show as itself escaped (``\x1b``, ``\u202e``...).

    Kept as they are: every printable character and the space.  Escaped:
    control characters (newlines and escape sequences included), format
    characters (bidirectional overrides, zero-width joiners), lone surrogates,
    and other separators, as Python writes them in a string literal.
    """
    text = plain_str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
