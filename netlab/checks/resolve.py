"""The checks of a topology made concrete (pure): which node probes which address how.

`resolve(topology)` turns each validated `Check` into a `Probe`: a node name in `to` becomes
its first address, the timeout its default, the name a readable sentence when none is given.
Nothing here touches the kernel; run.py carries the probes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from netlab.errors import InputError
from netlab.spec import messages, validate
from netlab.spec.loaded import line_in
from netlab.spec.model import Check, Topology
from netlab.spec.targets import no_address, written_address

DEFAULT_TIMEOUT = 10.0  # seconds a check may take to succeed (ARP/ND, DAD, a slow service)
UNREACHABLE_WINDOW = 3.0  # seconds an `expect: unreachable` check watches for an answer
_NAME_COMMAND = 60  # characters of a command shown in a check's default name

Kind = Literal["ping", "tcp", "run"]


@dataclass(frozen=True)
class Probe:
    """One check, ready to carry out."""

    index: int  # its place in checks:
    name: str
    kind: Kind
    node: str  # where the probe runs: `from`, or `node` of a command
    timeout: float  # reachable and run: time to succeed; unreachable: time to watch
    expect_reachable: bool = True
    target: str | None = None  # `to` as written (node, node:interface, or address)
    address: str | None = None  # what is probed; None: the target's live address
    port: int | None = None
    command: str | None = None
    expect_output: str | None = None
    expect_exit: int = 0
    line: int | None = None  # where the check is written, when known

    @property
    def expect(self) -> str:
        return "reachable" if self.expect_reachable else "unreachable"


def resolve(
    topology: Topology,
    lines: Mapping[str, int] | None = None,
    default_timeout: float | None = None,
) -> list[Probe]:
    """The probes of all checks of a (validated) topology, in their order."""
    return [
        probe_of(topology, i, check, lines or {}, default_timeout)
        for i, check in enumerate(topology.checks)
    ]


def probe_of(
    topology: Topology,
    index: int,
    check: Check,
    lines: Mapping[str, int] | None = None,
    default_timeout: float | None = None,
) -> Probe:
    line = line_in(dict(lines or {}), f"checks[{index}]")
    if check.run is not None and check.node is not None:
        timeout = check.timeout or default_timeout or DEFAULT_TIMEOUT
        name = check.name or _run_name(check.node, check.run, check.expect_output,
                                       check.expect_exit)
        return Probe(
            index, name, "run", check.node, timeout, command=check.run,
            expect_output=check.expect_output, expect_exit=check.expect_exit or 0, line=line,
        )
    if check.from_ is None or check.to is None:
        raise InputError(f"checks[{index}] is not a valid check")  # validate.py said why
    reachable = check.expect != "unreachable"
    if check.timeout is not None:
        timeout = check.timeout
    elif reachable:
        timeout = default_timeout or DEFAULT_TIMEOUT
    else:
        timeout = UNREACHABLE_WINDOW
    # None: a node that makes its own address (exec:, DHCP); looked up when probed.
    address = written_address(topology, check.to)
    kind: Kind = "tcp" if check.tcp is not None else "ping"
    name = check.name or _reach_name(check.from_, check.to, address, check.tcp, reachable)
    return Probe(
        index, name, kind, check.from_, timeout, reachable, check.to, address, check.tcp,
        line=line,
    )


def every_pair(topology: Topology, default_timeout: float | None = None) -> list[Probe]:
    """A ping between every pair of nodes that have an address (switches aside), as
    Mininet's pingall (`netlab test --pingall`): past ALL_PAIRS such nodes, the first to
    each other and each to the next, as `--topo`'s checks. An address is pinged from the
    node that comes first in the file; its answer shows the way back works too. A node
    with no address written but commands of its own (exec:, services, DHCP) is pinged at
    the address it has in the kernel then; a node with neither is left out."""
    from netlab.spec.generate import pairs

    nodes = [name for name, node in topology.nodes.items() if node.kind != "switch" and (
        node.first_address() is not None or node.exec or node.services or node.prepare)]
    checks = [Check.model_validate({"from": a, "to": b}) for a, b in pairs(nodes)]
    return [probe_of(topology, i, check, None, default_timeout)
            for i, check in enumerate(checks)]


def address_of(topology: Topology, target: str, family: int | None = None) -> str:
    """The address a target means: itself, or the first address (of `family`, if given)
    written for a node or node:interface. InputError when there is none."""
    address = written_address(topology, target, family)
    if address is None:
        raise InputError(no_address(target, family))
    return address


def parse_check(topology: Topology, spec: Mapping[str, Any]) -> Check:
    """A check written as in a topology file ({"from": "a", "to": "b"}), checked against
    `topology`; InputError with every problem on one line when it is not right."""
    data: dict[str, Any] = {
        "name": topology.name,
        "nodes": {name: None for name in topology.nodes},
        "checks": [dict(spec)],
    }
    shown = f"check {dict(spec)}"
    try:
        check = Topology.model_validate(data).checks[0]
    except ValidationError as e:
        problems = messages.problems_from(e, data, {}, {}, shown)
        raise InputError("; ".join(_without_file(str(p), shown) for p in problems)) from None
    with_check = topology.model_copy(update={"checks": [check]})
    problems = validate.check_checks(with_check, shown, {})
    if problems:
        raise InputError("; ".join(_without_file(str(p), shown) for p in problems))
    return check


def _without_file(text: str, shown: str) -> str:
    # "check {...}: checks[0].to: what" -> "check {...}: to: what"
    return text.replace(f"{shown}: checks[0].", f"{shown}: ").replace(
        f"{shown}: checks[0]: ", f"{shown}: "
    )


def _reach_name(
    node: str, target: str, address: str | None, port: int | None, reachable: bool
) -> str:
    label = target if address is None or target == address else f"{target} ({address})"
    if port is None:
        return f"{node} reaches {label}" if reachable else f"{node} cannot reach {label}"
    if reachable:
        return f"{node} connects to {label} port {port}"
    return f"{node} cannot connect to {label} port {port}"


def _run_name(node: str, command: str, output: str | None, exit_code: int | None) -> str:
    shown = " ".join(command.split())
    if len(shown) > _NAME_COMMAND:
        shown = shown[: _NAME_COMMAND - 3] + "..."
    name = f"{node}: {shown}"
    if exit_code:
        name += f" exits {exit_code}"
    if output is not None:
        name += f" shows '{output}'"
    return name
