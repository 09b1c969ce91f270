"""Pydantic's validation errors, told as a person would say them, one Problem each.

Each error's location is walked along the model's types at the same time as along the data,
so that we know what was expected there (a list of addresses, a route, one of three kinds)
and what was found, and can point at the line where it was written.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from netlab.errors import Problem
from netlab.spec.loaded import join, line_in
from netlab.spec.model import (
    Bond,
    Check,
    Interface,
    Link,
    Macvlan,
    Node,
    Route,
    Service,
    Topology,
)
from netlab.spec.yamltree import KEY, key_text

# What a value is called where it is expected, by its role: a field name, "field[]" for an
# item of a list field, "field{}" for a value in a mapping field, "field{key}" for a key.
_WHAT: dict[str, str] = {
    "name": "a name such as 'hello'",
    "description": "a text such as 'two hosts and a router'",
    "version": "1",
    "nodes": "a mapping of node names to nodes, such as {h1: {}, r1: {kind: router}}",
    "nodes{}": "a node (a mapping such as {kind: router, interfaces: {...}})",
    "nodes{key}": "a node name such as h1",
    "links": "a list of links such as [[h1:eth0, h2:eth0]]",
    "links[]": "a link such as [h1:eth0, h2:eth0] or {endpoints: [h1:eth0, h2:eth0], mtu: 9000}",
    "vars": "a mapping of variable names to values, such as {subnet: 10.0.1}",
    "vars{key}": "a variable name such as subnet",
    "vars{}": "a value such as 10.0.1, 3 or [a, b]",
    "interfaces": "a mapping of interface names to their settings, such as "
    "{eth0: {addresses: [10.0.0.1/24]}}",
    "interfaces{}": "interface settings (a mapping such as {addresses: [10.0.0.1/24]})",
    "interfaces{key}": "an interface name such as eth0",
    "routes": "a list of routes such as [{to: default, via: 10.0.0.254}]",
    "routes[]": "a route such as {to: default, via: 10.0.0.254}",
    "sysctls": "a mapping of sysctl names to values, such as {net.ipv4.ip_forward: 1}",
    "sysctls{}": "a number or a text such as 1",
    "sysctls{key}": "a sysctl name such as net.ipv4.ip_forward",
    "exec": "a list of commands such as ['ip route', 'sysctl -a']",
    "exec[]": "a command (a text) such as 'ip route'",
    "env": "a mapping of variable names to values, such as {MODE: fast, PORT: 8080}",
    "env{key}": "an environment variable name such as MODE",
    "env{}": "a value (a text or a number) such as fast",
    "services": "a mapping of service names to commands, or a list of commands, such as "
    "{web: 'python3 -m http.server 80'}",
    "services{key}": "a service name such as web",
    "services{}": "a service such as 'python3 -m http.server 80' or "
    "{run: 'python3 -m http.server 80', user: nobody}",
    "files": "a mapping of file names to their text, such as {motd: 'hello'}",
    "files{key}": "a file name inside the node's folder, such as conf/app.ini, or an "
    "absolute path inside a private folder, such as /etc/frr/frr.conf",
    "files{}": "the file's text, such as 'hello', or {content: 'hello', mode: '0644'}",
    "content": "the file's text, such as 'hello'",
    "mode": "a file mode in octal, such as '0644'",
    "prepare": "a list of commands such as ['ip route', 'sysctl -a']",
    "prepare[]": "a command (a text) such as 'ip route'",
    "private": "a list of absolute paths such as [/etc/frr, /var/lib/misc]",
    "private[]": "an absolute path such as /etc/frr, or {path: /etc/frr, from: host}",
    "path": "an absolute path such as /etc/frr",
    "frr": "FRR's daemons and config, such as {daemons: [ospfd], config: 'router ospf'}",
    "daemons": "a list of FRR daemons such as [ospfd, bgpd]",
    "daemons[]": "an FRR daemon such as ospfd",
    "config": "frr.conf's text, such as 'router ospf'",
    "dns": "a list of name server addresses such as [10.0.0.53]",
    "dns[]": "an IP address such as 10.0.0.53",
    "user": "a user name or uid, such as nobody or 1000",
    "cwd": "a folder inside the node's folder, such as www",
    "ready": "the text the service prints when it is ready, or a port it listens on, "
    "such as 'Serving HTTP' or {tcp: 8000}",
    "addresses": "a list of addresses such as [10.0.0.1/24, fd00::1/64]",
    "addresses[]": "an address such as 10.0.0.1/24",
    "ports": "a list of interface names such as [tap0, tap1]",
    "ports[]": "an interface name such as tap0",
    "endpoints": "a list of two endpoints such as [h1:eth0, h2:eth0]",
    "endpoints[]": "an endpoint such as h1:eth0",
    "owner": "a user name or uid, such as nobody or 1000",
    "group": "a group name or gid, such as nogroup or 1000",
    "kind": "a kind such as router",
    "host": "a host name (a key of hosts:) such as left",
    "hosts": "a mapping of host names to hosts, such as {left: {address: 192.0.2.1}}",
    "hosts{key}": "a host name such as left",
    "hosts{}": "a host such as {address: 192.0.2.1}",
    "address": "an IP address such as 192.0.2.1",
    "to": "a destination such as 10.0.2.0/24 or default",
    "via": "a gateway address such as 10.0.0.254",
    "dev": "an interface name such as eth0",
    "metric": "a whole number such as 100",
    "mtu": "a whole number (68..65535) such as 1500",
    "mac": "a MAC address such as 02:00:00:00:00:01",
    "stp": "true or false",
    "up": "true or false",
    "vxlan": "vxlan settings such as {id: 42, remote: 192.0.2.2}",
    "id": "a whole number (0..16777215) such as 42",
    "vrf": "the name of one of the node's vrfs, such as red, or a vrf's settings, such as "
    "{table: 10}",
    "table": "a routing table number (1..4294967295; not 253, 254, 255) such as 10",
    "remote": "an IP address such as 192.0.2.2",
    "local": "an IP address such as 192.0.2.1",
    "port": "a port number (1..65535) such as 4789",
    "rate": "a rate such as 10mbit",
    "burst": "a size such as 32kb",
    "latency": "a time such as 50ms",
    "limit": "a number such as 1000",
    "delay": "a time such as 10ms",
    "jitter": "a time such as 2ms",
    "loss": "a percentage such as 1%",
    "duplicate": "a percentage such as 1%",
    "corrupt": "a percentage such as 1%",
    "reorder": "a percentage such as 25%",
    "checks": "a list of checks such as [{from: h1, to: h2}]",
    "checks[]": "a check such as {from: h1, to: h2} or {node: h1, run: 'ip route'}",
    "from": "a node name such as h1",
    "node": "a node name such as h1",
    "tcp": "a port number (1..65535) such as 80",
    "expect": "reachable or unreachable",
    "run": "a command (a text) such as 'ip route'",
    "expect_output": "a text such as '10.0.0.0/24'",
    "expect_exit": "a whole number (0..255) such as 0",
    "timeout": "a number of seconds such as 5",
    "ready_timeout": "a number of seconds (more than 0, at most 600) such as 10",
    "udp": "a port number (1..65535) such as 53",
    "capabilities": "a list of capabilities such as [CAP_NET_ADMIN]",
    "after": "a list of services such as [db] or [r1:zebra]",
    "cpu": "a number of cores such as 0.5",
    "memory": "an amount of memory such as 256M",
    "pids": "a whole number of processes such as 500",
    "limits": "limits such as {cpu: 0.5, memory: 256M, pids: 500}",
}
# Where a field name means something else in one model.
_WHAT_IN: dict[tuple[type[BaseModel], str], str] = {
    (Check, "to"): "a node name, node:interface, or an IP address, such as h2 or 10.0.0.2",
    (Check, "name"): "a text such as 'h1 reaches the web'",
    (Service, "run"): "a command (a text) such as 'python3 -m http.server 80'",
    (Macvlan, "mode"): "a macvlan mode such as bridge (private, vepa, bridge, passthru)",
    (Route, "vrf"): "the name of one of the node's vrfs, such as red",
    (Bond, "mode"): "a bonding mode such as active-backup (balance-rr, active-backup, "
                    "balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb)",
}
_LIST_ROLES = {"links", "routes", "exec", "prepare", "private", "dns", "addresses", "ports",
               "endpoints", "checks", "daemons"}

# Keys people reach for that netlab spells differently.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "via": ("gateway", "gw", "nexthop", "next-hop", "next_hop", "router"),
    "to": ("dst", "dest", "destination", "prefix", "network", "net", "target"),
    "dev": ("interface", "iface", "device", "if", "oif"),
    "kind": ("type", "role"),
    "addresses": ("address", "addr", "ip", "ips", "ip_address", "ipv4", "ipv6", "cidr"),
    "interfaces": ("interface", "ifaces", "nics", "ports", "devices"),
    "exec": ("cmd", "cmds", "command", "commands", "run", "script"),
    "sysctls": ("sysctl", "kernel", "settings"),
    "links": ("link", "cables", "connections", "edges", "wires"),
    "nodes": ("node", "machines", "devices"),
    "ports": ("members", "slaves", "interfaces", "bridge_ports"),
    "owner": ("user", "uid"),
    "group": ("gid",),
    "name": ("lab", "title"),
    "id": ("vni", "vxlan_id"),
    "rate": ("bandwidth", "bw", "speed"),
    "endpoints": ("ends", "peers", "between"),
    "from": ("source", "src"),
    "tcp": ("port", "tcp_port"),
    "expect_output": ("output", "contains", "stdout", "expect_stdout"),
    "expect_exit": ("exit", "exit_code", "returncode", "status"),
    "checks": ("check", "tests", "test", "asserts"),
}

# Keys that exist, only one level elsewhere.
_ELSEWHERE: dict[tuple[type[BaseModel], str], str] = {}
for _key in ("interfaces", "routes", "sysctls", "exec"):
    _ELSEWHERE[(Topology, _key)] = f"'{_key}' belongs to a node, under nodes: {{h1: ...}}"
_ELSEWHERE[(Topology, "kind")] = "'kind' belongs to a node or an interface"
_ELSEWHERE[(Topology, "endpoints")] = "'endpoints' belongs to a link, under links:"
for _key in ("addresses", "mtu", "mac", "ports", "stp", "owner", "group", "vxlan", "up"):
    _ELSEWHERE[(Node, _key)] = (
        f"'{_key}' belongs to an interface: interfaces: {{eth0: {{{_key}: ...}}}}"
    )
for _key in ("to", "via", "metric"):
    _ELSEWHERE[(Node, _key)] = f"'{_key}' belongs to a route: routes: [{{to: ..., via: ...}}]"
for _key in ("links", "endpoints"):
    _ELSEWHERE[(Node, _key)] = "links are listed at the top level, under links:"
_ELSEWHERE[(Node, "name")] = "a node's name is its key under nodes:"
for _key in ("routes", "via", "to", "sysctls", "exec"):
    _ELSEWHERE[(Interface, _key)] = f"'{_key}' belongs to the node, not to one of its interfaces"
for _key in ("addresses", "kind"):
    _ELSEWHERE[(Link, _key)] = f"'{_key}' belongs to an interface of a node, not to a link"
for _key in ("to", "via"):
    _ELSEWHERE[(Interface, _key)] = "routes belong to the node: routes: [{to: ..., via: ...}]"
_ELSEWHERE[(Node, "checks")] = "checks are listed at the top level, under checks:"


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys of a model as they are written in a file (a field's alias, if it has one)."""
    return [info.alias or name for name, info in model.model_fields.items()]


