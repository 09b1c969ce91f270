"""Processes netlab runs in nodes: `exec:` commands, services, the node's files.

Everything runs inside its node through node_argv (kernel/enter.py): in the node's cgroup
(kernel/cgroups.py), then its network, mount and UTS namespaces (nodehost.enter_argv). A
service is started with `sh -c COMMAND` there, in a cgroup of its own below the node's and
a session of its own. Its folder <node_dir>/services/<name>/ (NETLAB_SERVICE_DIR, owned by
the service's user) holds `log`, its output. Nothing there decides what netlab signals: its
processes are those of its cgroup, as the kernel lists them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from netlab.errors import LabStateError
from netlab.kernel import cgroups, nodehost, safefs
from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.kernel.enter import node_argv, process_env
from netlab.kernel.processes import Stopped
from netlab.kernel.service_state import log_file, service_dir
from netlab.kernel.threads import map_side_by_side, threads_for
from netlab.plan.ops import (
    CreateNodeHost,
    DeleteNodeHost,
    Op,
    RunCommand,
    SetLimits,
    StartService,
    StopService,
    WriteFiles,
)
from netlab.values.names import NETNS_DIR

STARTUP_GRACE = 0.15  # seconds a service must survive to count as started
STOP_GRACE = 3.0  # seconds between SIGTERM and killing the service's cgroup
UNPIN_THREADS = 64  # unpins side by side: each waits for an RCU grace period
UNPINS_PER_THREAD = 12  # fewer threads for fewer nodes: starting one costs as much
LOG_TAIL = 10  # lines of a failed service's log shown when `up` rolls back


def run_in_node(ns: str, node_dir: str, extra: Mapping[str, str], command: str,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """`sh -c COMMAND` in the node as its `exec:` commands run, output captured: the same
    environment (process_env), in the node's folder when there is one (a `run:` check)."""
    return subprocess.run(
        node_argv(ns, node_dir, ["sh", "-c", command]), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
        env=process_env(ns, node_dir, extra),
    )


def read_log(path: Path, offset: int = 0) -> bytes:
    """A service's log as netlab wrote it. The log's name is in the service's folder,
    which its user can write: a link, or a file that is not root's own, planted there in
    its place is not read (root would show what it points to)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_nlink != 1:
            raise OSError(f"{path} is not netlab's log")
        os.lseek(fd, offset, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def last_lines(path: Path, count: int = 1) -> list[str]:
    with contextlib.suppress(OSError):
        text = read_log(path).decode(errors="replace")
        lines = [ln.rstrip()[:200] for ln in text.splitlines()
                 if ln.strip() and not ln.startswith("--- netlab: ")]
        return lines[-count:]
    return []


class _Promising:
    """Lazy nodes' promises, written by a thread of their own: a file each, ~0.1 ms where
    /run is a disk's, is time the netlink work that goes on meanwhile leaves a CPU idle
    for (0.05 s of a 500-node `up`)."""

    def __init__(self, ops: list[tuple[int, CreateNodeHost]]) -> None:
        self.ops = ops
        self.failure: OpFailed | None = None
        self._thread = threading.Thread(target=self._write, name="netlab-promises",
                                        daemon=True)
        self._thread.start()

    def _write(self) -> None:
        try:
            nodehost.ensure_pin_dir()  # before the first promise: they are made in it
        except Exception as error:
            k, op = self.ops[0]
            self.failure = OpFailed(k, op, str(error))
            return
        for k, op in self.ops:
            try:
                _promise(k, op)
            except OpFailed as failure:  # the rest are not written: collect says which
                self.failure = failure
                return
            except Exception as error:  # handed to collect, in the caller's thread
                self.failure = OpFailed(k, op, str(error))
                return

    def wait(self) -> list[tuple[int, CreateNodeHost]]:
        """The ops whose promise is written, in order; up to the one that failed, if any
        (self.failure)."""
        self._thread.join()
        if self.failure is None:
            return self.ops
        return [(k, op) for k, op in self.ops if k < self.failure.index]


@dataclass
class _Making:
    """CreateNodeHost ops (with their indexes), their namespaces in the making; the lazy
    ones' promises in the writing."""

    ops: list[tuple[int, CreateNodeHost]]
    helpers: nodehost.Making
    done: DoneHook
    promising: _Promising | None = None


