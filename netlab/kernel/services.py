"""Processes netlab runs in nodes: `exec:` commands, services, the node's files.

Everything runs inside its node through nodehost.enter_argv (its network, mount and UTS
namespaces). A service is started with `sh -c COMMAND` there in a session of its own. Its folder
<node_dir>/services/<name>/ (NETLAB_SERVICE_DIR, owned by the service's user) holds `log`, its
output, and `pid`, its pid and start time (from /proc), so that stopping it later kills that
process group and never a stranger that happens to reuse the pid.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netlab.errors import LabStateError
from netlab.kernel import nodehost, safefs
from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.kernel.processes import alive
from netlab.plan.ops import (
    CreateNodeHost,
    DeleteNodeHost,
    Op,
    RunCommand,
    StartService,
    StopService,
    WriteFiles,
)

STARTUP_GRACE = 0.15  # seconds a service must survive to count as started
STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL


def process_env(ns: str, node_dir: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a process in a node: ours, the node's NETLAB_* facts, the
    topology's env, and netlab's own bin directory first on PATH (so `netlab-tunnel` and
    the python that runs netlab are found, venv or not)."""
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    env.update({"NETLAB_NAMESPACE": ns, "NETLAB_NODE_DIR": node_dir})
    parts = Path(node_dir).parts  # .../<lab>/nodes/<node>, as naming.node_dir makes it
    if len(parts) >= 3 and parts[-2] == "nodes":
        env.update({"NETLAB_LAB": parts[-3], "NETLAB_NODE": parts[-1]})
    env.update(extra)
    return env


def run_in_node(ns: str, node_dir: str, extra: Mapping[str, str], command: str,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """`sh -c COMMAND` in the node as its `exec:` commands run, output captured: the same
    environment (process_env), in the node's folder when there is one (a `run:` check)."""
    return subprocess.run(
        node_argv(ns, node_dir, ["sh", "-c", command]), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
        env=process_env(ns, node_dir, extra),
    )


def node_argv(ns: str, node_dir: str, argv: Sequence[str], uid: int | None = None,
              gid: int | None = None) -> list[str]:
    """argv as netlab runs it in a node: inside its namespaces, in its folder (when there
    is one), as `uid`/`gid` when given. Every process netlab starts in a node (exec:,
    prepare:, services, checks, `netlab exec`/`shell`) is made here."""
    if uid is not None:
        # Drop to the user inside the node: entering the namespaces needs root.
        gid = gid if gid is not None else uid
        argv = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={gid}",
                "--clear-groups", *argv]
    return nodehost.enter_argv(ns, argv, node_dir if os.path.isdir(node_dir) else None)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def service_dir(node_dir: str, name: str) -> Path:
    return Path(node_dir) / "services" / name


def _pid_file(node_dir: str, name: str) -> Path:
    return service_dir(node_dir, name) / "pid"


def log_file(node_dir: str, name: str) -> Path:
    return service_dir(node_dir, name) / "log"


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1].strip()[:200]
    return ""


def service_state(node_dir: str, name: str) -> dict[str, Any]:
    """What `status` says of a service: its pid, whether it runs, where its log is."""
    record: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(_pid_file(node_dir, name).read_text())
    pid = record.get("pid")
    running = isinstance(pid, int) and _start_time(pid) == record.get("start")
    if isinstance(pid, int) and running and not alive(pid):
        running = False
    return {"name": name, "pid": pid, "running": running,
            "log": str(log_file(node_dir, name)), "command": record.get("command")}


