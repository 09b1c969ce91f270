"""What a lab can leave on the host, as one comparable value, and ways to drive netlab.

`Host.of(lab)` is taken before and after a command; equal snapshots mean the command left
nothing behind: no namespace of the lab (network, or a node's pinned mount/UTS), the same
interfaces in the host namespace, no state directory and no lock file under /run/netlab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.state.store import state_root

from ..conftest import host_links

ROOT = Path(__file__).resolve().parents[2]
TOPO = ROOT / "topologies"
HELLO = TOPO / "hello.yaml"


@dataclass(frozen=True)
class Host:
    namespaces: frozenset[str]
    pins: frozenset[str]  # of nodes' mount and UTS namespaces
    links: frozenset[str]
    state: bool
    lock: bool

    @classmethod
    def of(cls, lab: str) -> Host:
        root = state_root()
        return cls(
            frozenset(namespaces(f"netlab-{lab}-")),
            frozenset(namespaces(f"netlab-{lab}-", "/run/netlab-ns")),
            frozenset(host_links()),
            (root / lab).exists(),
            (root / f".{lab}.lock").exists(),
        )


def namespaces(prefix: str, folder: str = "/run/netns") -> set[str]:
    """Named namespaces with that prefix (whatever NETLAB_LEAKCHECK_IGNORE says); with
    folder /run/netlab-ns, the pins of nodes' mount and UTS namespaces."""
    try:
        return {n for n in os.listdir(folder) if n.startswith(prefix)}
    except FileNotFoundError:
        return set()


def own_netns() -> int:
    """The inode of the calling thread's network namespace (the host's, unless a bug left
    the test process inside a lab)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def netlab(*args: str, check: int | None = 0, timeout: float = 120,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m netlab ARGS` as a script runs it; never a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "netlab", *args], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )
    if check is not None:
        assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netlab", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )


def force_down(lab: str) -> None:
    """For fixtures: take a lab down whatever state a test left it in (in-process, fast):
    down from the journal, then remove what still carries the lab's mark."""
    from netlab.api import down_lab
    from netlab.errors import NetlabError
    from netlab.lab.cleanup import remove, survey

    with env_without("NETLAB_FAIL_AT"):
        with suppress(NetlabError):
            down_lab(lab)
        if Host.of(lab).namespaces or (state_root() / lab).exists():
            remove(survey(lab).leftovers)


def journal(lab: str) -> list[dict[str, Any]]:
    """The lab's journal as one event per op, from the lines that parse (a line being
    written may be torn): a run of ops begun or done, one line in the file, is as many
    events here ({"i": n, "s": "begin", "op": {...}}, {"i": n, "s": "done"})."""
    try:
        text = (state_root() / lab / "journal.jsonl").read_text()
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for raw in text.splitlines():
        with suppress(json.JSONDecodeError):
            events.extend(per_op(json.loads(raw)))
    return events


def per_op(line: dict[str, Any]) -> list[dict[str, Any]]:
    """One journal line as one event per op (what netlab wrote before it wrote runs)."""
    first, status = line["i"], line["s"]
    if "ops" in line:
        return [{"i": first + k, "s": status, "op": op} for k, op in enumerate(line["ops"])]
    return [{"i": first + k, "s": status} for k in range(line.get("n", 1))] \
        if status == "done" else [line]


def write_old_journal(lab: str) -> int:
    """Rewrite the lab's journal as netlab wrote it before runs (one line per op and
    event): a lab brought up by that netlab. Returns how many lines it has."""
    path = state_root() / lab / "journal.jsonl"
    lines = [json.dumps(event, separators=(",", ":")) + "\n" for event in journal(lab)]
    path.write_text("".join(lines))
    return len(lines)


def count(lab: str, status: str) -> int:
    return sum(1 for line in journal(lab) if line.get("s") == status)


def wait_for(predicate: object, proc: subprocess.Popen[str] | None = None,
             timeout: float = 30.0, step: float = 0.001) -> bool:
    """Poll until predicate() is true (True), or proc ended first / time ran out (False)."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return bool(predicate())
        time.sleep(step)
    return False


def star(tmp_path: Path, hosts: int = 60, name: str = "star", held: bool = False) -> Path:
    """A switch with `hosts` hosts on it: big enough that `up` takes a while.

    held: the last host gets a service that says it is ready only after 3 s; `up` starts it
    last and waits for it, so a test polling the journal can stop `up` at any line before
    that for sure (an `up` of 60 hosts otherwise ends in ~0.2 s, between two polls)."""
    lines = [f"name: {name}", "nodes:", "  sw: {kind: switch}"]
    for i in range(1, hosts + 1):
        service = ("services: {hold: {run: 'sleep 3; echo ready; exec sleep 60', ready: ready}}, "
                   if held and i == hosts else "")
        lines.append(f"  h{i}: {{{service}interfaces: {{eth0: {{addresses: [10.77.{i // 200}."
                     f"{i % 200 + 1}/16]}}}}}}")
    lines.append("links:")
    lines += [f"  - [h{i}:eth0, sw]" for i in range(1, hosts + 1)]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def env_without(*names: str) -> Iterator[None]:
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def namespace_inodes(lab: str) -> set[tuple[str, int]]:
    """The network namespaces of a lab's nodes and their pinned mount namespaces, as
    (kind, inode): what the processes of the lab's nodes are in."""
    found = {("net", os.stat(f"/run/netns/{n}").st_ino) for n in namespaces(f"netlab-{lab}-")}
    found |= {("mnt", os.stat(f"/run/netlab-ns/{n}").st_ino)
              for n in namespaces(f"netlab-{lab}-", "/run/netlab-ns") if n.endswith(".mnt")}
    return found


def processes_in(inodes: set[tuple[str, int]]) -> list[str]:
    """Processes (pid and command) in any of these namespaces, found from the kernel: a
    process that outlived `down` keeps its namespace, and so its inode, alive."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            mine = {(kind, os.stat(f"/proc/{pid}/ns/{kind}").st_ino) for kind in ("net", "mnt")}
            if mine & inodes:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{pid} {command.strip()}")
        except OSError:  # gone meanwhile
            continue
    return found
