"""Cross-reference checks on a typed topology: what pydantic cannot see field by field.

Links name defined nodes and usable interfaces, bridges enslave what exists, addresses are
unique in the lab, routes can reach their gateways. Every problem is collected with its
data path and line; nothing here raises for a bad topology, and nothing touches the kernel
(owner and group names are looked up in the user database).
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from netlab.errors import Problem
from netlab.spec import kinds, tc_check, userdb, vlan_check
from netlab.spec.endpoints import parse_endpoint, parse_target
from netlab.spec.ip import (
    IPAddress,
    IPInterface,
    IPNetwork,
    parse_address,
    parse_interface,
    parse_network,
)
from netlab.spec.loaded import line_in
from netlab.spec.model import (
    Check,
    Endpoint,
    Interface,
    Link,
    Node,
    Owner,
    Topology,
    service_key,
)
from netlab.spec.segments import Places
from netlab.values import sysctls
from netlab.values.names import LOOPBACK, SWITCH_BRIDGE
from netlab.values.tc import DEFAULT_MTU

MAX_BRIDGE_PORTS = 1023  # the same as plan/bridgetree.MAX_PORTS (spec does not import plan)
MAX_ID = 4294967294  # uid/gid (-1, 4294967295, means "none" to the kernel)
_LISTED = 12  # name the defined nodes in a message while there are this many at most


@dataclass(frozen=True)
class _Address:
    node: str
    iface: str
    index: int
    value: IPInterface
    vrf: str | None  # the VRF whose table it is in (None: the main table)

    @property
    def path(self) -> str:
        return f"nodes.{self.node}.interfaces.{self.iface}.addresses[{self.index}]"


def check(topology: Topology, filename: str, lines: dict[str, int]) -> list[Problem]:
    """All cross-reference problems of `topology`, each with its line in `filename`."""
    checker = _Checker(topology, filename, lines)
    checker.run()
    return checker.problems


def check_checks(topology: Topology, filename: str, lines: dict[str, int]) -> list[Problem]:
    """The problems of the `checks:` section alone (for checks given after loading)."""
    checker = _Checker(topology, filename, lines)
    for i, link in enumerate(topology.links):
        checker.link(i, link)  # the links say which interfaces exist
    checker.problems = []
    checker.checks()
    return checker.problems


# The keys of each form of check, for messages.
_REACH_KEYS = ("from", "to", "tcp", "expect")
_RUN_KEYS = ("node", "run", "expect_output", "expect_exit")
_FORMS = "{from: h1, to: h2} (ping), {from, to, tcp: PORT} (TCP connect), {node, run} (command)"


def runs_something(node: Node) -> bool:
    """Whether a node runs commands or services, which may give it addresses at run time."""
    return bool(node.exec or node.services)


class _Checker:
    def __init__(self, topology: Topology, filename: str, lines: dict[str, int]) -> None:
        self.topo = topology
        self.filename = filename
        self.lines = lines
        self.problems: list[Problem] = []
        self.linked: dict[tuple[str, str], int] = {}  # (node, iface) -> index of its link
        # The interfaces of each node's links, in the order they were first linked.
        self.linked_of: dict[str, list[str]] = {}
        self.places = Places(topology)
        self.addresses = list(self._addresses())
        # The same addresses node by node (in their order), so that per-node checks do not
        # scan the whole lab: a 1000-node lab would cost a million steps per check.
        self.addresses_of: dict[str, list[_Address]] = {}
        for a in self.addresses:
            self.addresses_of.setdefault(a.node, []).append(a)

    # -- helpers ---------------------------------------------------------------------------

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line_in(self.lines, path), path, message))

    def at_line(self, path: str) -> str:
        line = line_in(self.lines, path)
        return f" (line {line})" if line else ""

    def node_list(self, missing: str) -> str:
        names = list(self.topo.nodes)
        if len(names) <= _LISTED:
            return f"nodes: {', '.join(names)}"
        close = difflib.get_close_matches(missing, names, n=1)
        return f"did you mean '{close[0]}'?" if close else f"{len(names)} nodes are defined"

    def interfaces_of(self, name: str) -> list[str]:
        """The interfaces a node will have: declared ones, then those made by its links."""
        node = self.topo.nodes[name]
        names = list(node.interfaces)
        names += [i for i in self.linked_of.get(name, ()) if i not in node.interfaces]
        if node.kind == "switch" and SWITCH_BRIDGE not in names:
            names.append(SWITCH_BRIDGE)
        return names

    def _addresses(self) -> Iterator[_Address]:
        for name, node in self.topo.nodes.items():
            for iname, iface in node.interfaces.items():
                vrf = self.places.vrf_of(name, iname)
                for k, text in enumerate(iface.addresses):
                    yield _Address(name, iname, k, parse_interface(text), vrf)

    # -- the checks ------------------------------------------------------------------------

    def run(self) -> None:
        for i, link in enumerate(self.topo.links):
            self.link(i, link)
        for name, node in self.topo.nodes.items():
            self.node(name, node)
        self.unique_addresses()
        self.macs()
        self.checks()
        self.hosts()
        self.service_order()

    def service_order(self) -> None:
        """Each `after:` names a service of the lab (`svc` on the same node, or
        `node:svc`), and no service waits on itself through others (a cycle never starts)."""
        edges: dict[str, list[str]] = {}
        for name, node in self.topo.nodes.items():
            for sname, service in node.services.items():
                deps = edges.setdefault(f"{name}:{sname}", [])
                for k, ref in enumerate(service.after):
                    where = f"nodes.{name}.services.{sname}.after[{k}]"
                    target = service_key(name, ref)
                    tnode, _, tname = target.partition(":")
                    if tnode not in self.topo.nodes:
                        self.add(where, f"'{ref}': no node '{tnode}' in the lab")
                    elif tname not in self.topo.nodes[tnode].services:
                        self.add(where, f"'{ref}': node '{tnode}' has no service '{tname}'")
                    elif target == f"{name}:{sname}":
                        self.add(where, "a service cannot wait on itself")
                    else:
                        deps.append(target)
        state: dict[str, int] = {}  # 1: on the current path, 2: finished

        def visit(key: str, path: list[str]) -> list[str] | None:
            state[key] = 1
            for dep in edges.get(key, []):
                if state.get(dep) == 1:
                    return [*path[path.index(dep):], dep] if dep in path else [key, dep]
                if dep not in state:
                    found = visit(dep, [*path, dep])
                    if found:
                        return found
            state[key] = 2
            return None

        for key in edges:
            if key not in state:
                cycle = visit(key, [key])
                if cycle:
                    where_node, _, sname = cycle[0].partition(":")
                    self.add(f"nodes.{where_node}.services.{sname}.after",
                             "services wait on each other in a circle, so none would start: "
                             + " -> ".join(cycle))
                    return

    def link(self, i: int, link: Link) -> None:
        path = f"links[{i}]"
        ends: list[tuple[str, str | None] | None] = [self.endpoint(path, e) for e in link.ends()]
        known = [e for e in ends if e is not None]
        if len(known) == 2 and known[0][0] == known[1][0]:
            node = known[0][0]
            if self.topo.nodes[node].kind == "switch":
                self.add(path, f"both ends are on switch '{node}'; frames would loop through it")
                return
            if known[0][1] == known[1][1]:
                self.add(
                    path,
                    f"both ends are {node}:{known[0][1]}; a link joins two different interfaces",
                )
                return
        for end in known:
            node, iface = end
            if iface is None:
                continue  # a new port of a switch
            first = self.linked.setdefault((node, iface), i)
            if first == i:
                self.linked_of.setdefault(node, []).append(iface)
            else:
                self.add(
                    path,
                    f"{node}:{iface} is already an end of links[{first}]"
                    f"{self.at_line(f'links[{first}]')}; an interface can be in one link only",
                )
        self.shaping(path, link, ends)
        for where, message in vlan_check.link_problems(self.topo, path, link, ends):
            self.add(where, message)
        if link.mtu is not None:
            for node, iface in (e for e in known if e[1] is not None):
                assert iface is not None
                declared = self.topo.nodes[node].interfaces.get(iface)
                if declared and declared.mtu is not None and declared.mtu != link.mtu:
                    self.add(
                        f"{path}.mtu",
                        f"mtu {link.mtu} differs from mtu {declared.mtu} of {node}:{iface}; "
                        "give it in one place",
                    )

    def endpoint(self, path: str, text: str) -> tuple[str, str | None] | None:
        try:
            name, iface = parse_endpoint(text)
        except ValueError as e:
            self.add(path, str(e))
            return None
        node = self.topo.nodes.get(name)
        if node is None:
            self.add(path, f"node '{name}' is not defined ({self.node_list(name)})")
            return None
        if iface is None:
            if node.kind != "switch":
                self.add(
                    path,
                    f"endpoint '{text}' needs an interface, such as '{name}:eth0' "
                    "(only a switch can be named alone)",
                )
                return None
            return name, None
        if node.kind == "switch" and iface == SWITCH_BRIDGE:
            self.add(
                path,
                f"'{text}' is the switch's own bridge; name a new port ('{name}:p1') "
                f"or just '{name}'",
            )
            return None
        if iface == LOOPBACK:
            self.add(path, f"'{text}' is the loopback device; it cannot be linked")
            return None
        declared = node.interfaces.get(iface)
        said = kinds.infer(node.kind, iface, declared) if declared is not None else None
        if said and not kinds.KINDS[said].by_link:
            self.add(
                path,
                f"{name}:{iface} is a {said} device; only a veth "
                "(no kind, or kind: veth) can be an end of a link",
            )
            return None
        return name, iface

    def shaping(self, path: str, link: Link, ends: list[tuple[str, str | None] | None]) -> None:
        """The tc values of each direction (the link's, and an endpoint's over them), each
        problem reported once, where its key was written."""
        reported: set[tuple[str, str]] = set()
        for k, end in enumerate(link.endpoints):
            own = end.shaping() if isinstance(end, Endpoint) else {}
            mtu = end_mtu(self.topo, link, ends[k])
            for key, message in tc_check.check(link.end_shaping(k), mtu):
                where = f"{path}.endpoints[{k}].{key}" if key in own else f"{path}.{key}"
                if (where, message) not in reported:
                    reported.add((where, message))
                    self.add(where, message)

    def node(self, name: str, node: Node) -> None:
        path = f"nodes.{name}"
        if node.kind == "switch":
            self.switch(name, node)
        ports = self.bridges(name, node)
        for iname, iface in node.interfaces.items():
            self.interface(name, node, iname, iface, ports)
        self.vrfs(name, node)
        self.routes(name, node)
        self.subnets(name)
        self.sysctls(name, node)
        self.files(name, node)
        for sname, service in node.services.items():
            if not service.run.strip():
                self.add(f"{path}.services.{sname}.run", "an empty command")
            self.owner(f"{path}.services.{sname}.user", service.user, user=True)
            self.owner(f"{path}.services.{sname}.group", service.group, user=False)
        for key in ("prepare", "exec"):
            for k, command in enumerate(getattr(node, key)):
                if not command.strip():
                    self.add(f"{path}.{key}[{k}]", "an empty command")

    def hosts(self) -> None:
        """`hosts:` and each node's `host:` (docs/multi-host.md): every node lands on a
        defined host, and the hosts' underlay addresses are distinct, usable, one family."""
        hosts = self.topo.hosts
        for name, node in self.topo.nodes.items():
            if node.host is None or node.host in hosts:
                continue
            where = f"nodes.{name}.host"
            if not hosts:
                self.add(where, f"host '{node.host}' is not defined: the lab has no 'hosts:' "
                         "(add hosts: {NAME: {address: UNDERLAY_IP}})")
            else:
                self.add(where, f"host '{node.host}' is not defined (hosts: {', '.join(hosts)})")
        seen: dict[IPAddress, str] = {}
        families: set[int] = set()
        for name, host in hosts.items():
            where = f"hosts.{name}.address"
            address = parse_address(host.address)
            families.add(address.version)
            if address.is_loopback or address.is_unspecified or address.is_multicast:
                self.add(where, f"{address} cannot be a host's underlay address; give the "
                         "address the other hosts reach it at")
            elif address in seen:
                self.add(where, f"{address} is also the address of host '{seen[address]}'"
                         f"{self.at_line(f'hosts.{seen[address]}.address')}")
            seen.setdefault(address, name)
        if len(families) > 1:
            self.add("hosts", "the hosts' addresses mix IPv4 and IPv6; VXLAN joins hosts of "
                     "one family")

    def subnets(self, name: str) -> None:
        # Two interfaces of one node in one subnet: the kernel takes it, and then routes
        # through whichever it likes; with a router it is nearly always a typo.
        # Each VRF is a routing table of its own: the same subnet may be in two.
        first: dict[tuple[str | None, IPNetwork], _Address] = {}
        for a in self.addresses_of.get(name, ()):
            net = a.value.network
            if net.prefixlen == net.max_prefixlen or a.value.is_link_local:
                continue
            if a.value.is_loopback:
                continue  # reported on its own (only lo may have it)
            seen = first.setdefault((a.vrf, net), a)
            if seen.iface != a.iface:
                self.add(
                    a.path,
                    f"subnet {net} is also on {seen.iface}{self.at_line(seen.path)}; "
                    "give each interface of a node its own subnet",
                )

    def sysctls(self, name: str, node: Node) -> None:
        for key in node.sysctls:
            device, known = sysctls.device_of(key), self.interfaces_of(name)
            if device is not None and len(key.split(".")) >= 5 \
                    and device not in (*known, LOOPBACK):
                self.add(
                    f"nodes.{name}.sysctls.{key}",
                    f"node '{name}' has no interface '{device}' "
                    f"(its interfaces: {', '.join(known) or 'none'})",
                )

    def files(self, name: str, node: Node) -> None:
        private = [p.path for p in node.private_paths()]
        for k, path in enumerate(private):
            inside = [p for p in private[:k] if path == p or path.startswith(p + "/")
                      or p.startswith(path + "/")]
            if inside:
                self.add(f"nodes.{name}.private[{k}]",
                         f"'{path}' overlaps '{inside[0]}', also private; name each once")
        for fname, spec in node.files.items():
            if fname.startswith("/") and not any(fname.startswith(p + "/") for p in private):
                self.add(
                    f"nodes.{name}.files.{fname}",
                    f"'{fname}' is not inside one of the node's private folders "
                    f"({', '.join(private) or 'none'}); add its folder to `private:` or "
                    "use a name relative to the node's folder",
                )
            if not isinstance(spec, str):
                self.owner(f"nodes.{name}.files.{fname}.owner", spec.owner, user=True)
                self.owner(f"nodes.{name}.files.{fname}.group", spec.group, user=False)
        # 'a' and 'a/b' cannot both be written: 'a' would be a file and a directory at once.
        for fname in node.files:
            folder = _file_above(fname, node.files)
            if folder is not None:
                self.add(
                    f"nodes.{name}.files.{fname}",
                    f"'{fname}' is inside '{folder}', which is a file here; "
                    "a path cannot be both a file and a directory",
                )
        for sname, service in node.services.items():
            cwd = service.cwd
            if cwd is None:
                continue
            where = f"nodes.{name}.services.{sname}.cwd"
            folder = _file_above(cwd, node.files)
            if cwd in node.files:
                self.add(where, f"'{cwd}' is one of the node's files, not a directory")
            elif folder is not None:
                self.add(
                    where,
                    f"'{cwd}' is inside '{folder}', which is one of the node's files, "
                    "not a directory",
                )

    def switch(self, name: str, node: Node) -> None:
        path = f"nodes.{name}"
        for key in ("routes", "sysctls", "prepare", "exec"):
            if getattr(node, key):
                self.add(
                    f"{path}.{key}",
                    f"a switch has no {key}; make '{name}' a host or a router for that",
                )
        for iname, iface in node.interfaces.items():
            ipath = f"{path}.interfaces.{iname}"
            if iname != SWITCH_BRIDGE:
                self.add(
                    ipath,
                    f"a switch lists only its bridge {SWITCH_BRIDGE} here (to give it an "
                    f"address); its ports come from links such as [h1:eth0, {name}]",
                )
                continue
            if iface.kind not in (None, "bridge"):
                self.add(
                    f"{ipath}.kind",
                    f"{SWITCH_BRIDGE} of a switch is its bridge; leave out kind or write "
                    "kind: bridge",
                )
            if iface.ports:
                self.add(f"{ipath}.ports", "a switch's ports are its links; leave out 'ports'")
            if iface.vrf is not None:
                self.add(f"{ipath}.vrf", f"a switch does not route, so it has no vrf; make "
                                         f"'{name}' a router for that")

    def bridges(self, name: str, node: Node) -> dict[str, str]:
        """Check the ports of each bridge and bond of a node; return {port: its master}."""
        port_of: dict[str, str] = {}
        for bname, bridge in node.interfaces.items():
            what = kinds.infer(node.kind, bname, bridge)
            if what not in ("bridge", "bond"):
                continue
            where = "bond.ports" if what == "bond" else "ports"
            for k, port in enumerate(bridge.port_names):
                path = f"nodes.{name}.interfaces.{bname}.{where}[{k}]"
                message = self.port_problem(name, node, bname, port, port_of, str(what))
                if message:
                    self.add(path, message)
                port_of.setdefault(port, bname)
            if len(bridge.ports) > MAX_BRIDGE_PORTS:
                self.add(
                    f"nodes.{name}.interfaces.{bname}.ports",
                    f"bridge '{bname}' lists {len(bridge.ports)} ports; a Linux bridge holds "
                    f"at most {MAX_BRIDGE_PORTS} (the kernel's BR_MAX_PORTS is 1024, and port "
                    "number 0 is never used); a switch node takes any number of ports "
                    "(netlab builds it as a tree of bridges)",
                )
        return port_of

    def port_problem(
        self, name: str, node: Node, bridge: str, port: str, port_of: dict[str, str],
        what: str = "bridge",
    ) -> str | None:
        if port == bridge:
            return f"{what} '{bridge}' cannot be a port of itself"
        if port in port_of:
            if port_of[port] == bridge:
                return f"port '{port}' is listed twice"
            owner = port_of[port]
            kind = (kinds.infer(node.kind, owner, node.interfaces[owner])
                    if owner in node.interfaces else "bridge")
            return f"'{port}' is already a port of {kind} '{owner}'; it can be in one only"
        if port == LOOPBACK:
            return f"the loopback device cannot be a {what} port"
        iface = node.interfaces.get(port)
        linked = (name, port) in self.linked
        if iface is not None and iface.addresses:
            return (
                f"'{port}' has an address, but a {what} port's address is never used; "
                f"put it on the {what} '{bridge}'"
            )
        if iface is None and not linked:
            known = ", ".join(i for i in self.interfaces_of(name) if i != bridge) or "none"
            return f"'{port}' is not an interface of node '{name}' (its interfaces: {known})"
        if iface is None:
            return None
        said = kinds.infer(node.kind, port, iface)
        if what == "bond" and said not in (None, "veth", "tap"):
            return f"'{port}' is a {said} device; a bond's ports are veths or taps"
        refused = kinds.not_a_port(port, iface.kind) if iface.kind else None
        if refused:
            return refused
        if (iface.kind or kinds.DEFAULT) == kinds.DEFAULT and not linked:
            return (
                f"'{port}' is in no link, so it would not exist; link it "
                f"(such as [{name}:{port}, h2:eth0]) or make it a tap (kind: tap)"
            )
        return None

    def interface(
        self, name: str, node: Node, iname: str, iface: Interface, port_of: dict[str, str]
    ) -> None:
        path = f"nodes.{name}.interfaces.{iname}"
        given = iface.model_fields_set
        kind = kinds.infer(node.kind, iname, iface)  # None: not said
        if iname == LOOPBACK:
            for key in sorted(given - {"addresses", "mtu", "up"}):
                self.add(
                    f"{path}.{key}",
                    f"'{key}' cannot be set on the loopback device (only addresses, mtu, up)",
                )
            return
        for k, text in enumerate(iface.addresses):
            if parse_interface(text).ip.is_loopback:
                self.add(
                    f"{path}.addresses[{k}]",
                    f"{text} is a loopback address, which only lo may have; "
                    f"give {iname} another address, or put this one on lo",
                )
        if kind and not kinds.KINDS[kind].has_mac and iface.mac is not None:
            self.add(
                f"{path}.mac",
                f"a {kind} device has no MAC (it carries IP packets, not Ethernet frames); "
                "leave out mac, or make it a tap",
            )
        for key in sorted(kinds.settings_given(iface), key=list(Interface.model_fields).index):
            misplaced = kinds.misplaced_key(key, kind or kinds.DEFAULT)
            if misplaced:
                self.add(f"{path}.{key}", misplaced)
        if kind == "vxlan":
            self.vxlan(name, node, iname, iface)
        if kind == "macvlan":
            self.macvlan(name, iname, iface, port_of)
        if kind == "vlan":
            self.vlan(name, iname, iface)
        if kind == "bond" and iface.bond is None:
            self.add(path, "a bond needs its settings: bond: {ports: [eth1, eth2], "
                           "mode: active-backup}")
        if kind == "vrf" and iface.vrf_name is not None:
            self.add(f"{path}.vrf", f"a vrf cannot be in another vrf; give '{iname}' its "
                                    "table: vrf: {table: 10}")
        elif kind == "vrf" and iface.vrf is None:
            self.add(path, "a vrf needs its table: vrf: {table: 10}")
        elif iface.vrf_name is not None and node.kind != "switch":  # switch() says why not
            self.vrf_member(name, node, iname, iface.vrf_name, port_of)
        if kind in ("tun", "tap"):
            self.owner(f"{path}.owner", iface.owner, user=True)
            self.owner(f"{path}.group", iface.group, user=False)
        linked = (name, iname) in self.linked
        on_switch = node.kind == "switch"  # its other interfaces are reported by switch()
        if (kind or kinds.DEFAULT) == kinds.DEFAULT and not linked and iname not in port_of \
                and not on_switch:
            if kind is not None:
                message = (
                    f"interface '{iname}' of node '{name}' is a veth but in no link; "
                    "a link makes a veth (links: - [" + f"{name}:{iname}, h2:eth0])"
                )
            else:
                message = (
                    f"interface '{iname}' of node '{name}' is in no link; "
                    f"give it a kind ({', '.join(kinds.standalone())}) or link it"
                )
            self.add(path, message)

    def vrf_member(self, name: str, node: Node, iname: str, vrf: str,
                   port_of: dict[str, str]) -> None:
        path = f"nodes.{name}.interfaces.{iname}.vrf"
        vrfs = node.vrf_tables()
        if vrf not in vrfs:
            known = ", ".join(vrfs) or "none; declare one: " + vrf + ": {vrf: {table: 10}}"
            self.add(path, f"'{vrf}' is not a vrf of node '{name}' (its vrfs: {known})")
        elif iname in port_of:
            owner = port_of[iname]
            what = kinds.infer(node.kind, owner, node.interfaces[owner])
            self.add(path, f"'{iname}' is a port of {what} '{owner}', and an interface has "
                           f"one master; put the {what} in vrf {vrf} instead")

    def vrfs(self, name: str, node: Node) -> None:
        """Each VRF of a node routes through a table of its own."""
        first: dict[int, str] = {}
        for vrf, table in node.vrf_tables().items():
            other = first.setdefault(table, vrf)
            if other != vrf:
                self.add(f"nodes.{name}.interfaces.{vrf}.vrf.table",
                         f"vrf '{other}' already has table {table}; give each vrf of a "
                         "node its own table")

    def macvlan(self, name: str, iname: str, iface: Interface, port_of: dict[str, str]) -> None:
        path = f"nodes.{name}.interfaces.{iname}"
        if iface.macvlan is None:
            self.add(path, "a macvlan interface needs its settings: "
                           "macvlan: {parent: eth0, mode: bridge}")
            return
        parent = iface.macvlan.parent
        if self.parent(f"{path}.macvlan.parent", name, iname, parent, "macvlan") \
                and parent in port_of:
            node = self.topo.nodes[name]
            owner = kinds.infer(node.kind, port_of[parent], node.interfaces[port_of[parent]])
            self.add(f"{path}.macvlan.parent",
                     f"'{parent}' is a port of {owner} '{port_of[parent]}', which takes "
                     f"all its frames; put the macvlan on the {owner} instead")

    def vlan(self, name: str, iname: str, iface: Interface) -> None:
        path = f"nodes.{name}.interfaces.{iname}"
        if iface.vlan is None:
            self.add(path, "a vlan interface needs its settings: vlan: {parent: eth0, id: 10}")
            return
        vlan = iface.vlan
        if not self.parent(f"{path}.vlan.parent", name, iname, vlan.parent, "vlan"):
            return
        # The kernel keeps one vlan per (parent, id).
        for other, iface2 in self.topo.nodes[name].interfaces.items():
            if other == iname:
                break
            if iface2.vlan is not None and (iface2.vlan.parent, iface2.vlan.id) == (
                    vlan.parent, vlan.id):
                self.add(f"{path}.vlan.id", f"vlan {vlan.id} on {vlan.parent} is already "
                                            f"'{other}'; give one another id")
                return

    def parent(self, where: str, name: str, iname: str, parent: str, kind: str) -> bool:
        """Whether `parent` can carry a macvlan or vlan `iname` of node `name` (if not, the
        problem is reported at `where`). A parent that is itself a macvlan or vlan is refused:
        the planner makes those last, in the file's order."""
        node = self.topo.nodes[name]
        declared = node.interfaces.get(parent)
        said = kinds.infer(node.kind, parent, declared) if declared is not None else None
        if parent == iname:
            self.add(where, f"'{iname}' cannot be its own parent")
        elif parent == LOOPBACK:
            self.add(where, f"the loopback device cannot be a {kind}'s parent")
        elif parent not in self.interfaces_of(name):
            known = ", ".join(i for i in self.interfaces_of(name) if i != iname) or "none"
            self.add(where, f"'{parent}' is not an interface of node '{name}' "
                            f"(its interfaces: {known})")
        elif said in ("tun", "macvlan", "vlan"):
            self.add(where, f"'{parent}' is a {said} device; a {kind}'s parent is an Ethernet "
                            "device of the node (veth, tap, bridge, vxlan, dummy, bond)")
        else:
            return True
        return False

    def vxlan(self, name: str, node: Node, iname: str, iface: Interface) -> None:
        path = f"nodes.{name}.interfaces.{iname}"
        settings = iface.vxlan
        if settings is None:
            self.add(
                path,
                "a vxlan interface needs its settings: vxlan: {id: 42, remote: 192.0.2.2}",
            )
            return
        if settings.dev is not None and settings.dev not in self.interfaces_of(name):
            self.add(
                f"{path}.vxlan.dev",
                f"node '{name}' has no interface '{settings.dev}' "
                f"(its interfaces: {', '.join(self.interfaces_of(name))})",
            )
        remote = parse_address(settings.remote)
        if settings.local is not None:
            local = parse_address(settings.local)
            own = [a.value.ip for a in self.addresses_of.get(name, ())]
            if local not in own:
                self.add(f"{path}.vxlan.local", f"{local} is not an address of node '{name}'")
            if local.version != remote.version:
                self.add(f"{path}.vxlan", "local and remote must both be IPv4 or both IPv6")
            elif local == remote:
                self.add(f"{path}.vxlan.remote", "remote is the same address as local")
        # The kernel keeps one vxlan per (id, port, IP version) in a namespace.
        for other, iface2 in node.interfaces.items():
            if other == iname:
                break  # reported on the second of the two
            vx2 = iface2.vxlan
            if iface2.kind not in (None, "vxlan") or vx2 is None:
                continue
            if (vx2.id, vx2.port) == (settings.id, settings.port) and (
                parse_address(vx2.remote).version == remote.version
            ):
                self.add(
                    f"{path}.vxlan.id",
                    f"vxlan id {settings.id} on port {settings.port} is already used by "
                    f"'{other}' in this node; give one another id (or another port)",
                )
                break

    def owner(self, path: str, value: Owner | None, user: bool) -> None:
        if value is None:
            return
        word = "user" if user else "group"
        number = value if isinstance(value, int) else int(value) if value.isdigit() else None
        if number is not None:
            if not 0 <= number <= MAX_ID:
                ids = "uid" if user else "gid"
                self.add(path, f"{number} is not a valid {ids} (0..{MAX_ID})")
            return
        assert isinstance(value, str)
        if (userdb.user_id if user else userdb.group_id)(value) is None:
            self.add(path, f"{word} '{value}' does not exist on this machine")

    def routes(self, name: str, node: Node) -> None:
        vrfs = node.vrf_tables()
        # Per routing table (the main one: None; each VRF's), where a gateway can be: a
        # subnet of an interface, or behind a route with no gateway.
        own_of: dict[str | None, list[_Address]] = {}
        for a in self.addresses_of.get(name, ()):
            own_of.setdefault(a.vrf, []).append(a)
        reachable_of: dict[str | None, list[tuple[IPNetwork, str]]] = {
            vrf: [(a.value.network, a.iface) for a in own] for vrf, own in own_of.items()}
        for route in node.routes:
            if route.dev is not None and route.via is None and route.to != "default":
                reachable_of.setdefault(route.vrf, []).append((parse_network(route.to),
                                                               route.dev))
        seen: dict[tuple[str | None, int, str, int], int] = {}
        for k, route in enumerate(node.routes):
            path = f"nodes.{name}.routes[{k}]"
            if route.vrf is not None and route.vrf not in vrfs:
                known = ", ".join(vrfs) or "none"
                self.add(f"{path}.vrf", f"'{route.vrf}' is not a vrf of node '{name}' "
                                        f"(its vrfs: {known})")
                continue
            own = own_of.get(route.vrf, [])
            reachable = reachable_of.get(route.vrf, [])
            names = self.interfaces_of(name)
            if route.dev is not None and route.dev not in names and route.dev != LOOPBACK:
                self.add(
                    f"{path}.dev",
                    f"node '{name}' has no interface '{route.dev}' "
                    f"(its interfaces: {', '.join(names) or 'none'})",
                )
            elif route.dev is not None and self.places.vrf_of(name, route.dev) != route.vrf:
                dev_vrf = self.places.vrf_of(name, route.dev)
                table = f"vrf {route.vrf}" if route.vrf else "the main table"
                fix = f"say vrf: {dev_vrf} on the route" if dev_vrf else "leave out vrf"
                self.add(f"{path}.dev", f"'{route.dev}' is "
                         f"{f'in vrf {dev_vrf}' if dev_vrf else 'in no vrf'}, but the route "
                         f"is in {table}; {fix}")
            to = None if route.to == "default" else parse_network(route.to)
            via = parse_address(route.via) if route.via is not None else None
            if via is not None and to is not None and via.version != to.version:
                self.add(
                    path,
                    f"the gateway {via} is IPv{via.version} but the destination {to} "
                    f"is IPv{to.version}",
                )
            elif via is not None:
                # A node with VRFs has several tables: say which one lacks the gateway.
                table = ("" if not vrfs else f" in vrf {route.vrf}" if route.vrf
                         else " in its main table")
                self.gateway(path, name, route.dev, via, own, reachable, table)
            family = to.version if to else via.version if via else 4
            key = (route.vrf, family, route.to, route.metric or 0)
            if key in seen:
                self.add(
                    path,
                    f"the route to {route.to} is given twice (also routes[{seen[key]}]); "
                    "give one of them another metric",
                )
            seen.setdefault(key, k)
            if to is not None and to.version == 4 and not route.metric:
                for a in own:
                    if a.value.network == to:
                        self.add(
                            path,
                            f"{to} is reached directly through {a.iface} ({a.value}); "
                            "a route to it clashes with that one (give it a metric)",
                        )
                        break

    def gateway(
        self,
        path: str,
        name: str,
        dev: str | None,
        via: IPAddress,
        own: list[_Address],
        reachable: list[tuple[IPNetwork, str]],
        table: str = "",
    ) -> None:
        if any(a.value.ip == via for a in own):
            self.add(path, f"the gateway {via} is an address of node '{name}' itself")
            return
        if via.is_link_local:
            if dev is None:
                self.add(path, f"the link-local gateway {via} needs 'dev' (which interface)")
            return
        same = [(net, i) for net, i in reachable if net.version == via.version]
        on_dev = [(net, i) for net, i in same if i == dev]
        if on_dev and not any(via in net for net, _ in on_dev):
            subnets = ", ".join(str(net) for net, _ in on_dev)
            self.add(path, f"the gateway {via} is not in a subnet of {dev} ({subnets})")
            return
        if any(via in net for net, _ in same):
            return
        if not same:
            self.add(
                path,
                f"node '{name}' has no IPv{via.version} address{table}, so it cannot reach "
                f"the gateway {via}",
            )
            return
        mine = ", ".join(str(a.value) for a in own if a.value.version == via.version)
        self.add(
            path,
            f"the gateway {via} is in no subnet of node '{name}'{table} (its addresses "
            f"there: {mine or 'none'})" if table else
            f"the gateway {via} is in no subnet of node '{name}' (its addresses: {mine})",
        )

    def unique_addresses(self) -> None:
        """An address once per L2 segment, and once per routing table of a node (its main
        table, each VRF's); spec/segments.py says where addresses can meet."""
        first: dict[tuple[object, ...], _Address] = {}
        for a in self.addresses:
            message = _host_problem(a.value)
            if message:
                self.add(a.path, message)
            ip = a.value.ip
            in_table = first.setdefault((a.node, a.vrf, ip), a)
            on_segment = first.setdefault((self.places.segment(a.node, a.iface), ip), a)
            seen, where = ((in_table, f"in the same vrf {a.vrf} of {a.node}" if a.vrf else
                            f"in the same routing table of {a.node}") if in_table is not a
                           else (on_segment, "on the same segment (both would answer for it)"))
            if seen is not a:
                self.add(
                    a.path,
                    f"address {ip} is already given to {seen.node}:{seen.iface}"
                    f"{self.at_line(seen.path)}, {where}",
                )

    def macs(self) -> None:
        first: dict[str, str] = {}
        for name, node in self.topo.nodes.items():
            for iname, iface in node.interfaces.items():
                if iface.mac is None:
                    continue
                path = f"nodes.{name}.interfaces.{iname}.mac"
                if int(iface.mac[:2], 16) & 1:
                    self.add(
                        path,
                        f"{iface.mac} is a multicast MAC (its first byte is odd); "
                        "use one such as 02:00:00:00:00:01",
                    )
                elif iface.mac == "00:00:00:00:00:00":
                    self.add(path, "00:00:00:00:00:00 is not a usable MAC")
                where = first.setdefault(iface.mac, path)
                if where != path:
                    owner = where.split(".")
                    self.add(
                        path,
                        f"MAC {iface.mac} is already given to {owner[1]}:{owner[3]}"
                        f"{self.at_line(where)}",
                    )

    # -- checks: (netlab test) -------------------------------------------------------------

    def checks(self) -> None:
        named: dict[str, int] = {}
        for i, item in enumerate(self.topo.checks):
            path = f"checks[{i}]"
            self.one_check(path, item)
            if item.name is not None:
                first = named.setdefault(item.name, i)
                if first != i:
                    self.add(
                        f"{path}.name",
                        f"the name '{item.name}' is already used by checks[{first}]"
                        f"{self.at_line(f'checks[{first}]')}; give each check its own",
                    )

    def one_check(self, path: str, item: Check) -> None:
        fields = type(item).model_fields
        given = {fields[k].alias or k for k in item.model_fields_set}
        given -= {"name", "timeout"}
        reach = [k for k in _REACH_KEYS if k in given]
        run = [k for k in _RUN_KEYS if k in given]
        if reach and run:
            self.add(
                path,
                f"a check is one of {_FORMS}; this one mixes {', '.join(reach)} "
                f"with {', '.join(run)}",
            )
            return
        if not reach and not run:
            self.add(path, f"a check needs from and to, or node and run: {_FORMS}")
            return
        if reach:
            self.reach_check(path, item)
        else:
            self.run_check(path, item)

    def reach_check(self, path: str, item: Check) -> None:
        for key, value in (("from", item.from_), ("to", item.to)):
            if value is None:
                other = "to" if key == "from" else "from"
                self.add(path, f"missing key '{key}' (a check with '{other}' needs both)")
        known = item.from_ is not None and self.check_node(f"{path}.from", item.from_)
        if item.to is not None and self.check_target(f"{path}.to", item.to) and known:
            assert item.from_ is not None
            self.ambiguous_target(f"{path}.to", item.from_, item.to)

    def ambiguous_target(self, path: str, source: str, text: str) -> None:
        """A target named by node whose address more than one interface has where the check
        runs from (spec/segments.py): either could answer, so it proves nothing. An address
        written as such is taken as written."""
        target = parse_target(text)
        if not isinstance(target, tuple) or target[0] == source:
            return
        written = self.topo.nodes[target[0]].first_address(None, target[1])
        if written is None:
            return
        ip = parse_address(written)
        own, places = self.places.answering(source, ip)
        if not places:
            return
        paths = {(a.node, a.iface): a.path for a in self.addresses if a.value.ip == ip}
        where = [f"{n}:{i}{self.at_line(paths[(n, i)])}" for n, i in places]
        means = f"'{text}' means {ip}, which"
        if own:
            self.add(path, f"{means} is {source}'s own address, on {places[0][1]}"
                           f"{self.at_line(paths[places[0]])}: the check would reach itself")
        else:
            self.add(path, f"{means} is on {', '.join(where)}, all reachable from {source}: "
                           "either could answer; check an address only one of them has")

    def run_check(self, path: str, item: Check) -> None:
        if item.node is None:
            self.add(path, "missing key 'node' (the node to run the command in)")
        else:
            self.check_node(f"{path}.node", item.node)
        if item.run is None:
            self.add(path, "missing key 'run' (the command to run in the node)")
        elif not item.run.strip():
            self.add(f"{path}.run", "an empty command")

    def check_node(self, path: str, name: str) -> bool:
        if name not in self.topo.nodes:
            self.add(path, f"node '{name}' is not defined ({self.node_list(name)})")
            return False
        return True

    def check_target(self, path: str, text: str) -> bool:
        """Whether `text` is a usable target (if not, the problem is reported)."""
        problems = len(self.problems)
        self.target_problems(path, text)
        return len(self.problems) == problems

    def target_problems(self, path: str, text: str) -> None:
        try:
            target = parse_target(text)
        except ValueError as e:
            self.add(path, str(e))
            return
        if not isinstance(target, tuple):
            if isinstance(target, ipaddress.IPv6Address) and target.scope_id:
                self.add(path, f"'{text}': a zone (%dev) is not supported in checks; "
                         "use a global address")
            elif target.is_unspecified or target.is_multicast:
                what = "the unspecified" if target.is_unspecified else "a multicast"
                self.add(path, f"{target} is {what} address; name a node or a host address")
            elif target.version == 6 and target.is_link_local:
                self.add(
                    path,
                    f"{target} is link-local, which needs an interface; use a global address",
                )
            return
        name, iface = target
        if not self.check_node(path, name):
            return
        own = [a for a in self.addresses_of.get(name, ()) if iface is None or a.iface == iface]
        if iface is not None and iface not in self.interfaces_of(name) and iface != LOOPBACK:
            known = ", ".join(self.interfaces_of(name)) or "none"
            self.add(path, f"node '{name}' has no interface '{iface}' (its interfaces: {known})")
        elif not own and not runs_something(self.topo.nodes[name]):
            # A node that runs commands or services may make its addresses itself (`exec:
            # ip addr add`, DHCP): they are looked up in the kernel when the check runs.
            where = f"{name}:{iface}" if iface else f"node '{name}'"
            self.add(
                path,
                f"{where} has no address; give it one, or write the address to probe "
                "here (to: 10.0.0.1)",
            )


