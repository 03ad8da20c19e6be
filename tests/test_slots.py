"""dialfsm._slots: the builders that bypass ``__init__`` refuse classes whose ``__init__`` does something."""

from __future__ import annotations

import attrs
import pytest

from dialfsm import DialoutAnswered, DtmfReceived, ParticipantJoined
from dialfsm._journal import ATOM_CLASSES
from dialfsm._slots import SlotBypassError, fields_getter, fields_maker, one_field_maker, slot_setters


def test_built_objects_equal_the_ones_init_builds() -> None:
    assert fields_maker(DialoutAnswered)(("s1", "c1", None)) == DialoutAnswered(session_id="s1", sip_call_id="c1")
    values = ("s1", "5", "auto", 0.5)
    assert fields_maker(DtmfReceived)(values) == DtmfReceived(session_id="s1", tone="5", method="auto", volume=0.5)
    assert one_field_maker(ParticipantJoined)("p") == ParticipantJoined(participant_id="p")
    for cls in ATOM_CLASSES:
        obj = fields_maker(cls)(tuple(f"v{i}" for i, _ in enumerate(attrs.fields(cls))))
        assert fields_maker(cls)(fields_getter(cls)(obj)) == obj


@attrs.frozen
class _Validated:
    value: int = attrs.field(validator=attrs.validators.instance_of(int))


@attrs.frozen
class _Converted:
    value: int = attrs.field(converter=int)


@attrs.frozen
class _Hooked:
    value: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.define(slots=False, frozen=True)
class _Unslotted:
    value: int


@pytest.mark.parametrize("cls", [_Validated, _Converted, _Hooked, _Unslotted])
def test_a_class_whose_init_runs_code_is_refused_when_the_builder_is_made(cls: type) -> None:
    with pytest.raises(SlotBypassError):
        slot_setters(cls)
