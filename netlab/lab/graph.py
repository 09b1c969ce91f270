"""A lab as a picture: Mermaid and Graphviz DOT text from its plan. Pure: data in, text out.

Each node is drawn in the shape of its kind (host: box, router: ellipse/circle, switch:
hexagon). Cables join the interfaces at their two ends; devices that are no cable end (TUN,
TAP, bridges, VXLAN) are listed inside their node. DOT draws every interface as a port of a
table inside its node, so a cable starts at the row of its interface; Mermaid has no ports,
so a cable's label names both ends and their addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from netlab.plan.planner import Plan
from netlab.spec.model import Topology, Vrf
from netlab.values.names import DEFAULT_VLAN

# Node kind -> Mermaid shape (open, close) and Graphviz attributes.
MERMAID_SHAPES = {"host": ('["', '"]'), "router": ('(("', '"))'), "switch": ('{{"', '"}}')}
DOT_SHAPES = {
    "host": 'shape=box, style="rounded"',
    "router": "shape=ellipse",
    "switch": "shape=hexagon",
}
MERMAID_CLASSES = {
    "host": "fill:#eef5ff,stroke:#3d6fb6",
    "router": "fill:#fff4e0,stroke:#c07a00",
    "switch": "fill:#eaf7ea,stroke:#2f8a2f",
}


@dataclass(frozen=True)
class Port:
    """One interface of a node, as drawn."""

    name: str
    kind: str  # veth, tun, tap, bridge, vxlan, dummy, macvlan, vlan, bond, vrf
    addresses: tuple[str, ...]
    notes: tuple[str, ...]  # "owner 1000", "in br0", "vni 42 to 192.0.2.1", "down"
    cable: bool  # a cable end (drawn as an edge) rather than a device inside the node


@dataclass(frozen=True)
class GraphNode:
    name: str
    kind: str  # host, router, switch
    namespace: str
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class Edge:
    a: tuple[str, str]  # (node, interface)
    b: tuple[str, str]
    notes: tuple[str, ...]  # "mtu 9000", "rate 100mbit"


@dataclass(frozen=True)
class Graph:
    lab: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[Edge, ...]

    def node(self, name: str) -> GraphNode:
        return next(n for n in self.nodes if n.name == name)

    def port(self, node: str, ifname: str) -> Port:
        return next(p for p in self.node(node).ports if p.name == ifname)


def build(topology: Topology, plan: Plan) -> Graph:
    """The graph of a lab: its nodes in file order, each interface the plan resolves."""
    nodes = []
    for name, node in topology.nodes.items():
        ports = []
        for ifc in plan.interfaces.get(name, []):
            spec = ifc.spec
            notes: list[str] = []
            if ifc.kind in ("tun", "tap"):
                if spec.owner is not None:
                    notes.append(f"owner {spec.owner}")
                if spec.group is not None:
                    notes.append(f"group {spec.group}")
            if ifc.kind == "vxlan" and spec.vxlan is not None:
                notes.append(f"vni {spec.vxlan.id} to {spec.vxlan.remote}")
            if ifc.kind == "macvlan" and spec.macvlan is not None:
                notes.append(f"on {spec.macvlan.parent} ({spec.macvlan.mode})")
            if ifc.kind == "vlan" and spec.vlan is not None:
                notes.append(f"vlan {spec.vlan.id} on {spec.vlan.parent}")
            if ifc.kind == "bond" and spec.bond is not None:
                notes.append(f"{spec.bond.mode} over {', '.join(spec.bond.ports)}")
            if isinstance(spec.vrf, Vrf):
                notes.append(f"table {spec.vrf.table}")
            if ifc.kind == "bridge" and spec.stp:
                notes.append("stp")
            if spec.vrf_name is not None:
                notes.append(f"vrf {spec.vrf_name}")
            elif ifc.master:
                notes.append(f"in {ifc.master}")
            if ifc.tagged:  # a switch port's VLANs (its link's vlans: or vlan:)
                native = f" native {ifc.pvid}" if ifc.pvid not in (None, DEFAULT_VLAN) else ""
                notes.append(f"trunk {','.join(map(str, ifc.tagged))}{native}")
            elif ifc.pvid is not None:
                notes.append(f"vlan {ifc.pvid}")
            if spec.mtu and ifc.kind != "veth":
                notes.append(f"mtu {spec.mtu}")
            if not spec.up:
                notes.append("down")
            ports.append(Port(ifc.name, ifc.kind, tuple(spec.addresses), tuple(notes),
                              ifc.peer is not None))
        # Bridges first, then cable ends, then the other devices (each in plan order).
        ports.sort(key=lambda p: 0 if p.kind == "bridge" else 1 if p.cable else 2)
        nodes.append(GraphNode(name, node.kind, plan.namespaces[name], tuple(ports)))
    edges = []
    for link in plan.links:
        # A link's VLANs are said at its switch ends (their ports' notes).
        notes = _settings(link.spec.model_dump(exclude_none=True), ("endpoints", "vlan"))
        # An endpoint written long may carry settings of its own (shaping of what leaves it).
        for (node_name, ifname), end in zip((link.a, link.b), link.spec.endpoints, strict=True):
            if isinstance(end, BaseModel):
                own = _settings(end.model_dump(exclude_none=True), ("node", "interface"))
                if own:
                    notes.append(f"{node_name}:{ifname} out {' '.join(own)}")
        edges.append(Edge(link.a, link.b, tuple(notes)))
    return Graph(plan.lab, tuple(nodes), tuple(edges))


def _settings(values: dict[str, object], skip: tuple[str, ...]) -> list[str]:
    """"key value" for each plain setting (mtu 9000, rate 100mbit), in the model's order."""
    return [f"{key} {value}" for key, value in values.items()
            if key not in skip and isinstance(value, (str, int, float))]


