"""The teardown of a list of done ops: each op's undo, in exact reverse order. Beside the
ops, not in the planner: `down` needs this and nothing of the topology model (pydantic)."""

from __future__ import annotations

from netlab.plan.ops import CreateNamespace, DeleteNamespace, Op


def teardown_of(done: list[Op]) -> list[tuple[Op, bool]]:
    doomed = {op.ns for op in done if isinstance(op, CreateNamespace)}
    result: list[tuple[Op, bool]] = []
    for op in reversed(done):
        undo = op.undo()
        if undo is None:
            continue
        implicit = getattr(undo, "in_namespace", True) and undo.ns in doomed
        if isinstance(undo, DeleteNamespace):
            implicit = False
        result.append((undo, not implicit))
    return result
