#!/usr/bin/env python3
"""Write docs/topology-reference.md from the topology format's JSON Schema.

    python3 scripts/gen_topology_docs.py          # rewrite the file
    python3 scripts/gen_topology_docs.py --check  # exit 1 if it is out of date

The schema (`netlab.spec.json_schema()`, the same that `netlab schema` prints) is the source:
every key, type, limit, default and description comes from it. A key whose schema has no
description yet gets the short note from NOTES below; a description in the schema wins.
tests/unit/test_docs.py fails when the file and the schema disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "topology-reference.md"

# The order of sections; definitions the schema gains later follow, in alphabetical order.
ORDER = ["Node", "File", "Private", "Frr", "Interface", "Vxlan", "Macvlan", "Vlan", "Bond", "Vrf",
         "Route",
         "Link", "Check"]

# Used only where the schema has no description of its own.
NOTES: dict[tuple[str, str], str] = {
    ("Topology", "description"): "Free text about the lab.",
    ("Topology", "checks"): "What must be true of the running lab; `netlab test` runs them.",
    ("Node", "kind"): "`host`, `router` (IPv4 and IPv6 forwarding on) or `switch` (a node "
    "holding one bridge, `br0`; each link to it becomes a port).",
    ("Node", "interfaces"): "The node's interfaces by name (at most 15 bytes, "
    "`[A-Za-z0-9_.-]`). An interface named in `links` but not here exists with no address.",
    ("Node", "routes"): "Static routes, added once the interfaces are up.",
    ("Node", "sysctls"): "Sysctls under `net.` set inside the node, e.g. "
    "`net.ipv4.ip_forward: 1`.",
    ("Node", "prepare"): "Commands run inside the node (`sh -c`), in order, once its "
    "`files:` are written and before any service of the lab starts (e.g. to make a key a "
    "service reads), as `exec:` runs them.",
    ("Node", "exec"): "Commands run inside the node (`sh -c`), in order, once the whole lab is "
    "up: every node's services started (and ready, where they say `ready:`). They run in the "
    "node's folder (`NETLAB_NODE_DIR`) with its `env:`. What they print (stdout and "
    "stderr) goes to netlab's stderr, so netlab's stdout stays its own (`--json` output is one "
    "JSON document). A command that fails rolls the lab back.",
    ("Interface", "kind"): "`veth` (implied by a link), `tun`, `tap`, `bridge`, `vxlan` "
    "(implied by `vxlan:`), `dummy` (an interface leading nowhere, always up; "
    "needs `CONFIG_DUMMY`), `macvlan` (implied by `macvlan:`), `vlan` (implied by `vlan:`; "
    "needs `CONFIG_VLAN_8021Q`), `bond` (implied by `bond:`; needs `CONFIG_BONDING`), `vrf` "
    "(implied by `vrf: {table: N}`; needs `CONFIG_NET_VRF`).",
    ("Interface", "addresses"): "Addresses with prefix length, IPv4 or IPv6: `10.0.1.1/24`, "
    "`fd00:1::1/64`.",
    ("Interface", "mtu"): "The interface's MTU.",
    ("Interface", "mac"): "The MAC address, e.g. `02:00:00:00:00:01`.",
    ("Interface", "owner"): "tun/tap: the user (name or uid) allowed to attach to the device.",
    ("Interface", "group"): "tun/tap: the group (name or gid) allowed to attach.",
    ("Interface", "ports"): "bridge: the interfaces of this node that become its ports.",
    ("Interface", "stp"): "bridge: spanning tree on (netlab sets the forward delay to 2 s, the "
    "least the kernel takes: a port forwards 4 s after it comes up). A switch: `br0: {stp: true}`.",
    ("Interface", "vxlan"): "A VXLAN tunnel endpoint (unicast); makes the interface a vxlan.",
    ("Interface", "macvlan"): "An interface with a MAC of its own on another interface of "
    "the node (its parent's wire); makes the interface a macvlan.",
    ("Interface", "up"): "Bring the interface up.",
    ("Interface", "vlan"): "An 802.1Q VLAN on another interface of the node: what it sends "
    "leaves that one tagged (a router on a stick: `eth0.10: {vlan: {parent: eth0, id: 10}}`); "
    "makes the interface a vlan.",
    ("Interface", "bond"): "One interface over several of the node's links (its ports, "
    "which join it as a bridge's do); makes the interface a bond.",
    ("Interface", "vrf"): "`{table: 10}` makes the interface a VRF, a routing table of its "
    "own; a VRF's name (`vrf: red`) puts the interface in that VRF of the node (docs/links.md "
    "\"VRFs\").",
    ("Vrf", "table"): "The VRF's routing table, 1 to 4294967295 but 253, 254 and 255 (the "
    "kernel's default, main and local); one per VRF of a node.",
    ("Route", "vrf"): "The VRF (an interface of the node) whose table the route goes in; "
    "left out: the main table.",
    ("Bond", "ports"): "The node's interfaces it is made of: veths (linked) or taps, in no "
    "other bridge or bond, without addresses of their own.",
    ("Bond", "mode"): "The kernel's bonding mode; `active-backup` sends through one port and "
    "fails over to the next within 100 ms of its carrier going (miimon 100).",
    ("Vlan", "parent"): "The node's interface whose wire carries the tagged frames (veth, "
    "tap, bridge, vxlan, dummy).",
    ("Vlan", "id"): "The VLAN id, 1 to 4094; one vlan per id on a parent.",
    ("Macvlan", "parent"): "The node's interface it sits on (veth, tap, bridge, vxlan, dummy; "
    "not a bridge port).",
    ("Macvlan", "mode"): "`bridge` (macvlans on one parent reach each other directly), "
    "`vepa` (only through the wire), `private` (never), `passthru` (one macvlan owns the "
    "parent).",
    ("Vxlan", "id"): "The VXLAN network identifier (VNI).",
    ("Vxlan", "remote"): "The IP address of the far tunnel end.",
    ("Vxlan", "local"): "The local IP address the tunnel is sent from.",
    ("Vxlan", "dev"): "The interface the tunnel is sent through.",
    ("Vxlan", "port"): "The UDP port.",
    ("Route", "to"): "`default`, or a network such as `10.0.2.0/24`.",
    ("Route", "via"): "The gateway's address (without prefix length).",
    ("Route", "dev"): "The interface the route goes out of.",
    ("Route", "metric"): "The route's metric (priority): lower wins.",
    ("Link", "endpoints"): "The two ends, `node:interface`; to a switch, `node` alone is "
    "enough (the port is named after the other end).",
    ("Link", "mtu"): "MTU of both ends.",
    ("Link", "rate"): "Shaping: the rate, e.g. `100mbit` (tc tbf).",
    ("Link", "burst"): "Shaping: the bucket size, e.g. `32kb` (tbf).",
    ("Link", "latency"): "Shaping: the most a packet may wait in the tbf queue, e.g. `50ms`.",
    ("Link", "limit"): "Shaping: the queue length (bytes for tbf, packets for netem).",
    ("Link", "delay"): "Emulation: added delay, e.g. `20ms` (needs netem in the kernel).",
    ("Link", "jitter"): "Emulation: delay variation, e.g. `5ms` (netem).",
    ("Link", "loss"): "Emulation: packet loss, e.g. `1%` (netem).",
    ("Link", "duplicate"): "Emulation: duplicated packets, e.g. `1%` (netem).",
    ("Link", "corrupt"): "Emulation: corrupted packets, e.g. `0.1%` (netem).",
    ("Link", "reorder"): "Emulation: reordered packets, e.g. `25%` (netem).",
}

HEADER = """\
# Topology file reference

