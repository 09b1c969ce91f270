"""Read a lab back from the kernel into the status document (read-only).

The document's shape is `netlab.status/1`, described in docs/status-json.md; keys are only
ever added to it, never renamed or removed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from netlab.values.names import SWITCH_BRIDGE

SCHEMA = "netlab.status/1"

# The status layer's kind table: the kind kernel/dumps.py reads back for each interface
# kind (its IFLA_INFO_KIND; a tap by its tun type). A planned interface that reads back as
# another of these kinds is drift. Its MTU is compared with what the plan's ops give it.
READ_BACK: dict[str, str] = {
    "veth": "veth",
    "tun": "tun",
    "tap": "tap",
    "bridge": "bridge",
    "vxlan": "vxlan",
    "dummy": "dummy",
    "macvlan": "macvlan",
    "vlan": "vlan",
    "bond": "bond",
    "vrf": "vrf",
}


def _is_link_local(cidr: str) -> bool:
    # Addresses come from the kernel as inet_ntop writes them: the first group tells, with
    # no parsing of the whole address (a lab of 1000 nodes has ten thousand of them).
    ip = cidr.partition("/")[0]
    head, colon, _rest = ip.partition(":")
    if not colon:
        return ip.startswith("169.254.")
    if 0 < len(head) <= 4:
        try:
            return int(head, 16) & 0xFFC0 == 0xFE80
        except ValueError:
            pass
    return ipaddress.ip_interface(cidr).ip.is_link_local


def _addresses(live: list[str], want: dict[str, Any] | None) -> list[str]:
    """The interface's addresses, less the link-local ones the kernel gave it by itself
    (fe80::/64 from the MAC): one the topology gives is shown like any other."""
    given = set(want["addresses"]) if want else set()
    return [a for a in live if a in given or not _is_link_local(a)]


def _services(lab: str, node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's services: pid, running or not, log; what they publish (a MAC table)."""
    from netlab.kernel.service_state import service_dir, service_state
    from netlab.plan.naming import node_dir
    from netlab.state.store import state_root

    folder = node_dir(str(state_root()), lab, node["name"])
    found = []
    for name, run in node["services"]:
        entry = service_state(node["namespace"], folder, name)
        entry["command"] = run
        table = service_dir(folder, name) / "mac-table.json"
        # A table being rewritten right now is skipped; the next status shows it. A dead
        # switch's table is history, not what it knows: left out.
        if entry["running"]:
            with contextlib.suppress(OSError, ValueError):
                entry["mac_table"] = json.loads(table.read_text())
        found.append(entry)
    return found


def _kind_settings(node: str, ifname: str, want: dict[str, Any] | None,
                   got: dict[str, Any] | None, drift: list[str]) -> tuple[str, Any] | None:
    """A kind's own settings, now and planned (a macvlan's parent and mode, a vlan's parent
    and id), with the drift between them; None for kinds without such settings."""
    for kind in _SETTINGS_WORDS:
        spec = want["settings"] if want is not None and want["kind"] == kind else None
        planned = dict(spec) if spec is not None else None  # a copy: a bond's are sorted
        now = (got or {}).get(kind)
        if kind == "bond":  # the same ports in any order
            for values in (planned, now):
                if values is not None:
                    values["ports"] = sorted(values["ports"])
        if planned is None and now is None:
            continue
        if planned is not None and now is not None and now != planned:
            words = _SETTINGS_WORDS[kind]
            drift.append(f"{node}: {ifname} is a {kind} {words(now)}; the topology says "
                         f"{words(planned)}")
        return kind, {"now": now, "planned": planned, "as_planned": now == planned}
    return None


def _port_vlans(node: str, ifname: str, want: dict[str, Any], now: dict[str, Any] | None,
                drift: list[str]) -> dict[str, Any]:
    """A switch port's VLANs, now and planned, with their drift (a VLAN added or removed
    by hand: `bridge vlan add` in the switch)."""
    planned = want["vlans"]
    if now is not None and now != planned:
        from netlab.plan import switch_vlans  # only for drift: it loads the ops

        drift.append(f"{node}: port {ifname} is {switch_vlans.words(now)}; the topology "
                     f"says {switch_vlans.words(planned)}")
    return {"now": now, "planned": planned, "as_planned": now == planned}


def _vrf_drift(node: str, ifname: str, want: dict[str, Any], got: dict[str, Any],
               live: dict[str, dict[str, Any]], drift: list[str]) -> None:
    """An interface in another VRF than planned (or in one, or out of one)."""
    planned = want["vrf"]
    master = got.get("master")
    now = master if (live.get(master or "") or {}).get("kind") == "vrf" else None
    if now != planned:
        drift.append(f"{node}: {ifname} is in {f'vrf {now}' if now else 'no vrf'}; the "
                     f"topology says {f'vrf {planned}' if planned else 'no vrf'}")


