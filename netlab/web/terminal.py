"""A node's shell on a pseudo-terminal, for the page's terminal (xterm.js over a websocket).

The shell is what `netlab shell NODE` runs (Lab.shell_command), in a session of its own
with the terminal as its controlling terminal (util-linux `setsid --ctty`), so that job
control and Ctrl-C work in it as in a real terminal. It ends when the page does: the whole
session is killed, found from the kernel (/proc), not from anything the shell could write.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence

from netlab.errors import Unsupported

MAX_SIZE = 1000  # columns or rows: anything more is not a window
MAX_PENDING = 1 << 20  # bytes typed (pasted) that a busy shell has not read yet


class Terminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str],
                 cols: int = 80, rows: int = 24) -> None:
        setsid = shutil.which("setsid")
        if setsid is None:
            raise Unsupported("the 'setsid' command (util-linux) is not installed",
                             hint="apt-get install util-linux")
        self.fd, child = os.openpty()
        self.pending = bytearray()
        self.resize(cols, rows)
        try:
            self.proc = subprocess.Popen(
                [setsid, "--ctty", *argv], stdin=child, stdout=child, stderr=child,
                env={**os.environ, "TERM": "xterm-256color", **env}, close_fds=True,
            )
        except BaseException:
            os.close(self.fd)
            raise
        finally:
            os.close(child)
        os.set_blocking(self.fd, False)

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(1, min(cols, MAX_SIZE)), max(1, min(rows, MAX_SIZE))
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, data: bytes) -> bool:
        """Type `data` into the terminal, as much as it takes now; the rest waits in
        `pending` for flush() (the caller's event loop must never block on a shell that
        is not reading). True when nothing is left waiting."""
        if len(self.pending) + len(data) > MAX_PENDING:
            data = data[:max(0, MAX_PENDING - len(self.pending))]  # a runaway paste
        self.pending += data
        return self.flush()

    def flush(self) -> bool:
        while self.pending:
            try:
                written = os.write(self.fd, self.pending)
            except BlockingIOError:
                return False
            except OSError:
                self.pending.clear()  # the shell is gone: nobody will read it
                break
            del self.pending[:written]
        return True

    def read(self) -> bytes | None:
        """What the shell wrote since the last read; b'' for nothing now, None once the
        shell has ended (the terminal hung up)."""
        try:
            return os.read(self.fd, 65536) or None
        except BlockingIOError:
            return b""
        except OSError:
            return None  # EIO: no process has the terminal open any more

    def close(self, grace: float = 0.5) -> None:
        """Hang up on the shell's session, and kill what is left of it after `grace` s."""
        session = self.proc.pid
        _signal_session(session, signal.SIGHUP)
        deadline = time.monotonic() + grace
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        _signal_session(session, signal.SIGKILL)
        self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def session_members(session: int) -> list[int]:
    """The processes of a session (the shell, and what it started), from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 3 and fields[3] == str(session) and fields[0] != "Z":
            members.append(int(entry))
    return members


def _signal_session(session: int, sig: int) -> None:
    for pid in session_members(session):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
