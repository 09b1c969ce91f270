"""Named network namespaces by syscalls, without forking.

A namespace is the bind mount of a thread's net namespace onto /run/netns/<name>, made the
way iproute2 makes it, so `ip netns exec` and `ip -n` work on ours. Creating one forks
nothing: a thread unshares its own net namespace and mounts it (unshare(CLONE_NEWNET) is
allowed in a multithreaded process and affects only the calling thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from netlab.kernel.libc import libc as _libc
from netlab.values.names import NETNS_DIR, NS_PREFIX

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2

T = TypeVar("T")


_rundir_lock = threading.Lock()
_rundir_ready = False


def check_name(name: str) -> None:
    """A namespace name becomes a path: refuse anything that could leave /run/netns."""
    if not name or "/" in name or ".." in name or "\0" in name or name == ".":
        raise ValueError(f"invalid namespace name {name!r}")
    if len(name.encode()) > 255 or any(c.isspace() for c in name):
        raise ValueError(f"invalid namespace name {name!r}")


def path(name: str) -> str:
    check_name(name)
    return f"{NETNS_DIR}/{name}"


def _fail(what: str, name: str | None = None) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}", name)


def setns_fd(fd: int) -> None:
    """Move the calling thread into the net namespace that fd refers to."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise _fail("setns")


def _ensure_rundir() -> None:
    """/run/netns must be a shared mount, so that our bind mounts show in every mount
    namespace (`ip netns exec` makes one per command); this is what iproute2 does."""
    global _rundir_ready
    with _rundir_lock:
        if _rundir_ready:
            return
        os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
        rundir = NETNS_DIR.encode()
        if _libc.mount(b"", rundir, b"none", MS_SHARED | MS_REC, None) != 0:
            if ctypes.get_errno() != errno.EINVAL:
                raise _fail("making /run/netns a shared mount")
            # Not a mount point yet: bind it onto itself, then share it.
            if _libc.mount(rundir, rundir, b"none", MS_BIND | MS_REC, None) != 0:
                raise _fail("bind-mounting /run/netns")
            if _libc.mount(b"", rundir, b"none", MS_SHARED | MS_REC, None) != 0:
                raise _fail("making /run/netns a shared mount")
        _rundir_ready = True


def _make_here(name: str, template: str | None) -> None:
    """In the calling thread: unshare into a new namespace and pin it at its path.
    The mountpoint is made first, exclusively, so an existing name fails before any
    namespace is made."""
    target = path(name)
    _mountpoint(target, template)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            raise _fail("unshare", name)
        if _libc.mount(b"/proc/thread-self/ns/net", target.encode(), b"none", MS_BIND,
                       None) != 0:
            raise _fail("bind-mounting the namespace", name)
    except BaseException:
        os.unlink(target)
        raise


def _mountpoint(target: str, template: str | None) -> None:
    # A hard link to one template file instead of a new file per namespace: where /run
    # is a disk filesystem (ext4 here), allocating an inode scans for recently deleted
    # ones and made creating 500 namespaces 3x slower. FileExistsError either way.
    if template is not None:
        try:
            os.link(template, target)
            return
        except FileExistsError:
            raise
        except OSError:
            pass  # a filesystem without hard links: make a file
    os.close(os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))


_TEMPLATE_PREFIX = ".netlab-mountpoint-"
_template_count = itertools.count()


_TEMPLATE_RE = re.compile(r"\.netlab-mountpoint-(\d+)-(\d+)\Z")


def stale_templates() -> list[str]:
    """Mountpoint templates (in /run/netns) left by a netlab process killed while it made
    namespaces: named by our prefix, a pid and a counter, and that pid is gone."""
    try:
        entries = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(e for e in entries if _stale(e))


def _stale(entry: str) -> bool:
    m = _TEMPLATE_RE.match(entry)
    return m is not None and not os.path.exists(f"/proc/{m.group(1)}")


