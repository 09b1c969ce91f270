"""The pytest plugin (active once netlab is installed): labs as fixtures.

    def test_router_forwards(netlab_lab):
        lab = netlab_lab("topologies/router.yaml")
        assert lab.ping("left", "right")
        assert lab.exec("r1", "sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"

`netlab_lab` tears its labs down at the end of the test, `netlab_lab_module` at the end of
the module, `netlab_lab_session` at the end of the session, even when the test fails. Each
lab gets a name of its own, so tests running in parallel (pytest-xdist) never collide.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from netlab.api import Lab
from netlab.errors import InputError, NetlabError
from netlab.state.store import LabState

if TYPE_CHECKING:
    from netlab.checks import CheckReport, CheckResult, Probe
    from netlab.lab.link_control import LinkControl
    from netlab.spec.model import Topology


class LabHandle:
    """A lab that is up, seen from a test."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.name = lab.name

    def namespace(self, node: str) -> str:
        return self.lab.namespace(node)

    def exec(
        self, node: str, cmd: str | Sequence[str], timeout: float | None = 60,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run cmd in node: a list is an argv, a string goes to `sh -c`."""
        return self.lab.exec(node, cmd, timeout=timeout, input=input)

    def address(self, node: str, family: int = 4) -> str:
        """The first address (without prefix) of `node` in that IP family: the topology's,
        else the one the node has in the kernel now (made by its exec: or by DHCP)."""
        address = self.lab.topology.nodes[node].first_address(family)
        if address is not None:
            return address
        try:
            return self.lab.address(node, family)
        except InputError:
            pass
        raise LookupError(f"node '{node}' has no IPv{family} address")

    def ping(self, source: str, target: str, timeout: float = 1.0, count: int = 3) -> bool:
        """True if `target` (a node name, meaning its first address, or an address) answers
        an ICMP echo sent from inside `source`; one of `count` tries is enough."""
        from netlab.kernel.reach import ping

        address = target if _is_ip(target) else self.address(target)
        self.lab.refuse_ambiguous(source, target, address)
        return ping(self.namespace(source), address, timeout, count) is not None

    def socket(self, node: str, family: int = socket.AF_INET,
               kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket opened inside the node's namespace, usable from the test."""
        from netlab.kernel.reach import socket_in

        return socket_in(self.namespace(node), family, kind)

    def status(self) -> dict[str, Any]:
        """The same document as `netlab status --json`."""
        return self.lab.status()

    def run_checks(self, timeout: float | None = None) -> CheckReport:
        """Run the topology's `checks:` as `netlab test` does; the report is true when all
        passed (`assert report, report.summary()`); `timeout` as `netlab test --timeout`."""
        from netlab.checks.run import run_checks

        return run_checks(self.lab, _probes(self.lab.topology, timeout))

    def pingall(self, timeout: float | None = None) -> CheckReport:
        """A ping between every pair of nodes that have an address, as Mininet's
        net.pingAll() and `netlab test --pingall`; the report is true when all answered."""
        from netlab.checks.run import pingall

        return pingall(self.lab, timeout)

    def check(self, spec: str | Mapping[str, Any], timeout: float | None = None) -> CheckResult:
        """One check, true when it passed: the name of one in the topology's `checks:`, or
        one written as in the file: {"from": "a", "to": "b", "tcp": 80}."""
        from netlab.checks import parse_check, probe_of
        from netlab.checks.run import run_probe

        topology = self.lab.topology
        if isinstance(spec, str):
            probes = {p.name: p for p in _probes(topology, timeout)}
            if spec not in probes:
                names = ", ".join(map(repr, probes)) or "none"
                raise LookupError(f"no check named {spec!r} (checks: {names})")
            return run_probe(self.lab, probes[spec])
        probe = probe_of(topology, 0, parse_check(topology, spec), None, timeout)
        return run_probe(self.lab, probe)

    def link(self, endpoint: str) -> LinkControl:
        """One end of a link, 'node:interface': .down(), .up(), .set(rate="1mbit"),
        .clear(), .flap(down=1, up=1, count=3), .vlan(20), .trunk([10, 20]) while the lab
        runs (journaled)."""
        return self.lab.link(endpoint)

    def down(self) -> None:
        self.lab.down()


def _probes(topology: Topology, timeout: float | None) -> list[Probe]:
    from netlab.checks import resolve

    return resolve(topology, None, timeout)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def unique_name(base: str) -> str:
    """base plus a random suffix, within the 24 characters a lab name may have."""
    stem = base[:17].rstrip("-")
    while True:
        name = f"{stem}-{secrets.token_hex(3)}"
        if not LabState(name).exists():
            return name


LabFactory = Callable[..., LabHandle]


def _factory() -> tuple[LabFactory, Callable[[], None]]:
    labs: list[Lab] = []

    def make(
        path: str | os.PathLike[str], overrides: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> LabHandle:
        # A mistake in the topology, or a refusal of the kernel, shows as the test's line and
        # netlab's message and hint, not as a walk through netlab's own frames (an internal
        # error, any other exception, keeps its whole traceback).
        __tracebackhide__ = True
        try:
            probe = Lab.from_file(path, overrides)
            lab = Lab(probe.topology, name or unique_name(probe.topology.name), probe.source)
            lab.loaded = probe.loaded  # errors found before anything is made name the lines
            labs.append(lab)  # before up(): a failed up rolls back, and down() is then a no-op
            lab.up()
        except NetlabError as error:
            if error.hint and f"hint: {error.hint}" not in getattr(error, "__notes__", ()):
                error.add_note(f"hint: {error.hint}")
            raise error.with_traceback(None) from None
        return LabHandle(lab)

    def finish() -> None:
        errors = []
        for lab in reversed(labs):
            try:
                lab.down()
            except Exception as error:  # tear down the others regardless
                errors.append(f"{lab.name}: {error}")
        if errors:
            raise RuntimeError("netlab teardown failed: " + "; ".join(errors))

    return make, finish


@pytest.fixture
def netlab_lab() -> Iterator[LabFactory]:
    make, finish = _factory()
    try:
        yield make
    finally:
        finish()


@pytest.fixture(scope="module")
def netlab_lab_module() -> Iterator[LabFactory]:
    make, finish = _factory()
    try:
        yield make
    finally:
        finish()


@pytest.fixture(scope="session")
def netlab_lab_session() -> Iterator[LabFactory]:
    make, finish = _factory()
    try:
        yield make
    finally:
        finish()