# The kinds with settings of their own, and how to say them.
_SETTINGS_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "macvlan": lambda v: f"on {v['parent']} in mode {v['mode']}",
    "vlan": lambda v: f"{v['id']} on {v['parent']}",
    "bond": lambda v: f"{v['mode']} over {', '.join(v['ports']) or 'no port'}",
    "vrf": lambda v: f"with table {v['table']}",
}


def status_document(skel: dict[str, Any], lab: str, source: str, up: bool,
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The status document of `lab` from its skeleton (lab/status_skeleton.py) and what
    the kernel has; progress(n), if given, after each of the n nodes read."""
    from netlab.kernel import nsfs
    from netlab.kernel.dumps import read_node, read_port_vlans
    from netlab.lab.status_links import StatusLinks

    nodes: list[dict[str, Any]] = []
    drift: list[str] = []
    for node in skel["nodes"]:
        name, ns = node["name"], node["namespace"]
        status_links = StatusLinks(node["qdiscs"])  # shaping and carrier counters
        present = nsfs.exists(ns)
        planned = {i["name"]: i for i in node["interfaces"]}
        links, routes, link_now = read_node(ns) if present else ([], [], {})
        with_vlans = node["vlans"]
        port_vlans = read_port_vlans(ns) if present and with_vlans else {}
        live = {link["ifname"]: link for link in links}
        interfaces: list[dict[str, Any]] = []
        for ifname in [*planned, *(n for n in live if n not in planned and n != "lo")]:
            want = planned.get(ifname)
            got = live.get(ifname)
            addresses = _addresses((got or {}).get("addresses", []), want)
            entry: dict[str, Any] = {
                "name": ifname,
                "kind": (got or {}).get("kind") or (want["kind"] if want else None),
                "peer": want["peer"] if want else None,
                "master": (got or {}).get("master") or (want["master"] if want else None),
                "addresses": addresses,
                "mac": (got or {}).get("mac"),
                "mtu": (got or {}).get("mtu"),
                "admin": "up" if (got or {}).get("up") else "down",
                "oper": (got or {}).get("operstate"),
                "carrier": bool((got or {}).get("carrier")),
                "rx_bytes": (got or {}).get("rx_bytes", 0),
                "tx_bytes": (got or {}).get("tx_bytes", 0),
                "rx_packets": (got or {}).get("rx_packets", 0),
                "tx_packets": (got or {}).get("tx_packets", 0),
                "owner": (got or {}).get("owner"),
                "group": (got or {}).get("group"),
                "planned": want is not None,
                "present": got is not None,
            }
            settings = _kind_settings(name, ifname, want, got, drift)
            if settings is not None:
                entry[settings[0]] = settings[1]
            if with_vlans and want is not None and want["master"] is not None:
                entry["vlans"] = _port_vlans(name, ifname, want, port_vlans.get(ifname), drift)
            interfaces.append(entry)
            status_links.annotate(entry, name, want, link_now.get(ifname), drift)
            if present and want and not got:
                drift.append(f"{name}: interface {ifname} is missing")
            elif want and got:
                for address in want["addresses"]:
                    if address not in addresses:
                        drift.append(f"{name}: {ifname} lacks address {address}")
                kind = got.get("kind")
                if kind != READ_BACK[want["kind"]] and kind in READ_BACK.values():
                    drift.append(f"{name}: {ifname} is a {kind}; the topology says "
                                 f"{want['kind']}")
                _vrf_drift(name, ifname, want, got, live, drift)
                mtu = want["mtu"]
                if mtu is not None and got.get("mtu") != mtu:
                    drift.append(f"{name}: {ifname} has mtu {got.get('mtu')}; the topology "
                                 f"says {mtu}")
            elif got and not want and name and ifname != SWITCH_BRIDGE:
                drift.append(f"{name}: interface {ifname} is not in the topology")
        if not present:
            drift.append(f"{name}: namespace {ns} is missing")
        services = _services(lab, node)
        limits: dict[str, str] = {}
        if node["limits"]:
            from netlab.kernel.cgroups import limits_of

            limits = limits_of(ns)  # as the kernel has them, not as the file says
            if present and not limits:
                drift.append(f"{name}: its limits are not in force")
        for service in services:
            if present and not service["running"]:
                drift.append(f"{name}: service {service['name']} is not running (its log: "
                             f"netlab logs -l {lab} {name} {service['name']})")
        nodes.append(
            {
                "name": name,
                "kind": node["kind"],
                "host": node["host"],
                "namespace": ns,
                "present": present,
                "interfaces": interfaces,
                "routes": routes,
                "services": services,
                **({"limits": limits} if node["limits"] else {}),
            }
        )
        if progress is not None:
            progress(len(nodes))
    return {
        "schema": SCHEMA,
        "lab": lab,
        "file": source,
        "up": up,
        "state": _condition(lab, up),
        "nodes": nodes,
        "links": skel["links"],
        "drift": drift,
    }


def _condition(lab: str, up: bool) -> str:
    from netlab.state.condition import condition

    return condition(lab).state if up else "down"