def end_mtu(topology: Topology, link: Link, end: tuple[str, str | None] | None) -> int:
    """The MTU of one end of a link: the link's, else the interface's, else the default."""
    if link.mtu is not None:
        return link.mtu
    if end is not None and end[1] is not None:
        node = topology.nodes.get(end[0])
        declared = node.interfaces.get(end[1]) if node is not None else None
        if declared is not None and declared.mtu is not None:
            return declared.mtu
    return DEFAULT_MTU


def _file_above(path: str, files: Mapping[str, object]) -> str | None:
    """The first folder on the way to `path` that is itself one of `files`, if any."""
    parts = path.split("/")
    for n in range(1, len(parts)):
        folder = "/".join(parts[:n])
        if folder in files:
            return folder
    return None


def _host_problem(address: IPInterface) -> str | None:
    ip, net = address.ip, address.network
    if ip.is_multicast:
        return f"{address} is a multicast address; an interface needs a unicast one"
    if ip.is_unspecified:
        return f"{address} is the unspecified address; an interface needs a real one"
    if ip.version == 4 and net.prefixlen <= 30:
        prefix = net.prefixlen
        # Compared as numbers: net.broadcast_address makes objects (a lab has thousands).
        value, first = int(ip), int(net.network_address)
        if value == first:
            return (
                f"{address} is the network address of {net}; "
                f"use a host address such as {net[1]}/{prefix}"
            )
        if value == first | (0xFFFFFFFF >> prefix):
            return (
                f"{address} is the broadcast address of {net}; "
                f"use a host address such as {net[-2]}/{prefix}"
            )
    return None
