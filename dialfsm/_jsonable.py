"""Any value an input can carry, as a JSON value that reads back the same, or with a note saying what was lost.

A recorder writes each input as one JSON line.  Inputs come from SDKs,
webhooks and bots, and can hold what JSON cannot: lone surrogates, keys that
are not strings, ints of thousands of digits, payloads nested a thousand levels
deep, cycles, sets, bytes, SDK objects, subclasses of ``str`` whose methods
misbehave.  :func:`to_jsonable` turns any of them into a JSON value that the
standard library writes and reads back, never raising:

* what JSON holds exactly is kept (a lone surrogate is a string JSON escapes);
* anything else is replaced by what is closest (a set by a sorted list, bytes
  by their text, an object by its ``to_daily()`` or its short repr, a key by a
  string, made unique), and the reason is returned, so the recorder can write
  the input the tracker read instead (see :mod:`dialfsm.recording`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, Final

import attrs

from dialfsm._text import plain_str, short_repr, type_name

__all__ = ["MAX_DEPTH", "MAX_INT_BITS", "to_jsonable"]

#: How deeply a written value may nest (the standard library's reader recurses; 1,000 levels break it).
MAX_DEPTH: Final = 64
#: The largest int written as a number (CPython reads at most 4,300 digits back): about 4,000 digits.
MAX_INT_BITS: Final = 13_000
_REPR_LIMIT: Final = 1000


def to_jsonable(value: object) -> tuple[Any, list[str]]:
    """``(JSON value, what was lost)``: the list is empty when the value reads back exactly."""
    lost: list[str] = []
    return _convert(value, lost, 0, set()), lost


def _convert(value: object, lost: list[str], depth: int, path: set[int]) -> Any:
    kind = type(value)
    if value is None or kind in (bool, str, float):
        return value
    if kind is int:
        return value if value.bit_length() <= MAX_INT_BITS else _lose(lost, f"<int of {value.bit_length()} bits>")  # type: ignore[attr-defined]
    if depth >= MAX_DEPTH:
        return _lose(lost, f"<{type_name(value)} nested deeper than {MAX_DEPTH}>")
    if id(value) in path:
        return _lose(lost, f"<circular {type_name(value)}>")
    path.add(id(value))
    try:
        return _container(value, lost, depth, path)
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (a hostile object: say so, never raise)
        return _lose(lost, f"<unreadable {type_name(value)}: {type_name(exc)}>")
    finally:
        path.discard(id(value))


def _container(value: object, lost: list[str], depth: int, path: set[int]) -> Any:
    if isinstance(value, Mapping):
        return _mapping(value, lost, depth, path)
    if type(value) in (list, tuple):
        return [_convert(item, lost, depth + 1, path) for item in value]  # type: ignore[attr-defined]
    if isinstance(value, (set, frozenset)):
        items = [_convert(item, lost, depth + 1, path) for item in value]
        lost.append(f"a value of type {type_name(value)} (written as a sorted list)")
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, (bytes, bytearray, memoryview)):
        lost.append(f"{type_name(value)} (written as text)")
        return bytes(value).decode("utf-8", "backslashreplace")
    return _other(value, lost, depth, path)


def _other(value: object, lost: list[str], depth: int, path: set[int]) -> Any:
    if isinstance(value, bool):
        return _lose(lost, f"<{type_name(value)}>") if type(value) is not bool else value
    if isinstance(value, str):
        lost.append(f"a {type_name(value)} (written as a str)")
        return plain_str(value)
    if isinstance(value, int):
        lost.append(f"an {type_name(value)} (written as an int)")
        return _convert(int.__add__(value, 0), lost, depth, path)
    if isinstance(value, float):
        lost.append(f"a {type_name(value)} (written as a float)")
        return float.__add__(value, 0.0)
    if isinstance(value, (list, tuple)):
        lost.append(f"a {type_name(value)} (written as a list)")
        return [_convert(item, lost, depth + 1, path) for item in list(value)]
    if isinstance(value, enum.Enum):
        lost.append(f"an enum {type_name(value)} (written as its value)")
        return _convert(value.value, lost, depth + 1, path)
    to_daily = getattr(value, "to_daily", None)
    if callable(to_daily):
        lost.append(f"a {type_name(value)} (written as its to_daily())")
        return _convert(to_daily(), lost, depth + 1, path)
    cls: Any = type(value)
    if attrs.has(cls):
        lost.append(f"a {type_name(value)} (written as its fields)")
        return {f.name: _convert(getattr(value, f.name), lost, depth + 1, path) for f in attrs.fields(cls)}
    return _lose(lost, short_repr(value, _REPR_LIMIT))


def _mapping(value: Mapping[Any, Any], lost: list[str], depth: int, path: set[int]) -> dict[str, Any]:
    if type(value) is not dict:
        lost.append(f"a {type_name(value)} (written as an object)")
    out: dict[str, Any] = {}
    for key, item in list(value.items()):
        name = _key(key, lost)
        if name in out:  # two keys written alike (1 and "1"): never merge them
            name = _unique(name, out)
            lost.append(f"key {short_repr(key)} (renamed {short_repr(name)}: another key is written alike)")
        out[name] = _convert(item, lost, depth + 1, path)
    return out


def _key(key: object, lost: list[str]) -> str:
    if type(key) is str:
        return key
    if isinstance(key, str):
        lost.append(f"a key of type {type_name(key)} (written as a str)")
        return plain_str(key)
    lost.append(f"a key of type {type_name(key)} (written as a string)")
    if type(key) is float or (type(key) is int and key.bit_length() <= 64):
        return json.dumps(key)  # what json itself writes for it
    return short_repr(key)


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def _lose(lost: list[str], text: str) -> str:
    lost.append(text)
    return text
