"""Files copied out of a node's folder, which the lab's processes can write, by root: nothing
planted there decides what is read or where anything is written.

Reading: every component is opened relative to its parent's descriptor without following a
symbolic link (O_PATH | O_NOFOLLOW), and what it is comes from the descriptor itself: a
folder is walked, a regular file with one name is read (reopened through its own descriptor,
so it is the very file looked at), anything else (a symbolic link, a FIFO, a device, a
socket, a file with hard links) is left out and said so. What is read is bounded in bytes and
in entries: a huge (or sparse) file is an error, never a full disk or memory.

Writing: into a folder made for it (0700) or an empty one (or, when forced, one that is not),
never through a symbolic link; folders 0700 and files 0600, root's (saved configs may hold
secrets).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netlab.errors import InputError, LabStateError
from netlab.kernel import safefs

MAX_BYTES = 64 * 1024 * 1024  # all files saved together
MAX_ENTRIES = 20_000  # files and folders looked at together
MAX_DEPTH = 64
SAVED_DIR = 0o700
SAVED_FILE = 0o600
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Found:
    """A regular file read out of a node."""

    path: str  # where it was, below the folder read ("etc/frr/frr.conf" or "notes.txt")
    data: bytes
    mode: int  # permission bits (rwx: never setuid, setgid or sticky)
    uid: int
    gid: int


@dataclass
class Reading:
    """What a save has read so far, and what it left out (one line each)."""

    limit: int = MAX_BYTES
    max_entries: int = MAX_ENTRIES
    entries: int = 0
    size: int = 0
    skipped: list[str] = field(default_factory=list)

    def count(self) -> None:
        self.entries += 1
        if self.entries > self.max_entries:
            raise LabStateError(
                f"the node's folders hold more than {self.max_entries} files and folders: not "
                "saving them", hint="remove what need not be handed in, and save again")

    def take(self, shown: str, size: int) -> int:
        """Room for a file of `size` bytes; how much to read at most (one byte more than
        its room, to see it grow)."""
        if self.size + size > self.limit:
            raise LabStateError(
                f"{shown} makes the saved files larger than {self.limit // 2**20} MiB: "
                "not saving them",
                hint="remove or shrink it in the node, and save again")
        return self.limit - self.size + 1


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


@contextlib.contextmanager
def _opened(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


class _NotFolder(Exception):
    """A folder on the way is something else (a link a node's process put there)."""


def _open_below(dir_fd: int, parts: Sequence[str]) -> int | None:
    """The folder dir_fd/parts..., each part opened without following a link; None when
    one is missing; _NotFolder when one is no folder."""
    fd = os.dup(dir_fd)
    try:
        for part in parts:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                                | os.O_CLOEXEC, dir_fd=fd)
            except OSError as err:
                if err.errno == errno.ENOENT:
                    os.close(fd)
                    return None
                if err.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise _NotFolder from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _read_entry(dir_fd: int, name: str, path: str, shown: str, reading: Reading
                ) -> Found | int | None:
    """One entry of a folder: a Found for a regular file, a folder's descriptor, or None
    (left out, said in reading.skipped)."""
    try:
        pfd = os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None  # gone meanwhile
    with _opened(pfd):
        info = os.fstat(pfd)
        # Reopened through the descriptor: the very inode just looked at, whatever
        # happens to its name meanwhile.
        if stat.S_ISDIR(info.st_mode):
            return os.open(f"/proc/self/fd/{pfd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if not stat.S_ISREG(info.st_mode):
            said = _kind(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                with contextlib.suppress(OSError):
                    said += f" to {os.readlink(name, dir_fd=dir_fd)}"
            reading.skipped.append(f"{shown}: {said}, not saved")
            return None
        if info.st_nlink != 1:
            reading.skipped.append(f"{shown}: a file with other names (hard links), not saved")
            return None
        most = reading.take(shown, info.st_size)
        with _opened(os.open(f"/proc/self/fd/{pfd}", os.O_RDONLY | os.O_CLOEXEC)) as fd:
            chunks: list[bytes] = []
            got = 0
            while got < most and (chunk := os.read(fd, min(1 << 20, most - got))):
                chunks.append(chunk)
                got += len(chunk)
        reading.take(shown, got)  # it grew meanwhile: the same error
        reading.size += got
        return Found(path, b"".join(chunks), info.st_mode & 0o777, info.st_uid, info.st_gid)


def _walk(dir_fd: int, where: str, shown: str, reading: Reading, depth: int = 0
          ) -> Iterator[Found]:
    if depth > MAX_DEPTH:
        reading.skipped.append(f"{shown}/{where}: folders deeper than {MAX_DEPTH}, not saved")
        return
    names = []
    with os.scandir(dir_fd) as entries:  # counted as listed: a folder of millions stops early
        for entry in entries:
            reading.count()
            names.append(entry.name)
    for name in sorted(names):
        path = f"{where}/{name}" if where else name
        got = _read_entry(dir_fd, name, path, f"{shown}/{path}", reading)
        if isinstance(got, int):
            with _opened(got):
                yield from _walk(got, path, shown, reading, depth + 1)
        elif got is not None:
            yield got


@contextlib.contextmanager
def _node_folder(node_dir: str) -> Iterator[int | None]:
    """The node's folder, which must be netlab's (safefs); None when it is gone."""
    root, parts = safefs.node_parts(node_dir)
    try:
        fd = safefs.open_dir(root, parts, create=False)
    except FileNotFoundError:
        yield None
        return
    with _opened(fd):
        yield fd


def read_tree(node_dir: str, below: str, shown: str, reading: Reading) -> list[Found]:
    """The regular files in node_dir/below (a relative path), paths relative to it; none
    when it is missing. `shown`: how messages name the folder ("r1:/etc/frr")."""
    with _node_folder(node_dir) as node_fd:
        if node_fd is None:
            return []
        try:
            fd = _open_below(node_fd, [p for p in below.split("/") if p])
        except _NotFolder:
            reading.skipped.append(f"{shown}: not a folder (a symbolic link?), not saved")
            return []
        if fd is None:
            return []
        with _opened(fd):
            return list(_walk(fd, "", shown, reading))


def read_file(node_dir: str, name: str, shown: str, reading: Reading) -> Found | None:
    """The regular file node_dir/name (relative), or None (missing, or left out); `shown`:
    how messages name it."""
    *folders, leaf = name.split("/")
    with _node_folder(node_dir) as node_fd:
        if node_fd is None:
            return None
        reading.count()
        try:
            fd = _open_below(node_fd, folders)
        except _NotFolder:
            reading.skipped.append(f"{shown}: a folder on its way is a symbolic link, "
                                   "not saved")
            return None
        if fd is None:
            return None
        with _opened(fd):
            got = _read_entry(fd, leaf, name, shown, reading)
    if isinstance(got, int):
        os.close(got)
        reading.skipped.append(f"{shown}: a folder, not saved")
        return None
    return got


# --- writing --------------------------------------------------------------------------


def open_target(path: str | Path, force: bool = False, create: bool = True) -> int | None:
    """The folder to save into: made (0700), or an empty one (any, when `force`); never
    through a symbolic link at its last name. InputError otherwise. Not `create`: only
    checked (None when it would be made)."""
    path = Path(path)
    parent = path.parent
    try:
        pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise InputError(f"cannot save into {path}: {parent}: {err.strerror}",
                         hint="name a folder whose parent exists") from None
    with _opened(pfd):
        if not create and not os.path.lexists(path):
            if not os.access(parent, os.W_OK):
                raise InputError(f"cannot save into {path}: {parent} is not writable")
            return None
        try:
            os.mkdir(path.name, SAVED_DIR, dir_fd=pfd)
        except FileExistsError:
            pass
        except OSError as err:
            raise InputError(f"cannot save into {path}: {err.strerror}") from None
        try:
            fd = os.open(path.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=pfd)
        except OSError as err:
            if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise InputError(f"cannot save into {path}: {err.strerror}") from None
            what = ("a symbolic link" if stat.S_ISLNK(os.lstat(path.name, dir_fd=pfd).st_mode)
                    else "not a folder")
            raise InputError(f"cannot save into {path}: it is {what}",
                             hint="name a new folder") from None
    if os.listdir(fd) and not force:
        os.close(fd)
        raise InputError(f"{path} is not empty: not saving over what is there",
                         hint="name a new folder, or add --force to write over it")
    if not create:
        os.close(fd)
        return None
    os.fchmod(fd, SAVED_DIR)
    return fd


def write_into(dir_fd: int, relpath: str, data: bytes) -> None:
    """Write `data` at dir_fd/relpath (folders made 0700 on the way), the file 0600; an
    old file of that name is replaced (unlinked: nothing it pointed at is touched)."""
    *folders, leaf = relpath.split("/")
    fd = os.dup(dir_fd)
    try:
        for part in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, SAVED_DIR, dir_fd=fd)
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                                | os.O_CLOEXEC, dir_fd=fd)
            except OSError as err:
                raise InputError(f"cannot write {relpath} in the folder saved into: "
                                 f"{part} is not a folder ({err.strerror})",
                                 hint="name a new folder") from None
            os.close(fd)
            fd = child
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(leaf, dir_fd=fd)
        out = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                      | os.O_CLOEXEC, SAVED_FILE, dir_fd=fd)
        with _opened(out):
            os.fchmod(out, SAVED_FILE)
            view = memoryview(data)
            while view:
                view = view[os.write(out, view):]
    finally:
        os.close(fd)
