"""`netlab exec --all` / `--nodes a,b`: one command in several nodes, side by side."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from netlab.errors import InputError

if TYPE_CHECKING:
    from netlab.api import Lab

MAX_WORKERS = 16
NO_COMMAND = 127  # as a shell says "command not found"


def exec_on_nodes(lab: Lab, nodes: Sequence[str], command: Sequence[str]) -> int:
    """Run `command` in each node (all checked first); print each node's output, in the
    order given, every line prefixed with "node: " (stderr to stderr). The exit status is
    the worst of theirs (the highest)."""
    if not nodes:
        raise InputError("--nodes names no node")
    from netlab.lab.record import require_program

    for node in nodes:
        # Unknown, missing, or without the program: said before anything runs.
        _, env = lab.node_command(node, command)
        require_program(command[0], env.get("PATH", ""),
                        [p.path for p in lab.topology.nodes[node].private_paths()])
    width = max(len(n) for n in nodes)

    def one(node: str) -> subprocess.CompletedProcess[str]:
        try:
            return lab.exec(node, list(command))
        except OSError as e:  # the program is not there
            return subprocess.CompletedProcess(command, NO_COMMAND, "", f"{e}\n")

    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(nodes))) as pool:
        results = list(pool.map(one, nodes))
    for node, done in zip(nodes, results, strict=True):
        label = f"{node}:".ljust(width + 1)
        for stream, text in ((sys.stdout, done.stdout), (sys.stderr, done.stderr)):
            for line in (text or "").splitlines():
                stream.write(f"{label} {line}\n")
        stream.flush()
    sys.stdout.flush()
    # Killed by a signal (negative): 128 + its number, as a shell reports it.
    return max(d.returncode if d.returncode >= 0 else 128 - d.returncode for d in results)
