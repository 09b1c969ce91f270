"""apply(ops) with journal and rollback; teardown(journal) in exact reverse order.

The engine knows nothing of netlink: it hands ops to a Kernel and records, through the
kernel's begin/done hooks, what was sent and what completed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from netlab.errors import EXIT_INTERRUPTED, KernelError, NetlabError
from netlab.kernel.base import Kernel, OpFailed
from netlab.plan.ops import CreateNamespace, Op, RunCommand
from netlab.plan.teardown import teardown_of
from netlab.state.store import LabState, StateFull

Progress = Callable[[int], None]  # called with the number of ops finished so far
# Called with the undos finished so far and how many there are (known once the journal is read).
TeardownProgress = Callable[[int, int], None]


class Interrupted(KernelError):
    """The user (Ctrl-C) or the system (SIGTERM) asked netlab to stop. The message is always
    "interrupted"; the hint says what became of the lab (rolled back, kept, nothing built)."""

    exit_code = EXIT_INTERRUPTED


@dataclass
class TeardownReport:
    sent: int = 0
    implicit: int = 0  # objects that went away with their namespace
    processes: int = 0  # how many of the nodes' processes were stopped (from the kernel)
    processes_said: str = ""  # the same in words, with how many had to be killed
    errors: list[str] = field(default_factory=list)


class Stop:
    """Signals that asked `up` to stop. They are obeyed at a safe point, before the next
    batch of ops is sent, never half way through one: a namespace being made by a worker
    thread, or the caller's thread standing inside a lab's namespace for a moment, must
    not be abandoned there. An `exec:` command running is stopped at once (it is a child
    process, killed on the way out), and so is everything on a second signal (the user
    insists)."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        # True while the batch in flight is only `exec:` commands: a child process that
        # may run for long, and that is safe to stop at any moment (it is killed).
        self.interruptible = False

    def check(self) -> None:
        if self.signals:
            raise KeyboardInterrupt


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """Install handler for SIGINT, SIGTERM and SIGHUP, except those the process was told
    to ignore (nohup, a background job). Python allows handlers only in the main thread;
    elsewhere nothing is installed and signals keep their usual effect."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    old: dict[int, Any] = {}
    for sig in _STOP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            old[sig] = signal.signal(sig, handler)
    return old


def _restore(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


@contextmanager
def stop_on_signals() -> Iterator[Stop]:
    """SIGINT, SIGTERM and SIGHUP ask `up` to stop and roll back (see Stop)."""
    stop = Stop()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.signals.append(signum)
        if len(stop.signals) > 1 or stop.interruptible:
            raise KeyboardInterrupt

    old = _install(handler)
    try:
        yield stop
    finally:
        _restore(old)


@contextmanager
def _signals_deferred(forward: Stop | None = None) -> Iterator[list[int]]:
    """During teardown a signal is noted, not obeyed: half a teardown helps nobody. When
    the teardown is part of an `up` (--recreate, or a rollback), `up` learns of it."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if forward is not None:
            forward.signals.append(signum)

    old = _install(handler)
    try:
        yield received
    finally:
        _restore(old)


