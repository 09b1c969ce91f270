"""The op classes (made by ops.op_class: Op's own methods, their __init__s compiled in one
go) behave as dataclass(frozen=True) makes them: __init__'s signature, defaults and
factories, equality, hash and repr, checked for every op class against a dataclass made
the standard way with the same fields and values; and they stay frozen."""

from __future__ import annotations

import dataclasses
import inspect
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


def _reference_class(cls: type[o.Op]) -> Any:
    """A dataclass made the standard way (its methods its own), with the same fields."""
    ref = dataclasses.make_dataclass(cls.__name__, [
        (f.name, Any, dataclasses.field(default=f.default, default_factory=f.default_factory))
        for f in dataclasses.fields(cls)], frozen=True)
    ref.__qualname__ = cls.__qualname__
    return ref


def _reference(op: o.Op) -> Any:
    """The same fields and values in a dataclass made the standard way."""
    fields = dataclasses.fields(op)
    return _reference_class(type(op))(**{f.name: getattr(op, f.name) for f in fields})


@pytest.mark.parametrize("cls", list(o.OP_TYPES.values()), ids=list(o.OP_TYPES))
def test_init_takes_what_the_generated_one_takes(cls: type[o.Op]) -> None:
    def said(c: Any) -> list[tuple[str, Any, str]]:
        return [(p.name, p.kind, repr(p.default))
                for p in inspect.signature(c).parameters.values()]

    assert said(cls) == said(_reference_class(cls))
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    with pytest.raises(TypeError, match="missing"):
        cls()  # type: ignore[call-arg]
    fields = dataclasses.fields(cls)
    needed = {f.name: _sample(f, 0) for f in fields
              if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    one, two, ref = cls(**needed), cls(**needed), _reference_class(cls)(**needed)
    assert repr(one) == repr(ref)  # the defaults, as the generated __init__ gives them
    for f in fields:
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(one, f.name) is not getattr(two, f.name)  # a new one each


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