<!-- Generated by scripts/gen_topology_docs.py from netlab's JSON Schema; do not edit by hand:
     change the model (netlab/spec/) or the script, then run the script. -->

Every key a topology file (format version 1) may have. The same facts, machine-readable,
come from `netlab schema`; [editor-setup.md](editor-setup.md) shows how an editor uses them
to complete and check a file as you type. The prose guide to the format is in
[getting-started.md](getting-started.md); `topologies/` has working examples.

Two rules the schema cannot say:

- Names (lab, nodes): lowercase letters, digits and `-`, not at either end; a lab name at
  most 64 characters, a node name at most 24. Interface names: at most 15 bytes of
  `[A-Za-z0-9_.-]`, not `.` or `..`.
- The file is a Jinja2 template over its `vars` (and `--set key=value`) before it is YAML:
  `"{{ lan }}.1/24"`. Cross-references (links naming nodes, bridge ports, gateways on a
  subnet of the node) are checked by `netlab validate`, which names file, line and key.
"""


def _anchor(name: str) -> str:
    return name.lower()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _range(low: object, high: object, unit: str = "") -> str:
    if low is not None and high is not None:
        return f"{low}–{high}{unit}"
    return f"at least {low}{unit}" if low is not None else f"at most {high}{unit}"


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    if "minimum" in schema or "maximum" in schema:
        parts.append(_range(schema.get("minimum"), schema.get("maximum")))
    if schema.get("minLength") == 1 and "maxLength" not in schema:
        parts.append("not empty")
    elif "minLength" in schema or "maxLength" in schema:
        parts.append(_range(schema.get("minLength"), schema.get("maxLength"), " characters"))
    if "minItems" in schema and schema.get("minItems") == schema.get("maxItems"):
        parts.append(f"exactly {schema['minItems']}")
    elif "minItems" in schema or "maxItems" in schema:
        parts.append(_range(schema.get("minItems"), schema.get("maxItems"), " items"))
    if "minProperties" in schema:
        parts.append(f"at least {schema['minProperties']}")
    return f" ({', '.join(parts)})" if parts else ""


def type_text(schema: dict[str, Any]) -> str:
    """A schema's type in a few words, links to the sections of referenced objects."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(type_text(s) for s in options) + _limits(schema)
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        return f"list of {type_text(items) if items else 'anything'}{_limits(schema)}"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return f"map of name to {type_text(values)}{_limits(schema)}"
        return "map" + _limits(schema)
    return f"{kind or 'anything'}{_limits(schema)}"


