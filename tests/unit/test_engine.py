"""The engine with a fake kernel: journaling, rollback after a refusal at every position,
teardown in exact reverse order, recovery from a journal cut short by a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab import engine
from netlab.kernel.base import OpFailed
from netlab.plan import ops as o
from netlab.state.store import LabState

from .fakekernel import FakeKernel


def _ops() -> list[o.Op]:
    a, b = "netlab-t-a", "netlab-t-b"
    return [
        o.CreateNamespace(a),
        o.CreateNamespace(b),
        o.CreateVeth(a, "eth0", b, "eth0"),
        o.AddAddress(a, "eth0", "10.0.0.1/24"),
        o.AddAddress(b, "eth0", "10.0.0.2/24"),
        o.SetLinkUp(a, "eth0"),
        o.SetLinkUp(b, "eth0"),
        o.AddRoute(a, "default", "10.0.0.2"),
    ]


def test_apply_then_teardown_leaves_nothing(tmp_path: Path) -> None:
    kernel, state = FakeKernel(), LabState("t", tmp_path)
    engine.apply(_ops(), kernel, state)
    assert ("ns", "netlab-t-a") in kernel.objects
    assert [e.done for e in state.entries()] == [True] * len(_ops())
    report = engine.teardown(state, kernel)
    assert kernel.objects == set()
    assert report.errors == []
    # Inside-namespace objects go with the namespace; only the namespaces are deleted.
    assert report.sent == 2
    assert report.implicit == 6
    assert not state.exists()


@pytest.mark.parametrize("n", range(1, len(_ops()) + 1))
def test_refusal_at_every_op_rolls_back_everything(tmp_path: Path, n: int) -> None:
    kernel, state = FakeKernel(fail_at=n), LabState("t", tmp_path)
    with pytest.raises(OpFailed) as failure:
        engine.apply(_ops(), kernel, state)
    assert failure.value.index == n - 1
    assert "rolled back" in (failure.value.hint or "")
    assert kernel.objects == set(), f"left behind after failing op {n}"
    assert not state.exists()


def test_keep_on_error_keeps_then_down_removes(tmp_path: Path) -> None:
    kernel, state = FakeKernel(fail_at=5), LabState("t", tmp_path)
    with pytest.raises(OpFailed):
        engine.apply(_ops(), kernel, state, keep_on_error=True)
    assert ("ns", "netlab-t-a") in kernel.objects
    engine.teardown(state, kernel)
    assert kernel.objects == set()


def test_teardown_after_crash_undoes_begun_ops(tmp_path: Path) -> None:
    """A crash after 'begin' but before 'done': the half-made object is undone too."""
    ops = _ops()
    kernel, state = FakeKernel(), LabState("t", tmp_path)
    state.begin(0, ops[:3])
    for i in range(2):
        kernel._apply(ops[i])
        state.done(i)
    kernel._apply(ops[2])  # the veth was made, the process died before writing 'done'
    state.close()
    # A new process reads the journal back.
    report = engine.teardown(LabState("t", tmp_path), kernel)
    assert kernel.objects == set()
    assert report.errors == []


def test_teardown_order_is_exact_reverse(tmp_path: Path) -> None:
    kernel, state = FakeKernel(), LabState("t", tmp_path)
    engine.apply(_ops(), kernel, state)
    kernel.log.clear()
    engine.teardown(state, kernel)
    assert kernel.log == [o.DeleteNamespace("netlab-t-b"), o.DeleteNamespace("netlab-t-a")]


def test_teardown_tells_its_progress(tmp_path: Path) -> None:
    kernel, state = FakeKernel(), LabState("t", tmp_path)
    engine.apply(_ops(), kernel, state)
    told: list[tuple[int, int]] = []
    report = engine.teardown(state, kernel, progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 2), (2, 2)]  # the two namespaces; what is inside goes with them
    assert report.sent == 2


def test_torn_journal_line_is_ignored(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, _ops()[:1])
    state.done(0)
    state.close()
    with open(state.journal_path, "a") as f:
        f.write('{"i": 1, "s": "beg')
    assert [e.op for e in LabState("t", tmp_path).entries()] == [_ops()[0]]


def test_ops_round_trip_through_json() -> None:
    for op in _ops():
        assert o.op_from_json(op.to_json()) == op


def test_lab_name_cannot_escape_the_state_dir(tmp_path: Path) -> None:
    from netlab.errors import InputError

    for bad in ("../etc", "a/b", "", "UP"):
        with pytest.raises(InputError):
            LabState(bad, tmp_path)
