"""Every type mismatch says what the key takes, with a one-line example (issue 10.12):
no role of the model falls back to a vague word."""

from __future__ import annotations

from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from netlab.errors import TopologyError
from netlab.spec import load_text, messages
from netlab.spec.model import Topology

# Answers that are their own example: all the values there are.
_WHOLE_CHOICE = {"1", "true or false", "reachable or unreachable"}


def _roles() -> dict[tuple[type[BaseModel], str], Any]:
    found: dict[tuple[type[BaseModel], str], Any] = {}
    models: set[type[BaseModel]] = {Topology}

    def add(model: type[BaseModel], field: str, tp: Any, role: str) -> None:
        base = messages._strip(tp, [])
        if (model, role) in found:
            return
        found[model, role] = base
        if messages._is_union(base):
            for member in get_args(base):
                add(model, field, member, role)
        elif messages._is_model(base):
            if base not in models:
                models.add(base)
                walk(base)
        elif get_origin(base) is list:
            add(model, field, get_args(base)[0], f"{field}[]")
        elif get_origin(base) is dict:
            key, value = get_args(base)
            found[model, f"{field}{{key}}"] = key
            add(model, field, value, f"{field}{{}}")

    def walk(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            key = info.alias or name
            add(model, key, info.annotation, key)

    walk(Topology)
    return found


_ROLES = _roles()


@pytest.mark.parametrize(("model", "role"), sorted(_ROLES, key=lambda r: (r[0].__name__, r[1])),
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_each_key_says_what_it_takes_with_an_example(model: type[BaseModel], role: str) -> None:
    at = messages._At(model=model, role=role, tp=_ROLES[model, role])
    said = messages.Wording({}).expected(at)
    assert "something else" not in said
    assert "such as" in said or said in _WHOLE_CHOICE, (role, said)
    assert "\n" not in said


@pytest.mark.parametrize("text", [
    "name: x\nnodes: {h1: {env: [A]}}\n",
    "name: x\nnodes: {h1: {services: 3}}\n",
    "name: x\nnodes: {h1: {services: {web: {run: ls, user: [1]}}}}\n",
    "name: x\nnodes: {h1: {files: [a]}}\n",
    "name: x\nvars: {a: 1}\nnodes: {h1: {}}\nhosts: [a]\n",
])
def test_no_message_says_something_else(text: str) -> None:
    with pytest.raises(TopologyError) as info:
        load_text(text, "t.yaml")
    assert "something else" not in str(info.value)
    assert "such as" in str(info.value)
