"""apply(ops) with journal and rollback; teardown(journal) in exact reverse order.

The engine knows nothing of netlink: it hands ops to a Kernel and records, through the
kernel's begin/done hooks, what was sent and what completed.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from netlab.errors import KernelError
from netlab.kernel.base import Kernel, OpFailed
from netlab.plan.ops import CreateNamespace, Op
from netlab.plan.planner import teardown_of
from netlab.state.store import LabState

Progress = Callable[[int], None]  # called with the number of ops finished so far


class Interrupted(KernelError):
    """The user (Ctrl-C) or the system (SIGTERM) asked netlab to stop."""


@dataclass
class TeardownReport:
    sent: int = 0
    implicit: int = 0  # objects that went away with their namespace
    errors: list[str] = field(default_factory=list)


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP behave like Ctrl-C, so `up` rolls back instead of dying."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """During teardown a signal is noted, not obeyed: half a teardown helps nobody."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield received
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def apply(
    ops: Sequence[Op],
    kernel: Kernel,
    state: LabState,
    keep_on_error: bool = False,
    progress: Progress | None = None,
) -> None:
    """Carry out ops; on a refusal or an interrupt undo everything done (unless asked to
    keep it) and raise a KernelError that names the op in words."""
    finished = 0

    def begin(first: int, last: int) -> None:
        state.begin(first, ops[first:last])

    def done(index: int) -> None:
        nonlocal finished
        state.done(index)
        finished += 1
        if progress:
            progress(finished)

    try:
        with _signals_as_interrupt():
            kernel.execute(ops, begin, done)
    except OpFailed as failure:
        if keep_on_error:
            failure.hint = "kept as it is (--keep-on-error); 'netlab down' removes it"
            raise
        report = teardown(state, kernel)
        failure.hint = _rollback_hint(report, failure.hint)
        raise
    except KeyboardInterrupt:
        if keep_on_error:
            raise Interrupted("interrupted; the half-built lab was kept") from None
        report = teardown(state, kernel)
        raise Interrupted(
            "interrupted", hint=_rollback_hint(report, None)
        ) from None


def _rollback_hint(report: TeardownReport, hint: str | None) -> str:
    undone = "rolled back: the host is as it was"
    if report.errors:
        undone = "rollback incomplete: " + "; ".join(report.errors)
    return f"{hint}; {undone}" if hint else undone


def teardown(state: LabState, kernel: Kernel) -> TeardownReport:
    """Undo every journaled op (done or only begun) in exact reverse order. Objects inside
    a namespace that is removed too are not deleted one by one: the kernel frees them with
    the namespace. A failing undo is reported and the teardown goes on."""
    entries = state.entries()
    begun = [e.op for e in entries]
    index_of_undo: list[int] = []
    steps: list[Op] = []
    report = TeardownReport()
    by_position = {id(e.op): e.index for e in entries}
    for undo, carried_out in _teardown_with_sources(begun):
        op, source = undo
        if not carried_out:
            report.implicit += 1
            continue
        steps.append(op)
        index_of_undo.append(by_position[id(source)])

    with _signals_deferred():
        position = 0
        while position < len(steps):
            batch = steps[position:]

            def done(i: int, base: int = position) -> None:
                state.undone(index_of_undo[base + i])
                report.sent += 1

            try:
                kernel.execute(batch, lambda a, b: None, done)
                position = len(steps)
            except OpFailed as failure:
                if not _already_gone(failure):
                    report.errors.append(str(failure))
                state.undone(index_of_undo[position + failure.index])
                position += failure.index + 1
    # Everything the journal holds has been undone or went with its namespace.
    if not report.errors:
        state.remove()
    return report


def _teardown_with_sources(begun: list[Op]) -> Iterator[tuple[tuple[Op, Op], bool]]:
    """teardown_of(), keeping for each undo the op it reverses."""
    sources = [op for op in reversed(begun) if op.undo() is not None]
    for (undo, carried_out), source in zip(teardown_of(begun), sources, strict=True):
        yield (undo, source), carried_out


def _already_gone(failure: OpFailed) -> bool:
    # Undoing an op that had only begun when a crash hit: its object may never have existed.
    text = failure.reason.lower()
    return any(w in text for w in ("no such", "does not exist", "not found", "cannot find"))


def namespaces_of(ops: Sequence[Op]) -> list[str]:
    return [op.ns for op in ops if isinstance(op, CreateNamespace)]

