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
stdin): for each node in turn it enters the node's network namespace and a base mount
namespace, unshares mount and UTS namespaces, mounts, and, back in the host's mount
namespace, pins them through its descriptors of them (_make_one). A mount namespace can
only be pinned from an older one, as here.

A node that runs nothing at `up` (plan/planner.py) gets them on first entry instead:
`up` leaves only its promise, and enter_argv makes them (ensure) before entering it.
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
import stat
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab.errors import LabStateError
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
MS_NOEXEC = 8
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


def promise_path(ns: str) -> str:
    """The file that says how to make a lazy node's namespaces on first entry (root's, in
    PIN_DIR, beside its pins); flock()ed by whoever makes or removes them."""
    _check_name(ns)
    return f"{PIN_DIR}/{ns}.host"


def exists(ns: str) -> bool:
    mnt, _ = pins(ns)
    return _is_pinned(mnt)


def _made(ns: str) -> bool:
    return all(_is_pinned(pin) for pin in pins(ns))


def private_source(node_dir: str, path: str) -> str:
    """Where a node's private folder `path` (absolute) lives on the host."""
    return os.path.join(node_dir, PRIVATE_DIR, path.lstrip("/"))


def enter_argv(ns: str, argv: Sequence[str], cwd: str | None = None) -> list[str]:
    """argv run inside node `ns`: its network, mount and UTS namespaces (those it has:
    a lab made before nodes had the last two has only the first), in folder `cwd` as the
    node sees it (when it has one). The one place that says how a program enters a node."""
    cmd = [shutil.which("nsenter") or "nsenter", f"--net={NETNS_DIR}/{ns}"]
    mnt, uts = pins(ns)
    if not _made(ns):
        ensure(ns)  # a lazy node's namespaces, and its folder
    if _is_pinned(mnt):
        cmd += [f"--mount={mnt}", f"--uts={uts}"]
    if cwd and os.path.isdir(cwd):
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


HOSTS_PER_HELPER = 200


def create(hosts: Sequence[NodeHost], workers: int = 2) -> dict[str, str]:
    """Make the mount and UTS namespaces of these nodes (their network namespaces exist),
    with up to `workers` helper processes side by side. Returns, per namespace that could
    not be made, why; the others are pinned."""
    return start(hosts, workers).wait()


class Making:
    """Helpers at work on nodes' namespaces (`start`); `wait` for what they made."""

    def __init__(self, hosts: Sequence[NodeHost], procs: list[subprocess.Popen[bytes]],
                 feeders: list[threading.Thread]) -> None:
        self._hosts = hosts
        self._procs = procs
        self._feeders = feeders

    def wait(self) -> dict[str, str]:
        """Per namespace that could not be made, why; the others are pinned."""
        failed: dict[str, str] = {}
        made: set[str] = set()
        complaints: list[str] = []
        for feeder in self._feeders:  # the helpers read all their input before they speak
            feeder.join()
        for proc in self._procs:
            assert proc.stdout is not None and proc.stderr is not None
            with proc:  # closes the pipes, waits
                out = proc.stdout.read()  # the helper says little on stderr: no deadlock
                err = proc.stderr.read()
            complaints += err.decode(errors="replace").strip().splitlines()[-1:]
            for line in out.splitlines():
                with contextlib.suppress(ValueError):
                    said = json.loads(line)
                    if said.get("error"):
                        failed[said["ns"]] = said["error"]
                    else:
                        made.add(said["ns"])
        for h in self._hosts:
            if h.ns not in made and h.ns not in failed:
                failed[h.ns] = complaints[0] if complaints else "the helper stopped"
        return failed


