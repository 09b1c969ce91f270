"""plan(topology) -> Plan: a deterministic, ordered list of ops. Pure.

The order is chosen for correctness first and batching second: all namespaces, then all
cables, then each node's own devices, then per node everything inside it in one run
(link settings, addresses, up, routes, sysctls) so the executor can send it as one batch,
then each node's own mount and UTS namespaces (a small host: plan/hosts.py), its files and
`prepare:` commands, the services, and last the `exec:` commands, once the whole lab is up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from netlab.plan import bridgetree, kind_ops, naming, partition, switch_vlans
from netlab.plan.accounts import gid as _gid
from netlab.plan.accounts import primary_gid
from netlab.plan.accounts import uid as _uid
from netlab.plan.hosts import hosts_text, own_line, resolv_text
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    CreateNamespace,
    CreateNodeHost,
    CreateVeth,
    CreateVxlan,
    Op,
    RunCommand,
    SetLimits,
    SetLink,
    SetLinkUp,
    SetOffload,
    SetSysctl,
    StartService,
    WriteFiles,
)
from netlab.plan.shaping import qdisc_ops
from netlab.plan.teardown import teardown_of
from netlab.spec import kinds
from netlab.spec.endpoints import split_endpoint
from netlab.spec.ip import parse_address, parse_network
from netlab.spec.model import (
    DEFAULT_FILE_MODE,
    Interface,
    Link,
    Node,
    ReadyPort,
    Topology,
    service_key,
)
from netlab.values import sysctls
from netlab.values.names import SWITCH_BRIDGE

ROUTER_SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}


@dataclass(frozen=True)
class ResolvedInterface:
    """An interface as it will exist: declared, implied by a link, or a switch port."""

    node: str
    name: str
    kind: str  # veth, tun, tap, bridge, vxlan, dummy, macvlan, vlan, bond, vrf
    spec: Interface
    peer: tuple[str, str] | None = None  # (node, ifname) at the other end of the cable
    master: str | None = None  # the bridge or bond it is a port of, or the vrf it is in
    trunk: bool = False  # a veth joining two bridges of a switch (plan/bridgetree.py)
    pvid: int | None = None  # a switch port's access VLAN (`vlan:` of its link)
    tagged: tuple[int, ...] = ()  # a switch port's trunk VLANs (`vlans:` of its link)


@dataclass(frozen=True)
class ResolvedLink:
    a: tuple[str, str]
    b: tuple[str, str]
    spec: Link


@dataclass
class Plan:
    lab: str
    ops: list[Op]
    namespaces: dict[str, str]  # node -> namespace
    interfaces: dict[str, list[ResolvedInterface]] = field(default_factory=dict)
    links: list[ResolvedLink] = field(default_factory=list)
    host: str | None = None  # the host whose part this is (None: the lab is on one host)
    cross: list[partition.CrossLink] = field(default_factory=list)  # cables between hosts

    def teardown(self) -> list[tuple[Op, bool]]:
        """The exact reverse of the plan: each op's undo, with whether it is carried out
        (False: the object goes away with its namespace, so nothing is sent for it)."""
        return teardown_of(self.ops)


def _after(namespaces: dict[str, str], lab: str, node: str, ref: str) -> str:
    """An `after:` reference as the ops name a service: `<namespace>:<service>`."""
    tnode, _, tname = service_key(node, ref).partition(":")
    return f"{namespaces.get(tnode) or naming.namespace(lab, tnode)}:{tname}"


def _ready_port(ready: ReadyPort | str | None) -> int | None:
    return None if ready is None or isinstance(ready, str) else ready.tcp or ready.udp


def _ready_proto(ready: ReadyPort | str | None) -> str:
    return "udp" if isinstance(ready, ReadyPort) and ready.udp else "tcp"


def resolve(topo: Topology) -> tuple[dict[str, list[ResolvedInterface]], list[ResolvedLink]]:
    """Every interface of every node, including those implied by links and switch ports."""
    ifaces: dict[str, dict[str, ResolvedInterface]] = {name: {} for name in topo.nodes}
    links: list[ResolvedLink] = []
    taken: dict[str, set[str]] = {name: set(node.interfaces) for name, node in topo.nodes.items()}

    for name, node in topo.nodes.items():
        if node.kind == "switch":
            spec = node.interfaces.get(SWITCH_BRIDGE, Interface(kind="bridge"))
            ifaces[name][SWITCH_BRIDGE] = ResolvedInterface(
                name, SWITCH_BRIDGE, "bridge", spec
            )
            taken[name].add(SWITCH_BRIDGE)

    # Each end needs a name first; a switch end without one is named after its peer.
    ends: list[tuple[tuple[str, str | None], tuple[str, str | None], Link]] = []
    for link in topo.links:
        a, b = (split_endpoint(e) for e in link.ends())
        ends.append((a, b, link))
    for a, b, link in ends:
        named: list[tuple[str, str]] = []
        for (end_node, ifname), (other_node, other_if) in ((a, b), (b, a)):
            if ifname is None:
                ifname = naming.switch_port(other_node, other_if, taken[end_node])
                taken[end_node].add(ifname)
            named.append((end_node, ifname))
        links.append(ResolvedLink(named[0], named[1], link))

    for rl in links:
        for (end_node, ifname), peer in ((rl.a, rl.b), (rl.b, rl.a)):
            spec = topo.nodes[end_node].interfaces.get(ifname, Interface())
            switch = topo.nodes[end_node].kind == "switch"
            master = SWITCH_BRIDGE if switch else spec.vrf_name
            pvid, tagged = rl.spec.switch_vlans() if switch else (None, ())
            ifaces[end_node][ifname] = ResolvedInterface(
                end_node, ifname, "veth", spec, peer, master, pvid=pvid, tagged=tagged
            )

    for name, node in topo.nodes.items():
        for ifname, spec in node.interfaces.items():
            if ifname in ifaces[name]:
                continue
            kind = kinds.infer(node.kind, ifname, spec) or kinds.DEFAULT
            ifaces[name][ifname] = ResolvedInterface(name, ifname, kind, spec,
                                                     master=spec.vrf_name)
        for ifname, spec in node.interfaces.items():
            for port in spec.port_names:
                if port in ifaces[name]:
                    old = ifaces[name][port]
                    ifaces[name][port] = ResolvedInterface(
                        old.node, old.name, old.kind, old.spec, old.peer, ifname
                    )
    for name, node in topo.nodes.items():
        if node.kind == "switch":
            _spread_ports(name, ifaces[name], taken[name], links)
    return {n: list(v.values()) for n, v in ifaces.items()}, links


def _spread_ports(name: str, ifaces: dict[str, ResolvedInterface], taken: set[str],
                  links: list[ResolvedLink]) -> None:
    """Past the kernel's limit of ports on one bridge, a switch becomes a tree of bridges."""
    ports = [i.name for i in ifaces.values() if i.master == SWITCH_BRIDGE]
    tree = bridgetree.plan_tree(ports, taken)
    if not tree.trunks:
        return
    root = ifaces[SWITCH_BRIDGE].spec
    for port in ports:
        if tree.master[port] != SWITCH_BRIDGE:
            ifaces[port] = dataclasses.replace(ifaces[port], master=tree.master[port])
    # Trunks carry any frame a port may: the largest MTU of the switch's cables.
    mtus = [rl.spec.mtu for rl in links if name in (rl.a[0], rl.b[0]) and rl.spec.mtu]
    mtus += [i.spec.mtu for i in ifaces.values() if i.spec.mtu]
    trunk = Interface(mtu=max(mtus, default=None))
    leaf = Interface(kind="bridge", stp=root.stp, mtu=root.mtu)
    # ... and every VLAN any port of the switch is in, tagged.
    vids = switch_vlans.used(list(ifaces.values()))
    for t in tree.trunks:
        ifaces[t.leaf] = ResolvedInterface(name, t.leaf, "bridge", leaf)
    for t in tree.trunks:
        ifaces[t.up] = ResolvedInterface(name, t.up, "veth", trunk, (name, t.down),
                                         SWITCH_BRIDGE, trunk=True, tagged=vids)
        ifaces[t.down] = ResolvedInterface(name, t.down, "veth", trunk, (name, t.up),
                                           t.leaf, trunk=True, tagged=vids)


