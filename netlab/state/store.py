"""A lab's state on disk: /run/netlab/<lab>/ (tmpfs, gone at reboot like the namespaces).

- journal.jsonl: one JSON line per event, appended and fsynced: {"i": n, "s": "begin",
  "op": {...}} before an op is sent, {"i": n, "s": "done"} after it completed. A crash
  leaves begun-but-not-done ops, which teardown undoes too (their objects may half exist).
- lab.json: the resolved topology and where it came from, so `down -l LAB` needs no file.
- lock: flock()ed by the command working on the lab; holds that command's pid.
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
from typing import Any

from netlab.errors import InputError, LabStateError
from netlab.plan.ops import Op, op_from_json

LAB_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def state_root() -> Path:
    return Path(os.environ.get("NETLAB_STATE_DIR", "/run/netlab"))


@dataclass(frozen=True)
class JournalEntry:
    index: int
    op: Op
    done: bool


class LabState:
    def __init__(self, lab: str, root: Path | None = None) -> None:
        # The lab name becomes a directory: never let '/' or '..' through.
        if not LAB_RE.match(lab) or len(lab) > 64:
            raise InputError(f"'{lab}' is not a valid lab name")
        self.lab = lab
        self.dir = (root or state_root()) / lab
        self._journal_fd: int | None = None

    # --- presence ---------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        return self.dir / "journal.jsonl"

    def exists(self) -> bool:
        return self.journal_path.exists()

    # --- lock -------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, timeout: float = 30.0) -> Iterator[None]:
        """Serialise commands on one lab. Waits up to `timeout` seconds, then says who
        holds the lock."""
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        lock_path = self.dir.parent / f".{self.lab}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                        raise LabStateError(
                            f"lab '{self.lab}' is busy: another netlab command "
                            f"(pid {holder or '?'}) is working on it",
                            hint="wait for it to finish, or stop that process",
                        ) from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    # --- topology ---------------------------------------------------------------------
    def write_meta(self, meta: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        tmp = self.dir / "lab.json.tmp"
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
        os.replace(tmp, self.dir / "lab.json")

    def read_meta(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.dir / "lab.json").read_text())
            return data
        except FileNotFoundError:
            return {}

    # --- journal ----------------------------------------------------------------------
    def _append(self, lines: Sequence[dict[str, Any]]) -> None:
        if self._journal_fd is None:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o755)
            self._journal_fd = os.open(
                self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
        payload = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        os.write(self._journal_fd, payload.encode())
        os.fsync(self._journal_fd)

    def begin(self, first_index: int, ops: Sequence[Op]) -> None:
        self._append(
            [{"i": first_index + k, "s": "begin", "op": op.to_json()} for k, op in enumerate(ops)]
        )

    def done(self, index: int) -> None:
        self._append([{"i": index, "s": "done"}])

    def undone(self, index: int) -> None:
        """The op's effect has been reversed (by rollback or teardown)."""
        self._append([{"i": index, "s": "undone"}])

    def entries(self) -> list[JournalEntry]:
        """Every op begun and not yet undone, in the order it was begun."""
        ops: dict[int, Op] = {}
        done: set[int] = set()
        try:
            text = self.journal_path.read_text()
        except FileNotFoundError:
            return []
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: the op was never sent
            index, status = line["i"], line["s"]
            if status == "begin":
                ops[index] = op_from_json(line["op"])
            elif status == "done":
                done.add(index)
            elif status == "undone":
                ops.pop(index, None)
        return [JournalEntry(i, ops[i], i in done) for i in sorted(ops)]

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def labs_with_state(root: Path | None = None) -> list[str]:
    base = root or state_root()
    if not base.is_dir():
        return []
    return sorted(
        p.name for p in base.iterdir() if p.is_dir() and (p / "journal.jsonl").exists()
    )