@dataclass
class _At:
    """Where an error is: the data path, and what the model expected there."""

    parts: list[str | int] = dataclasses.field(default_factory=list)
    model: type[BaseModel] | None = None  # the model whose field (or unknown key) is last
    field: str | None = None  # the last model field on the way
    role: str = ""  # see _WHAT
    tp: Any = None
    meta: list[Any] = dataclasses.field(default_factory=list)
    key: bool = False  # the error is about a mapping key, not its value
    union: bool = False
    union_at: _At | None = None  # where the (first) union is, as it was found there
    value: Any = None  # the input found there
    parent: Any = None  # the input one level up

    @property
    def path(self) -> str:
        path = ""
        for part in self.parts:
            path = join(path, part)
        return path

    @property
    def parent_path(self) -> str:
        path = ""
        for part in self.parts[:-1]:
            path = join(path, part)
        return path


def _strip(tp: Any, meta: list[Any]) -> Any:
    """Annotated[X, ...] and Optional[X] down to X, keeping Annotated's metadata in `meta`."""
    while True:
        if get_origin(tp) is Annotated:
            args = get_args(tp)
            tp = args[0]
            for m in args[1:]:
                meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            continue
        if _is_union(tp):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def locate(loc: Sequence[str | int], data: Any) -> _At:
    at = _At(tp=Topology, value=data)
    i = 0
    while i < len(loc):
        elem = loc[i]
        tp = _strip(at.tp, at.meta)
        if _is_union(tp):
            # Pydantic names the union member it tried ('int', 'constrained-str'); skip it.
            if not at.union:
                at.union_at = dataclasses.replace(at, parts=list(at.parts), meta=list(at.meta))
            at.union = True
            at.tp = next((a for a in get_args(tp) if _tag_matches(a, str(elem))), Any)
            i += 1
            continue
        at.parent = at.value
        shaping, at.meta = at.meta, []
        if _is_model(tp):
            if tp is Link and isinstance(at.value, list) and elem == "endpoints":
                # The short form `- [a:eth0, b:eth0]`: its endpoints are the list itself.
                at.model, at.field, at.role = tp, "endpoints", "endpoints"
                at.tp = _field_type(tp, "endpoints", at.meta)
                i += 1
                continue
            name = str(elem)
            at.model, at.field, at.role = tp, name, name
            at.tp = _field_type(tp, name, at.meta)
            at.parts.append(name)
            at.value = at.value.get(name) if isinstance(at.value, dict) else None
        elif get_origin(tp) is list:
            at.role = f"{at.field}[]"
            at.tp = get_args(tp)[0]
            at.parts.append(elem)
            at.value = _item(_reshaped(at.value, list, shaping), elem)
        elif get_origin(tp) is dict:
            key_type, value_type = get_args(tp)
            at.parts.append(key_text(elem))
            at.value = _item(_reshaped(at.value, dict, shaping), elem)
            if i + 1 < len(loc) and loc[i + 1] == "[key]":
                at.key, at.tp, at.role, at.value = True, key_type, f"{at.field}{{key}}", elem
                i += 1
            else:
                at.tp, at.role = value_type, f"{at.field}{{}}"
        else:
            at.parts.append(elem if isinstance(elem, int) else str(elem))
            at.tp = Any
            at.value = _item(at.value, elem)
        i += 1
    at.tp = _strip(at.tp, at.meta)  # the constraints of the last type, for range messages
    return at