class ProcessOpsKernel:
    """Executes the ops that are processes and files, not netlink messages."""

    def __init__(self) -> None:
        self._children: list[subprocess.Popen[bytes]] = []
        self.stopped = Stopped()  # the processes of services StopService ops stopped
        # Nodes' namespaces may be left in the making when a run ends with them (see
        # LabKernel): `collect` waits for them.
        self.overlap = False
        self._making: _Making | None = None

    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        k = 0
        while k < len(ops):
            op = ops[k]
            if isinstance(op, CreateNodeHost):
                k = self._make_hosts(ops, k, begin, done)
                continue
            if isinstance(op, DeleteNodeHost) and (op.lazy or nodehost.exists(op.ns)):
                k = self._unpin_all(ops, k, begin, done)
                continue
            if isinstance(op, StartService):
                # Services that follow each other start together (see _start_all).
                end = k
                while end < len(ops) and isinstance(ops[end], StartService):
                    end += 1
                begin(k, end)
                self._start_all(k, [o for o in ops[k:end] if isinstance(o, StartService)],
                                done)
                k = end
                continue
            begin(k, k + 1)
            if isinstance(op, DeleteNodeHost):
                if not nodehost.remove(op.ns):
                    raise OpFailed(k, op, "no such mount namespace")
            elif isinstance(op, SetLimits):
                self._limit(k, op)
            elif isinstance(op, RunCommand):
                self._run(k, op)
            elif isinstance(op, WriteFiles):
                self._write_files(k, op)
            elif isinstance(op, StopService):
                self.stopped += stop_service(op.ns, op.name)
            else:
                raise OpFailed(k, op, f"not a process op: {op.kind}")
            done(k)
            k += 1

    def _make_hosts(self, ops: Sequence[Op], first: int, begin: BeginHook,
                    done: DoneHook) -> int:
        """The run of CreateNodeHost ops from `first`, made together (nodehost.create)."""
        last = first
        while last < len(ops) and isinstance(ops[last], CreateNodeHost):
            last += 1
        batch = [op for op in ops[first:last] if isinstance(op, CreateNodeHost)]
        begin(first, last)
        hosts: list[nodehost.NodeHost] = []
        texts: dict[str, str] = {}
        lazy = [(k, op) for k, op in enumerate(batch, start=first) if op.lazy]
        for k, op in enumerate(batch, start=first):
            if op.lazy:  # made on first entry: what that needs (its promise)
                continue
            if op.hosts_file not in texts:
                texts[op.hosts_file] = nodehost.read_hosts(op.hosts_file)
            _node_folder(k, op, op.node_dir)
            hosts.append(nodehost.NodeHost(
                op.ns, op.hostname, op.node_dir, texts[op.hosts_file] + op.extra_hosts,
                op.resolv, op.private, op.netns,
            ))
        eager = [(k, op) for k, op in enumerate(batch, start=first) if not op.lazy]
        self._making = _Making(eager, nodehost.start(hosts), done,
                               _Promising(lazy) if lazy else None)
        if not (self.overlap and last == len(ops)):
            self.collect()
        return last

    def _unpin_all(self, ops: Sequence[Op], first: int, begin: BeginHook,
                   done: DoneHook) -> int:
        """The run of DeleteNodeHost ops from `first` whose pins are there (or that may
        have none: lazy), side by side: freeing a mount namespace waits for an RCU grace
        period (~3 ms a node on a busy machine), which waits in parallel cost one. A lazy
        node never entered has no pins: only its promise goes, here. One whose pin is
        missing is left to the one-at-a-time path (its refusal is what a teardown
        expects)."""
        last = first
        pinned: list[int] = []
        while last < len(ops):
            op = ops[last]
            if not isinstance(op, DeleteNodeHost):
                break
            if nodehost.exists(op.ns):
                pinned.append(last)
            elif not op.lazy:
                break
            last += 1
        begin(first, last)
        removed = map_side_by_side(
            lambda k: nodehost.remove(ops[k].ns), pinned,
            threads_for(len(pinned), UNPINS_PER_THREAD, UNPIN_THREADS))
        unpinned = dict(zip(pinned, removed, strict=True))
        for k in range(first, last):
            if k not in unpinned:
                nodehost.remove(ops[k].ns)  # lazy: its promise, whatever it left
            elif not unpinned[k]:
                raise OpFailed(k, ops[k], "no such mount namespace")
            done(k)
        return last

    def collect(self) -> None:
        """Wait for the nodes' namespaces in the making, and say which were made (op
        indexes: those of the run that started them)."""
        making, self._making = self._making, None
        if making is None:
            return
        failed = making.helpers.wait()
        if making.promising is not None:
            for k, _ in making.promising.wait():
                making.done(k)
            if making.promising.failure is not None:  # (the helpers' ops stay begun:
                raise making.promising.failure  # the rollback undoes those alike)
        for k, op in making.ops:
            if op.ns in failed:
                raise OpFailed(k, op, failed[op.ns])
            making.done(k)

    def close(self) -> None:
        # Services outlive this process by design; reap none of them here.
        self._children.clear()

    # --- limits: ---------------------------------------------------------------------
    def _limit(self, k: int, op: SetLimits) -> None:
        try:
            cgroups.set_limits(op.ns, cgroups.Limits(op.cpu, op.memory, op.pids))
        except OSError as error:
            raise OpFailed(k, op, f"could not set the node's limits: "
                           f"{error.strerror or error}",
                           "limits need cgroups with the cpu, memory and pids "
                           "controllers (mounted at /sys/fs/cgroup)") from None

    # --- exec: ------------------------------------------------------------------------
    def _run(self, k: int, op: RunCommand) -> None:
        if op.node_dir:
            _node_folder(k, op, op.node_dir)
        import tempfile  # here: `down` need not import it (nor random, which it imports)

        argv = node_argv(op.ns, op.node_dir, ["sh", "-c", op.command])
        # Its output goes through a file, not a pipe: a command that leaves a process in
        # the background (`daemon &`) would hold a pipe open and make `up` wait for it.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=False,
                    env=process_env(op.ns, op.node_dir, op.env),
                )
            except FileNotFoundError:
                raise OpFailed(k, op, "the 'nsenter' command (util-linux) is not installed",
                               "apt-get install util-linux") from None
            out.seek(0)
            err.seek(0)
            said = out.read().decode(errors="replace")
            complaint = err.read().decode(errors="replace")
        # Nothing the command said is lost, and none of it goes to our stdout: that is
        # netlab's own (`up --json` must stay one JSON document). Written as text, so a
        # progress bar on stderr is redrawn below it.
        sys.stderr.write(said if proc.returncode else said + complaint)
        sys.stderr.flush()
        if proc.returncode == 0:
            return
        status = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                  else f"exit status {proc.returncode}")
        said_why = complaint_line(complaint)
        tail = f": {said_why}" if said_why else ""
        raise OpFailed(k, op, f"the command failed ({status}){tail}")

    # --- files: -----------------------------------------------------------------------
    def _write_files(self, k: int, op: WriteFiles) -> None:
        _node_folder(k, op, op.node_dir)
        for name, text in op.files.items():
            mode, uid, gid = op.owners.get(name, (op.mode, None, None))
            write_file(op.node_dir, name, text, mode, uid, gid)

    # --- services ---------------------------------------------------------------------
    def _start_all(self, first: int, ops: list[StartService], done: DoneHook) -> None:
        """Start every service that waits on no other (`after:`) at once, then wait for
        them to be ready all together: two peers whose readiness needs the other (a VPN's
        two ends) both start. A service with `after:` starts once those are ready."""
        known = {f"{op.ns}:{op.name}" for op in ops}
        waiting = list(enumerate(ops, first))
        starting: list[_Starting] = []
        ready: set[str] = set()
        while waiting or starting:
            for k, op in list(waiting):
                if all(dep in ready or dep not in known for dep in op.after):
                    starting.append(self._launch(k, op))
                    waiting.remove((k, op))
            if not starting:  # validate refuses cycles: never here but by a bug
                k, op = waiting[0]
                raise OpFailed(k, op, f"it waits on {', '.join(op.after)}, which never start")
            for service in list(starting):
                if self._is_ready(service):
                    starting.remove(service)
                    ready.add(f"{service.op.ns}:{service.op.name}")
                    done(service.k)
            if starting or waiting:
                time.sleep(0.02)

    def _launch(self, k: int, op: StartService) -> _Starting:
        folder = service_dir(op.node_dir, op.name)
        _node_folder(k, op, op.node_dir)
        log = log_file(op.node_dir, op.name)
        cwd = Path(op.node_dir) / op.cwd if op.cwd else Path(op.node_dir)
        cwd.mkdir(parents=True, exist_ok=True)
        gid = op.gid if op.gid is not None else op.uid
        stop_service(op.ns, op.name, grace=0)  # a leftover of an earlier start: not ours now
        argv = node_argv(op.ns, str(cwd), ["sh", "-c", op.command], op.uid, op.gid,
                         cgroups.service_leaf(op.name), op.capabilities)
        env = process_env(op.ns, op.node_dir, op.env, op.uid)
        env["NETLAB_SERVICE_DIR"] = str(folder)
        # A python service's lines reach its log (and `ready:`) as it prints them, not
        # when a buffer fills: `python3 -m http.server` says "Serving HTTP" from env -i.
        env.setdefault("PYTHONUNBUFFERED", "1")
        root, parts = safefs.node_parts(op.node_dir)
        owners = [op.uid] if op.uid is not None else []
        try:
            with safefs.room(root, f"the log of service {op.name}"), \
                    safefs.opened_dir(root, [*parts, "services", op.name], owners=owners) as fd:
                if op.uid is not None and gid is not None:
                    os.fchown(fd, op.uid, gid)  # its own folder is the service's to write in
                # The log is root's (it may show `env:` values); the service writes it
                # through the descriptor it inherits. The service's user can replace the
                # name in its folder: a link planted there is refused, never followed.
                out_fd = safefs.open_file(fd, "log", os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                          folder)
                with open(out_fd, "ab") as out:
                    out.write(f"--- netlab: starting {op.name}: {op.command}\n".encode())
                    out.flush()
                    offset = out.tell()  # what the service writes starts here
                    proc = subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        env=env, start_new_session=True,
                    )
        except LabStateError as err:
            raise OpFailed(k, op, err.message, err.hint) from None
        self._children.append(proc)
        return _Starting(k, op, proc, log, offset, time.monotonic())

    def _is_ready(self, s: _Starting) -> bool:
        """Whether the service is ready (or, without `ready:`, survived its first moment);
        OpFailed if it died or its time is up."""
        op, log = s.op, s.log
        if not (op.ready or op.ready_port):
            code = s.proc.poll()
            if code is None:
                return time.monotonic() - s.since >= STARTUP_GRACE
            if code != 0:
                raise OpFailed(
                    s.k, op, f"the service exited at once (exit status {code})" + _tail(log),
                    f"its output was in {log}",
                )
            return True
        if op.ready:
            with contextlib.suppress(OSError):
                if op.ready.encode() in read_log(log, s.offset):
                    return True
        if op.ready_port and listening(op.ns, op.ready_proto, op.ready_port):
            return True
        code = s.proc.poll()
        if code is not None:
            raise OpFailed(
                s.k, op, f"the service exited (exit status {code}) before it was ready"
                + _tail(log), f"its output was in {log}",
            )
        if time.monotonic() - s.since < op.ready_timeout:
            return False
        waited = (f"say '{op.ready}'" if op.ready
                  else f"listen on {op.ready_proto} port {op.ready_port}")
        raise OpFailed(
            s.k, op, f"the service did not {waited} within {op.ready_timeout:g} s" + _tail(log),
            f"its output was in {log}; is 'ready:' "
            + ("the text it prints when it is ready? Or wait for its port: "
               "ready: {tcp: PORT}" if op.ready else "the port it listens on?"),
        )


