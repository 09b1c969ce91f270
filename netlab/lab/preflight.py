"""What a topology asks of the kernel, checked before anything is made: a lab that needs
netem, an interface kind (dummy, vlan, bond, vrf) or bridge VLAN filtering (a link's
`vlan:` or `vlans:`) on a kernel without it is refused as bad input (exit 2), naming the
link or interface, the key and the missing kernel option, not half built and rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterable

from netlab.errors import InputError, Problem, TopologyError
from netlab.plan.shaping import QdiscUse, qdisc_uses
from netlab.spec import frr, kinds
from netlab.spec.loaded import LoadedTopology, line_in
from netlab.spec.model import Topology

_NETEM_KEYS = "delay, jitter, loss, duplicate, corrupt and reorder"


def refuse_unsupported(topology: Topology, loaded: LoadedTopology | None = None,
                       source: str = "") -> None:
    """TopologyError (exit 2) when the topology's shaping needs a qdisc the kernel lacks,
    or an interface is of a kind it lacks. The kernel is asked only when the topology has
    such a thing, and once per process. InputError when a node runs FRR (`frr:`) and
    this machine has none."""
    _refuse_missing_frr(topology)
    uses = qdisc_uses(topology)
    kinds = _kind_uses(topology)
    vlan_links = _vlan_uses(topology)
    if not uses and not kinds and not vlan_links:
        return
    from netlab.kernel import features
    from netlab.kernel.reasons import BRIDGE_VLAN_OPTION

    support = features.qdiscs()
    missing, missing_links = support.missing(), support.missing_links()
    lacking = [u for u in uses if u.kind in missing]
    lacking_kinds = [(path, where, kind) for path, where, kind in kinds
                     if kind in missing_links]
    lacking_vlans = [] if support.bridge_vlans else vlan_links
    if not lacking and not lacking_kinds and not lacking_vlans:
        return
    filename = loaded.filename if loaded is not None else (source or "topology")
    lines = loaded.lines if loaded is not None else {}
    problems = [Problem(filename, line_in(lines, u.path), u.path, _message(u, missing[u.kind]))
                for u in lacking]
    problems += [Problem(filename, line_in(lines, path), path,
                         f"{where} is a {kind} device, which this kernel lacks "
                         f"({missing_links[kind][0]})")
                 for path, where, kind in lacking_kinds]
    problems += [Problem(filename, line_in(lines, path), path,
                         f"VLANs on a switch's port need bridge VLAN filtering, which this "
                         f"kernel lacks ({BRIDGE_VLAN_OPTION})")
                 for path in lacking_vlans]
    hints = [_hint({u.kind for u in lacking}, missing)] if lacking else []
    if lacking_vlans:
        hints.append(f"use a kernel built with {BRIDGE_VLAN_OPTION} (every distribution's is)")
    for kind in sorted({kind for _, _, kind in lacking_kinds}):
        option, module = missing_links[kind]
        hints.append(f"enable {option} in the kernel (or load its module: modprobe {module})")
    error = TopologyError(problems=problems)
    error.hint = "; ".join(hints)
    raise error


def _refuse_missing_frr(topology: Topology) -> None:
    # Before anything is made: a lab whose routers cannot start is refused whole.
    users = [name for name, node in topology.nodes.items() if node.frr is not None]
    if users and not os.path.exists(frr.ZEBRA):
        raise InputError(f"node '{users[0]}' runs FRR (frr:), which is not installed "
                         f"(no {frr.ZEBRA})", hint="apt-get install frr")


def _kind_uses(topology: Topology) -> list[tuple[str, str, str]]:
    """(path, node:interface, kind) of each interface whose kind some kernels lack."""
    from netlab.kernel.reasons import LINK_OPTION

    found = []
    for name, node in topology.nodes.items():
        for iname, iface in node.interfaces.items():
            kind = kinds.infer(node.kind, iname, iface)
            if kind in LINK_OPTION:
                found.append((f"nodes.{name}.interfaces.{iname}" + (".kind" if iface.kind else ""),
                              f"{name}:{iname}", kind))
    return found


def _vlan_uses(topology: Topology) -> list[str]:
    """The path of each link's `vlan:` or `vlans:` (a switch port's VLANs)."""
    return [f"links[{i}].{'vlans' if link.vlans is not None else 'vlan'}"
            for i, link in enumerate(topology.links)
            if link.vlan is not None or link.vlans is not None]


def refuse_values(endpoint: str, values: Iterable[str], kind: str) -> None:
    """InputError (exit 2) when `netlab link ... set` asks for a qdisc the kernel lacks."""
    from netlab.kernel import features

    missing = features.qdiscs().missing()
    if kind in missing:
        keys = list(values)
        verb = "needs" if len(keys) == 1 else "need"
        raise InputError(
            f"{endpoint}: {', '.join(keys)} {verb} {kind}, which this kernel lacks "
            f"({missing[kind]})",
            hint=_hint({kind}, missing),
        )


def _message(use: QdiscUse, option: str) -> str:
    keys = ", ".join(use.keys)
    verb = "needs" if len(use.keys) == 1 else "need"
    return f"{use.link}: {keys} {verb} {use.kind}, which this kernel lacks ({option})"


def _hint(kinds: set[str], missing: dict[str, str]) -> str:
    options = " and ".join(missing[k] for k in sorted(kinds))
    modules = " ".join(f"sch_{k}" for k in sorted(kinds))
    hint = f"enable {options} in the kernel (or load its module: modprobe {modules})"
    if kinds == {"netem"}:
        hint += f"; without netem, leave out {_NETEM_KEYS} (a rate alone is shaped by tbf)"
    return hint