def _field_type(model: type[BaseModel], name: str, meta: list[Any]) -> Any:
    info = model.model_fields.get(name)
    if info is None:  # a key written as the field's alias (`from` for `from_`)
        info = next((f for f in model.model_fields.values() if f.alias == name), None)
    if info is None:
        return None
    meta.extend(info.metadata)
    return info.annotation


def _tag_matches(member: Any, tag: str) -> bool:
    base = _strip(member, [])
    return getattr(base, "__name__", "") in tag or (base is str and "str" in tag)


def _reshaped(value: Any, kind: type, meta: list[Any]) -> Any:
    """The input as the field's before-validators make it, where it is not yet of `kind`
    (`services: [cmd]` is {name: cmd}, `after: x` is [x]): its items are found there."""
    if isinstance(value, kind):
        return value
    for m in meta:
        if isinstance(m, BeforeValidator):
            try:
                value = m.func(value)  # type: ignore[call-arg]  # (a with-info one: caught)
            except Exception:  # an input it cannot reshape: no item is found in it
                return None
    return value


def _item(value: Any, index: Any) -> Any:
    if isinstance(value, list) and isinstance(index, int) and 0 <= index < len(value):
        return value[index]
    if isinstance(value, dict):
        return value.get(index)
    return None


# --- wording ------------------------------------------------------------------------------