@dataclass
class _Starting:
    """A service launched and not yet ready."""

    k: int
    op: StartService
    proc: subprocess.Popen[bytes]
    log: Path
    offset: int  # where its output of this start begins in its log
    since: float


def _tail(log: Path) -> str:
    """The last lines of a service's log, for an error that outlives the log (a rollback
    removes the lab's folder)."""
    lines = last_lines(log, LOG_TAIL)
    if not lines:
        return " (it printed nothing)"
    return "; its last output:\n" + "\n".join(f"    {line}" for line in lines)


# /proc/net/{tcp,udp}[6]: the state column says LISTEN (0A) for TCP; a bound UDP socket
# with no peer is in state 07.
_LISTEN_STATE = {"tcp": "0A", "udp": "07"}


def listening(ns: str, proto: str, port: int) -> bool:
    """True when a socket of the node's network namespace listens on `port` (TCP) or is
    bound to it (UDP), as the kernel's tables of that namespace show it."""
    want = f"{port:04X}"
    try:
        ns_ino = os.stat(os.path.join(NETNS_DIR, ns)).st_ino
    except OSError:
        return False
    for pid in cgroups.pids(ns):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != ns_ino:
                continue  # not yet inside the namespace (still joining)
            tables = []
            for suffix in ("", "6"):
                with open(f"/proc/{pid}/net/{proto}{suffix}") as f:
                    tables.append(f.read())
            if os.stat(f"/proc/{pid}/ns/net").st_ino != ns_ino:
                continue
        except OSError:
            continue
        for table in tables:
            for line in table.splitlines()[1:]:
                fields = line.split()
                if (len(fields) > 3 and fields[1].rsplit(":", 1)[-1] == want
                        and fields[3] == _LISTEN_STATE[proto]):
                    return True
        return False  # one process of the namespace shows all of its sockets
    return False