class ProcessOpsKernel:
    """Executes the ops that are processes and files, not netlink messages."""

    def __init__(self) -> None:
        self._children: list[subprocess.Popen[bytes]] = []

    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        k = 0
        while k < len(ops):
            op = ops[k]
            if isinstance(op, CreateNodeHost):
                k = self._make_hosts(ops, k, begin, done)
                continue
            begin(k, k + 1)
            if isinstance(op, DeleteNodeHost):
                if not nodehost.remove(op.ns):
                    raise OpFailed(k, op, "no such mount namespace")
            elif isinstance(op, RunCommand):
                self._run(k, op)
            elif isinstance(op, WriteFiles):
                self._write_files(k, op)
            elif isinstance(op, StartService):
                self._start(k, op)
            elif isinstance(op, StopService):
                stop_service(op.node_dir, op.name)
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
        for k, op in enumerate(batch, start=first):
            if op.hosts_file not in texts:
                with open(op.hosts_file, encoding="utf-8") as f:
                    texts[op.hosts_file] = f.read()
            _node_folder(k, op, op.node_dir)
            hosts.append(nodehost.NodeHost(
                op.ns, op.hostname, op.node_dir, texts[op.hosts_file] + op.extra_hosts,
                op.resolv, op.private, op.netns,
            ))
        failed = nodehost.create(hosts)
        for k, op in enumerate(batch, start=first):
            if op.ns in failed:
                raise OpFailed(k, op, failed[op.ns])
            done(k)
        return last

    def close(self) -> None:
        # Services outlive this process by design; reap none of them here.
        self._children.clear()

    # --- exec: ------------------------------------------------------------------------
    def _run(self, k: int, op: RunCommand) -> None:
        if op.node_dir:
            _node_folder(k, op, op.node_dir)
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
        lines = [line for line in complaint.splitlines() if line.strip()]
        status = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                  else f"exit status {proc.returncode}")
        tail = f": {lines[-1].strip()}" if lines else ""
        raise OpFailed(k, op, f"the command failed ({status}){tail}")

    # --- files: -----------------------------------------------------------------------
    def _write_files(self, k: int, op: WriteFiles) -> None:
        _node_folder(k, op, op.node_dir)
        for name, text in op.files.items():
            mode, uid, gid = op.owners.get(name, (op.mode, None, None))
            write_file(op.node_dir, name, text, mode, uid, gid)

    # --- services ---------------------------------------------------------------------
    def _start(self, k: int, op: StartService) -> None:
        folder = service_dir(op.node_dir, op.name)
        _node_folder(k, op, op.node_dir)
        log = log_file(op.node_dir, op.name)
        cwd = Path(op.node_dir) / op.cwd if op.cwd else Path(op.node_dir)
        cwd.mkdir(parents=True, exist_ok=True)
        gid = op.gid if op.gid is not None else op.uid
        argv = node_argv(op.ns, str(cwd), ["sh", "-c", op.command], op.uid, op.gid)
        env = process_env(op.ns, op.node_dir, op.env)
        env["NETLAB_SERVICE_DIR"] = str(folder)
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
                record = {"pid": proc.pid, "start": _start_time(proc.pid),
                          "command": op.command}
                safefs.write_new(fd, "pid", json.dumps(record).encode(), folder)
        except LabStateError as err:
            raise OpFailed(k, op, err.message, err.hint) from None
        self._children.append(proc)
        if op.ready:
            self._wait_ready(k, op, proc, log, offset)
            return
        try:
            code = proc.wait(STARTUP_GRACE)
        except subprocess.TimeoutExpired:
            return  # running: started
        if code != 0:
            raise OpFailed(
                k, op,
                f"the service exited at once (exit status {code}): {_last_line(log)}",
                f"its output is in {log}",
            )

    def _wait_ready(self, k: int, op: StartService, proc: subprocess.Popen[bytes],
                    log: Path, offset: int) -> None:
        assert op.ready is not None
        deadline = time.monotonic() + op.ready_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), open(log, "rb") as f:
                f.seek(offset)
                if op.ready.encode() in f.read():
                    return
            code = proc.poll()
            if code is not None:
                raise OpFailed(
                    k, op,
                    f"the service exited (exit status {code}) before it was ready: "
                    f"{_last_line(log)}", f"its output is in {log}",
                )
            time.sleep(0.02)
        raise OpFailed(
            k, op,
            f"the service did not say '{op.ready}' within {op.ready_timeout:g} s "
            f"(last: {_last_line(log) or 'nothing'})",
            f"its output is in {log}; is 'ready:' the text it prints when it is ready?",
        )


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


def _node_folder(k: int, op: Op, node_dir: str) -> None:
    """Make the node's folder (and its lab's) if missing; refuse one that is a link or not
    root's, before anything is written into it. (The lab's own folder, where its
    /etc/hosts text is written, the same way.)"""
    path = Path(node_dir)
    root, parts = (safefs.node_parts(node_dir) if path.parent.name == "nodes"
                   else (path.parent, [path.name]))
    try:
        with safefs.room(root, "the node's folder"):
            os.close(safefs.open_dir(root, parts))
    except LabStateError as err:
        raise OpFailed(k, op, err.message, err.hint) from None


def stop_service(node_dir: str, name: str, grace: float = STOP_GRACE) -> bool:
    """Stop the process group of a service netlab started; False if it was not running."""
    pid_file = _pid_file(node_dir, name)
    try:
        record = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return False
    pid, start = record.get("pid"), record.get("start")
    if not isinstance(pid, int) or _start_time(pid) != start or start is None:
        return False  # gone already, or the pid now belongs to someone else
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if _start_time(pid) != start or not alive(pid):
            break
        time.sleep(0.02)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # ours if this process started it: no zombie left
    return True
