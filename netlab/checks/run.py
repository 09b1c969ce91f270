"""Carrying checks out in a running lab (effects): netlab's own probes, from inside nodes.

ICMP echo by a raw socket in the node's namespace (netlab.kernel.reach.ping), TCP connect
by a socket opened there (reach.socket_in), commands as the node's `exec:` runs them (same
environment and folder: kernel.services.run_in_node). Each check is tried again until it
passes or its time is up (addresses resolve, DAD finishes, a service starts); an
`expect: unreachable` check fails at the first answer, and passes when none came in its
window. Checks run side by side, so a lab's checks take about as long as the slowest one.
A Ctrl-C stops them all at once (a Stop): waits end, running commands are killed.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.checks.report import CheckReport, CheckResult, clip_output
from netlab.checks.resolve import Probe, every_pair
from netlab.errors import InputError, NetlabError

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
    # A router's ICMP error (time exceeded) says more than the silence of a later try, which
    # the router's ICMP rate limit may cause: a check's reason keeps it.
    router_said: bool = False
    # A command cut short because the check's time ran out mid-run: the try before it (a
    # whole run, with its exit status and output) says more about why the check failed.
    cut_short: bool = False


class Stop:
    """Tells running checks to give up (a Ctrl-C in the thread that waits for them). A flag
    for the loops, and a pipe that becomes readable, for the probes waiting in select()."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.fd, self._wake = os.pipe()

    def set(self) -> None:
        if not self._event.is_set():
            self._event.set()
            os.write(self._wake, b"!")

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`, or less if told to stop; whether told to stop."""
        return self._event.wait(seconds)

    def close(self) -> None:
        os.close(self.fd)
        os.close(self._wake)


def pingall(lab: Lab, timeout: float | None = None) -> CheckReport:
    """A ping between every pair of nodes that have an address (switches aside), side by
    side, as Mininet's net.pingAll() and `netlab test --pingall` (resolve.every_pair): a
    report that is true when every one answered (`report.summary()` says it in a line)."""
    return run_checks(lab, every_pair(lab.topology, timeout))


def run_checks(
    lab: Lab, probes: Sequence[Probe], workers: int = MAX_WORKERS,
    clock: Callable[[], float] = time.monotonic,
) -> CheckReport:
    """Carry out every probe (side by side); the report keeps their order. Interrupted
    (KeyboardInterrupt), it stops the probes that run before passing the interrupt on."""
    started = clock()
    if not probes:
        return CheckReport(lab.name, (), 0.0)
    stop = Stop()
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(probes)))) as pool:
            futures = [pool.submit(run_probe, lab, probe, stop) for probe in probes]
            try:
                results = tuple(future.result() for future in futures)
            except BaseException:
                stop.set()  # the pool's exit waits for its threads: make that short
                raise
    finally:
        stop.close()
    return CheckReport(lab.name, results, clock() - started)


def check_lab(lab: Lab, timeout: float | None = None) -> CheckReport:
    """The topology's `checks:` on a lab that is up, as `netlab test` runs them; the report
    is true when every check passed (`timeout`: a check's default seconds)."""
    from netlab.checks.resolve import resolve

    lines = lab.loaded.lines if lab.loaded is not None else {}
    return run_checks(lab, resolve(lab.topology, lines, timeout))


def run_probe(lab: Lab, probe: Probe, stop: Stop | None = None) -> CheckResult:
    """Try one check until it is decided, its time is up, or `stop` is set."""
    started = time.monotonic()
    deadline = started + probe.timeout
    attempts = 0
    last = said = whole = Outcome(False, "not tried")
    while not (stop is not None and stop.is_set()):
        attempts += 1
        tried = time.monotonic()
        try:
            last = _attempt(lab, probe, max(deadline - tried, 0.1), stop)
        except (NetlabError, OSError) as error:
            if not _node_there(lab, probe.node):  # no retry brings it back: said at once
                why = (f"node {probe.node}'s namespace is missing (lab taken down, or "
                       f"built without {probe.node}?)")
                return CheckResult(probe, False, why, time.monotonic() - started, attempts)
            last = Outcome(False, f"error: {error}")
        said = last if last.router_said else said
        whole = whole if last.cut_short else last
        now = time.monotonic()
        if last.answered:
            passed = probe.expect_reachable or probe.kind == "run"
            why = last.why if passed else f"{last.why}; it should not be reachable"
            return CheckResult(probe, passed, why, now - started, attempts, last.output)
        if now >= deadline:
            break
        pause = RUN_PAUSE if probe.kind == "run" else PAUSE
        if now - tried < pause:
            _sleep(min(pause, deadline - now), stop)
    seconds = time.monotonic() - started
    if said.router_said and last.why.startswith("no reply"):
        last = said
    if last.cut_short and attempts > 1:
        last = whole
    if stop is not None and stop.is_set():
        return CheckResult(probe, False, f"interrupted ({last.why})", seconds, attempts)
    if probe.kind != "run" and not probe.expect_reachable:
        why = f"as expected: {last.why} (for {probe.timeout:g} s)"
        return CheckResult(probe, True, why, seconds, attempts)
    why = f"{last.why} (for {probe.timeout:g} s, {attempts} tries)"
    return CheckResult(probe, False, why, seconds, attempts, last.output)


def _node_there(lab: Lab, node: str) -> bool:
    """Whether the node's network namespace exists (a check cannot enter it otherwise)."""
    from netlab.kernel import nsfs

    return nsfs.taken(lab.namespace(node))


def _sleep(seconds: float, stop: Stop | None) -> None:
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


def _attempt(lab: Lab, probe: Probe, left: float, stop: Stop | None = None) -> Outcome:
    if probe.kind == "run":
        return _run(lab, probe, left, stop)
    assert probe.target is not None
    address = probe.address  # None: a node that makes its own address; the kernel knows it
    if address is None:
        try:
            address = lab.address(probe.target)
        except InputError as error:
            return Outcome(False, str(error))
    ns = lab.namespace(probe.node)
    stop_fd = None if stop is None else stop.fd
    if probe.kind == "tcp":
        assert probe.port is not None
        return _connect(ns, address, probe.port, min(left, CONNECT_WAIT), stop_fd)
    return _ping(ns, probe.node, address, min(left, PING_WAIT), stop_fd)


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


def _ping(ns: str, node: str, address: str, wait: float, stop_fd: int | None = None) -> Outcome:
    from netlab.kernel.reach import echo

    problem = route_problem(ns, node, address)
    if problem:
        return Outcome(False, problem)
    answer = echo(ns, address, wait, 1, stop_fd=stop_fd)
    if answer.expired_at is not None:
        return Outcome(False, expired_reason(address, answer.expired_at), router_said=True)
    if answer.rtt is None:
        return Outcome(False, f"no reply from {address}")
    return Outcome(True, f"reply from {address} in {answer.rtt * 1000:.2f} ms")


def expired_reason(address: str, router: str) -> str:
    """An ICMP time exceeded, in words (pure)."""
    return (f"time to live exceeded at {router} on the way to {address} "
            "(a routing loop, or more hops than the TTL)")


def _connect(ns: str, address: str, port: int, wait: float,
             stop_fd: int | None = None) -> Outcome:
    """One TCP handshake, waited for in select() so that `stop_fd` can cut it short."""
    from netlab.kernel.reach import socket_in

    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    where = f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"
    with socket_in(ns, family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        started = time.monotonic()
        code = sock.connect_ex((address, port))
        if code == errno.EINPROGRESS:
            watched = [] if stop_fd is None else [stop_fd]
            _, writable, _ = select.select(watched, [sock], [], wait)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if writable else -1
        if code == -1:
            return Outcome(False, f"no answer from {where}")
        if code == errno.ECONNREFUSED:
            return Outcome(False, f"{where} refused the connection (nothing listens there)")
        if code:
            reason = _REASONS.get(code) or os.strerror(code)
            return Outcome(False, f"cannot connect to {where}: {reason}")
        took = (time.monotonic() - started) * 1000
        return Outcome(True, f"connected to {where} in {took:.2f} ms")


def node_command(lab: Lab, node: str, command: str, timeout: float,
                 stop: Stop | None = None) -> subprocess.CompletedProcess[str]:
    """A `run:` check's command, as the node's `exec:` runs: its env:, NETLAB_NODE_DIR (where
    its files: are) and the other NETLAB_* facts, in that folder. Past `timeout`, or when
    `stop` is set, the command and whatever it started are killed (TimeoutExpired)."""
    from netlab.kernel.enter import node_argv, process_env
    from netlab.plan.naming import node_dir
    from netlab.state.store import state_root

    folder = node_dir(str(state_root()), lab.name, node)
    ns = lab.namespace(node)
    argv = node_argv(ns, folder, ["sh", "-c", command])
    # A session of its own: one killpg() reaches the shell and what it started.
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, errors="replace", start_new_session=True,
        env=process_env(ns, folder, lab.topology.nodes[node].env),
    ) as process:
        deadline = time.monotonic() + timeout
        while True:
            try:
                wait = min(0.1, max(deadline - time.monotonic(), 0.0))
                out, errs = process.communicate(timeout=wait)
                return subprocess.CompletedProcess(argv, process.returncode, out, errs)
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.communicate()
                    raise subprocess.TimeoutExpired(argv, timeout) from None


def _run(lab: Lab, probe: Probe, left: float, stop: Stop | None = None) -> Outcome:
    assert probe.command is not None
    try:
        done = node_command(lab, probe.node, probe.command, left, stop)
    except subprocess.TimeoutExpired:
        if stop is not None and stop.is_set():
            return Outcome(False, "the command was stopped")
        return Outcome(False, f"the command did not finish in {left:.1f} s",
                       cut_short=left < probe.timeout)
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