def write_file(root: str, name: str, text: str, mode: int, uid: int | None = None,
               gid: int | None = None) -> None:
    """Write `name` (relative, checked) under folder `root`, following no symbolic link on
    the way (a node's processes can write in its folder): each folder is opened with
    O_NOFOLLOW from the one above, the file is made with its mode, not widened after."""
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):  # validated already; never trust twice
        raise OSError(errno.EINVAL, f"'{name}' is outside the node's folder")
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    folder = os.open(root, flags)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=folder)
            inner = os.open(part, flags, dir_fd=folder)
            os.close(folder)
            folder = inner
        with contextlib.suppress(FileNotFoundError):
            os.unlink(parts[-1], dir_fd=folder)  # a fresh file: its mode is the one asked
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, mode & 0o777, dir_fd=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if uid is not None or gid is not None:
                os.fchown(f.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(f.fileno(), mode)  # past the umask, and setuid/sticky bits if asked
            f.write(text)
    finally:
        os.close(folder)


def _promise(k: int, op: CreateNodeHost) -> None:
    # Its folder too is made on first entry (nodehost.ensure): a folder and a file per
    # node were ~0.35 ms where /run is a disk's, 0.36 s of a 1000-node `up`.
    try:
        nodehost.promise(op.ns, op.hostname, op.node_dir, op.hosts_file, op.extra_hosts,
                         op.resolv, op.netns)
    except FileExistsError:
        raise OpFailed(k, op, f"{nodehost.promise_path(op.ns)} already exists",
                       "a lab of that name crashed: 'netlab cleanup' removes what it "
                       "left", taken=True) from None
    except OSError as error:
        raise OpFailed(k, op, error.strerror or str(error)) from None


def _node_folder(k: int, op: Op, node_dir: str) -> None:
    """Make the node's folder (and its lab's) if missing, before anything is written into
    it; a link or a folder not root's refuses the op."""
    try:
        safefs.make_node_folder(node_dir)
    except LabStateError as err:
        raise OpFailed(k, op, err.message, err.hint) from None


def stop_service(ns: str, name: str, grace: float = STOP_GRACE) -> Stopped:
    """Stop a service: SIGTERM to every process of its cgroup, then after `grace` seconds
    kill the cgroup until it is empty (which removes it). Says how many processes ended
    on SIGTERM and how many had to be killed (none: nothing of it was running)."""
    leaf = cgroups.service_leaf(name)
    signalled = set(cgroups.signal_all(ns, signal.SIGTERM, leaf))
    deadline = time.monotonic() + grace
    while signalled and time.monotonic() < deadline and cgroups.pids(ns, leaf):
        time.sleep(0.02)
    killed = cgroups.kill(ns, leaf)
    return Stopped(terminated=len(signalled - killed), killed=len(killed))


def complaint_line(stderr: str) -> str:
    """The line of a failed command's error output that says what went wrong: its first
    line that says "error" (nft, for one, ends with the offending input and a line of
    carets under it), else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    if errors:
        return errors[0]
    return lines[-1] if lines else ""
