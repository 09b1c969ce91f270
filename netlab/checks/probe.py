"""Carrying checks out in a running lab (effects): netlab's own probes, from inside nodes.

ICMP echo by a raw socket in the node's namespace (netlab.kernel.reach.ping), TCP connect
by a socket opened there (reach.socket_in), commands as the node's `exec:` runs them (same
environment and folder: kernel.services.run_in_node). Each check is tried again until it
passes or its time is up (addresses resolve, DAD finishes, a service starts); an
`expect: unreachable` check fails at the first answer, and passes when none came in its
window. Checks run side by side, so a lab's checks take about as long as the slowest one.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.checks.report import CheckReport, CheckResult, clip_output
from netlab.checks.resolve import Probe
from netlab.errors import NetlabError

if TYPE_CHECKING:
    from netlab.api import Lab

PING_WAIT = 1.0  # seconds to wait for one echo reply
CONNECT_WAIT = 2.0  # seconds to wait for one TCP handshake
PAUSE = 0.2  # between tries that failed at once (no route, refused)
RUN_PAUSE = 0.5  # between runs of a command
MAX_WORKERS = 32

_REASONS = {
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ECONNREFUSED: "connection refused",
    errno.ETIMEDOUT: "no answer",
    errno.EADDRNOTAVAIL: "no source address for it",
}


@dataclass(frozen=True)
class Outcome:
    """One try: did the target answer, and what was seen, in a few words."""

    answered: bool
    why: str
    output: str | None = None


def run_checks(
    lab: Lab, probes: Sequence[Probe], workers: int = MAX_WORKERS,
    clock: Callable[[], float] = time.monotonic,
) -> CheckReport:
    """Carry out every probe (side by side); the report keeps their order."""
    started = clock()
    if not probes:
        return CheckReport(lab.name, (), 0.0)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(probes)))) as pool:
        results = tuple(pool.map(lambda p: run_probe(lab, p), probes))
    return CheckReport(lab.name, results, clock() - started)


def run_probe(lab: Lab, probe: Probe) -> CheckResult:
    """Try one check until it is decided or its time is up."""
    started = time.monotonic()
    deadline = started + probe.timeout
    attempts = 0
    last = Outcome(False, "not tried")
    while True:
        attempts += 1
        tried = time.monotonic()
        try:
            last = _attempt(lab, probe, max(deadline - tried, 0.1))
        except (NetlabError, OSError) as error:
            last = Outcome(False, f"error: {error}")
        now = time.monotonic()
        if last.answered:
            passed = probe.expect_reachable or probe.kind == "run"
            why = last.why if passed else f"{last.why}; it should not be reachable"
            return CheckResult(probe, passed, why, now - started, attempts, last.output)
        if now >= deadline:
            break
        pause = RUN_PAUSE if probe.kind == "run" else PAUSE
        if now - tried < pause:
            time.sleep(min(pause, deadline - now))
    seconds = time.monotonic() - started
    if probe.kind != "run" and not probe.expect_reachable:
        why = f"as expected: {last.why} (for {probe.timeout:g} s)"
        return CheckResult(probe, True, why, seconds, attempts)
    why = f"{last.why} (for {probe.timeout:g} s, {attempts} tries)"
    return CheckResult(probe, False, why, seconds, attempts, last.output)


def _attempt(lab: Lab, probe: Probe, left: float) -> Outcome:
    if probe.kind == "run":
        return _run(lab, probe, left)
    assert probe.address is not None
    ns = lab.namespace(probe.node)
    if probe.kind == "tcp":
        assert probe.port is not None
        return _connect(ns, probe.address, probe.port, min(left, CONNECT_WAIT))
    return _ping(ns, probe.node, probe.address, min(left, PING_WAIT))


def route_problem(ns: str, node: str, address: str) -> str | None:
    """Why `node` cannot even send to `address` (no route, no source address), or None.

    A UDP socket's connect() asks the node's routing table and sends nothing."""
    from netlab.kernel.reach import socket_in

    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket_in(ns, family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((address, 9))
        except OSError as error:
            if error.errno == errno.ENETUNREACH:
                return f"{node} has no route to {address}"
            return f"{node} cannot send to {address}: {_reason(error)}"
    return None


def _ping(ns: str, node: str, address: str, wait: float) -> Outcome:
    from netlab.kernel.reach import ping

    problem = route_problem(ns, node, address)
    if problem:
        return Outcome(False, problem)
    rtt = ping(ns, address, wait, 1)
    if rtt is None:
        return Outcome(False, f"no reply from {address}")
    return Outcome(True, f"reply from {address} in {rtt * 1000:.2f} ms")


def _connect(ns: str, address: str, port: int, wait: float) -> Outcome:
    from netlab.kernel.reach import socket_in

    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    where = f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"
    with socket_in(ns, family, socket.SOCK_STREAM) as sock:
        sock.settimeout(wait)
        started = time.monotonic()
        try:
            sock.connect((address, port))
        except TimeoutError:
            return Outcome(False, f"no answer from {where}")
        except ConnectionRefusedError:
            return Outcome(False, f"{where} refused the connection (nothing listens there)")
        except OSError as error:
            return Outcome(False, f"cannot connect to {where}: {_reason(error)}")
        took = (time.monotonic() - started) * 1000
        return Outcome(True, f"connected to {where} in {took:.2f} ms")


def node_command(lab: Lab, node: str, command: str,
                 timeout: float) -> subprocess.CompletedProcess[str]:
    """A `run:` check's command, as the node's `exec:` runs: its env:, NETLAB_NODE_DIR (where
    its files: are) and the other NETLAB_* facts, in that folder."""
    from netlab.kernel.services import run_in_node
    from netlab.plan.naming import node_dir
    from netlab.state.store import state_root

    folder = node_dir(str(state_root()), lab.name, node)
    env = lab.topology.nodes[node].env
    return run_in_node(lab.namespace(node), folder, env, command, timeout)


def _run(lab: Lab, probe: Probe, left: float) -> Outcome:
    assert probe.command is not None
    try:
        done = node_command(lab, probe.node, probe.command, left)
    except subprocess.TimeoutExpired:
        return Outcome(False, f"the command did not finish in {left:.1f} s")
    output = (done.stdout or "") + (done.stderr or "")
    if done.returncode != probe.expect_exit:
        tail = _last_line(done.stderr) or _last_line(done.stdout)
        why = f"exit status {done.returncode}, not {probe.expect_exit}"
        return Outcome(False, f"{why}: {tail}" if tail else why, clip_output(output))
    if probe.expect_output is not None and probe.expect_output not in output:
        first = _first_line(output)
        why = f"the output has no '{probe.expect_output}'"
        return Outcome(False, f"{why} (it begins: {first})" if first else f"{why} (it is empty)",
                       clip_output(output))
    why = f"exit status {done.returncode}"
    if probe.expect_output is not None:
        why += f", the output has '{probe.expect_output}'"
    return Outcome(True, why, clip_output(output))


def _reason(error: OSError) -> str:
    if error.errno is not None and error.errno in _REASONS:
        return _REASONS[error.errno]
    return error.strerror or str(error)


def _first_line(text: str, limit: int = 80) -> str:
    for line in text.splitlines():
        if line.strip():
            return _clip(line.strip(), limit)
    return ""


def _last_line(text: str | None, limit: int = 120) -> str:
    for line in reversed((text or "").splitlines()):
        if line.strip():
            return _clip(line.strip(), limit)
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