def apply(
    ops: Sequence[Op],
    kernel: Kernel,
    state: LabState,
    keep_on_error: bool = False,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> None:
    """Carry out ops; on a refusal or an interrupt undo everything done (unless asked to
    keep it) and raise a KernelError that names the op in words. `stop` is the caller's
    when it watches signals over a longer stretch (see stop_on_signals)."""
    with contextlib.ExitStack() as stack:
        if stop is None:
            stop = stack.enter_context(stop_on_signals())
        _apply(ops, kernel, state, keep_on_error, progress, stop)


def _apply(ops: Sequence[Op], kernel: Kernel, state: LabState, keep_on_error: bool,
           progress: Progress | None, stop: Stop) -> None:
    finished = 0
    batch = _Batch()

    def begin(first: int, last: int) -> None:
        stop.check()  # nothing is in flight here: the place to obey a signal
        try:
            state.begin(first, ops[first:last])
        except StateFull as full:
            batch.full = full  # whichever kernel runs the hook, this is what went wrong
            raise
        batch.begun(first, last)
        stop.interruptible = all(isinstance(op, RunCommand) for op in ops[first:last])
        if stop.interruptible:
            stop.check()  # a signal that came while journaling

    def flush() -> None:
        try:
            state.flush()
        except StateFull as full:
            batch.full = full
            raise

    def done(index: int) -> None:
        nonlocal finished
        stop.interruptible = False
        state.done(index)
        if batch.completes(index):
            flush()  # the batch's one "done" line
        finished += 1
        if progress:
            progress(finished)

    try:
        try:
            kernel.execute(ops, begin, done)
            flush()  # the last run's "done"
        except Exception as error:
            if batch.full is not None:  # not the op's fault: the journal could not be written
                raise KernelError(batch.full.message, batch.full.hint) from error
            if isinstance(error, OpFailed):
                raise
            # a bug, or an error no one foresaw: roll back all the same
            raise batch.failure(ops, error) from error
        stop.check()  # asked to stop before the end: the answer is still "stopped"
    except KernelError as failure:  # OpFailed, or an unexpected error said as one
        if keep_on_error:
            failure.hint = _kept_hint(state, failure.hint)
            raise
        if isinstance(failure, OpFailed) and (
                failure.taken or _refused_namespace_is_not_ours(failure, state)):
            state.undone(failure.index)
        report = teardown(state, kernel)
        failure.hint = _rollback_hint(report, failure.hint)
        raise
    except KeyboardInterrupt:
        if keep_on_error:
            raise Interrupted("interrupted", hint=_kept_hint(state, None)) from None
        report = teardown(state, kernel)
        raise Interrupted("interrupted", hint=_rollback_hint(report, None)) from None


class _Batch:
    """The ops in flight (begun, not yet all done): where an unexpected error struck."""

    def __init__(self) -> None:
        self.first = self.last = 0
        self.done: set[int] = set()
        self.full: StateFull | None = None  # the journal's filesystem is full

    def begun(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        self.done.clear()

    def completes(self, index: int) -> bool:
        """Note op `index` done: whether that was the last of the batch in flight (an op
        of an earlier batch may be said done late: node hosts made by helpers)."""
        if not self.first <= index < self.last or index in self.done:
            return False
        self.done.add(index)
        return len(self.done) == self.last - self.first

    def failure(self, ops: Sequence[Op], error: Exception) -> KernelError:
        """The error as the refusal of the first op in flight that did not complete."""
        hint = None
        if isinstance(error, NetlabError):  # said on purpose, for a person: kept as it is
            reason, hint = error.message, error.hint
        else:
            reason = f"unexpected error: {_in_words(error)}"
        pending = [i for i in range(self.first, self.last) if i not in self.done]
        if not pending:
            return KernelError(f"could not build the lab: {reason}", hint)
        return OpFailed(pending[0], ops[pending[0]], reason, hint)


def _in_words(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{type(error).__name__}: {error.strerror}{where}"
    return f"{type(error).__name__}: {error}"


def _kept_hint(state: LabState, hint: str | None) -> str:
    kept = (f"the half-built lab was kept (--keep-on-error); 'netlab down -l {state.lab}' "
            "removes it")
    return f"{hint}; {kept}" if hint else kept


def _refused_namespace_is_not_ours(failure: OpFailed, state: LabState) -> bool:
    """A namespace the kernel refused to make was not made (the Kernel contract), most
    likely because its name was taken meanwhile by someone else: undoing it would delete
    theirs. Unless something done since acts in it (then the refusal was not what it
    seems, and the namespace is undone with the rest), or the refusal is a bug."""
    if not isinstance(failure.op, CreateNamespace) or failure.reason.startswith("internal"):
        return False
    ns = failure.op.ns
    return not any(
        e.done and (e.op.ns == ns or getattr(e.op, "peer_ns", None) == ns)
        for e in state.entries()
    )


def _rollback_hint(report: TeardownReport, hint: str | None) -> str:
    undone = "rolled back: the host is as it was"
    if report.errors:
        undone = "rollback incomplete: " + "; ".join(report.errors)
    return f"{hint}; {undone}" if hint else undone


def teardown(state: LabState, kernel: Kernel, stop: Stop | None = None,
             progress: TeardownProgress | None = None) -> TeardownReport:
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

    with _signals_deferred(stop):
        position = 0
        while position < len(steps):
            batch = steps[position:]

            def done(i: int, base: int = position) -> None:
                state.undone(index_of_undo[base + i])
                report.sent += 1
                if progress is not None:
                    progress(report.sent, len(steps))

            try:
                kernel.execute(batch, lambda a, b: None, done)
                position = len(steps)
            except OpFailed as failure:
                if _already_gone(failure):
                    state.undone(index_of_undo[position + failure.index])
                else:
                    # Still there: the journal keeps it (and what goes with it), so that
                    # the next `down` tries again.
                    report.errors.append(str(failure))
                position += failure.index + 1
            except Exception as error:  # which undo it struck is unknown: stop here
                # What is not undone stays in the journal, for the next `down`.
                report.errors.append(f"unexpected error: {_in_words(error)}")
                break
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
