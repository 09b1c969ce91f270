"""The lab's kernel as commands use it, with fault injection for tests."""

from __future__ import annotations

import os
from collections.abc import Sequence

from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.kernel.lab_kernel import LabKernel
from netlab.plan.ops import Op


class FaultInjectingKernel:
    """The lab's kernel (netlink and processes), with fault injection for tests:
    NETLAB_FAIL_AT=N makes the N-th op sent (counting from 1) be refused as if by the
    kernel, once, after the ops before it really happened."""

    def __init__(self) -> None:
        self.inner = LabKernel()
        fail_at = os.environ.get("NETLAB_FAIL_AT", "")
        self.fail_at = int(fail_at) if fail_at.isdigit() else None
        self.sent = 0

    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        if self.fail_at is not None and 0 < self.fail_at - self.sent <= len(ops):
            index = self.fail_at - self.sent - 1
            self.fail_at = None
            self.inner.execute(ops[:index], begin, done)
            begin(index, index + 1)
            raise OpFailed(index, ops[index], "refused by fault injection (NETLAB_FAIL_AT)")
        self.sent += len(ops)
        self.inner.execute(ops, begin, done)

    def close(self) -> None:
        self.inner.close()