def _scalar(value: Any, raw: str | None = None) -> str:
    """A value as the user would write it in YAML."""
    if raw is not None:
        return raw
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{_short(value)}'"
    return _short(str(value))


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _got(value: Any, raw: str | None) -> str:
    """What was found, as the user wrote it; for a scalar that YAML did not read as text,
    what YAML made of it and how to keep it text."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{_short(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    written = _scalar(value, raw)
    if isinstance(value, bool):
        read = "true" if value else "false"
        if raw is not None and raw != read:
            return f"{raw}, which YAML reads as {read} (quote it: '{raw}')"
        return f"{read} (a boolean)"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{written}, which YAML reads as a date (quote it: '{written}')"
    if isinstance(value, (int, float)):
        if raw is not None and raw != _scalar(value):
            return f"{raw}, which YAML reads as the number {value} (quote it: '{raw}')"
        return f"the number {written}"
    return type(value).__name__


class Wording:
    def __init__(self, tree_raw: Mapping[str, str]) -> None:
        self.raw = tree_raw

    def expected(self, at: _At) -> str:
        if at.model is not None and (at.model, at.role) in _WHAT_IN:
            return _WHAT_IN[at.model, at.role]
        if at.role in _WHAT:
            return _WHAT[at.role]
        base = _strip(at.tp, [])
        if _is_model(base):
            return f"a mapping ({', '.join(_keys(base))}) such as {{{_keys(base)[0]}: ...}}"
        # (a field with no entry above: say what its type takes, never just "something")
        return {str: "a text such as 'x'", int: "a whole number such as 1",
                float: "a number such as 1.5", bool: "true or false",
                list: "a list such as [a, b]", dict: "a mapping such as {a: 1}"}.get(
            get_origin(base) or base, "a value as in docs/topology-reference.md")

    def type_error(self, at: _At) -> str:
        raw = self.raw.get(at.path + KEY if at.key else at.path)
        message = f"expected {self.expected(at)}, got {_got(at.value, raw)}"
        if at.role == "endpoints[]" and isinstance(at.value, dict) and len(at.value) == 1:
            [(node, iface)] = at.value.items()
            if iface is None:  # `[a:, b:eth0]`: YAML reads 'a:' as a mapping
                return f"expected {self.expected(at)}, got '{node}:' with no interface"
            return f"{message}; write '{node}:{iface}' with no space after ':'"
        if at.role in _LIST_ROLES and isinstance(at.value, str):
            return f"{message}; write it as a list: [{at.value}]"
        if (at.role == "interfaces" or at.role == "nodes") and at.value is None:
            return f"{message}; indent what belongs under '{at.role}:'"
        key = str(at.parts[-1]) if at.parts else ""
        for role, owner, above in (("nodes{}", Topology, "the top level"),
                                   ("interfaces{}", Node, "the node")):
            if at.role == role and key in _keys(owner):  # `links:` indented under nodes:
                return (f"{message}; '{key}' belongs to {above}: unindent it to line up "
                        f"with '{role[:-2]}:'")
        if _strip(at.tp, []) is str and isinstance(at.value, dict) and len(at.value) == 1:
            [(key, value)] = at.value.items()
            return f"{message} ({key}: {_short(str(value), 20)}); a text with ': ' needs quotes"
        return message

    def unknown_key(self, at: _At) -> str:
        key = str(at.parts[-1])
        model = at.model
        fields = _keys(model) if model else []
        message = f"unknown key '{key}'"
        for good, words in _SYNONYMS.items():
            if key.lower() in words and good in fields:
                return f"{message} (did you mean '{good}'?)"
        close = difflib.get_close_matches(key.lower(), fields, n=1, cutoff=0.6)
        if close:
            return f"{message} (did you mean '{close[0]}'?)"
        if model is not None and (model, key) in _ELSEWHERE:
            return f"{message}: {_ELSEWHERE[model, key]}"
        if model is Topology and _looks_like(at.value, Node):
            return f"{message}; if it is a node, indent it under 'nodes:'"
        if model is Node and _looks_like(at.value, Interface):
            return f"{message}; if it is an interface, indent it under 'interfaces:'"
        return f"{message} (valid keys: {', '.join(fields)})"

    def missing(self, at: _At) -> str:
        key = str(at.parts[-1])
        what = {
            "name": " (the lab's name: lowercase letters, digits and '-')",
            "nodes": " (the nodes of the lab, such as {h1: {}, h2: {}})",
            "to": " (the destination: a network such as 10.0.2.0/24, or default)",
            "endpoints": " (the two ends of the link, such as [h1:eth0, h2:eth0])",
            "id": " (the VXLAN network identifier, 0..16777215)",
            "remote": " (the IP address of the other end of the tunnel)",
        }.get(key, "")
        return f"missing key '{key}'{what}"

    def literal(self, at: _At, error: ErrorDetails) -> str:
        expected = str(error.get("ctx", {}).get("expected", ""))
        if at.field == "version":
            return f"{_scalar(at.value)} is not supported; this netlab reads version 1"
        choices = re.findall(r"'([^']*)'", expected) or [expected]
        message = f"{at.field} {_scalar(at.value)} is not one of: {', '.join(choices)}"
        close = difflib.get_close_matches(str(at.value).lower(), choices, n=1, cutoff=0.6)
        return f"{message} (did you mean '{close[0]}'?)" if close else message

    def out_of_range(self, at: _At, error: ErrorDetails) -> str:
        low, high = _bounds(at.meta)
        ctx = error.get("ctx", {})
        above = ctx.get("gt", _above(at.meta))
        if above is not None:  # an open lower bound: say it in words, not as a span
            words = f"more than {_number(above)}"
            if high is not None:
                words += f", at most {_number(high)}"
            unit = " seconds" if at.field in _SECONDS else ""
            return f"{at.field} {_scalar(at.value)} is out of range ({words}{unit})"
        low = ctx.get("ge", low)
        high = ctx.get("le", high if high is not None else ctx.get("lt"))
        span = f"{low if low is not None else ''}..{high if high is not None else ''}"
        return f"{at.field} {_scalar(at.value)} is out of range ({span})"

    def length(self, at: _At, error: ErrorDetails) -> str:
        ctx = error.get("ctx", {})
        # pydantic's input, not at.value: the value at a path that a before-validator made
        # (services: [cmd] becomes {name: cmd}) is not in the data as written.
        value = error.get("input", at.value)
        actual = ctx.get("actual_length", len(value) if hasattr(value, "__len__") else "?")
        if at.role == "endpoints":
            ends = ", ".join(str(v) for v in at.value) if isinstance(at.value, list) else ""
            hint = "; for more, join them with a switch node (kind: switch)" if actual > 2 else ""
            return f"a link joins two endpoints, got {actual} ({ends}){hint}"
        if at.role == "nodes":
            return "a topology needs at least one node"
        if error["type"].startswith("string_"):
            if actual == 0:
                return f"{at.field} is empty"
            return f"{at.field} is too long ({actual} characters, at most {ctx.get('max_length')})"
        low, high = ctx.get("min_length"), ctx.get("max_length")
        bound = f"at least {low}" if error["type"] == "too_short" else f"at most {high}"
        return f"expected {bound} items, got {actual}"


def _looks_like(value: Any, model: type[BaseModel]) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    return set(map(str, value)) <= set(_keys(model))


_SECONDS = ("ready_timeout", "timeout")  # fields given in seconds


def _above(meta: list[Any]) -> Any:
    """The open lower bound (gt) of a field, if it has one."""
    return next((m.gt for m in meta if getattr(m, "gt", None) is not None), None)


def _number(value: Any) -> str:
    """0.0 -> '0', 2.5 -> '2.5': a bound as a person writes it."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _bounds(meta: list[Any]) -> tuple[Any, Any]:
    low = high = None
    for m in meta:
        if getattr(m, "ge", None) is not None:
            low = m.ge
        if getattr(m, "le", None) is not None:
            high = m.le
    return low, high


