"""What a topology asks of this machine, checked before anything is made: a lab that needs
netem, an interface kind (dummy, vlan, bond, vrf) or bridge VLAN filtering (a link's
`vlan:` or `vlans:`) on a kernel without it, or runs a program this machine does not have
(a service's `run:`, a `prepare:` or `exec:` command), is refused (exit 5), naming the
link, interface or command, the key and the missing kernel option or program, not half
built and rolled back.

In two steps: needs() reads them from the model (with their file, line and path), as plain
data; refuse() asks the kernel and this machine. The plan cache (lab/plancache.py) keeps
the first and runs the second on every `up`, without the model."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from netlab.errors import Problem, TopologyUnsupported, Unsupported
from netlab.kernel.enter import finds
from netlab.spec import frr
from netlab.values.commands import first_program, install_hint

if TYPE_CHECKING:
    from netlab.spec.loaded import LoadedTopology
    from netlab.spec.model import Topology

_NETEM_KEYS = "delay, jitter, loss, duplicate, corrupt and reorder"


def refuse_unsupported(topology: Topology, loaded: LoadedTopology | None = None,
                       source: str = "") -> None:
    """refuse(needs(...)): the topology's needs, checked against this machine."""
    refuse(needs(topology, loaded, source))


def needs(topology: Topology, loaded: LoadedTopology | None = None,
          source: str = "") -> dict[str, Any]:
    """What the topology needs that a kernel or machine may lack, as JSON data: the FRR
    nodes, the qdiscs its shaping needs, the interfaces of kinds some kernels lack, the
    links with VLANs, the programs its commands run; each with its path and line in the
    file."""
    from netlab.kernel.reasons import LINK_OPTION
    from netlab.plan.shaping import qdisc_uses
    from netlab.spec import kinds
    from netlab.spec.loaded import line_in

    lines = loaded.lines if loaded is not None else {}
    kind_uses = []
    for name, node in topology.nodes.items():
        for iname, iface in node.interfaces.items():
            kind = kinds.infer(node.kind, iname, iface)
            if kind in LINK_OPTION:
                path = f"nodes.{name}.interfaces.{iname}" + (".kind" if iface.kind else "")
                kind_uses.append([path, line_in(lines, path), f"{name}:{iname}", kind])
    vlan_paths = [f"links[{i}].{'vlans' if link.vlans is not None else 'vlan'}"
                  for i, link in enumerate(topology.links)
                  if link.vlan is not None or link.vlans is not None]
    return {
        "file": loaded.filename if loaded is not None else (source or "topology"),
        "frr": [name for name, node in topology.nodes.items() if node.frr is not None],
        "qdiscs": [{"kind": u.kind, "keys": list(u.keys), "link": u.link, "path": u.path,
                    "line": line_in(lines, u.path)} for u in qdisc_uses(topology)],
        "kinds": kind_uses,
        "vlans": [[path, line_in(lines, path)] for path in vlan_paths],
        "programs": [[path, line_in(lines, path), *use] for path, *use in _programs(topology)],
    }


def _programs(topology: Topology) -> list[list[Any]]:
    """[path, program, PATH or None, private folders] of each command of a node whose
    program is a plain name (values/commands.first_program): its `prepare:` commands up to
    the first (which may make the programs of those after it and of its services), else its
    services' `run:` and its `exec:` commands. PATH: the one the node's or the service's
    `env:` sets."""
    uses: list[list[Any]] = []
    for name, node in topology.nodes.items():
        private = [p.path for p in node.private_paths()]
        if node.prepare:  # they may make what the rest runs: only the first is looked for
            commands = [(f"nodes.{name}.prepare[0]", node.prepare[0], node.env)]
        else:
            commands = [(f"nodes.{name}.services.{sname}.run", service.run,
                         {**node.env, **service.env})
                        for sname, service in node.services.items()]
            commands += [(f"nodes.{name}.exec[{i}]", command, node.env)
                         for i, command in enumerate(node.exec)]
        for path, command, env in commands:
            program = first_program(command)
            if program is not None:
                uses.append([path, program, env.get("PATH"), private])
    return uses


