"""Building frozen attrs objects without their ``__init__``: the one place that does it.

The hot parsers and the journal's decoder build typed events many times a
second.  A frozen attrs class's ``__init__`` sets each field with
``object.__setattr__`` (frozen classes forbid plain assignment), which costs
more than the rest of building the event.  The builders here set the fields
through the slot descriptors instead: the object equals ``cls(**fields)``
*provided* the class runs no code when it is built.  So every builder first
checks, when it is made (at import of the module that makes it), that the
class is slotted and has no validator, converter, ``on_setattr`` hook or
``__attrs_post_init__``; a class that grows one fails the import loudly
instead of building objects its ``__init__`` would have refused.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import attrs

__all__ = [
    "SlotBypassError",
    "fields_getter",
    "fields_maker",
    "loads_older_pickles",
    "one_field_maker",
    "slot_setters",
    "sparse_maker",
]


class SlotBypassError(TypeError):
    """A class the builders would bypass runs code in its ``__init__`` (or is not slotted)."""


def _check(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    if "__slots__" not in cls.__dict__:
        raise SlotBypassError(f"{cls.__name__} is not slotted: its fields cannot be set through slots")
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        raise SlotBypassError(f"{cls.__name__} has an init hook the builders would skip")
    for field in fields:
        if field.validator is not None or field.converter is not None or field.on_setattr is not None:
            raise SlotBypassError(f"{cls.__name__}.{field.name} has a validator, converter or on_setattr hook")
    return fields


def slot_setters(cls: type[Any]) -> tuple[Callable[[object, object], None], ...]:
    """The slot descriptors' setters of a frozen, slotted attrs class, in field order (checked first)."""
    return tuple(cls.__dict__[f.name].__set__ for f in _check(cls))


def one_field_maker(cls: type[Any]) -> Callable[[object], Any]:
    """A fast constructor for a one-field class: ``make(value) == cls(field=value)``."""
    (set_field,) = slot_setters(cls)
    new = object.__new__

    def make(value: object) -> Any:
        obj = new(cls)
        set_field(obj, value)
        return obj

    return make


def fields_maker(cls: type[Any]) -> Callable[[tuple[Any, ...]], object]:
    """A constructor from the field values in order: ``make(values) == cls(**dict(zip(names, values)))``."""
    setters = slot_setters(cls)
    defaults = tuple(f.default for f in attrs.fields(cls))
    unrolled = _UNROLLED.get(len(setters))  # the common sizes, unrolled: a loop costs more than the rest
    if unrolled is not None:
        return unrolled(cls, setters, defaults)
    new = object.__new__

    def make(values: tuple[Any, ...]) -> object:
        obj = new(cls)
        values = values + defaults[len(values) :]  # a row kept before the last fields existed
        for set_field, value in zip(setters, values, strict=True):
            set_field(obj, value)
        return obj

    return make


Setters = tuple[Callable[[object, object], None], ...]


def _two(cls: type[Any], setters: Setters, defaults: tuple[Any, ...]) -> Callable[[tuple[Any, ...]], object]:
    first, second = setters
    new = object.__new__

    def make_two(values: tuple[Any, ...]) -> object:
        obj = new(cls)
        first(obj, values[0])
        second(obj, values[1])
        return obj

    return make_two


def _three(cls: type[Any], setters: Setters, defaults: tuple[Any, ...]) -> Callable[[tuple[Any, ...]], object]:
    """Most events (a dial-out's: session id, call id, info)."""
    one, two, three = setters
    new = object.__new__

    def make_three(values: tuple[Any, ...]) -> object:
        obj = new(cls)
        one(obj, values[0])
        two(obj, values[1])
        three(obj, values[2] if len(values) > 2 else None)  # a row kept before the third field existed
        return obj

    return make_three


def _four(cls: type[Any], setters: Setters, defaults: tuple[Any, ...]) -> Callable[[tuple[Any, ...]], object]:
    """A completion (call, session id, error, ref)."""
    first, second, third, fourth = setters
    new = object.__new__

    def make_four(values: tuple[Any, ...]) -> object:
        if len(values) < 4:  # a row kept before the last fields existed
            values = values + defaults[len(values) :]
        obj = new(cls)
        first(obj, values[0])
        second(obj, values[1])
        third(obj, values[2])
        fourth(obj, values[3])
        return obj

    return make_four


_UNROLLED: dict[int, Callable[[type[Any], Setters, tuple[Any, ...]], Callable[[tuple[Any, ...]], object]]] = {
    2: _two,
    3: _three,
    4: _four,
}


def sparse_maker(cls: type[Any], name: str) -> Callable[[object], Any]:
    """A fast constructor setting one field of many: ``make(value) == cls(name=value)``, the others ``None``.

    For a class whose other fields all default to ``None`` and have no validator;
    a converter is allowed on them only if it leaves ``None`` as it is (checked
    here, by calling it).  The field set must have neither validator nor converter.
    """
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        raise SlotBypassError(f"{cls.__name__} is not slotted, or has an init hook the builder would skip")
    for field in fields:
        if field.validator is not None or field.on_setattr is not None:
            raise SlotBypassError(f"{cls.__name__}.{field.name} has a validator or on_setattr hook")
        if field.name == name and field.converter is not None:
            raise SlotBypassError(f"{cls.__name__}.{name} has a converter the builder would skip")
        converts = field.converter is not None and field.converter(None) is not None
        if field.name != name and (field.default is not None or converts):
            raise SlotBypassError(f"{cls.__name__}.{field.name} is not None by default")
    setters = {f.name: cls.__dict__[f.name].__set__ for f in fields}
    set_field = setters.pop(name)
    others = tuple(setters.values())
    new = object.__new__

    def make(value: object) -> Any:
        obj = new(cls)
        for set_other in others:
            set_other(obj, None)
        set_field(obj, value)
        return obj

    return make


def fields_getter(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """The inverse of :func:`fields_maker`: an object's field values as a plain tuple (C-speed where it can)."""
    names = tuple(f.name for f in attrs.fields(cls))
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if len(names) == 1:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def loads_older_pickles(cls: type[Any]) -> type[Any]:
    """Make ``cls`` (a slotted attrs class) load pickles made before some of its fields existed: they get defaults.

    attrs' own ``__setstate__`` sets the fields the pickle has and leaves the others unset, which
    fails later, far from the cause.  Every field added since a release must have a default.
    """
    fields = attrs.fields(cls)
    original = cls.__setstate__

    def __setstate__(self: Any, state: Any) -> None:  # noqa: N807
        original(self, state)
        for field in fields:
            try:
                getattr(self, field.name)
            except AttributeError:
                object.__setattr__(self, field.name, field.default)

    cls.__setstate__ = __setstate__
    return cls