def _device_line(port: Port) -> str:
    words = [port.name, port.kind, *port.addresses, *port.notes]
    return " ".join(words)


# --- Mermaid ----------------------------------------------------------------------------


def _mermaid_id(name: str) -> str:
    # Prefixed, so that no node name can be a Mermaid keyword ("end") or start an arrow.
    return "n_" + name.replace("-", "_")


def _mermaid_text(lines: list[str]) -> str:
    text = "<br/>".join(lines)
    return text.replace('"', "#quot;")


def _cable_end(graph: Graph, end: tuple[str, str]) -> str:
    port = graph.port(*end)
    words = [f"{end[0]}:{end[1]}", *port.addresses, *port.notes]
    return " ".join(words)


def mermaid(graph: Graph) -> str:
    lines = ["flowchart LR",
             f"  %% netlab lab {graph.lab}: nodes are namespaces, lines are veth cables"]
    for node in graph.nodes:
        label = [f"<b>{node.name}</b> {node.kind}"]
        label += [_device_line(p) for p in node.ports if not p.cable]
        opening, closing = MERMAID_SHAPES[node.kind]
        lines.append(f"  {_mermaid_id(node.name)}{opening}{_mermaid_text(label)}{closing}")
    for edge in graph.edges:
        label = [_cable_end(graph, edge.a), _cable_end(graph, edge.b)]
        if edge.notes:
            label.append(", ".join(edge.notes))
        lines.append(
            f"  {_mermaid_id(edge.a[0])} ---|\"{_mermaid_text(label)}\"| {_mermaid_id(edge.b[0])}"
        )
    for kind, style in MERMAID_CLASSES.items():
        members = [_mermaid_id(n.name) for n in graph.nodes if n.kind == kind]
        if members:
            lines.append(f"  classDef {kind} {style}")
            lines.append(f"  class {','.join(members)} {kind}")
    return "\n".join(lines) + "\n"


# --- Graphviz DOT -----------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _port_id(ifname: str) -> str:
    # Not the bare name: a port called "e" or "n" would read as a compass point.
    return f"p_{ifname}"


def _dot_label(node: GraphNode) -> str:
    """An HTML-like label: the node's name and kind, then one row (and port) per interface."""
    indent = "\n      "
    with_addresses = any(port.addresses for port in node.ports)  # else no address column
    columns = 3 if with_addresses else 2
    rows = [
        f'<TR><TD COLSPAN="{columns}"><B>{_html(node.name)}</B> {_html(node.kind)}</TD></TR>'
    ]
    for port in node.ports:
        kind = " ".join(_html(w) for w in (port.kind, *port.notes))
        cells = [
            f'<TD PORT="{_html(_port_id(port.name))}" ALIGN="LEFT">{_html(port.name)}</TD>',
            f'<TD ALIGN="LEFT">{kind}</TD>',
        ]
        if with_addresses:
            addresses = "<BR/>".join(_html(a) for a in port.addresses)
            cells.append(f'<TD ALIGN="LEFT">{addresses}</TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
    return "<" + table + indent + indent.join(rows) + "\n    </TABLE>>"


def dot(graph: Graph) -> str:
    lines = [
        f"graph {_quote(graph.lab)} {{",
        f"  graph [rankdir=LR, label={_quote('lab ' + graph.lab)}, labelloc=t, "
        'fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=10, margin=0.05];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        lines.append(f"  {_quote(node.name)} [{DOT_SHAPES[node.kind]}, label={_dot_label(node)}];")
    for edge in graph.edges:
        (na, ia), (nb, ib) = edge.a, edge.b
        attrs = f" [label={_quote(', '.join(edge.notes))}]" if edge.notes else ""
        lines.append(
            f"  {_quote(na)}:{_quote(_port_id(ia))} -- {_quote(nb)}:{_quote(_port_id(ib))}{attrs};"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = ("mermaid", "dot", "svg")
