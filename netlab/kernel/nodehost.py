"""A node as a small host: its own mount and UTS namespaces beside its network namespace.

Each is pinned like the network namespace: bind-mounted onto a file, here in PIN_DIR
(`<namespace>.mnt`, `<namespace>.uts`, so the lab's mark is in the name), which is a private
mount so that nothing pinned there propagates anywhere. Inside a node: hostname = node
name, its own /run (so /var/run) and /tmp (tmpfs), /etc/hosts, /etc/hostname and
/etc/resolv.conf bound from its /run, a /sys that shows its own interfaces, its `private:`
folders from <node folder>/private/<path>, and its node folder at the same path as on the
host. Mounts made in a node stay in it: its mounts are slaves of the host's.

unshare(CLONE_NEWNS) is refused to a thread of a multithreaded process, so the namespaces
are made by a small single-threaded helper (`python -m netlab.kernel.nodehost`, JSON on
stdin): it forks one child per node that enters the node's network namespace, unshares,
mounts, and waits while the helper, back in the host's mount namespace, pins the child's
namespaces. A mount namespace can only be pinned from an older one, as here.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab.kernel.libc import libc as _libc
from netlab.plan.naming import PRIVATE_DIR
from netlab.values.names import NETNS_DIR, NS_PREFIX

PIN_DIR = "/run/netlab-ns"
ETC_DIR = "/run/netlab-node"  # inside a node: its hosts, hostname, resolv.conf

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MNT_DETACH = 2



@dataclass(frozen=True)
class NodeHost:
    """What one node's mount and UTS namespaces are made of."""

    ns: str  # the network namespace's name, netlab-<lab>-<node>
    hostname: str
    node_dir: str
    hosts: str  # text of /etc/hosts
    resolv: str = ""  # text of /etc/resolv.conf
    private: tuple[tuple[str, bool], ...] = field(default_factory=tuple)  # (path, seeded)
    netns: bool = False  # sees /run/netns (a node that runs programs)


def pins(ns: str) -> tuple[str, str]:
    """The files the node's mount and UTS namespaces are pinned on."""
    _check_name(ns)
    return f"{PIN_DIR}/{ns}.mnt", f"{PIN_DIR}/{ns}.uts"


def exists(ns: str) -> bool:
    mnt, _ = pins(ns)
    return _is_pinned(mnt)


def private_source(node_dir: str, path: str) -> str:
    """Where a node's private folder `path` (absolute) lives on the host."""
    return os.path.join(node_dir, PRIVATE_DIR, path.lstrip("/"))


def enter_argv(ns: str, argv: Sequence[str], cwd: str | None = None) -> list[str]:
    """argv run inside node `ns`: its network, mount and UTS namespaces (those it has:
    a lab made before nodes had the last two has only the first), in folder `cwd` as the
    node sees it. The one place that says how a program enters a node."""
    cmd = [shutil.which("nsenter") or "nsenter", f"--net={NETNS_DIR}/{ns}"]
    mnt, uts = pins(ns)
    if _is_pinned(mnt):
        cmd += [f"--mount={mnt}", f"--uts={uts}"]
    if cwd:
        # Into the folder once inside, not with nsenter's --wd: that opens the folder in
        # the caller's mount namespace, so a program then run as a user could not name
        # its own folder (getcwd: "Permission denied").
        argv = [shutil.which("env") or "env", f"--chdir={cwd}", *argv]
    return [*cmd, "--", *argv]


def _check_name(ns: str) -> None:
    if not ns.startswith(NS_PREFIX) or "/" in ns or "\0" in ns or ".." in ns or len(ns) > 200:
        raise ValueError(f"invalid namespace name {ns!r}")


def _is_pinned(pin: str) -> bool:
    try:
        return os.stat(pin).st_dev != os.stat(PIN_DIR).st_dev
    except OSError:
        return False


# --- made and removed from the netlab process --------------------------------------------