_TYPE_ERRORS = {
    "string_type",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "bool_type",
    "bool_parsing",
    "list_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "tuple_type",
    "set_type",
    "none_required",
    "literal_error_type",
}


def problems_from(
    error: ValidationError,
    data: Any,
    lines: dict[str, int],
    raw: Mapping[str, str],
    filename: str,
) -> list[Problem]:
    """One Problem per distinct thing wrong, in the order pydantic found them."""
    wording = Wording(raw)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    unions: dict[str, list[tuple[_At, ErrorDetails]]] = {}
    located = [(_keyed(locate(d["loc"], data), d), d) for d in error.errors(include_url=False)]
    # `node:` for `nodes:` is one mistake: say "did you mean 'nodes'", not also "missing".
    meant = {
        (at.parent_path, m.group(1))
        for at, d in located
        if d["type"] == "extra_forbidden"
        and (m := re.search(r"did you mean '(.*)'", wording.unknown_key(at)))
    }
    for at, details in located:
        if details["type"] == "missing" and (at.parent_path, str(at.parts[-1])) in meant:
            continue
        if at.union:
            where = at.union_at.path if at.union_at is not None else at.path
            unions.setdefault(where, []).append((at, details))
            continue
        problems.append(_problem(at, details, wording, lines, filename))
    for group in unions.values():
        problems.extend(_union_problems(group, wording, lines, filename))
    unique = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            unique.append(p)
    return unique