def _default(schema: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" in schema and schema["default"] is not None:
        return f"`{json.dumps(schema['default'])}`"
    return ""


def section(title: str, obj: dict[str, Any], owner: str) -> list[str]:
    lines = [f"## {title}", ""]
    if obj.get("description"):
        lines += [obj["description"], ""]
    lines += ["| key | type | default | what it is |", "|---|---|---|---|"]
    required = set(obj.get("required", []))
    for key, prop in obj.get("properties", {}).items():
        about = prop.get("description") or NOTES.get((owner, key), "")
        about = about.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| `{key}` | {type_text(prop)} | {_default(prop, key in required)} | {about} |"
        )
    return [*lines, ""]


def render(schema: dict[str, Any]) -> str:
    lines = [HEADER]
    lines += section("The file", schema, "Topology")
    links = schema["properties"].get("links", {}).get("items", {}).get("anyOf", [])
    short = [s for s in links if s.get("type") == "array"]
    if short:
        lines += [
            "A link is written either short, as its two endpoints, or long, as a "
            "[Link](#link) with settings:", "",
            "```yaml", "links:", "  - [h1:eth0, sw1]                  # short",
            "  - {endpoints: [r1:eth1, h3:eth0], mtu: 9000}   # long", "```", "",
        ]
    defs = schema.get("$defs", {})
    names = [n for n in ORDER if n in defs] + sorted(n for n in defs if n not in ORDER)
    for name in names:
        lines += section(name, defs[name], name)
    return "\n".join(lines).rstrip("\n") + "\n"


def generate() -> str:
    sys.path.insert(0, str(ROOT))
    from netlab.spec import json_schema

    return render(json_schema())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = generate()
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run "
                  "python3 scripts/gen_topology_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
