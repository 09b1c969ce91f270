"""A lab's state on disk: /run/netlab/<lab>/ (tmpfs, gone at reboot like the namespaces).

- journal.jsonl: one JSON line per run of ops, appended with one write() each: {"i": n,
  "s": "begin", "ops": [{...}, ...]} before ops n, n+1, ... are sent; {"i": n, "s": "done",
  "n": count} once ops n to n+count-1 completed (when the whole batch has, or with the next
  line: "done" only tells a finished op from one that may half exist, and teardown undoes
  both alike); {"i": n, "s": "undone"} once an op's effect is reversed. A
  crash leaves begun-but-not-done ops, which teardown undoes too. Journals written before
  (one line per op: "op": {...} for a begin, no "n" for a done) are read the same way.
- lab.json: the resolved topology and where it came from, so `down -l LAB` needs no file.
- Both are root's alone (0600 in a 0711 folder, made so from their first byte): they hold
  the topology's `env:` values. Opened relative to the lab's folder and never through a
  symbolic link (kernel/safefs.py).
- ../.<lab>.lock: flock()ed by the command working on the lab; holds that command's pid
  and name; removed by its holder when done.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import InputError, LabStateConflict, LabStateError
from netlab.kernel import safefs
from netlab.kernel.safefs import StateFull as StateFull  # (re-exported for the engine)

if TYPE_CHECKING:  # imported where the journal is read: `exec`, `ls` read only lab.json
    from netlab.plan.ops import Op

LAB_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z")


DEFAULT_LOCK_TIMEOUT = 30.0
_MAX_RUN = 1 << 20  # ops in one "done" line, at most (a damaged count is not expanded)


def state_root() -> Path:
    return Path(os.environ.get("NETLAB_STATE_DIR", "/run/netlab"))


def lock_timeout() -> float:
    """How long a command waits for another one working on the same lab (seconds)."""
    text = os.environ.get("NETLAB_LOCK_TIMEOUT", "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT
    return value if 0 <= value < float("inf") else DEFAULT_LOCK_TIMEOUT


def _quoted(text: str) -> str:
    """'name' as typed, or its repr when it holds what would break the message's line."""
    return f"'{text}'" if text.isprintable() and len(text) <= 80 else repr(text[:80])


@dataclass(frozen=True)
class JournalEntry:
    index: int
    op: Op
    done: bool


class RootOnly(LabStateError):
    """The lab's state is root's alone (docs/security.md) and this process is not root."""


