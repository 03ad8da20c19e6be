"""A tracker's options that change what it concludes: written as JSON (a recording's header), and read back.

Two functions carry every such option, so that a new option of
:class:`~dialfsm.CallTracker` is recorded and replayed without touching
anything else:

* :func:`behaviour_options` reads them from a tracker: every keyword parameter
  of the tracker's class except :data:`MEMORY_OPTIONS`, read from the attribute
  of the same name (:data:`ATTRIBUTE_OF` lists the one that differs), and
  written as JSON (:func:`to_json`: an attrs class such as
  :class:`~dialfsm.Timeouts` as an object of *all* its fields, an enum as its
  value, a set as a sorted list);
* :func:`tracker_options` turns such JSON back into the keyword arguments of
  the tracker's class, by each parameter's annotation (``Timeouts | None``
  builds a :class:`~dialfsm.Timeouts` from an object; its converters and
  validators check the values).

**What is a behaviour option.**  ``max_dialouts``, ``allow_dialout``,
``timeouts``, ``retry`` (the policy and its seed), ``finished_limit`` (it
decides when a late event meets a forgotten session: ``UNKNOWN_SESSION``), and
any option a later version adds (``adopt_unknown_dialouts``).  Not:
``engine`` (both engines conclude the same, which the test suite checks),
``journal_limit`` and ``keep_history`` (what is *kept*, not what is decided):
a replay chooses its own.

**Unknown names are errors** (:class:`OptionsError`), not ignored: an option
this dialfsm does not know may change what the recording's tracker concluded,
so replaying without it would silently give another result.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Mapping
from typing import Any, Final

import attrs

from dialfsm._errors import DialfsmError
from dialfsm._text import short_repr

__all__ = [
    "ATTRIBUTE_OF",
    "MEMORY_OPTIONS",
    "OptionsError",
    "behaviour_option_names",
    "behaviour_options",
    "merge_options",
    "to_json",
    "tracker_options",
]

#: Options of the tracker that bound its memory and change none of its conclusions.
MEMORY_OPTIONS: Final = frozenset({"engine", "journal_limit", "keep_history"})
#: The options whose tracker attribute has another name than the option.
ATTRIBUTE_OF: Final = {"retry": "retry_policy"}


class OptionsError(DialfsmError, ValueError):
    """Options that name no option of the tracker, or hold values it refuses."""


def behaviour_option_names(cls: type) -> tuple[str, ...]:
    """The keyword options of tracker class ``cls`` that change behaviour, in signature order."""
    parameters = inspect.signature(cls).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in MEMORY_OPTIONS)


def behaviour_options(tracker: object) -> dict[str, Any]:
    """The behaviour options of ``tracker`` (a :class:`~dialfsm.CallTracker`), as JSON-able data."""
    return {
        name: to_json(getattr(tracker, ATTRIBUTE_OF.get(name, name))) for name in behaviour_option_names(type(tracker))
    }


def to_json(value: object) -> Any:
    """An option's value as JSON-able data (attrs classes as objects of all their fields)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    cls: Any = type(value)
    if attrs.has(cls):
        return {field.name: to_json(getattr(value, field.name)) for field in attrs.fields(cls)}
    if isinstance(value, (set, frozenset)):
        return sorted((to_json(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    raise TypeError(f"cannot write option value {short_repr(value)} as JSON")


def tracker_options(cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of tracker class ``cls`` that ``options`` (from :func:`behaviour_options`) describe.

    Raises:
        OptionsError: an option ``cls`` does not take (or a memory option), a
            value of the wrong shape, or one the option's class refuses.

    """
    known = behaviour_option_names(cls)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in options.items():
        if name not in known:
            raise OptionsError(f"unknown option {short_repr(name)} (this dialfsm knows {', '.join(known)})")
        kwargs[name] = _from_json(name, value, hints.get(name))
    try:
        cls(**kwargs)  # every check the tracker makes of its options, made now
    except (TypeError, ValueError) as exc:
        raise OptionsError(f"invalid options: {exc}") from None
    return kwargs


def _hints(cls: type) -> dict[str, Any]:
    """The annotations of ``cls``'s constructor, resolved."""
    init: Any = cls.__init__  # type: ignore[misc]
    return typing.get_type_hints(init)


def _from_json(name: str, value: Any, hint: object) -> Any:
    """The value of option ``name`` from JSON: an attrs class its annotation names is built from an object."""
    if value is None:
        return None
    classes = [c for c in (typing.get_args(hint) or (hint,)) if isinstance(c, type) and attrs.has(c)]
    if not classes:
        return value
    if not isinstance(value, Mapping):
        raise OptionsError(f"option {name} must be an object or null, got {short_repr(value)}")
    cls = classes[0]
    fields = {field.name for field in attrs.fields(cls)}
    unknown = sorted(str(key) for key in value if key not in fields)
    if unknown:
        raise OptionsError(
            f"option {name}: unknown field {short_repr(unknown[0])} (known: {', '.join(sorted(fields))})"
        )
    try:
        return cls(**value)
    except (TypeError, ValueError) as exc:
        raise OptionsError(f"option {name}: {exc}") from None


def merge_options(cls: type, base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` options (JSON) with ``patch`` applied: a field object is merged into the option's object.

    ``{"timeouts": {"ring": 5}}`` changes only the ring timeout of ``base``'s
    timeouts (or of the class's defaults when ``base`` disables them); ``None``
    replaces an option whole (``{"timeouts": None}``: no timers).
    """
    merged = dict(base)
    hints = _hints(cls)
    defaults = {p.name: p.default for p in inspect.signature(cls).parameters.values()}
    for name, value in patch.items():
        if isinstance(value, Mapping):
            current = merged.get(name)
            if not isinstance(current, Mapping):
                classes = [c for c in typing.get_args(hints.get(name)) or (hints.get(name),) if isinstance(c, type)]
                default = defaults.get(name)
                current = to_json(default if default is not None else next(c for c in classes if attrs.has(c))())
            merged[name] = {**current, **value}
        else:
            merged[name] = value
    return merged
