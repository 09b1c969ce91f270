"""The ops' equality, hash and repr (written once in Op, not generated per class) are those
dataclass() would generate: checked for every op class against a dataclass made the
standard way with the same fields and values. And they stay frozen."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from netlab.plan import ops as o
from netlab.values.tc import Qdisc

# A value for a field, by its annotation (a string: the module has postponed annotations).
SAMPLES: dict[str, Any] = {
    "str": "x",
    "int": 7,
    "float": 1.5,
    "bool": True,
    "tuple[str, ...]": ("a", "b"),
    "tuple[int, ...]": (10, 20),
    "tuple[tuple[str, bool], ...]": (("/srv", True), ("/var/lib", False)),
    "dict[str, str]": {"KEY": "value"},
    "dict[str, tuple[int, int | None, int | None]]": {"f.txt": (0o640, 0, None)},
    "Qdisc": Qdisc("tbf", rate=125000, burst=5000, limit=67500),
}


def _sample(field: dataclasses.Field[Any], variant: int) -> Any:
    kind = str(field.type).removesuffix(" | None")
    value = SAMPLES[kind]
    if variant and isinstance(value, (str, int)) and not isinstance(value, bool):
        return value * 2  # another value of the same type: "xx", 14
    return f"{value}-{field.name}" if kind == "str" else value


def _op(cls: type[o.Op], variant: int = 0) -> o.Op:
    return cls(**{f.name: _sample(f, variant) for f in dataclasses.fields(cls)})


def _reference(op: o.Op) -> Any:
    """The same fields and values in a dataclass that generates its own methods."""
    fields = dataclasses.fields(op)
    ref = dataclasses.make_dataclass(
        type(op).__name__, [(f.name, Any) for f in fields], frozen=True)
    ref.__qualname__ = type(op).__qualname__
    return ref(**{f.name: getattr(op, f.name) for f in fields})


@pytest.mark.parametrize("cls", list(o.OP_TYPES.values()), ids=list(o.OP_TYPES))
def test_eq_hash_repr_are_the_generated_ones(cls: type[o.Op]) -> None:
    op, same, other = _op(cls), _op(cls), _op(cls, variant=1)
    assert repr(op) == repr(_reference(op))
    assert str(op) == str(_reference(op))
    assert op == same
    assert (op == other) == (_reference(op) == _reference(other))
    assert op != other  # the variant changes at least the namespace
    assert op != _reference(op)  # another class: never equal, as generated eq says
    assert op.__eq__(object()) is NotImplemented
    try:
        expected: int | type[Exception] = hash(_reference(op))
    except TypeError:  # a dict among the fields: unhashable, as generated
        expected = TypeError
    if expected is TypeError:
        with pytest.raises(TypeError):
            hash(op)
    else:
        assert hash(op) == expected == hash(same)


def test_ops_of_different_classes_with_the_same_fields_differ() -> None:
    up, down = o.SetLinkUp("netlab-x-a", "eth0"), o.SetLinkDown("netlab-x-a", "eth0")
    assert up != down and down != up
    assert len({up, down, o.SetLinkUp("netlab-x-a", "eth0")}) == 2


@pytest.mark.parametrize("cls", list(o.OP_TYPES.values()), ids=list(o.OP_TYPES))
def test_ops_are_frozen(cls: type[o.Op]) -> None:
    op = _op(cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.ns = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del op.ns
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.extra = 1  # type: ignore[attr-defined]
    assert dataclasses.replace(op, ns="netlab-y-b").ns == "netlab-y-b"
