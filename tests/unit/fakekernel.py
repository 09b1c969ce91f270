"""A kernel that keeps its objects in a set, and can be told to refuse the N-th op."""

from __future__ import annotations

from collections.abc import Sequence

from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.plan import ops as o
from netlab.plan.kind_ops import CREATE_OPS


class FakeKernel:
    def __init__(self, fail_at: int | None = None, batch: int = 4) -> None:
        self.objects: set[tuple[str, ...]] = set()
        self.fail_at = fail_at  # 1-based count of ops sent to this kernel
        self.sent = 0
        self.batch = batch
        self.log: list[o.Op] = []

    def _apply(self, op: o.Op) -> None:
        if isinstance(op, o.CreateNamespace):
            self.objects.add(("ns", op.ns))
        elif isinstance(op, o.DeleteNamespace):
            self.objects = {obj for obj in self.objects if obj[1] != op.ns}
        elif isinstance(op, o.CreateVeth):
            self.objects.add(("link", op.ns, op.ifname))
            self.objects.add(("link", op.peer_ns, op.peer_ifname))
        elif isinstance(op, CREATE_OPS):  # every other op that makes a device
            self.objects.add(("link", op.ns, op.ifname))
        elif isinstance(op, o.DeleteLink):
            self.objects.discard(("link", op.ns, op.ifname))
        elif isinstance(op, o.AddAddress):
            self.objects.add(("addr", op.ns, op.ifname, op.address))
        elif isinstance(op, o.DeleteAddress):
            self.objects.discard(("addr", op.ns, op.ifname, op.address))
        elif isinstance(op, o.AddRoute):
            self.objects.add(("route", op.ns, op.to, str(op.via), str(op.family)))
        elif isinstance(op, o.DeleteRoute):
            self.objects.discard(("route", op.ns, op.to, str(op.via), str(op.family)))

    def execute(self, ops: Sequence[o.Op], begin: BeginHook, done: DoneHook) -> None:
        for first in range(0, len(ops), self.batch):
            last = min(first + self.batch, len(ops))
            begin(first, last)
            failed: OpFailed | None = None
            for i in range(first, last):
                self.sent += 1
                self.log.append(ops[i])
                if self.sent == self.fail_at:
                    failed = failed or OpFailed(i, ops[i], "refused by the test")
                    continue
                self._apply(ops[i])
                done(i)
            if failed:
                raise failed

    def close(self) -> None:
        pass
