"""Render plans and status documents as rich tables (pure: data in, renderables out)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netlab.plan.ops import Op


def plan_table(ops: list[Op], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("node")
    table.add_column("operation")
    for n, op in enumerate(ops, 1):
        table.add_row(str(n), op.ns, op.describe())
    return table


def teardown_table(steps: list[tuple[Op, bool]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("operation")
    for n, (op, carried_out) in enumerate(steps, 1):
        text = Text(op.describe())
        if not carried_out:
            text = Text(f"{op.describe()} (goes with its namespace)", style="dim")
        table.add_row(str(n), text)
    return table


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return f"{n:.1f} TiB"


def _state(iface: dict[str, Any]) -> Text:
    if not iface["present"]:
        return Text("missing", style="bold red")
    oper = (iface.get("oper") or "?").lower()
    style = {"up": "green", "unknown": "yellow"}.get(oper, "red")
    if iface["admin"] == "down":
        return Text("admin down", style="red")
    return Text(oper, style=style)


def status_view(doc: dict[str, Any]) -> RenderableType:
    nodes = Table(title=f"lab {doc['lab']}", title_justify="left", show_edge=False)
    nodes.add_column("node", style="bold")
    nodes.add_column("kind")
    nodes.add_column("namespace", style="dim")
    nodes.add_column("interfaces", justify="right")
    nodes.add_column("routes", justify="right")
    for node in doc["nodes"]:
        present = node["present"]
        nodes.add_row(
            node["name"], node["kind"],
            node["namespace"] if present else Text(f"{node['namespace']} (missing)", "red"),
            str(len(node["interfaces"])), str(len(node["routes"])),
        )
    ifaces = Table(show_edge=False)
    for col, justify in (
        ("node", "left"), ("interface", "left"), ("kind", "left"), ("peer / bridge", "left"),
        ("addresses", "left"), ("mac", "left"), ("mtu", "right"), ("state", "left"),
        ("rx", "right"), ("tx", "right"),
    ):
        ifaces.add_column(col, justify=justify)  # type: ignore[arg-type]
    for node in doc["nodes"]:
        for i, iface in enumerate(node["interfaces"]):
            link = iface["peer"] or ""
            if iface.get("master"):
                link = f"{link} in {iface['master']}".strip()
            if iface["kind"] in ("tun", "tap") and iface.get("owner") is not None:
                link = f"owner {iface['owner']}"
            ifaces.add_row(
                node["name"] if i == 0 else "",
                iface["name"], iface["kind"] or "?", link,
                "\n".join(iface["addresses"]), iface["mac"] or "",
                str(iface["mtu"] or ""), _state(iface),
                f"{_size(iface['rx_bytes'])} / {iface['rx_packets']} pkt",
                f"{_size(iface['tx_bytes'])} / {iface['tx_packets']} pkt",
            )
    parts: list[RenderableType] = [nodes, Text(""), ifaces]
    if doc["drift"]:
        drift = Text("\ndrift from the topology:\n", style="bold yellow")
        for line in doc["drift"]:
            drift.append(f"  - {line}\n", style="yellow")
        parts.append(drift)
    return Group(*parts)


def labs_table(labs: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False)
    table.add_column("lab", style="bold")
    table.add_column("nodes", justify="right")
    table.add_column("file")
    for lab in labs:
        table.add_row(lab["lab"], str(lab["nodes"]), lab["file"])
    return table
