"""The engine rolls back whatever stops a kernel half way, not only the refusals it foresaw:
an unexpected exception (a bug, an OSError no one thought of) is said as the refusal of
the op in flight, and everything done is undone; so is a failure during the rollback kept
in the journal for the next `down`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from netlab import engine
from netlab.errors import InputError, KernelError
from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.plan import ops as o
from netlab.state.store import LabState

from .fakekernel import FakeKernel
from .test_engine import _ops


class Exploding(FakeKernel):
    """Raises `error` instead of carrying out the N-th op sent (1-based), once."""

    def __init__(self, explode_at: int, error: Exception, batch: int = 4) -> None:
        super().__init__(batch=batch)
        self.explode_at = explode_at
        self.error: Exception | None = error

    def _apply(self, op: o.Op) -> None:
        if self.sent == self.explode_at and self.error is not None:
            error, self.error = self.error, None
            raise error
        super()._apply(op)


@pytest.mark.parametrize("n", range(1, len(_ops()) + 1))
def test_an_unexpected_error_at_any_op_rolls_back(tmp_path: Path, n: int) -> None:
    kernel, state = Exploding(n, OSError(17, "File exists", "/x/y")), LabState("t", tmp_path)
    with pytest.raises(OpFailed) as failure:
        engine.apply(_ops(), kernel, state)
    assert failure.value.index == n - 1
    assert failure.value.op == _ops()[n - 1]
    assert str(failure.value) == (f"could not {_ops()[n - 1].describe()}: unexpected error: "
                                  "FileExistsError: File exists (/x/y)")
    assert failure.value.hint == "rolled back: the host is as it was"
    assert isinstance(failure.value.__cause__, OSError)
    assert kernel.objects == set(), f"left behind after op {n} exploded"
    assert not state.exists()


def test_a_bug_in_the_kernel_code_rolls_back(tmp_path: Path) -> None:
    kernel, state = Exploding(6, KeyError("eth9")), LabState("t", tmp_path)
    with pytest.raises(OpFailed, match=r"unexpected error: KeyError: 'eth9'"):
        engine.apply(_ops(), kernel, state)
    assert kernel.objects == set()
    assert not state.exists()


def test_a_netlab_error_from_the_kernel_keeps_its_words(tmp_path: Path) -> None:
    error = InputError("the 'ip' command (iproute2) is not installed", hint="apt-get install")
    kernel, state = Exploding(3, error), LabState("t", tmp_path)
    with pytest.raises(OpFailed) as failure:
        engine.apply(_ops(), kernel, state)
    assert str(failure.value).endswith(": the 'ip' command (iproute2) is not installed")
    assert failure.value.hint == "apt-get install; rolled back: the host is as it was"
    assert kernel.objects == set()


def test_kept_on_purpose_after_an_unexpected_error(tmp_path: Path) -> None:
    kernel, state = Exploding(5, RuntimeError("boom")), LabState("t", tmp_path)
    with pytest.raises(OpFailed) as failure:
        engine.apply(_ops(), kernel, state, keep_on_error=True)
    assert "'netlab down -l t' removes it" in (failure.value.hint or "")
    assert kernel.objects  # kept
    engine.teardown(state, kernel)
    assert kernel.objects == set()
    assert not state.exists()


class ExplodesBeforeBegin(FakeKernel):
    def execute(self, ops: Sequence[o.Op], begin: BeginHook, done: DoneHook) -> None:
        raise RuntimeError("before anything")


def test_an_unexpected_error_before_any_op_is_a_kernel_error(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    with pytest.raises(KernelError, match="could not build the lab: unexpected error: "
                                          "RuntimeError: before anything"):
        engine.apply(_ops(), ExplodesBeforeBegin(), state)
    assert not state.exists()


class ExplodesOnUndo(FakeKernel):
    """Carries out ops; the first teardown batch raises something unexpected."""

    def __init__(self) -> None:
        super().__init__()
        self.undoing = False

    def execute(self, ops: Sequence[o.Op], begin: BeginHook, done: DoneHook) -> None:
        if self.undoing:
            self.undoing = False
            raise ValueError("bad reply")
        super().execute(ops, begin, done)


def test_an_unexpected_error_during_teardown_keeps_the_journal(tmp_path: Path) -> None:
    kernel, state = ExplodesOnUndo(), LabState("t", tmp_path)
    engine.apply(_ops(), kernel, state)
    kernel.undoing = True
    report = engine.teardown(state, kernel)
    assert report.errors == ["unexpected error: ValueError: bad reply"]
    assert state.exists()  # what is not undone stays journaled: the next down tries again
    report = engine.teardown(state, kernel)
    assert report.errors == []
    assert kernel.objects == set()
    assert not state.exists()