def start(hosts: Sequence[NodeHost], workers: int = 2) -> Making:
    """Start making the mount and UTS namespaces of these nodes (as `create`), and return
    at once: the caller does other work (the lab's netlink work) while the helpers run,
    then waits (Making.wait). The helpers die with this process."""
    if not hosts:
        return Making(hosts, [], [])
    ensure_pin_dir()  # here, once: the helpers then find it made
    # A helper makes a node's namespaces in ~1 ms: a second one pays its start-up (~40 ms
    # of Python) back only past a few hundred nodes, and only with a CPU to spare.
    count = max(1, min(workers, len(hosts) // HOSTS_PER_HELPER, (os.cpu_count() or 2) - 1))
    # Each in a process group of its own: Ctrl-C signals the terminal's whole foreground
    # group, and a helper it reached would report its KeyboardInterrupt as the op's
    # failure; netlab decides what a signal means (engine.Stop), the helper finishes.
    procs: list[subprocess.Popen[bytes]] = [subprocess.Popen(
        [sys.executable, "-m", "netlab.kernel.nodehost", str(os.getpid())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/",
        process_group=0,
    ) for _ in range(count)]
    feeders = []
    for k, proc in enumerate(procs):
        # Fed from a thread: the pipe takes the input only as fast as the helper, still
        # starting, reads it.
        feeder = threading.Thread(target=_feed, args=(proc, hosts[k::count]), daemon=True)
        feeder.start()
        feeders.append(feeder)
    return Making(hosts, procs, feeders)


def _feed(proc: subprocess.Popen[bytes], hosts: Sequence[NodeHost]) -> None:
    """The helper's input: each distinct /etc/hosts text once (a lab's nodes share it),
    and the nodes naming theirs by number."""
    texts: dict[str, int] = {}
    nodes = [{**h.__dict__, "hosts": texts.setdefault(h.hosts, len(texts))} for h in hosts]
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError), proc.stdin:  # died: wait() says so
        proc.stdin.write(json.dumps({"texts": list(texts), "nodes": nodes}).encode())


# --- a lazy node: made on first entry ------------------------------------------------------
#
# `up` writes, for a node that runs nothing at `up`, only its promise (PIN_DIR/<ns>.host:
# root's, made O_EXCL, read without following links; its hostname, folder, the lab's hosts
# file and its own line, resolv.conf). The first entry makes the namespaces from it under
# an flock of it; `remove` (down, cleanup) takes the same lock, unpins and unlinks it. So
# two first entries make one pair of namespaces, and an entry that comes after `down` has
# taken a node's promise away (it finds it gone, or unlinked once it holds the lock) makes
# nothing that `down` would not remove.


def promise(ns: str, hostname: str, node_dir: str, hosts_file: str, extra_hosts: str,
            resolv: str, netns: bool) -> None:
    """Leave what the node's first entry needs to make its namespaces (at `up`)."""
    data = json.dumps({"hostname": hostname, "node_dir": node_dir, "hosts_file": hosts_file,
                       "extra_hosts": extra_hosts, "resolv": resolv, "netns": netns})
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(promise_path(ns), flags, 0o600)
    except FileNotFoundError:  # `up` makes it first (ensure_pin_dir)
        ensure_pin_dir()
        fd = os.open(promise_path(ns), flags, 0o600)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


def ensure(ns: str) -> None:
    """Make the namespaces of a lazy node that has none yet (enter_argv, before entering
    it). Nothing to do for a node made at `up`, one whose lab is going down (its promise
    gone), or a caller that may not read the promise (not root: it cannot enter either)."""
    from netlab.kernel import safefs

    try:
        fd = os.open(promise_path(ns), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, PermissionError):
        return
    with os.fdopen(fd, "rb") as f:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another entry making it: wait, then use its work
        info = os.fstat(fd)
        if info.st_nlink == 0 or _made(ns):  # removed meanwhile (down), or made meanwhile
            return
        if not stat.S_ISREG(info.st_mode) or info.st_uid != 0:
            raise LabStateError(f"{promise_path(ns)} is not netlab's own; not following it")
        spec = json.loads(f.read())
        host = NodeHost(ns, spec["hostname"], spec["node_dir"],
                        read_hosts(spec["hosts_file"]) + spec["extra_hosts"],
                        spec["resolv"], (), bool(spec["netns"]))
        _unpin(ns)  # what an entry killed half-way left
        safefs.make_node_folder(host.node_dir)  # `up` left it to the first entry
        # A forked child when this process has one thread (`netlab exec`: no helper's
        # interpreter to start, ~40 ms); else (the web terminal, checks side by side) a
        # helper process, as at `up`.
        why = (_make_forked(host) if threading.active_count() == 1
               else create([host], workers=1).get(ns))
        if why is not None:
            raise LabStateError(f"could not make the mount and uts namespaces of {ns}: "
                                f"{why}", hint="'netlab status' shows what the lab lacks; "
                                "'netlab up --recreate FILE' builds it anew")


def _make_forked(host: NodeHost) -> str | None:
    """Make one node's namespaces in a child forked from this single-threaded process (its
    mount namespace is the host's, as a helper's); why not, or None."""
    parent = os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: says what it made on the pipe, and exits at once
        code = 1
        try:
            os.close(read)
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with its caller
            if os.getppid() == parent:
                for said in _helper([dict(host.__dict__)]):
                    os.write(write, json.dumps(said).encode())
                code = 0
        except BaseException as error:  # said on the pipe, never raised
            with contextlib.suppress(BaseException):
                text = error.strerror if isinstance(error, OSError) else None
                os.write(write, json.dumps({"ns": host.ns,
                                            "error": str(text or error)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        out = f.read()
    os.waitpid(pid, 0)
    try:
        said = json.loads(out)
    except ValueError:
        return "the child making them stopped"
    return None if said.get("ns") == host.ns and not said.get("error") else str(
        said.get("error") or "not made")


def read_hosts(path: str) -> str:
    """The lab's /etc/hosts text (<state root>/<lab>/hosts), every folder below the state
    root and the file opened without following links."""
    from netlab.kernel import safefs

    lab_dir = Path(path).parent
    folder = safefs.open_dir(lab_dir.parent, [lab_dir.name], create=False)
    try:
        fd = safefs.open_file(folder, Path(path).name, os.O_RDONLY, lab_dir)
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as f:
        return f.read().decode()


def remove(ns: str) -> bool:
    """Unpin the node's mount and UTS namespaces, and take its promise away (a lazy node);
    False if there was nothing. The namespaces go when their last process does (the
    network namespace's removal stops them)."""
    try:
        fd = os.open(promise_path(ns), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return _unpin(ns)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        os.unlink(promise_path(ns))  # a link: not ours to follow, only to remove
        _unpin(ns)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a first entry at work on it finishes first
        _unpin(ns)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(promise_path(ns))
    finally:
        os.close(fd)
    return True


def _unpin(ns: str) -> bool:
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
    """Namespace names that have a pin or a promise in PIN_DIR (for `cleanup`)."""
    try:
        names = os.listdir(PIN_DIR)
    except FileNotFoundError:
        return []
    return sorted({n.rsplit(".", 1)[0] for n in names
                   if n.startswith(prefix) and n.endswith((".mnt", ".uts", ".host"))})


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


def ensure_pin_dir() -> None:
    """PIN_DIR as a private mount: a pin must propagate nowhere (a mount namespace pinned
    inside one of its own copies would never be freed).

    Made by netlab, empty, it is a tmpfs of its own, so that its files (pins, and the lazy
    nodes' promises, one per node) are made in memory rather than on /run's filesystem:
    where that is a disk's (ext4 without a journal), each new inode is looked for past
    every recently deleted one, ~0.2 ms a file after a `down` (~0.1 s of a 500-node `up`).
    A folder that already holds files (a lab's promises), or is a mount already (an older
    netlab's bind mount of itself), is kept as it is."""
    os.makedirs(PIN_DIR, mode=0o755, exist_ok=True)
    if _made_private():
        return
    folder = os.open(PIN_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        # Two netlabs at once: one mount, not a second stacked on the first's files.
        fcntl.flock(folder, fcntl.LOCK_EX)
        if _made_private():  # mounted meanwhile
            return
        if os.listdir(folder):
            _mount(PIN_DIR, PIN_DIR, None, MS_BIND)
        else:
            _mount("tmpfs", PIN_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755")
        _mount(None, PIN_DIR, None, MS_PRIVATE)
    finally:
        os.close(folder)


def _made_private() -> bool:
    """Whether PIN_DIR is a mount, made private now; False when it is a plain folder."""
    if _libc.mount(b"", PIN_DIR.encode(), b"none", MS_PRIVATE, None) == 0:
        return True
    if ctypes.get_errno() != errno.EINVAL:
        raise _fail(f"making {PIN_DIR} private")
    return False


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


def _furnish(host: dict[str, Any]) -> None:
    """Furnish the mount and UTS namespaces just unshared (hostname, mounts, files)."""
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
    with contextlib.ExitStack() as held:  # what the new mounts will cover, bound back
        def hold(path: str, flags: int = 0) -> int:
            fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC | flags)
            held.callback(os.close, fd)
            return fd

        folder = hold(node_dir)
        netns = hold(NETNS_DIR) if host["netns"] else -1
        cgroup = -1
        with contextlib.suppress(OSError):
            cgroup = hold("/sys/fs/cgroup")
        sources = [hold(s, os.O_NOFOLLOW) for _, s in private]
        install = [(path, hold(path)) for path in _hidden_install()]
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


def _pin(sources: Sequence[str], ns: str) -> None:
    """Bind the namespaces `sources` (mnt, uts) onto the node's pins."""
    done: list[str] = []
    try:
        for source, pin in zip(sources, pins(ns), strict=True):
            os.close(os.open(pin, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
            done.append(pin)
            _mount(source, pin, None, MS_BIND)
    except OSError:
        for pin in done:
            _libc.umount2(pin.encode(), MNT_DETACH)
            os.unlink(pin)
        raise


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


@dataclass(frozen=True)
class _Home:
    """The helper's mount namespaces: the host's (`home`, where pins are made, and its
    id) and the bases a node's is copied from."""

    home: int
    home_id: int | None
    with_netns: int
    plain: int


def _make_one(host: dict[str, Any], netfd: int, at: _Home, cpus: list[int]) -> None:
    """Make the node's namespaces in this process: enter its network namespace and the
    base mount namespace, unshare mount and UTS namespaces, furnish them, and pin them
    from the host's mount namespace (through this process's descriptors of them: the
    next node's unshare leaves them). No process per node: each would cost a fork, its
    page faults and its reaping, 3x what the kernel charges for the namespaces.

    The kernel pins a mount namespace only from one whose id is lower (its guard against
    namespace loops). Ids are handed out in batches per CPU, so outside the first mount
    namespace (a container, a simulated host) a new namespace can get a lower id than
    the host's: it is then made again on another CPU (this process stays on the CPU that
    served)."""
    base = at.with_netns if host["netns"] else at.plain
    for attempt in range(PIN_TRIES):
        if attempt:
            os.sched_setaffinity(0, {cpus[attempt % len(cpus)]})
        _setns(netfd, CLONE_NEWNET)
        _setns(base, CLONE_NEWNS)
        if _libc.unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0:
            raise _fail("unshare")
        _furnish(host)
        mnt = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        uts = os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
        try:
            made_id = _mnt_ns_id(f"/proc/self/fd/{mnt}")
            if at.home_id is not None and made_id is not None and made_id <= at.home_id:
                continue
            _setns(at.home, CLONE_NEWNS)
            try:
                _pin((f"/proc/self/fd/{mnt}", f"/proc/self/fd/{uts}"), host["ns"])
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                continue
        finally:
            os.close(mnt)
            os.close(uts)
        return
    raise RuntimeError(f"the kernel refused {PIN_TRIES} times to pin the node's mount "
                       "namespace (EINVAL)")


def _helper(hosts: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 2 * len(hosts) + 64)),
                                                hard))
    ensure_pin_dir()
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
    at = _Home(home, _mnt_ns_id(f"/proc/self/fd/{home}"), with_netns, plain)
    cpus = sorted(os.sched_getaffinity(0))
    for host in hosts:
        try:
            _check_name(host["ns"])
            _make_one(host, netfds[host["ns"]], at, cpus)
        except (OSError, RuntimeError, ValueError) as error:
            text = error.strerror if isinstance(error, OSError) and error.strerror else error
            yield {"ns": host["ns"], "error": str(text)}
            continue
        yield {"ns": host["ns"]}


PR_SET_PDEATHSIG = 1


def _main(args: Iterable[str]) -> int:
    del args
    # Die with netlab: a helper left pinning after `up` was killed would race the `down`
    # that undoes it.
    parent = int(sys.argv[-1]) if len(sys.argv) > 1 and sys.argv[-1].isdigit() else None
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        return 1  # netlab died before the line above
    given = json.load(sys.stdin)
    hosts = [{**h, "hosts": given["texts"][h["hosts"]]} for h in given["nodes"]]
    for said in _helper(hosts):
        sys.stdout.write(json.dumps(said) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
