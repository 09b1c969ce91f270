"""A containerlab topology (.clab.yml) made into a netlab topology (`netlab import`).

What carries over: `kind: linux` nodes (hosts), `kind: bridge` and `ovs-bridge` nodes
(switches), `exec:` (the node's commands), `env:`, `binds:` of small files (the node's
`files:`, and the bind's path in `exec:` becomes the file's), links by `endpoints` in both
forms (`["a:eth1", "b:eth1"]`, and `{type: veth, endpoints: [{node, interface, mac}]}`),
with the `defaults`, `kinds` and `groups` they inherit from. Everything else (images, the
management network, kinds of network OS, ports, other link types) is named in a comment.
The file is read; the small files it binds are read from `folder` (nothing else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netlab.errors import InputError
from netlab.spec.foreign import Imported, Names, lab_name

MAX_BIND = 64 * 1024  # bytes: a config file or a script, not a data set
_SWITCH_KINDS = {"bridge": "", "ovs-bridge": " (an Open vSwitch bridge: a Linux bridge here)"}
# Node keys with no meaning for a namespace on the host, and why.
_LEFT = {
    "image": "netlab runs the host's programs; install what the image had on the host",
    "cmd": "the container's main process: make it a service (services:) if it matters",
    "entrypoint": "the container's entrypoint: make it a service (services:) if it matters",
    "mgmt-ipv4": "no management network in netlab",
    "mgmt-ipv6": "no management network in netlab",
    "mgmt_ipv4": "no management network in netlab",
    "mgmt_ipv6": "no management network in netlab",
    "ports": "no port publishing: a netlab lab is not routed to the outside",
    "network-mode": "every netlab node has its own network namespace",
}


def convert(text: str, source: str, folder: Path) -> Imported:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InputError(f"{source}: not YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("topology"), dict):
        raise InputError(f"{source}: no 'topology:' mapping; is it a containerlab file?")
    topo = data["topology"]
    result = Imported("containerlab", source, lab_name(str(data.get("name") or "imported")))
    if str(data.get("name")) != result.name:
        result.notes.append(f"the lab's name '{data.get('name')}' is '{result.name}' here")
    if "mgmt" in data:
        result.notes.append("mgmt: (the management network) is not carried: netlab has none")
    for key in sorted(set(data) - {"name", "topology", "mgmt", "prefix"}):
        result.notes.append(f"{key}: is not carried")
    names = Names()
    kinds_of: dict[str, str] = {}
    for raw, given in (topo.get("nodes") or {}).items():
        node = _inherited(topo, given or {})
        name = names(str(raw))
        kind = str(node.get("kind") or "linux")
        kinds_of[name] = kind
        _node(result, name, kind, node, folder)
    if names.renamed:
        result.notes.append("renamed (netlab names are lowercase letters, digits and '-'): "
                            + ", ".join(f"{a} -> {b}" for a, b in names.renamed.items()))
    for k, link in enumerate(topo.get("links") or []):
        _link(result, k, link or {}, names, kinds_of)
    return result


def _inherited(topo: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A node's keys after containerlab's inheritance: defaults < kind < group < node;
    exec: and binds: add up in that order, as env: does (containerlab merges them)."""
    defaults = topo.get("defaults") or {}
    group = (topo.get("groups") or {}).get(node.get("group") or defaults.get("group")) or {}
    kind = node.get("kind") or group.get("kind") or defaults.get("kind")
    kind_keys = (topo.get("kinds") or {}).get(kind) or {}
    merged: dict[str, Any] = {}
    for layer in (defaults, kind_keys, group, node):
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            elif key in ("exec", "binds") and isinstance(value, list):
                merged[key] = [*(merged.get(key) or []), *value]
            else:
                merged[key] = value
    return merged


def _node(result: Imported, name: str, kind: str, node: dict[str, Any], folder: Path) -> None:
    body: dict[str, Any] = {}
    result.nodes[name] = body
    if kind in _SWITCH_KINDS:
        body["kind"] = "switch"
        result.note(name, f"kind: {kind}{_SWITCH_KINDS[kind]}; containerlab needed it made "
                    "on the host beforehand, netlab makes it")
        return
    if kind == "host":
        result.note(name, "kind: host (the host itself) is not carried: netlab labs do not "
                    "reach into the host; links to it are left out")
        return
    if kind != "linux":
        result.note(name, f"kind: {kind} (a network OS in a container) has no meaning here: "
                    "a plain Linux node; its configuration must be redone (exec:, services:)")
    for key in sorted(set(node) - {"kind", "group", "exec", "env", "binds"}):
        why = _LEFT.get(key, "not carried")
        result.note(name, f"{key}: {_short(node[key])} -- {why}")
    files: dict[str, str] = {}
    moved: dict[str, str] = {}  # the bind's path in the container -> the file here
    for bind in node.get("binds") or []:
        _bind(result, name, str(bind), folder, files, moved)
    if files:
        body["files"] = files
    env = node.get("env") or {}
    if env:
        body["env"] = {str(k): str(v) for k, v in env.items()}
    for line in node.get("exec") or []:
        command = str(line)
        for target, here in moved.items():
            command = command.replace(target, here)
        result.add_exec(name, command)


def _bind(result: Imported, name: str, bind: str, folder: Path, files: dict[str, str],
          moved: dict[str, str]) -> None:
    host, _, rest = bind.partition(":")
    target = rest.split(":")[0]
    path = Path(host) if Path(host).is_absolute() else folder / host
    try:
        if not path.is_file() or path.stat().st_size > MAX_BIND:
            raise ValueError
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError):
        result.note(name, f"binds: {bind} -- not carried (only text files up to "
                    f"{MAX_BIND // 1024} KB, next to the topology, become the node's files)")
        return
    here = Path(target).name or Path(host).name
    files[here] = text
    moved[target] = f"$NETLAB_NODE_DIR/{here}"
    result.note(name, f"binds: {bind} -- the file is {here} in the node's folder "
                f"($NETLAB_NODE_DIR); exec: names it there")


def _link(result: Imported, k: int, link: dict[str, Any], names: Names,
          kinds_of: dict[str, str]) -> None:
    kind = str(link.get("type") or "veth")
    ends = link.get("endpoints")
    if kind != "veth" or not isinstance(ends, list) or len(ends) != 2:
        result.link_notes.append(f"links[{k}] (type {kind}) is not carried: only veth links "
                                 "between nodes of the lab are")
        return
    written = []
    for end in ends:
        if isinstance(end, dict):
            raw, iface, mac = str(end.get("node")), end.get("interface"), end.get("mac")
        else:
            raw, _, iface = str(end).partition(":")
            mac = None
        node = names.given.get(raw)
        if node is None or kinds_of.get(node) == "host":
            result.link_notes.append(f"links[{k}] {ends} is not carried: '{raw}' is not a "
                                     "node of the lab here")
            return
        if mac:
            body = result.nodes[node]
            body.setdefault("interfaces", {}).setdefault(str(iface), {})["mac"] = str(mac)
        written.append(f"{node}:{iface}" if iface else node)
    keys = {"mtu": link["mtu"]} if "mtu" in link else {}
    for key in sorted(set(link) - {"type", "endpoints", "mtu"}):
        result.link_notes.append(f"links[{k}]: {key}: is not carried")
    result.link(written[0], written[1], **keys)


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."
