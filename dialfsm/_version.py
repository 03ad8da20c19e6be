"""The version of dialfsm, in one place: the package's ``__version__`` and what recordings are stamped with."""

from __future__ import annotations

from typing import Final

__all__ = ["VERSION"]

#: This dialfsm's version (the distribution's, in ``pyproject.toml``).
VERSION: Final = "0.2.0"