def remove_stale_template(entry: str) -> None:
    """Remove a template stale_templates() named, if it still is one (its pid still dead,
    a plain file and not a mount point)."""
    path = f"{NETNS_DIR}/{entry}"
    if not _stale(entry) or not os.path.isfile(path) or os.path.islink(path) \
            or os.path.ismount(path):
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextmanager
def _template() -> Iterator[str | None]:
    """A file to hard-link mountpoints from, present only while namespaces are being made
    (`ip netns list` shows it meanwhile); leftovers of killed processes are removed."""
    for entry in stale_templates():
        remove_stale_template(entry)
    name = f"{NETNS_DIR}/{_TEMPLATE_PREFIX}{os.getpid()}-{next(_template_count)}"
    try:
        os.close(os.open(name, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    except OSError:
        yield None
        return
    try:
        yield name
    finally:
        os.unlink(name)


def create(name: str, inside: Callable[[], T] | None = None) -> T | None:
    """Create namespace `name` (FileExistsError if it exists). `inside`, if given, runs in
    the new namespace right after, in the same short-lived thread (e.g. to open a socket
    there); its result is returned."""
    run = (lambda _name: inside()) if inside is not None else None
    result = create_many([name], run, workers=1)[0]
    if isinstance(result, BaseException):
        raise result
    return result


def create_many(
    names: Sequence[str], inside: Callable[[str], T] | None = None, workers: int = 2,
) -> list[T | BaseException | None]:
    """Create several namespaces with `workers` threads in parallel (the kernel creates
    namespaces concurrently: 2 threads take half the time on 2 cores). `inside(name)` runs
    in each new namespace. Returns, per name, the result of `inside` or the exception that
    stopped it; all names are attempted."""
    for name in names:
        check_name(name)
    _ensure_rundir()
    results: list[T | BaseException | None] = [None] * len(names)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(names)):
        todo.put(i)

    stop = threading.Event()

    def work(template: str | None) -> None:
        # Each unshare leaves the previous namespace pinned by its mount; the thread ends
        # in the last one it made and dies there, never touching the caller's namespace.
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                _make_here(names[i], template)
            except BaseException as err:  # handed back to the caller, per name
                results[i] = err
                continue
            try:
                results[i] = inside(names[i]) if inside is not None else None
            except BaseException as err:
                # Report it as not made, so leave nothing behind.
                with contextlib.suppress(OSError):
                    remove(names[i])
                results[i] = err

    with _template() as template:
        threads = [threading.Thread(target=work, args=(template,), name="netlab-nsfs")
                   for _ in range(max(1, min(workers, len(names))))]
        for thread in threads:
            thread.start()
        interrupted: BaseException | None = None
        for thread in threads:
            # Ctrl-C must not leave workers making namespaces behind a rollback's back:
            # stop them taking new names, wait for the one in hand, then raise.
            while thread.is_alive():
                try:
                    thread.join()
                except BaseException as err:
                    interrupted = interrupted or err
                    stop.set()
    if interrupted is not None:
        raise interrupted
    return results


def remove(name: str) -> None:
    """Unmount and unlink /run/netns/<name>; only ever a netlab namespace. The kernel frees
    the namespace (and its devices, in the background) once nothing else holds it."""
    check_name(name)
    if not name.startswith(NS_PREFIX):
        raise ValueError(f"refusing to remove {name!r}: not a netlab namespace")
    target = path(name)
    if not os.path.lexists(target):
        raise FileNotFoundError(errno.ENOENT, "no such namespace", name)
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code != errno.EINVAL:  # EINVAL: a stale file that is no mount: unlink it anyway
            raise OSError(code, f"unmounting: {os.strerror(code)}", name)
    os.unlink(target)


def exists(name: str) -> bool:
    """Whether namespace `name` is there: its path holds a namespace. A mount point that a
    crash left before the namespace was mounted on it (an empty file) is not one."""
    try:
        return _is_namespace(os.stat(path(name)))
    except FileNotFoundError:
        return False


def taken(name: str) -> bool:
    """Whether the path of namespace `name` is taken, by a namespace or by anything else
    (a mount point never mounted): creating it would fail."""
    return os.path.lexists(path(name))


def never_mounted(name: str) -> bool:
    """The path of namespace `name` is a file of /run/netns itself, no namespace mounted on
    it: what a crash between making the mount point and mounting leaves."""
    try:
        st = os.lstat(path(name))
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0 and not _is_namespace(st)


def _is_namespace(st: os.stat_result) -> bool:
    # A namespace is a mount of the nsfs file system over the file: stat() of the path
    # then sees another device than /run/netns has; an unmounted file sees its own.
    try:
        return st.st_dev != os.stat(NETNS_DIR).st_dev
    except FileNotFoundError:
        return False


def list_names(prefix: str = NS_PREFIX) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def open_fd(name: str) -> int:
    """An fd of the namespace (FileNotFoundError if there is none, or only a mount point
    that was never mounted); the caller closes it."""
    fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if not _is_namespace(os.fstat(fd)):
            raise FileNotFoundError(errno.ENOENT, "no such namespace (a mount point that "
                                    "was never mounted)", name)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with the *current thread* inside namespace `name`; the thread's own
    namespace is restored on the way out, whatever happens. Sockets opened inside keep
    that namespace for life; processes forked inside are born there."""
    target = open_fd(name)
    try:
        with entered_fd(target):
            yield
    finally:
        os.close(target)


def run_in(name: str, action: Callable[[], T]) -> T:
    """action() in a short thread that has entered namespace `name`: its result, or its
    exception raised here. The caller's own thread never changes namespace. What action
    opens there (a socket, a TUN/TAP fd) stays in that namespace for life."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            with entered(name):
                outcome.append(action())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    thread = threading.Thread(target=work, name=f"netlab-in-{name}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


@contextmanager
def entered_fd(target: int) -> Iterator[None]:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(target)
        try:
            yield
        finally:
            # Staying in the wrong namespace would make every later call lie: if this
            # fails something is deeply wrong, and the error must surface.
            setns_fd(home)
    finally:
        os.close(home)