def _free(fd: int) -> bool:
    """Take the flock of `fd` alone, without waiting: False when another holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd: int, path: Path | str) -> bool:
    """Whether `path` still names the file open as `fd` (not removed or replaced)."""
    try:
        current = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)


class LabState:
    def __init__(self, lab: str, root: Path | None = None) -> None:
        # The lab name becomes a directory: never let '/' or '..' through.
        if not LAB_RE.match(lab) or len(lab) > 64:
            raise InputError(
                f"{_quoted(lab)} is not a valid lab name",
                hint="use lowercase letters, digits and '-' (not at either end), at most 64",
            )
        self.lab = lab
        self.dir = (root or state_root()) / lab
        self._journal_fd: int | None = None
        self._torn = False  # the last write to the journal left a partial line
        self._done: list[list[int]] = []  # ops done, not yet written: [first, count] runs

    # --- presence ---------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        return self.dir / "journal.jsonl"

    def exists(self) -> bool:
        return self.journal_path.exists()

    def _folder(self, create: bool) -> int:
        """The lab's folder, opened (and made, when `create`) without following links."""
        root = self.dir.parent
        if create:
            root.mkdir(parents=True, exist_ok=True, mode=0o755)
        return safefs.open_dir(root, [self.lab], create)

    def _read(self, name: str) -> str:
        """A file of the lab's folder; FileNotFoundError when it (or the folder) is missing."""
        folder = self._folder(create=False)
        try:
            fd = safefs.open_file(folder, name, os.O_RDONLY, self.dir)
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as f:
            return f.read().decode(errors="replace")

    # --- lock -------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.dir.parent / f".{self.lab}.lock"

    @contextlib.contextmanager
    def locked(self, timeout: float | None = None, what: str = "") -> Iterator[None]:
        """Serialise commands on one lab. Waits up to `timeout` seconds (default: the
        environment's NETLAB_LOCK_TIMEOUT, else 30), then says who holds the lock.

        The lock file goes when its holder is done, so no lab ever used leaves one behind.
        Whoever waited on a file that was removed meanwhile finds it out after taking the
        lock (the path no longer leads to that file) and starts again with the new one."""
        wait = lock_timeout() if timeout is None else timeout
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        deadline = time.monotonic() + wait
        fd = self._acquire(deadline)
        try:
            os.ftruncate(fd, 0)
            with contextlib.suppress(StateFull), safefs.room(self.dir.parent, "the lock"):
                # Who holds it, for whoever waits; a full folder only loses that.
                os.pwrite(fd, f"{os.getpid()} {what}".strip().encode(), 0)
            yield
        finally:
            # Unlink while still holding it: a waiter then sees a stale file, never two
            # holders of two files.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.lock_path)
            os.close(fd)  # closing releases the flock

    @property
    def test_path(self) -> Path:
        return self.dir.parent / f".{self.lab}.test"

    @contextlib.contextmanager
    def testing(self, brings_up: bool, what: str = "test") -> Iterator[None]:
        """A run of checks on the lab (`netlab test`), held for the whole run. One that
        brings the lab up (and takes it down after) holds it alone; runs on a lab that is
        up share it. Whichever cannot have it is refused at once (LabStateError), rather
        than have the lab taken down under it. The file goes with its sole holder."""
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        mode = fcntl.LOCK_EX if brings_up else fcntl.LOCK_SH
        while True:
            fd = os.open(self.test_path,
                         os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except OSError as err:
                try:
                    if err.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    raise self._in_test_by(fd, what) from None
                finally:
                    os.close(fd)
            if _same_file(fd, self.test_path):
                break
            os.close(fd)  # its last holder removed it as it left: take the new one
        try:
            if brings_up:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()} {what}".encode(), 0)
            yield
        finally:
            # The last holder removes the file, while still holding it (as locked() does):
            # whoever opened it meanwhile finds it gone once it has the lock, and retries.
            try:
                last = brings_up or _free(fd)
            except OSError:
                last = False
            try:
                if last:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.test_path)
            finally:
                os.close(fd)

    def _in_test_by(self, fd: int, what: str) -> LabStateConflict:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        pid, _, verb = holder.partition(" ")
        who = f"netlab {verb} (pid {pid})" if pid else f"another netlab {what}"
        why = ("which brought it up and takes it down when done" if pid else
               "which tests it as it is; bringing it up and down now would pull it "
               "from under that run")
        return LabStateConflict(
            f"lab '{self.lab}' is in use by {who}, {why}",
            hint="wait for that run to end, or run this one under another lab name "
            "(--name)",
        )

    def try_locked(self, what: str = "") -> contextlib.AbstractContextManager[None]:
        """The lock now or LabStateError (for cleanup, which must not wait on a lab that a
        command is working on)."""
        return self.locked(0.0, what)

    def _acquire(self, deadline: float) -> int:
        while True:
            fd = os.open(self.lock_path,
                         os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as err:
                        if err.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() >= deadline:
                            raise self._busy(fd) from None
                        time.sleep(0.02)
                if _same_file(fd, self.lock_path):
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder removed this file as it left: take the new one

    def holder(self) -> str | None:
        """Who works on the lab right now ("<pid> <command>"), or None when nobody holds its
        lock. Only probes: a free lock is released at once and its file left as it is."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            if not _free(fd):
                return os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
        finally:
            os.close(fd)
        return None

    def _busy(self, fd: int) -> LabStateConflict:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        pid, _, what = holder.partition(" ")
        who = f"netlab {what}" if what else "another netlab command"
        return LabStateConflict(
            f"lab '{self.lab}' is busy: {who} (pid {pid or '?'}) is working on it",
            hint="wait for it to finish, or stop that process; NETLAB_LOCK_TIMEOUT=SECONDS "
            "sets how long to wait",
        )

    # --- topology ---------------------------------------------------------------------
    def write_meta(self, meta: dict[str, Any]) -> None:
        # Key order kept: the topology's order of nodes and interfaces is meaningful
        # ("a node's first address", the order of status tables).
        text = json.dumps(meta, separators=(",", ":"))  # the C encoder: 5x faster
        with safefs.room(self.dir.parent, f"the record of lab '{self.lab}' (lab.json)"):
            folder = self._folder(create=True)
            try:
                safefs.write_new(folder, "lab.json.tmp", text.encode(), self.dir)
                os.replace("lab.json.tmp", "lab.json", src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink("lab.json.tmp", dir_fd=folder)
                raise
            finally:
                os.close(folder)

    def read_meta(self) -> dict[str, Any]:
        """The lab's record ({} if there is none); LabStateError if it cannot be read."""
        path = self.dir / "lab.json"
        try:
            data = json.loads(self._read("lab.json"))
        except FileNotFoundError:
            return {}
        except PermissionError:
            raise RootOnly(
                f"only root can read the state of lab '{self.lab}' (it holds the topology's "
                "env: values)", hint="run netlab as root (sudo)") from None
        except (OSError, ValueError) as err:
            raise self._unreadable(path, str(err)) from None
        if not isinstance(data, dict):
            raise self._unreadable(path, "not a JSON object")
        return data

    def _unreadable(self, path: Path, why: str) -> LabStateError:
        return LabStateError(
            f"the state of lab '{self.lab}' is unreadable ({path}: {why})",
            hint=f"'netlab down -l {self.lab}' still works from the journal",
        )

    # --- journal ----------------------------------------------------------------------
    def _write(self, payload: str) -> None:
        # Ops said done and not yet written go first, in the same write(): lost with it
        # on a full folder, they only leave those ops begun, which teardown undoes alike.
        payload = self._done_lines() + payload
        with safefs.room(self.dir.parent, f"the journal of lab '{self.lab}'"):
            self._write_journal(payload)

    def _write_journal(self, payload: str) -> None:
        if self._journal_fd is None:
            folder = self._folder(create=True)
            try:
                self._journal_fd = safefs.open_file(
                    folder, "journal.jsonl", os.O_RDWR | os.O_APPEND | os.O_CREAT, self.dir)
            finally:
                os.close(folder)
            size = os.fstat(self._journal_fd).st_size
            if size and os.pread(self._journal_fd, 1, size - 1) != b"\n":
                # A line torn by a crash: end it, so that it does not swallow the next one.
                payload = "\n" + payload
        # Written before the op is sent, and not fsynced: what the journal must survive is the
        # process dying (the page cache keeps what was written); a crash of the kernel takes
        # the namespaces with it. fsync per op cost 1.4 s of a 500-node `up` on ext4.
        if self._torn:
            payload = "\n" + payload
        data = payload.encode()
        self._torn = True  # until the whole payload is in
        if os.write(self._journal_fd, data) < len(data):  # a full filesystem took a part
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._torn = False

    def begin(self, first_index: int, ops: Sequence[Op]) -> None:
        """Ops first_index, first_index+1, ... are about to be sent: one line for them all
        (one JSON encoding: a line per op cost 0.1 s of a 1000-node `up`)."""
        line = {"i": first_index, "s": "begin", "ops": [op.to_json() for op in ops]}
        self._write(json.dumps(line, separators=(",", ":")) + "\n" if ops else "")

    def done(self, index: int) -> None:
        """The op completed. Kept until the next line is written or flush(), which the
        engine calls once a batch is all done: a line per op cost 0.23 s of a 1000-node
        `up`, and until it is written the op counts as begun, which teardown undoes just
        the same."""
        runs = self._done
        if runs and runs[-1][0] + runs[-1][1] == index:
            runs[-1][1] += 1
        else:
            runs.append([index, 1])

    def flush(self) -> None:
        """Write the ops said done and not yet written (StateFull on a full folder)."""
        if self._done:
            self._write("")

    def _done_lines(self) -> str:
        runs, self._done = self._done, []
        return "".join(f'{{"i":{first},"s":"done","n":{count}}}\n' if count > 1
                       else f'{{"i":{first},"s":"done"}}\n' for first, count in runs)

    def _flush_quietly(self) -> None:
        """Before reading the journal back: what fails to be written stays begun."""
        with contextlib.suppress(StateFull):
            self.flush()

    def undone(self, index: int) -> None:
        """The op's effect has been reversed (by rollback or teardown). On a full state
        folder the undo stands unrecorded: a later `down` finds its object gone, which
        undoing again takes as done."""
        with contextlib.suppress(StateFull):
            self._write(f'{{"i":{index},"s":"undone"}}\n')

    def next_index(self) -> int:
        """The index for an op journaled after all the others (a change made while the lab
        runs): above every index ever written, undone ones included."""
        self._flush_quietly()
        highest = -1
        try:
            text = self._read("journal.jsonl")
        except FileNotFoundError:
            return 0
        for raw in text.splitlines():
            with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                line = json.loads(raw)
                index, ops = line["i"], line.get("ops")
                if type(index) is int:
                    last = index + len(ops) - 1 if isinstance(ops, list) and ops else index
                    highest = max(highest, last)
        return highest + 1

    def entries(self) -> list[JournalEntry]:
        """Every op begun and not yet undone, in the order it was begun."""
        from netlab.plan.ops import op_from_json

        self._flush_quietly()
        ops: dict[int, Op] = {}
        done: set[int] = set()
        try:
            text = self._read("journal.jsonl")
        except FileNotFoundError:
            return []
        lines = text.splitlines()
        parsed = _parsed_whole(lines)
        for number, raw in enumerate(lines, 1):
            try:
                line = parsed[number - 1] if parsed is not None else json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: its ops were never sent
            try:
                index, status = line["i"], line["s"]
                if type(index) is not int or status not in ("begin", "done", "undone"):
                    raise ValueError(f"no such entry: {raw[:60]}")
                if status == "begin":
                    if "ops" in line:  # a run of ops
                        if not isinstance(line["ops"], list):
                            raise ValueError(f"no list of ops: {raw[:60]}")
                        for k, data in enumerate(line["ops"]):
                            ops[index + k] = op_from_json(data)
                    else:  # one op (journals written before runs were)
                        ops[index] = op_from_json(line["op"])
                elif status == "done":
                    count = line.get("n", 1)
                    if type(count) is not int or not 1 <= count <= _MAX_RUN:
                        raise ValueError(f"no such count of ops: {raw[:60]}")
                    done.update(range(index, index + count))
                else:
                    ops.pop(index, None)
            except (KeyError, TypeError, ValueError) as err:
                raise LabStateError(
                    f"the journal of lab '{self.lab}' is damaged at line {number} "
                    f"({type(err).__name__}: {err}); not guessing what to undo",
                    hint="'netlab cleanup --dry-run' lists what carries the lab's mark",
                ) from None
        return [JournalEntry(i, ops[i], i in done) for i in sorted(ops)]

    def close(self) -> None:
        self._flush_quietly()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def remove(self) -> None:
        self._done = []  # nothing left to say of ops whose record goes
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _parsed_whole(lines: list[str]) -> list[Any] | None:
    """The journal's lines parsed in one go, as the items of one JSON array (5x faster
    than a parse per line: ~6 ms less for 100 nodes), when that reads them as a parse
    per line would: one object a line. Else None, and each line is read by itself: a
    line torn by a crash (it always leaves its object open, so it fails the whole), a
    blank one."""
    try:
        parsed: list[Any] = json.loads("[" + ",".join(lines) + "]")
    except (json.JSONDecodeError, RecursionError):
        return None
    if len(parsed) != len(lines) or not all(type(line) is dict for line in parsed):
        return None
    return parsed


def labs_with_state(root: Path | None = None) -> list[str]:
    base = root or state_root()
    if not base.is_dir():
        return []
    return sorted(
        p.name for p in base.iterdir()
        if LAB_RE.match(p.name) and p.is_dir() and (p / "journal.jsonl").exists()
    )


def dirs_without_journal(root: Path | None = None) -> list[str]:
    """Lab directories holding no journal: a record written by an `up` that died before
    its first op (nothing of it exists in the kernel)."""
    base = root or state_root()
    if not base.is_dir():
        return []
    return sorted(
        p.name for p in base.iterdir()
        if LAB_RE.match(p.name) and p.is_dir() and not (p / "journal.jsonl").exists()
    )


def unheld_test_files(root: Path | None = None) -> list[str]:
    """Labs with a `netlab test` file that no run holds: left by a run that was killed
    (or by a netlab before the last run to leave removed it). Taking it, when free,
    removes it (LabState.testing)."""
    labs = []
    for lab, p in _dot_files(root or state_root(), ".test"):
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if _free(fd):  # else a run holds it
                labs.append(lab)
        except OSError:
            pass
        finally:
            os.close(fd)
    return sorted(labs)


def locks_without_lab(root: Path | None = None) -> list[str]:
    """Labs with a lock file but no directory: a command killed after removing the lab's
    record and before removing its lock (taking the lock, when free, removes the file)."""
    base = root or state_root()
    return sorted(lab for lab, _ in _dot_files(base, ".lock")
                  # (a held one: an `up` holds it before it writes the record)
                  if not (base / lab).exists() and LabState(lab, base).holder() is None)


def _dot_files(base: Path, suffix: str) -> list[tuple[str, Path]]:
    """(lab, path) of each `.<lab><suffix>` file beside the labs' folders."""
    if not base.is_dir():
        return []
    found = []
    for p in base.iterdir():
        lab = p.name[1:].removesuffix(suffix)
        if p.name.startswith(".") and p.name.endswith(suffix) and LAB_RE.match(lab):
            found.append((lab, p))
    return found

