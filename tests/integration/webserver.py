"""`netlab web` as a process for the tests: started on a free port of 127.0.0.1, its URL
read from the one line it prints, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

URL = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Server:
    proc: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT
    token: str
    line: str  # what it printed

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    def stop(self) -> tuple[int, str]:
        """Ctrl-C; its exit status and what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _out, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate()
        return self.proc.returncode, err


@contextmanager
def web_server(*args: str) -> Iterator[Server]:
    # The terminals run the caller's $SHELL (bash) as `netlab shell` does. An empty HOME keeps
    # root's own ~/.bashrc out of them: on these machines it runs `pyenv init`, whose rehash
    # lock, left behind when a test ends a shell mid-start, stalls every later bash for 60 s.
    env = {**os.environ, "SHELL": "/bin/bash", "HOME": "/nonexistent-netlab-web-test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "netlab", "web", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    server: Server | None = None
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = URL.search(line)
        if match is None:
            proc.kill()
            raise AssertionError(f"no URL printed: {line!r} {proc.communicate()[1]!r}")
        server = Server(proc, match.group(1), match.group(2), line)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait()