def _keyed(at: _At, details: ErrorDetails) -> _At:
    """A key as YAML read it: pydantic's loc has `on:` (true) as 1, its input has true."""
    if at.key and "input" in details and at.parts:
        at.value = details["input"]
        at.parts[-1] = key_text(at.value)
    return at


def _problem(
    at: _At, details: ErrorDetails, wording: Wording, lines: dict[str, int], filename: str
) -> Problem:
    kind = details["type"]
    path, line_path = at.path, at.path
    if kind == "extra_forbidden":
        path, message = at.parent_path, wording.unknown_key(at)
    elif kind == "missing":
        path, line_path = at.parent_path, at.parent_path
        message = wording.missing(at)
    elif kind in ("value_error", "assertion_error"):
        message = str(details.get("ctx", {}).get("error", details["msg"]))
    elif kind == "literal_error" or (kind == "int_parsing_size" and at.field == "version"):
        message = wording.literal(at, details)
    elif kind == "int_parsing_size":
        message = f"{at.field} {_scalar(at.value)} is far too large"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = wording.out_of_range(at, details)
    elif kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        message = wording.length(at, details)
    elif kind in _TYPE_ERRORS:
        message = wording.type_error(at)
    elif kind == "recursion_loop":
        message = "this value contains itself"
    else:
        message = details["msg"][:1].lower() + details["msg"][1:]
    return Problem(filename, line_in(lines, line_path), path, message)