def refuse(found: dict[str, Any]) -> None:
    """TopologyUnsupported (exit 5) when the topology's shaping needs a qdisc the kernel
    lacks, an interface is of a kind it lacks, or a link has VLANs and it lacks bridge VLAN
    filtering, or a command runs a program this machine does not have. The kernel is asked
    only when the topology has such a thing, and once per process. Unsupported when a node
    runs FRR (`frr:`) and this machine has none."""
    users, uses, kinds, vlans = found["frr"], found["qdiscs"], found["kinds"], found["vlans"]
    # Before anything is made: a lab whose routers cannot start is refused whole.
    if users and not os.path.exists(frr.ZEBRA):
        raise Unsupported(f"node '{users[0]}' runs FRR (frr:), which is not installed "
                         f"(no {frr.ZEBRA})", hint="apt-get install frr")
    absent = [use for use in found["programs"] if not finds(*use[2:])]
    if not uses and not kinds and not vlans:
        if absent:
            _raise(found["file"], [], [], absent)
        return
    from netlab.kernel import features
    from netlab.kernel.reasons import BRIDGE_VLAN_OPTION

    support = features.qdiscs()
    missing, missing_links = support.missing(), support.missing_links()
    lacking = [u for u in uses if u["kind"] in missing]
    lacking_kinds = [use for use in kinds if use[3] in missing_links]
    lacking_vlans = [] if support.bridge_vlans else vlans
    if not lacking and not lacking_kinds and not lacking_vlans and not absent:
        return
    filename = found["file"]
    problems = [Problem(filename, u["line"], u["path"],
                        _message(u["link"], u["keys"], u["kind"], missing[u["kind"]]))
                for u in lacking]
    problems += [Problem(filename, line, path,
                         f"{where} is a {kind} device, which this kernel lacks "
                         f"({missing_links[kind][0]})")
                 for path, line, where, kind in lacking_kinds]
    problems += [Problem(filename, line, path,
                         f"VLANs on a switch's port need bridge VLAN filtering, which this "
                         f"kernel lacks ({BRIDGE_VLAN_OPTION})")
                 for path, line in lacking_vlans]
    hints = [_hint({u["kind"] for u in lacking}, missing)] if lacking else []
    if lacking_vlans:
        hints.append(f"use a kernel built with {BRIDGE_VLAN_OPTION} (every distribution's is)")
    for kind in sorted({use[3] for use in lacking_kinds}):
        option, module = missing_links[kind]
        hints.append(f"enable {option} in the kernel (or load its module: modprobe {module})")
    _raise(filename, problems, hints, absent)


def _raise(filename: str, problems: list[Problem], hints: list[str],
           absent: list[list[Any]]) -> None:
    """Raise TopologyUnsupported: these problems and hints, and each command whose program
    this machine lacks (`absent`, as needs() gives them), with how to get it."""
    problems += [Problem(filename, line, path, f"'{program}' is not installed on this machine")
                 for path, line, program, *_ in absent]
    if absent:
        hints.append(install_hint(program for _, _, program, *_ in absent))
    error = TopologyUnsupported(problems=problems)
    error.hint = "; ".join(hints)
    raise error


def refuse_values(endpoint: str, values: Iterable[str], kind: str) -> None:
    """Unsupported (exit 5) when `netlab link ... set` asks for a qdisc the kernel lacks."""
    from netlab.kernel import features

    missing = features.qdiscs().missing()
    if kind in missing:
        keys = list(values)
        verb = "needs" if len(keys) == 1 else "need"
        raise Unsupported(
            f"{endpoint}: {', '.join(keys)} {verb} {kind}, which this kernel lacks "
            f"({missing[kind]})",
            hint=_hint({kind}, missing),
        )


def _message(link: str, keys: list[str], kind: str, option: str) -> str:
    verb = "needs" if len(keys) == 1 else "need"
    return f"{link}: {', '.join(keys)} {verb} {kind}, which this kernel lacks ({option})"


def _hint(kinds: set[str], missing: dict[str, str]) -> str:
    options = " and ".join(missing[k] for k in sorted(kinds))
    modules = " ".join(f"sch_{k}" for k in sorted(kinds))
    hint = f"enable {options} in the kernel (or load its module: modprobe {modules})"
    if kinds == {"netem"}:
        hint += f"; without netem, leave out {_NETEM_KEYS} (a rate alone is shaped by tbf)"
    return hint
