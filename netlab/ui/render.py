"""Render plans and status documents as rich tables (pure: data in, renderables out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netlab.ui.grid import Cell, Column, grid_table
from netlab.values.names import DEFAULT_VLAN, NS_PREFIX

if TYPE_CHECKING:  # the ops' kinds are all the tables need: `ls` and `status` load no ops
    from netlab.plan.ops import Op

NAMESPACE_KINDS = ("create-namespace", "delete-namespace")


def _short(text: str, lab: str) -> str:
    # Inside one lab's table, "netlab-hello-h1" says no more than "h1".
    return text.replace(f"{NS_PREFIX}{lab}-", "")


def plan_table(ops: list[Op], title: str, lab: str) -> RenderableType:
    rows = []
    for n, op in enumerate(ops, 1):
        words = op.describe().removesuffix(f" in {op.ns}")
        if op.kind not in NAMESPACE_KINDS:
            words = _short(words, lab)
        rows.append([str(n), _short(op.ns, lab), words])
    columns = [Column("#", "right", "dim"), Column("node"), Column("operation")]
    return grid_table(columns, rows, title, pad_edge=False)


def cross_table(rows: list[list[str]], title: str) -> RenderableType:
    """The cables between hosts of a lab across hosts: ends, hosts, VNI."""
    columns = [Column("end"), Column("host"), Column("end"), Column("host"),
               Column("vni", "right")]
    return grid_table(columns, [list(r) for r in rows], title, pad_edge=False)


def teardown_table(steps: list[tuple[Op, bool]], title: str, lab: str) -> RenderableType:
    rows: list[list[Cell]] = []
    for n, (op, carried_out) in enumerate(steps, 1):
        words = op.describe()
        if op.kind != "delete-namespace":
            words = _short(words, lab)
        text = Text(words)
        if not carried_out:
            text = Text(f"{words} (goes with its namespace)", style="dim")
        rows.append([str(n), text])
    return grid_table([Column("#", "right", "dim"), Column("operation")], rows, title,
                      pad_edge=False)


def _state(iface: dict[str, Any]) -> Text:
    if not iface["present"]:
        return Text("missing", style="bold red")
    if iface["admin"] == "down":
        return Text("admin down", style="red")
    if iface.get("carrier", iface.get("oper") == "up"):
        return Text("up", style="green")
    if iface["kind"] in ("tun", "tap"):
        return Text("no program attached", style="yellow")
    return Text("no carrier", style="red")


def _link_words(iface: dict[str, Any]) -> str:
    """What the port is attached to: its cable's other end, its bridge, a TUN/TAP's owner."""
    words = [f"to {iface['peer']}"] if iface["peer"] else []
    if iface.get("master"):
        words.append(f"in {iface['master']}")
    if iface["kind"] in ("tun", "tap") and iface.get("owner") is not None:
        words.append(f"owner {iface['owner']}")
    for kind in ("macvlan", "vlan", "bond", "vrf"):
        settings = iface.get(kind) or {}
        values = settings.get("now") or settings.get("planned")
        if values and kind == "vrf":
            words.append(f"table {values['table']}")
        elif values and kind == "bond":
            words.append(f"{values['mode']} over {', '.join(values['ports'])}")
        elif values:
            setting = values["mode"] if kind == "macvlan" else f"id {values['id']}"
            words.append(f"on {values['parent']} ({setting})")
    vlans = iface.get("vlans") or {}
    values = vlans.get("now") or vlans.get("planned")
    if values:
        words.append(_vlan_words(values) + ("" if vlans.get("as_planned") else " (drift)"))
    return ", ".join(words)


def _vlan_words(values: dict[str, Any]) -> str:
    """A switch port's VLANs, short: 'VLAN 10' (an access port), 'trunk 10,20' (with
    ' native 99' when its untagged VLAN is not the default)."""
    tagged = ",".join(map(str, values.get("tagged") or []))
    if not tagged:
        return f"VLAN {values.get('pvid')}"
    native = f" native {values.get('pvid')}" if values.get("pvid") != DEFAULT_VLAN else ""
    return f"trunk {tagged}{native}"


def status_view(doc: dict[str, Any]) -> RenderableType:
    node_rows: list[list[Cell]] = []
    for node in doc["nodes"]:
        present = node["present"]
        node_rows.append([
            node["name"], node["kind"],
            node["namespace"] if present else Text(f"{node['namespace']} (missing)", "red"),
            str(len(node["interfaces"])), str(len(node["routes"])),
        ])
    nodes = grid_table(
        [Column("node", style="bold"), Column("kind"), Column("namespace", style="dim"),
         Column("interfaces", "right"), Column("routes", "right")],
        node_rows, f"lab {doc['lab']}",
    )
    iface_rows: list[list[Cell]] = []
    for node in doc["nodes"]:
        for i, iface in enumerate(node["interfaces"]):
            iface_rows.append([
                node["name"] if i == 0 else "",
                iface["name"], iface["kind"] or "?", _link_words(iface),
                "\n".join(iface["addresses"]), iface["mac"] or "",
                str(iface["mtu"] or ""), _state(iface),
                str(iface["rx_packets"]), str(iface["tx_packets"]),
            ])
    ifaces = grid_table(
        [Column("node"), Column("interface"), Column("kind"), Column("link"),
         Column("addresses", wrap=True), Column("mac"), Column("mtu", "right"),
         Column("state"), Column("rx pkt", "right"), Column("tx pkt", "right")],
        iface_rows,
    )
    parts: list[RenderableType] = [nodes, Text(""), ifaces]
    services = [(node["name"], svc) for node in doc["nodes"] for svc in node.get("services", [])]
    if services:
        table = Table(show_edge=False)
        for col in ("node", "service", "state", "pid", "command", "learned MACs"):
            table.add_column(col)
        for node_name, svc in services:
            macs = svc.get("mac_table", {}).get("macs", [])
            table.add_row(
                node_name, svc["name"],
                Text("running", "green") if svc["running"] else Text("stopped", "red"),
                str(svc["pid"] or ""), svc.get("command") or "",
                "\n".join(f"{m['mac']} on {m['port']}" for m in macs),
            )
        parts += [Text(""), table]
    limited = [(node["name"], node["limits"]) for node in doc["nodes"] if "limits" in node]
    if limited:
        table = Table(show_edge=False)
        for col in ("node", "cpu (cores)", "memory (bytes)", "pids"):
            table.add_column(col)
        for node_name, limits in limited:
            table.add_row(node_name, *(limits.get(k, "") for k in ("cpu", "memory", "pids")))
        parts += [Text(""), table]
    shaping = _shaping_table(doc)
    if shaping is not None:
        parts += [Text(""), shaping]
    if doc["drift"]:
        drift = Text("\ndrift from the topology:\n", style="bold yellow")
        for line in doc["drift"]:
            drift.append(f"  - {line}\n", style="yellow")
        parts.append(drift)
    return Group(*parts)


def _shaping_table(doc: dict[str, Any]) -> Table | None:
    """Interfaces shaped now or by the topology: the qdisc in force, and the planned one."""
    from netlab.values.tc import Qdisc

    rows = [(node["name"], iface, iface["shaping"]) for node in doc["nodes"]
            for iface in node["interfaces"]
            if iface.get("shaping") and (iface["shaping"]["now"] or iface["shaping"]["planned"])]
    if not rows:
        return None
    table = Table(show_edge=False)
    for col in ("node", "interface", "shaping now", "in the topology"):
        table.add_column(col)
    for node_name, iface, shaping in rows:
        planned = shaping["planned"]
        words = Qdisc.from_json(planned).describe() if planned else "none"
        now = Text(shaping["text"] or "none", "green" if shaping["as_planned"] else "yellow")
        table.add_row(node_name, iface["name"], now, words)
    return table


def labs_table(labs: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False)
    table.add_column("lab", style="bold")
    table.add_column("state")
    table.add_column("nodes", justify="right")
    table.add_column("file")
    for lab in labs:
        state = lab.get("state", "up")
        table.add_row(lab["lab"], Text(state, "green" if state == "up" else "yellow"),
                      str(lab["nodes"]), lab["file"])
    return table
