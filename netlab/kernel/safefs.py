"""Files and folders under the state directory, opened so that nothing planted there is
followed: every folder below the trusted root is opened relative to its parent's descriptor
with O_NOFOLLOW (openat), created with its final mode from the first byte, and refused unless
it is a real folder owned by root (or by the one user it was handed to, a service's folder).

Files netlab writes here are root's alone (0600): they hold the topology's `env:` values.
Folders are 0711 (PRIVATE_DIR): nobody else can list them, and a service run as another user
can still reach its own folder (NETLAB_SERVICE_DIR) by its path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from netlab.errors import LabStateError

PRIVATE_DIR = 0o711
PRIVATE_FILE = 0o600
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def refusal(path: str | Path, what: str) -> LabStateError:
    return LabStateError(
        f"{path} is {what}, not netlab's own; not following it",
        hint=f"something other than netlab put it there: look at it, remove it (rm {path}), "
        "and run the command again",
    )


class StateFull(LabStateError):
    """The filesystem of the state folder has no room (or quota) left for a write."""


_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def room(folder: Path, what: str) -> Iterator[None]:
    """Say a full filesystem as what it is: which write, and where."""
    try:
        yield
    except OSError as err:
        if err.errno not in _FULL:
            raise
        raise StateFull(
            f"the state folder {folder} is full ({err.strerror}): could not write {what}",
            hint=f"make room there (df -h {folder}) or point NETLAB_STATE_DIR at a "
            "filesystem with space",
        ) from None


def open_dir(root: str | Path, parts: Sequence[str], create: bool = True,
             owners: Sequence[int] = ()) -> int:
    """A descriptor of root/parts[0]/parts[1]/..., each part opened relative to the one
    before without following a symbolic link, and created (PRIVATE_DIR) when missing and
    `create`. Each must be a folder owned by us; the last may also belong to one of
    `owners`. LabStateError for anything else; FileNotFoundError when missing and not
    `create`."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    path = Path(root)
    try:
        for k, part in enumerate(parts):
            path = path / part
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, PRIVATE_DIR, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    kind = "a symbolic link" if os.path.islink(path) else "not a folder"
                    raise refusal(path, kind) from None
                raise
            os.close(fd)
            fd = child
            allowed = {0, os.geteuid(), *(owners if k == len(parts) - 1 else ())}
            if os.fstat(fd).st_uid not in allowed:
                raise refusal(path, f"a folder of uid {os.fstat(fd).st_uid}")
        return fd
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def opened_dir(root: str | Path, parts: Sequence[str], create: bool = True,
               owners: Sequence[int] = ()) -> Iterator[int]:
    fd = open_dir(root, parts, create, owners)
    try:
        yield fd
    finally:
        os.close(fd)


def open_file(dir_fd: int, name: str, flags: int, where: str | Path = "") -> int:
    """A file in an opened folder, never through a symbolic link; created PRIVATE_FILE. A
    file that exists must be a regular file of ours with one name (not a hard link to
    another file planted by whoever can write the folder)."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE, dir_fd=dir_fd)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise refusal(Path(where) / name, "a symbolic link") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid not in (0, os.geteuid()) \
            or info.st_nlink != 1:
        os.close(fd)
        raise refusal(Path(where) / name, "not a file of netlab's")
    return fd


def write_new(dir_fd: int, name: str, data: bytes, where: str | Path = "") -> None:
    """Replace a file by a new one (the old name unlinked first, so nothing it pointed
    at is touched)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)
    fd = open_file(dir_fd, name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, where)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def node_parts(node_dir: str) -> tuple[Path, list[str]]:
    """A node's folder <root>/<lab>/nodes/<node> as the trusted root and the parts below it
    (as plan.naming.node_dir makes it)."""
    path = Path(node_dir)
    return path.parents[2], list(path.parts[-3:])


def make_node_folder(node_dir: str) -> None:
    """Make a node's folder (and its lab's) if missing: every part below the state root
    opened without following links, made root's; LabStateError for a link or a folder
    not root's. (A lab's own folder, <root>/<lab>, the same way.)"""
    path = Path(node_dir)
    root, parts = (node_parts(node_dir) if path.parent.name == "nodes"
                   else (path.parent, [path.name]))
    with room(root, "the node's folder"):
        os.close(open_dir(root, parts))