def _write_files(ns: str, folder: str, node: Node) -> WriteFiles:
    """The node's files by their place in its folder: an absolute path (inside a private
    folder) lives under private/ there, which is mounted over that folder in the node."""
    texts: dict[str, str] = {}
    owners: dict[str, tuple[int, int | None, int | None]] = {}
    for name, spec in node.files.items():
        where = f"{naming.PRIVATE_DIR}{name}" if name.startswith("/") else name
        if isinstance(spec, str):
            texts[where] = spec
            continue
        texts[where] = spec.content
        uid = _uid(spec.owner)
        gid = _gid(spec.group)
        if gid is None and uid is not None:
            gid = primary_gid(uid)
        owners[where] = (spec.mode, uid, gid)
    return WriteFiles(ns, folder, texts, owners, DEFAULT_FILE_MODE)


def _route_family(to: str, via: str | None) -> int:
    if via:
        return parse_address(via).version
    if to != "default":
        return parse_network(to).version
    return 4


def _late_bridges(node: Node, ifaces: list[ResolvedInterface]) -> list[str]:
    """The bridges of a switch that only switches (no address; a switch has no routes),
    to bring up after every node's links rather than before its ports: while its bridge is
    down, a port drops what comes in. Each host's link, as it comes up, sends its IPv6
    router solicitation and MLD reports from the kernel's address work, which holds the
    global RTNL lock while the bridge floods them to every port already up: N hosts, N^2/2
    copies, and each netlink call of the build waits behind them (500-star `up` 726 ->
    670 ms, 1000-star 2.0 -> 1.67 s, medians A/B). Those first messages are lost; the
    kernel sends them again (MLD within a second, a router solicitation after 4 s), and a
    router's own advertisements start with its service, after the build."""
    if node.kind != "switch" or any(ifc.spec.addresses for ifc in ifaces):
        return []
    return [ifc.name for ifc in ifaces if ifc.kind == "bridge" and ifc.spec.up]


