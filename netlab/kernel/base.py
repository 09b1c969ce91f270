"""The contract between the engine and whatever executes ops (the real kernel or a fake)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from netlab.errors import KernelError
from netlab.plan.ops import Op

# begin(first, last): ops[first:last] are about to be sent (journal them before acting).
# done(i): ops[i] has completed (journal it after).
BeginHook = Callable[[int, int], None]
DoneHook = Callable[[int], None]


class OpFailed(KernelError):
    """ops[index] was refused; every op before it completed, none after it was attempted."""

    def __init__(self, index: int, op: Op, reason: str, hint: str | None = None,
                 taken: bool = False) -> None:
        super().__init__(f"could not {op.describe()}: {reason}", hint)
        self.index = index
        self.op = op
        self.reason = reason
        # The op's object was there already, not made by this run (a crashed lab's
        # leftover): the rollback must not undo it; `cleanup` removes it, on purpose.
        self.taken = taken


class Kernel(Protocol):
    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        """Carry out ops in order (batching consecutive ops where it can), calling begin()
        before sending each batch and done() for each op that completed. On a refusal,
        finish reading the batch in flight (calling done() for the ops in it that did
        complete, even after the refused one), send nothing more, and raise OpFailed for
        the first refused op. The engine then undoes every op marked done."""
        ...

    def close(self) -> None: ...
