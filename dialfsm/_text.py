"""Showing values in messages: short, cheap, whatever the value is.

A value in an anomaly's message or a refusal can be anything an SDK or a log
delivered: a 100 MB string, a dict of a million keys.  :func:`short_repr`
describes it in a few dozen characters without formatting it whole.
"""

from __future__ import annotations

__all__ = ["short_repr"]


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, cheap even for huge strings."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} chars)"
    text = (
        repr(value)
        if not isinstance(value, (dict, list)) or len(value) < 50
        else f"<{type(value).__name__} of {len(value)}>"
    )
    return text if len(text) <= limit else text[:limit] + "..."
