"""What `status` needs of a lab's topology and plan, as plain data (the skeleton).

`up` writes it into the lab's record beside the topology; `netlab status` then builds its
document from it and the kernel's dumps without loading the model (pydantic) or planning
the lab again, which cost most of the command (bench/startup.py). `Lab.status` builds the
same skeleton from the model, so both ways go through one function
(status_doc.status_document) and give the same document.

A skeleton of another version (VERSION) is not read: the model's way is taken instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.errors import NetlabError
from netlab.lab import record
from netlab.state.store import LabState

if TYPE_CHECKING:
    from netlab.api import Lab

VERSION = 1

# The kinds with settings of their own (status_doc._SETTINGS_WORDS says them).
SETTINGS_KINDS = ("macvlan", "vlan", "bond", "vrf")


def skeleton(lab: Lab) -> dict[str, Any]:
    """The lab's skeleton, from its model and plan (the nodes built on this host)."""
    from netlab.plan import switch_vlans
    from netlab.plan.kind_ops import CREATE_OPS
    from netlab.plan.ops import CreateVeth, SetLink, SetQdisc
    from netlab.plan.partition import host_of

    plan = lab.plan
    mtus: dict[tuple[str, str], int] = {}  # the MTU the plan gives: (namespace, name)
    qdiscs: dict[str, dict[str, Any]] = {}  # namespace -> ifname -> the planned root qdisc
    for op in plan.ops:
        if isinstance(op, SetQdisc):
            qdiscs.setdefault(op.ns, {})[op.ifname] = op.qdisc.to_json()
        elif isinstance(op, (*CREATE_OPS, SetLink)):
            # Every op that makes a device (plan/kind_ops.py) names it and may give its MTU.
            mtu: int | None = getattr(op, "mtu", None)
            if mtu:
                mtus[(op.ns, getattr(op, "ifname", ""))] = mtu
                if isinstance(op, CreateVeth):
                    mtus[(op.peer_ns, op.peer_ifname)] = mtu
    nodes = []
    for name, node in lab.topology.nodes.items():
        if name not in plan.namespaces:
            continue  # on another host (docs/multi-host.md)
        ns = plan.namespaces[name]
        interfaces = []
        vlans = any(switch_vlans.has_vlans(i) for i in plan.interfaces[name])
        for i in plan.interfaces[name]:
            settings = getattr(i.spec, i.kind, None) if i.kind in SETTINGS_KINDS else None
            interfaces.append({
                "name": i.name,
                "kind": i.kind,
                "peer": f"{i.peer[0]}:{i.peer[1]}" if i.peer else None,
                "master": i.master,
                "addresses": list(i.spec.addresses),
                "up": i.spec.up,
                "vrf": i.spec.vrf_name,
                "settings": settings.model_dump(mode="json") if settings is not None else None,
                "mtu": mtus.get((ns, i.name)),
                "vlans": switch_vlans.planned_port(i) if vlans else None,  # a switch's ports
            })
        nodes.append({
            "name": name,
            "kind": node.kind,
            "host": host_of(lab.topology, name),
            "namespace": ns,
            "limits": node.limits is not None,
            "vlans": vlans,
            "services": [[s, spec.run] for s, spec in node.services.items()],
            "interfaces": interfaces,
            "qdiscs": qdiscs.get(ns, {}),
        })
    links = [{"a": f"{rl.a[0]}:{rl.a[1]}", "b": f"{rl.b[0]}:{rl.b[1]}"} for rl in plan.links]
    return {"version": VERSION, "nodes": nodes, "links": links}


def recorded(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The skeleton in a lab's record, if it is one this netlab reads."""
    found = meta.get("status")
    if isinstance(found, dict) and found.get("version") == VERSION:
        return found
    return None


@dataclass(frozen=True)
class RecordedLab:
    """A lab that is up, as `netlab status` reads it: its record and skeleton, no model.
    It answers what the command asks of an api.Lab (name, topology.nodes, is_up, status)."""

    topology: record.Record  # its .nodes: the record's nodes, as plain data
    skeleton: dict[str, Any]

    @property
    def name(self) -> str:
        return self.topology.lab

    def is_up(self) -> bool:
        return LabState(self.name).exists()

    def status(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        from netlab.lab.status_doc import status_document

        return status_document(self.skeleton, self.name, self.topology.file, self.is_up(),
                               progress)


def recorded_lab(name: str | None) -> RecordedLab | None:
    """-l LAB (or the only lab up) read from its record, if the record has a skeleton;
    None if not, or if anything is amiss: the model's way then says what, as before."""
    try:
        lab = name or record.only_lab()
        meta = LabState(lab).read_meta()
        skel = recorded(meta)
        return RecordedLab(record.of_meta(lab, meta), skel) if skel is not None else None
    except NetlabError:
        return None