def _node_ops(lab: str, name: str, node: Node, ifaces: list[ResolvedInterface],
              late: list[str]) -> list[Op]:
    """The node's own ops, but for bringing up its `late` bridges."""
    ns = naming.namespace(lab, name)
    ops: list[Op] = []
    for ifc in ifaces:
        spec = ifc.spec
        # A port of a bridge with no address of its own needs no IPv6 link-local address,
        # whose DAD/MLD/RS chatter the bridge would flood to every other port.
        quiet = ifc.master is not None and not spec.addresses
        if ifc.kind == "bridge" and not spec.addresses and node.kind == "switch":
            quiet = True
        mtu = None if kind_ops.PLANNED[ifc.kind].mtu_when_made else spec.mtu
        if mtu or spec.mac or quiet:
            ops.append(SetLink(ns, ifc.name, mtu=mtu, mac=spec.mac, addrgen_none=quiet))
    for ifc in ifaces:
        if ifc.master:
            ops.append(SetLink(ns, ifc.name, master=ifc.master))
    ops.extend(switch_vlans.vlan_ops(ns, ifaces))
    # A joining port lowers its bridge to the smallest MTU of its ports, unless the bridge's
    # MTU was set after creation: set it again once the ports are in, so that it sticks.
    masters = {ifc.master for ifc in ifaces}
    for ifc in ifaces:
        if ifc.kind == "bridge" and ifc.spec.mtu and ifc.name in masters:
            ops.append(SetLink(ns, ifc.name, mtu=ifc.spec.mtu))
    for ifc in ifaces:
        for address in ifc.spec.addresses:
            ops.append(AddAddress(ns, ifc.name, address))
    ops.append(SetLinkUp(ns, "lo"))
    # Bridges first, so their ports join a bridge that is already forwarding.
    for ifc in sorted(ifaces, key=lambda i: i.kind != "bridge"):
        if ifc.spec.up and ifc.name not in late:
            ops.append(SetLinkUp(ns, ifc.name))
    tables = node.vrf_tables()
    for route in node.routes:
        family = _route_family(route.to, route.via)
        table = tables[route.vrf] if route.vrf is not None else None
        ops.append(AddRoute(ns, route.to, route.via, route.dev, route.metric, family, table))
    return ops