def _union_problems(
    group: list[tuple[_At, ErrorDetails]], wording: Wording, lines: dict[str, int], filename: str
) -> list[Problem]:
    # A value that fits no member of a union (owner: a uid or a name). If it had the right
    # type for one member and failed that member's own checks, those say it best (an endpoint
    # written long: every problem of its mapping), unless the mapping is clearly not meant
    # as that member (`- [h1: eth0, ...]`: one key that is none of the member's).
    at = group[0][0].union_at or group[0][0]
    inside = [(a, d) for a, d in group if a.path != at.path and a.model is not None]
    if isinstance(at.value, dict) and inside and len({a.model for a, _ in inside}) == 1:
        if _stray_mapping(at.value, inside[0][0].model):
            return [Problem(filename, line_in(lines, at.path), at.path, wording.type_error(at))]
        return [_problem(a, d, wording, lines, filename) for a, d in inside]
    for member_at, details in group:
        if details["type"] not in _TYPE_ERRORS:
            return [_problem(member_at, details, wording, lines, filename)]
    return [Problem(filename, line_in(lines, at.path), at.path, wording.type_error(at))]


def _stray_mapping(value: dict[Any, Any], model: type[BaseModel] | None) -> bool:
    return len(value) == 1 and model is not None and not set(map(str, value)) & set(_keys(model))
