"""The kernel a lab runs on: netlink ops to NetlinkKernel, process ops to ProcessOpsKernel,
in plan order, with one journal (begin/done indexes stay those of the whole op list)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Collection, Iterable, Sequence

from netlab.kernel.base import BeginHook, DoneHook, Kernel, OpFailed
from netlab.kernel.dumps import links_still_starting, links_still_up
from netlab.kernel.netlink import NetlinkKernel
from netlab.kernel.processes import Stopped, stop_all_in
from netlab.kernel.services import ProcessOpsKernel
from netlab.plan.ops import (
    AddAddress,
    CreateBridge,
    CreateNodeHost,
    DeleteNamespace,
    DeleteNodeHost,
    Op,
    RunCommand,
    SetLimits,
    SetLinkUp,
    StartService,
    StopService,
    WriteFiles,
)

PROCESS_OPS = (CreateNodeHost, DeleteNodeHost, SetLimits, RunCommand, WriteFiles,
               StartService, StopService)
# Process ops that run a program (one that may make or remove links anywhere: a daemon's
# TUN device, `ip link add` in a command). Files, limits and nodes' mount and UTS
# namespaces make none: after them what netlab knows of the links still holds (reading it
# again was ~0.05 s of a 500-node `up`).
RUNS_PROGRAMS = (RunCommand, StartService, StopService)
SETTLE_TIMEOUT = 3.0  # seconds; the kernel's linkwatch work is at most ~1 s late when idle


class LabKernel:
    def __init__(self) -> None:
        self.netlink = NetlinkKernel()
        self.processes = ProcessOpsKernel()
        self.stopped = Stopped()  # what stopping nodes' processes took (`down` says it)

    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        # Nodes' mount and UTS namespaces (a run of process ops that ends with them, right
        # after the network namespaces are made) are made by helper processes while the
        # netlink work goes on, and waited for before the next process op, or the end.
        self.processes.overlap = True
        making = -1  # where the run that left them in the making began
        try:
            start = 0
            while start < len(ops):
                is_process = isinstance(ops[start], PROCESS_OPS)
                end = start
                while end < len(ops) and isinstance(ops[end], PROCESS_OPS) == is_process:
                    end += 1
                if is_process and making >= 0:
                    self._collect(making)
                    making = -1
                doomed = [op.ns for op in ops[start:end] if isinstance(op, DeleteNamespace)]
                if doomed:
                    # A process left inside would keep the namespace (and its cables) alive.
                    self.stopped += stop_all_in(doomed)
                target: Kernel = self.processes if is_process else self.netlink
                try:
                    _execute_at(target, ops[start:end], start, begin, done)
                finally:
                    self.stopped += self.processes.stopped
                    self.processes.stopped = Stopped()
                    if is_process and any(isinstance(op, RUNS_PROGRAMS)
                                          for op in ops[start:end]):
                        self.netlink.forget_links()  # a program may have made links
                if is_process and isinstance(ops[end - 1], CreateNodeHost):
                    making = start
                if not is_process:
                    # Before the lab's programs start, and before `up` says the lab is up.
                    wait_until_passing(ops[start:end], socket_of=self.netlink.socket_in,
                                       index_of=self.netlink.index_known)
                start = end
            if making >= 0:
                self._collect(making)
                making = -1
        finally:
            if making >= 0:  # an error: what the helpers make must be journaled before
                with contextlib.suppress(Exception):  # the rollback undoes it
                    self._collect(making)
            self.processes.overlap = False

    def _collect(self, base: int) -> None:
        try:
            self.processes.collect()
        except OpFailed as failure:
            failure.index += base
            raise

    def close(self) -> None:
        self.netlink.close()
        self.processes.close()


def wait_until_passing(ops: Sequence[Op], timeout: float = SETTLE_TIMEOUT,
                       also: Iterable[tuple[str, str]] = (),
                       socket_of: Callable[[str], socket.socket] | None = None,
                       index_of: Callable[[str, str], int | None] | None = None) -> None:
    """Wait (at most `timeout` seconds) until the links these ops set up (and `also`, as
    (namespace, interface)) pass packets: a ping sent the moment `up` returns must not be
    dropped by a link the kernel has not started yet (kernel/dumps.links_still_starting).
    Links still starting after that are left to `status` to show. `socket_of(ns)`: a
    route socket already open there (else one is opened for each question); `index_of(ns,
    ifname)`: a link's ifindex where known, to ask for it alone."""
    # A bridge with no address of its own forwards between its ports before the kernel
    # starts its own queue (which only its own stack's packets use): waiting for it would
    # wait for the linkwatch run that the kernel delays up to a second for a bridge.
    bare = ({(op.ns, op.ifname) for op in ops if isinstance(op, CreateBridge)}
            - {(op.ns, op.ifname) for op in ops if isinstance(op, AddAddress)})
    # (A loopback has no carrier to wait for.)
    links = [(op.ns, op.ifname) for op in ops
             if isinstance(op, SetLinkUp) and op.ifname != "lo" and (op.ns, op.ifname) not in bare]

    def still(ns: str, names: Collection[str]) -> list[str]:
        if socket_of is None:
            return links_still_starting(ns, names)
        indexes = None if index_of is None else {
            name: i for name in names if (i := index_of(ns, name)) is not None}
        return links_still_starting(ns, names, socket_of(ns), indexes)

    _wait(links + list(also), still, timeout)


def wait_until_stopped(links: Iterable[tuple[str, str]], timeout: float = SETTLE_TIMEOUT,
                       ) -> None:
    """Wait until these links no longer say they are up: the peer of a veth set down loses
    its carrier at once, and says so once the kernel's linkwatch work has seen it."""
    _wait(list(links), links_still_up, timeout)


def _wait(links: list[tuple[str, str]], still: Callable[[str, Collection[str]], list[str]],
          timeout: float) -> None:
    pending: dict[str, set[str]] = {}
    for ns, ifname in links:
        pending.setdefault(ns, set()).add(ifname)
    deadline = time.monotonic() + timeout
    while pending:
        left: dict[str, set[str]] = {}
        for ns, names in pending.items():
            try:
                waiting = still(ns, names)
            except OSError:
                continue  # the namespace is gone: nothing to wait for there
            if waiting:
                left[ns] = set(waiting)
        pending = left
        if not pending or time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def _execute_at(kernel: Kernel, run: Sequence[Op], base: int, begin: BeginHook,
                done: DoneHook) -> None:
    """Execute a slice of the op list, reporting indexes of the whole list."""

    def begin_here(a: int, b: int) -> None:
        begin(base + a, base + b)

    def done_here(i: int) -> None:
        done(base + i)

    try:
        kernel.execute(run, begin_here, done_here)
    except OpFailed as failure:
        failure.index += base
        raise