def _flood_ops(topo: Topology, links: list[ResolvedLink],
               namespaces: dict[str, str]) -> list[Op]:
    """The cables of a switch with more ports than one broadcast may be queued for at once
    (bridgetree.FLOOD_PORTS): GRO on where frames arrive from it, TSO off where it sends."""
    ports: dict[str, int] = {}
    for rl in links:
        for end in (rl.a[0], rl.b[0]):
            if topo.nodes[end].kind == "switch":
                ports[end] = ports.get(end, 0) + 1
    big = {name for name, n in ports.items() if n > bridgetree.FLOOD_PORTS}
    ops: list[Op] = []
    for rl in links:
        for (node, ifname), (peer, peer_if) in ((rl.a, rl.b), (rl.b, rl.a)):
            if node in big and node in namespaces and peer in namespaces:
                ops.append(SetOffload(namespaces[node], ifname, tso=False))
                ops.append(SetOffload(namespaces[peer], peer_if, gro=True))
    return ops


def _host_at_up(node: Node) -> bool:
    """Whether `up` itself needs the node's mount and UTS namespaces: it runs something
    there, or writes into its folders. (`frr:` is all of these: spec/model.py.) Any other
    node gets them on first entry, as they would have been made at `up`."""
    return bool(node.services or node.prepare or node.exec or node.files or node.private)


def _global_sysctls(node: Node) -> dict[str, str]:
    values = dict(ROUTER_SYSCTLS) if node.kind == "router" else {}
    values.update({k: str(v) for k, v in node.sysctls.items() if not _per_interface(k)})
    return values


def _per_interface(key: str) -> bool:
    # net.ipv6.conf.eth0.x needs eth0 to exist; conf.all/conf.default apply to what comes later.
    return sysctls.device_of(key) is not None