def create(hosts: Sequence[NodeHost], workers: int = 2) -> dict[str, str]:
    """Make the mount and UTS namespaces of these nodes (their network namespaces exist),
    with `workers` helper processes side by side. Returns, per namespace that could not
    be made, why; the others are pinned."""
    if not hosts:
        return {}
    _ensure_pin_dir()  # here, once: the helpers then find it made
    count = max(1, min(workers, len(hosts), os.cpu_count() or 1))
    procs = [subprocess.Popen(
        [sys.executable, "-m", "netlab.kernel.nodehost", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
    ) for _ in range(count)]
    for k, proc in enumerate(procs):
        assert proc.stdin is not None
        proc.stdin.write(json.dumps([h.__dict__ for h in hosts[k::count]]))
        proc.stdin.close()
    failed: dict[str, str] = {}
    made: set[str] = set()
    complaints: list[str] = []
    for proc in procs:
        assert proc.stdout is not None and proc.stderr is not None
        out = proc.stdout.read()  # the helper says little on stderr: no deadlock
        err = proc.stderr.read()
        proc.wait()
        complaints += err.strip().splitlines()[-1:]
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                said = json.loads(line)
                if said.get("error"):
                    failed[said["ns"]] = said["error"]
                else:
                    made.add(said["ns"])
    for h in hosts:
        if h.ns not in made and h.ns not in failed:
            failed[h.ns] = complaints[0] if complaints else "the helper stopped"
    return failed


def remove(ns: str) -> bool:
    """Unpin the node's mount and UTS namespaces; False if there was nothing. The
    namespaces go when their last process does (the network namespace's removal stops
    them)."""
    found = False
    for pin in pins(ns):
        if not os.path.lexists(pin):
            continue
        found = True
        if _libc.umount2(pin.encode(), MNT_DETACH) != 0:
            code = ctypes.get_errno()
            if code != errno.EINVAL:  # EINVAL: never mounted; unlink it all the same
                raise OSError(code, f"unmounting: {os.strerror(code)}", pin)
        os.unlink(pin)
    return found


def leftovers(prefix: str = NS_PREFIX) -> list[str]:
    """Namespace names that have a pin in PIN_DIR (for `cleanup`)."""
    try:
        names = os.listdir(PIN_DIR)
    except FileNotFoundError:
        return []
    return sorted({n.rsplit(".", 1)[0] for n in names
                   if n.startswith(prefix) and n.endswith((".mnt", ".uts"))})


# --- the helper process ------------------------------------------------------------------


def _fail(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    if _libc.mount(source.encode() if source else None, target.encode(),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        raise _fail(f"mounting {target}")


def _setns(fd: int, kind: int) -> None:
    if _libc.setns(fd, kind) != 0:
        raise _fail("setns")


def _ensure_pin_dir() -> None:
    """PIN_DIR as a private mount of itself: a pin must propagate nowhere (a mount
    namespace pinned inside one of its own copies would never be freed)."""
    os.makedirs(PIN_DIR, mode=0o755, exist_ok=True)
    target = PIN_DIR.encode()
    if _libc.mount(b"", target, b"none", MS_PRIVATE, None) != 0:
        if ctypes.get_errno() != errno.EINVAL:
            raise _fail(f"making {PIN_DIR} private")
        _mount(PIN_DIR, PIN_DIR, None, MS_BIND)
        _mount(None, PIN_DIR, None, MS_PRIVATE)


def _write(path: str, text: str, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _bind_file(source: str, target: str) -> None:
    """Bind `source` over `target` (a file of the host's that exists), or write it there
    when `target` leads into the node's own /run or /tmp (resolv.conf is often a link
    into /run)."""
    real = os.path.realpath(target)
    if real.startswith(("/run/", "/tmp/")):
        os.makedirs(os.path.dirname(real), exist_ok=True)
        shutil.copyfile(source, real)
        return
    if os.path.isfile(real):
        _mount(source, real, None, MS_BIND)


def _setup(host: dict[str, Any], netfd: int) -> None:
    """In a forked child: enter the node's network namespace, unshare mount and UTS
    namespaces, and furnish them."""
    _setns(netfd, CLONE_NEWNET)
    if _libc.unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0:
        raise _fail("unshare")
    name = host["hostname"].encode()
    if _libc.sethostname(name, len(name)) != 0:
        raise _fail("sethostname")
    node_dir = host["node_dir"]
    # Private folders, made and seeded while the host's copies are in sight.
    private: list[tuple[str, str]] = []
    for path, seeded in host["private"]:
        source = private_source(node_dir, path)
        if seeded and os.path.isdir(path):
            shutil.copytree(path, source, symlinks=True, dirs_exist_ok=True)
        os.makedirs(source, mode=0o755, exist_ok=True)
        private.append((path, source))
    # Hold what the new mounts will cover, to bind it back on top.
    folder = os.open(node_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    netns = -1
    if host["netns"]:
        netns = os.open(NETNS_DIR, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    cgroup = -1
    with contextlib.suppress(OSError):
        cgroup = os.open("/sys/fs/cgroup", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    sources = [os.open(s, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
               for _, s in private]
    install = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
               for path in _hidden_install()]
    # A /sys of the node's network namespace (as `ip netns exec` makes), cgroups kept.
    _mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV)
    if cgroup >= 0 and os.path.isdir("/sys/fs/cgroup"):
        _mount(f"/proc/self/fd/{cgroup}", "/sys/fs/cgroup", None, MS_BIND | MS_REC)
    _mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.makedirs("/run/lock", exist_ok=True)
    os.chmod("/run/lock", 0o1777)
    for path, fd in install:  # netlab's own programs, wherever netlab is installed
        _bind_back(fd, path)
    _bind_back(folder, node_dir)
    if netns >= 0:  # the lab's other namespaces, for netlab's programs
        os.makedirs(NETNS_DIR, mode=0o755)
        _mount(f"/proc/self/fd/{netns}", NETNS_DIR, None, MS_BIND | MS_REC)
    os.makedirs(ETC_DIR, mode=0o755)
    _write(f"{ETC_DIR}/hosts", host["hosts"])
    _write(f"{ETC_DIR}/hostname", host["hostname"] + "\n")
    _write(f"{ETC_DIR}/resolv.conf", host["resolv"])
    for entry in ("hosts", "hostname", "resolv.conf"):
        _bind_file(f"{ETC_DIR}/{entry}", f"/etc/{entry}")
    for (path, _), fd in zip(private, sources, strict=True):
        _bind_private(fd, path)


def _hidden_install() -> list[str]:
    """Where netlab itself lives (its Python environment, and its source folder for an
    editable install) when that is under /tmp or /run, which a node gets its own copies of:
    bound back at the same paths so that netlab's programs (netlab-tunnel, netlab-tapswitch)
    run in nodes wherever netlab was installed (a checkout cloned into /tmp, say)."""
    places = {os.path.realpath(sys.prefix), str(Path(__file__).resolve().parents[2])}
    return sorted(p for p in places
                  if any(p == top or p.startswith(top + "/") for top in ("/tmp", "/run")))


def _bind_back(fd: int, path: str) -> None:
    """The folder `fd` at `path` again, when a mount since hides it."""
    here = os.fstat(fd)
    with contextlib.suppress(OSError):
        there = os.stat(path)
        if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
            return
    os.makedirs(path, mode=0o755, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)


def _bind_private(fd: int, path: str) -> None:
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        if real.startswith(("/run/", "/tmp/")):
            os.makedirs(real, mode=0o755)
        else:
            raise OSError(errno.ENOENT, f"private folder {path} does not exist on this "
                          "host (netlab makes no folders on the host)")
    _mount(f"/proc/self/fd/{fd}", real, None, MS_BIND)


def _pin(pid: int, ns: str) -> None:
    done: list[str] = []
    try:
        for kind, pin in zip(("mnt", "uts"), pins(ns), strict=True):
            os.close(os.open(pin, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
            done.append(pin)
            _mount(f"/proc/{pid}/ns/{kind}", pin, None, MS_BIND)
    except OSError:
        for pin in done:
            _libc.umount2(pin.encode(), MNT_DETACH)
            os.unlink(pin)
        raise


class _Child:
    """A forked child that furnishes a node's namespaces, then waits to be pinned."""

    def __init__(self, host: dict[str, Any], netfd: int, cpu: int) -> None:
        said_r, said_w = os.pipe()
        go_r, self._go = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: furnish, say so, wait to be pinned
            os.close(said_r)
            os.close(self._go)
            try:
                os.sched_setaffinity(0, {cpu})  # where its namespace id comes from
                _setup(host, netfd)
                os.write(said_w, b"ok")
            except BaseException as error:  # said to the parent, in words
                text = error.strerror if isinstance(error, OSError) and error.strerror else error
                os.write(said_w, f"{text}".encode()[:4000])
            os.close(said_w)
            os.read(go_r, 1)
            os._exit(0)
        os.close(said_w)
        os.close(go_r)
        said = b""
        try:
            while chunk := os.read(said_r, 4096):
                said += chunk
        finally:
            os.close(said_r)
        self.said = said.decode(errors="replace")

    def finish(self) -> None:
        os.close(self._go)
        os.waitpid(self.pid, 0)


NS_GET_MNTNS_ID = 0x8008B705  # _IOR(0xb7, 5, __u64)


def _mnt_ns_id(path: str) -> int | None:
    """The kernel's id of a mount namespace (None where the kernel does not say)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, NS_GET_MNTNS_ID, buf)
        return int.from_bytes(buf, sys.byteorder)
    except OSError:
        return None
    finally:
        os.close(fd)


PIN_TRIES = 64


def _make_one(host: dict[str, Any], netfd: int, home: int, base: int, cpus: list[int]
              ) -> None:
    """Make the node's namespaces and pin them from the host's mount namespace. The
    kernel pins a mount namespace only from one whose id is lower (its guard against
    namespace loops). Ids are handed out in batches per CPU, so outside the first mount
    namespace (a container, a simulated host) a new namespace can get a lower id than
    the host's: it is made again on another CPU. `cpus` starts with the one that last
    served (and is reordered so)."""
    home_id = _mnt_ns_id(f"/proc/self/fd/{home}")
    for attempt in range(PIN_TRIES):
        cpu = cpus[attempt % len(cpus)]
        child = _Child(host, netfd, cpu)
        try:
            if child.said != "ok":
                raise RuntimeError(child.said or "the child died")
            child_id = _mnt_ns_id(f"/proc/{child.pid}/ns/mnt")
            if home_id is not None and child_id is not None and child_id <= home_id:
                continue
            _setns(home, CLONE_NEWNS)
            try:
                _pin(child.pid, host["ns"])
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                continue
            finally:
                _setns(base, CLONE_NEWNS)
        finally:
            child.finish()
        cpus.remove(cpu)
        cpus.insert(0, cpu)
        return
    raise RuntimeError(f"the kernel refused {PIN_TRIES} times to pin the node's mount "
                       "namespace (EINVAL)")


def _helper(hosts: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 2 * len(hosts) + 64)),
                                                hard))
    _ensure_pin_dir()
    netfds = {h["ns"]: os.open(f"{NETNS_DIR}/{h['ns']}", os.O_RDONLY | os.O_CLOEXEC)
              for h in hosts}
    home = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    # Base mount namespaces for the nodes: slaves of the host's, without the pins of
    # nodes' mount namespaces (which a node's copy would keep alive after `down`). Only
    # nodes that run programs keep the network namespaces of /run/netns (as slaves: the
    # host's umount reaches them), for netlab's own programs (netlab-tapswitch NODE:TAP);
    # in every node they would cost n^2 mounts to make and to remove.
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise _fail("unshare")
    _mount(None, "/", None, MS_REC | MS_SLAVE)
    _libc.umount2(PIN_DIR.encode(), MNT_DETACH)
    with_netns = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise _fail("unshare")
    _libc.umount2(NETNS_DIR.encode(), MNT_DETACH)
    plain = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    cpus = sorted(os.sched_getaffinity(0))
    for host in hosts:
        _check_name(host["ns"])
        try:
            base = with_netns if host["netns"] else plain
            _setns(base, CLONE_NEWNS)
            _make_one(host, netfds[host["ns"]], home, base, cpus)
        except (OSError, RuntimeError) as error:
            text = error.strerror if isinstance(error, OSError) and error.strerror else error
            yield {"ns": host["ns"], "error": str(text)}
            continue
        yield {"ns": host["ns"]}


PR_SET_PDEATHSIG = 1


def _main(args: Iterable[str]) -> int:
    del args
    # Die with netlab: a helper left pinning after `up` was killed would race the `down`
    # that undoes it (its forked children, waiting to be pinned, then go too).
    parent = int(sys.argv[-1]) if len(sys.argv) > 1 and sys.argv[-1].isdigit() else None
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        return 1  # netlab died before the line above
    for said in _helper(json.load(sys.stdin)):
        sys.stdout.write(json.dumps(said) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
