"""Property: no input makes `validate` (or `plan` of what validate accepted) say "internal
error" (issue 10.6). Valid files are mutated where people and attackers reach: names,
numbers at their type's edges, control characters, YAML merge keys and aliases; whatever
comes out is either accepted or refused as bad input (exit 2, one line per problem)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlab.errors import InputError
from netlab.plan.planner import plan
from netlab.spec import load_text

ROOT = Path(__file__).resolve().parents[2]
_PLAIN = [p for p in sorted((ROOT / "topologies").glob("*.yaml"))
          if "{{" not in p.read_text() and "{%" not in p.read_text()]
BASES = [yaml.safe_load(p.read_text()) for p in _PLAIN]

EDGE_NUMBERS = [0, 1, -1, 67, 68, 65535, 65536, 2**15, 2**16 - 1, 2**31 - 1, 2**31,
                2**32 - 2, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63), 10**100,
                0.5, -0.0, 1e308, float("inf"), float("nan")]
CONTROL = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\u2028", "\ufeff", " ", "/", "..", "é"]


def text_values() -> st.SearchStrategy[str]:
    word = st.sampled_from(["", "a", "h1", "eth0", "x" * 16, "x" * 300, "default",
                            "10.0.0.1/24", "fd00::1/64", "net.ipv4.ip_forward", "root"])
    return st.builds(lambda w, c, front: c + w if front else w + c,
                     word, st.sampled_from(["", *CONTROL]), st.booleans())


def values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.sampled_from(EDGE_NUMBERS), text_values(), st.booleans(),
                        st.none())
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(text_values(), inner, max_size=3)),
        max_leaves=6)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*here, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*here, i))
    return found


def _set(data: Any, path: tuple[Any, ...], value: Any, rename: bool) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if rename and isinstance(parent, dict) and isinstance(value, str):
        parent[value] = parent.pop(last)  # the key itself changes: a name
    else:
        parent[last] = value
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def _like(draw: st.DrawFn, old: Any) -> Any:
    """A value near the old one, mostly of its type: a number at an edge, the text with a
    control character or at a length limit; now and then anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(values())
    if isinstance(old, bool) or old is None:
        return draw(st.sampled_from([True, False, None, 0, 1, "yes"]))
    if isinstance(old, (int, float)):
        return draw(st.sampled_from(EDGE_NUMBERS))
    if isinstance(old, str):
        how = draw(st.integers(0, 3))
        if how == 0:
            return old + draw(st.sampled_from(CONTROL))
        if how == 1:
            return draw(st.sampled_from(CONTROL)) + old
        if how == 2:
            return (old * 40)[: draw(st.sampled_from([15, 16, 24, 25, 63, 64, 65, 256]))]
        return old.upper()
    return draw(values())


@st.composite
def mutated(draw: st.DrawFn) -> str:
    data = yaml.safe_load(yaml.safe_dump(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        rename = isinstance(path[-1], str) and draw(st.booleans())
        value = draw(_like(path[-1] if rename else _get(data, path)))
        data = _set(data, path, value, rename=rename)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()))
    # YAML's own tricks, which a dump never writes: merge keys and aliases, loops too.
    trick = draw(st.sampled_from([
        "", "", "", "", "vars: &v {<<: *v}\n", "x-defaults: &d {kind: router}\n",
        "vars: &v {a: [*v]}\n", "vars: {<<: [{a: 1}, {a: 2}]}\n", "vars: {<<: 3}\n",
    ]))
    if trick:
        text = trick + "\n".join(line for line in text.splitlines()
                                 if not line.startswith("vars:")) + "\n"
        if "&d" in trick and "  h1:\n" in text:
            text = text.replace("  h1:\n", "  h1:\n    <<: *d\n", 1)
    return text


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_validate_never_fails_inside(text: str) -> None:
    try:
        loaded = load_text(text, "mutated.yaml")
    except InputError as refused:
        assert refused.exit_code == 2
        assert "internal error" not in str(refused)
        for line in str(refused).splitlines():
            assert line.startswith("mutated.yaml"), line
        return
    plan(loaded.topology, loaded.topology.name, "/run/netlab")  # no exception either