def plan(
    topo: Topology, lab: str | None = None, state_root: str = naming.DEFAULT_STATE_ROOT,
    host: str | None = None,
) -> Plan:
    """The ops that build the lab, or (across hosts) the part of it on `host`."""
    lab = lab or topo.name
    partition.check_host(topo, lab, host)
    mark = naming.mark(lab)
    ifaces, links = resolve(topo)
    cross = partition.cross_links(topo, lab, [(rl.a, rl.b) for rl in links])
    nodes = {n: node for n, node in topo.nodes.items() if partition.is_here(topo, n, host)}
    everywhere = {name: naming.namespace(lab, name) for name in topo.nodes}
    namespaces = {name: everywhere[name] for name in nodes}
    ops: list[Op] = [CreateNamespace(ns, mark) for ns in namespaces.values()]
    # Each node a small host: its mount and UTS namespaces are made by helper processes
    # while the netlink work below goes on (kernel/lab_kernel.py), or, for a node that runs
    # nothing at `up`, on first entry (kernel/nodehost.py ensure).
    lab_dir = naming.lab_dir(state_root, lab)
    if namespaces:
        hosts = {naming.HOSTS_FILE: hosts_text(topo, lab)}
        ops.append(WriteFiles(next(iter(namespaces.values())), lab_dir, hosts, mode=0o644))
    for name, node in nodes.items():
        ops.append(CreateNodeHost(
            namespaces[name], name, naming.node_dir(state_root, lab, name),
            f"{lab_dir}/{naming.HOSTS_FILE}", own_line(name, node), resolv_text(node),
            tuple((p.path, p.from_ == "host") for p in node.private_paths()),
            bool(node.services or node.prepare or node.exec), not _host_at_up(node),
        ))

    for name, node in nodes.items():
        for key, value in _global_sysctls(node).items():
            ops.append(SetSysctl(namespaces[name], key, value))

    by_index = {c.index: c for c in cross}
    for i, rl in enumerate(links):
        (na, ia), (nb, ib) = rl.a, rl.b
        if i not in by_index:
            if na in nodes:
                ops.append(CreateVeth(namespaces[na], ia, namespaces[nb], ib, rl.spec.mtu, mark))
            continue
        if host is None:
            continue
        (here, ifname), far = by_index[i].end_here(host)
        ifc = next(f for f in ifaces[here] if f.name == ifname)
        ifaces[here] = [dataclasses.replace(f, kind="vxlan") if f is ifc else f
                        for f in ifaces[here]]
        mtu = ifc.spec.mtu or rl.spec.mtu or partition.VXLAN_MTU
        ops.append(CreateVxlan(namespaces[here], ifname, by_index[i].vni,
                               topo.hosts[far].address, None, topo.hosts[host].dev,
                               partition.VXLAN_PORT, mtu, mark, underlay=True))
    for name in nodes:
        for ifc in ifaces[name]:
            if ifc.trunk and ifc.master == SWITCH_BRIDGE and ifc.peer:
                ops.append(CreateVeth(namespaces[name], ifc.name, namespaces[name],
                                      ifc.peer[1], ifc.spec.mtu, mark))

    for name in nodes:
        ns = namespaces[name]
        for late in (False, True):  # a vxlan may name another device (its dev:)
            for ifc in ifaces[name]:
                planned = kind_ops.PLANNED[ifc.kind]
                if planned.make is not None and planned.late == late:
                    ops.extend(planned.make(ns, ifc.name, ifc.kind, ifc.spec, mark))

    # Before the ports join their bridge and come up: then each change is the port's
    # alone, where on a port of a bridge it makes the kernel go over every other port
    # (the bridge's features), and on a running veth it starts or stops its NAPI.
    ops.extend(_flood_ops(topo, links, namespaces))

    late_up: list[Op] = []
    for name, node in nodes.items():
        bridges = _late_bridges(node, ifaces[name])
        ops.extend(_node_ops(lab, name, node, ifaces[name], bridges))
        late_up.extend(SetLinkUp(namespaces[name], bridge) for bridge in bridges)
        for key, setting in node.sysctls.items():
            if _per_interface(key):
                ops.append(SetSysctl(namespaces[name], key, str(setting)))
    ops.extend(late_up)

    # Shaping once the links are up: a root qdisc on each shaped end (plan/shaping.py).
    shaped = qdisc_ops(topo, [(rl.a, rl.b, rl.spec) for rl in links], everywhere)
    ops.extend(op for op in shaped if op.ns in namespaces.values())

    # Each node's files and `prepare:` commands, then the services, and last `exec:`,
    # once every node's services are ready.
    for name, node in nodes.items():
        folder = naming.node_dir(state_root, lab, name)
        if node.limits is not None:
            ops.append(SetLimits(namespaces[name], node.limits.cpu, node.limits.memory,
                                 node.limits.pids))
        if node.files:
            ops.append(_write_files(namespaces[name], folder, node))
        for command in node.prepare:
            ops.append(RunCommand(namespaces[name], command, dict(node.env), folder))
    for name, node in nodes.items():
        folder = naming.node_dir(state_root, lab, name)
        for service_name, service in node.services.items():
            ops.append(
                StartService(
                    namespaces[name], service_name, service.run, folder,
                    {**node.env, **service.env}, service.cwd,
                    _uid(service.user), _gid(service.group),
                    service.ready if isinstance(service.ready, str) else None,
                    service.ready_timeout,
                    _ready_port(service.ready), _ready_proto(service.ready),
                    tuple(service.capabilities),
                    tuple(_after(namespaces, lab, name, ref) for ref in service.after),
                )
            )
    for name, node in nodes.items():
        folder = naming.node_dir(state_root, lab, name)
        for command in node.exec:
            ops.append(RunCommand(namespaces[name], command, dict(node.env), folder))

    local_ifaces = {name: ifaces[name] for name in nodes}
    return Plan(lab, ops, namespaces, local_ifaces, links, host, cross)
