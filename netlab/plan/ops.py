"""Small frozen operations: the unit of planning, executing, journaling and undoing.

Pure: no pyroute2, no subprocess, no filesystem. Each op names the namespace it acts in
(`ns`), describes itself in words, and knows its undo. An undo marked `in_namespace`
disappears with its namespace, so teardown may skip it when that namespace is removed too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform

from netlab.values.tc import Qdisc

_O = TypeVar("_O", bound=type)
_MADE: list[type] = []  # the op classes, for _finish


class _Factory:
    """The default of a field that has a default_factory, in __init__'s signature."""

    def __repr__(self) -> str:
        return "<factory>"  # as dataclass says it


_NO_VALUE = _Factory()


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def op_class(cls: _O) -> _O:
    """A frozen dataclass, made for a fraction of what dataclass(frozen=True) costs:
    dataclass() compiles each method it makes from source, six per class, and making the
    32 op classes so cost ~15 ms of every command that reads the journal (`down`). Here
    dataclass() makes no method: Op's own __eq__, __hash__, __repr__, __setattr__ and
    __delattr__ serve every class, and the __init__ of all of them is compiled at once
    (_finish, below the classes). They behave as dataclass(frozen=True) makes them
    (tests/unit/plan/test_ops.py holds each class to one made the standard way)."""
    dataclass(init=False, repr=False, eq=False)(cls)  # the same class, with its fields
    _MADE.append(cls)
    return cls


@op_class
class Op:
    kind: ClassVar[str] = "op"
    # Set for each class by _finish: its fields' names, and a function giving their values
    # as a tuple (one C call: what dataclass's methods compare and hash).
    _field_names: ClassVar[tuple[str, ...]]
    _values: ClassVar[Callable[[Any], tuple[Any, ...]]]
    ns: str

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        values = self.__class__._values
        return bool(values(self) == values(other))

    def __hash__(self) -> int:
        return hash(self.__class__._values(self))

    def __repr__(self) -> str:
        said = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._field_names)
        return f"{self.__class__.__qualname__}({said})"

    # Unseen by mypy, which knows the ops frozen (op_class) and would read a __setattr__
    # as leave to set any attribute.
    if not TYPE_CHECKING:
        def __setattr__(self, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

    def describe(self) -> str:
        raise NotImplementedError

    def undo(self) -> Op | None:
        """The op that reverses this one, or None when nothing needs reversing."""
        return None

    @property
    def node(self) -> str:
        """The node this op acts in (the namespace name without the lab prefix)."""
        return self.ns

    def to_json(self) -> dict[str, Any]:
        # A shallow dict: the fields are text, numbers, tuples of those and dicts of text
        # (asdict's deep copy cost 0.12 s per 15,000 ops; an op with a dataclass inside,
        # SetQdisc, says its own).
        data = {name: getattr(self, name) for name in self._field_names}
        data["op"] = self.kind
        return data


# --- namespaces -------------------------------------------------------------------------


@op_class
class CreateNamespace(Op):
    """A new network namespace; its loopback carries the lab's mark as alias, so that
    `netlab cleanup` can tell our namespaces from someone else's with a similar name."""

    kind: ClassVar[str] = "create-namespace"
    alias: str = ""

    def describe(self) -> str:
        return f"create namespace {self.ns}"

    def undo(self) -> Op:
        return DeleteNamespace(self.ns)


@op_class
class DeleteNamespace(Op):
    kind: ClassVar[str] = "delete-namespace"

    def describe(self) -> str:
        return f"delete namespace {self.ns}"


@op_class
class CreateNodeHost(Op):
    """The node's mount and UTS namespaces (kernel/nodehost.py): hostname, its own /run,
    /tmp, /etc/hosts, /etc/resolv.conf and `private:` folders. `hosts_file` names the lab's
    /etc/hosts text (written once, not once per node into the journal); `extra_hosts` is
    this node's own line when it has no address. `lazy`: a node that runs nothing at `up`
    gets them on first entry (kernel/nodehost.py ensure); `up` only leaves what that needs.
    """

    kind: ClassVar[str] = "create-node-host"
    hostname: str = ""
    node_dir: str = ""
    hosts_file: str = ""
    extra_hosts: str = ""
    resolv: str = ""
    private: tuple[tuple[str, bool], ...] = ()  # (absolute path, seeded from the host)
    netns: bool = False  # sees the host's /run/netns: a node that runs programs
    lazy: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.private, list):  # read back from the journal
            object.__setattr__(self, "private", tuple((p, bool(s)) for p, s in self.private))

    def describe(self) -> str:
        when = " on first entry" if self.lazy else ""
        return f"make {self.ns} a host named {self.hostname}{when} (mount, uts namespaces)"

    def undo(self) -> Op:
        return DeleteNodeHost(self.ns, lazy=self.lazy)


@op_class
class DeleteNodeHost(Op):
    """Unpin the node's mount and UTS namespaces. Carried out even when the network
    namespace goes too: their pins live elsewhere. `lazy`: made on first entry, if ever;
    whatever is there goes, and nothing there is no error."""

    kind: ClassVar[str] = "delete-node-host"
    in_namespace: bool = False
    lazy: bool = False

    def describe(self) -> str:
        return f"remove the mount and uts namespaces of {self.ns}"


# --- links ------------------------------------------------------------------------------


@op_class
class CreateVeth(Op):
    """A veth pair made in one request, each end straight in its own namespace."""

    kind: ClassVar[str] = "create-veth"
    ifname: str
    peer_ns: str
    peer_ifname: str
    mtu: int | None = None
    alias: str = ""  # the lab's mark, on both ends

    def describe(self) -> str:
        return f"create veth {self.ns}:{self.ifname} <-> {self.peer_ns}:{self.peer_ifname}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateBridge(Op):
    kind: ClassVar[str] = "create-bridge"
    ifname: str
    stp: bool = False
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        stp = " (stp on, forward delay 2 s)" if self.stp else ""
        return f"create bridge {self.ifname} in {self.ns}{stp}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateBond(Op):
    """A bond; its ports join it as a bridge's do (SetLink master), while still down."""

    kind: ClassVar[str] = "create-bond"
    ifname: str
    mode: str  # active-backup, balance-rr, ... (the kernel's names)
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        return f"create bond {self.ifname} ({self.mode}) in {self.ns}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateVrf(Op):
    """A VRF: its members (SetLink master) route through its own table."""

    kind: ClassVar[str] = "create-vrf"
    ifname: str
    table: int
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        return f"create vrf {self.ifname} (table {self.table}) in {self.ns}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateDummy(Op):
    """A dummy device: an interface of the node's own that is always up and goes nowhere
    (an address that stays reachable whichever cable is down, a router's loopback)."""

    kind: ClassVar[str] = "create-dummy"
    ifname: str
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        return f"create dummy {self.ifname} in {self.ns}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateMacvlan(Op):
    kind: ClassVar[str] = "create-macvlan"
    ifname: str
    parent: str
    mode: str  # private, vepa, bridge, passthru
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        return f"create macvlan {self.ifname} on {self.parent} (mode {self.mode}) in {self.ns}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateVlan(Op):
    kind: ClassVar[str] = "create-vlan"
    ifname: str
    parent: str
    vid: int
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        return f"create vlan {self.ifname} on {self.parent} (id {self.vid}) in {self.ns}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateTunTap(Op):
    kind: ClassVar[str] = "create-tuntap"
    ifname: str
    mode: str  # "tun" or "tap"
    uid: int | None = None
    gid: int | None = None
    mtu: int | None = None
    alias: str = ""

    def describe(self) -> str:
        owner = f" owner {self.uid}" if self.uid is not None else ""
        group = f" group {self.gid}" if self.gid is not None else ""
        return f"create {self.mode} {self.ifname} in {self.ns}{owner}{group}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class CreateVxlan(Op):
    kind: ClassVar[str] = "create-vxlan"
    ifname: str
    vni: int
    remote: str
    local: str | None = None
    dev: str | None = None
    port: int = 4789
    mtu: int | None = None
    alias: str = ""
    # Made from the host's own namespace, where its UDP socket then lives (a cable to
    # another host), and put straight into ns in the same request: never seen in the host.
    underlay: bool = False

    def describe(self) -> str:
        where = f"{self.ns}, over the host's underlay" if self.underlay else self.ns
        return f"create vxlan {self.ifname} (vni {self.vni}, remote {self.remote}) in {where}"

    def undo(self) -> Op:
        return DeleteLink(self.ns, self.ifname, in_namespace=True)


@op_class
class DeleteLink(Op):
    kind: ClassVar[str] = "delete-link"
    ifname: str
    in_namespace: bool = True  # goes away with the namespace anyway

    def describe(self) -> str:
        return f"delete {self.ifname} in {self.ns}"


@op_class
class SetLink(Op):
    """Link attributes set after creation: MTU, MAC, bridge master, IPv6 address generation."""

    kind: ClassVar[str] = "set-link"
    ifname: str
    mtu: int | None = None
    mac: str | None = None
    master: str | None = None
    addrgen_none: bool = False  # no IPv6 link-local: no DAD/MLD/RS flooding on bridge ports

    def describe(self) -> str:
        parts = []
        if self.master:
            parts.append(f"attach {self.ifname} to {self.master}")
        if self.mtu:
            parts.append(f"set mtu {self.mtu} on {self.ifname}")
        if self.mac:
            parts.append(f"set mac {self.mac} on {self.ifname}")
        if self.addrgen_none:
            parts.append(f"no ipv6 link-local on {self.ifname}")
        return ", ".join(parts or [f"set {self.ifname}"]) + f" in {self.ns}"

    def undo(self) -> Op | None:
        if self.master:
            return SetLink(self.ns, self.ifname, master="")
        return None


@op_class
class SetVlanFiltering(Op):
    """VLAN filtering on a switch's bridge: each port then carries only its own VLANs
    (SetPortVlans), and a port that says nothing is in VLAN 1, untagged. Goes with the
    bridge."""

    kind: ClassVar[str] = "set-vlan-filtering"
    ifname: str

    def describe(self) -> str:
        return f"turn on vlan filtering on bridge {self.ifname} in {self.ns}"


@op_class
class SetPortVlans(Op):
    """The VLANs of a bridge port: an access port of `pvid` (untagged, instead of the
    default VLAN 1), or a trunk carrying `tagged` besides its native VLAN untagged (`pvid`
    if given, instead of VLAN 1); `drop`: VLANs it had that it no longer carries (a port
    moved to another VLAN while the lab runs: `netlab link ... vlan`). Goes with the port."""

    kind: ClassVar[str] = "set-port-vlans"
    ifname: str
    pvid: int | None = None
    tagged: tuple[int, ...] = ()
    drop: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("tagged", "drop"):
            if isinstance(getattr(self, name), list):  # read back from the journal
                object.__setattr__(self, name, tuple(getattr(self, name)))

    def describe(self) -> str:
        dropped = (f", off vlan {','.join(map(str, self.drop))}" if self.drop else "")
        if not self.tagged:
            return (f"make {self.ifname} in {self.ns} an access port of vlan {self.pvid}"
                    + dropped)
        vids = ",".join(map(str, self.tagged))
        native = f" (native vlan {self.pvid})" if self.pvid is not None else ""
        return f"make {self.ifname} in {self.ns} a trunk of vlans {vids}{native}{dropped}"


@op_class
class SetLinkUp(Op):
    kind: ClassVar[str] = "set-link-up"
    ifname: str

    def describe(self) -> str:
        return f"bring {self.ifname} up in {self.ns}"

    def undo(self) -> Op:
        return SetLinkDown(self.ns, self.ifname)


@op_class
class SetLinkDown(Op):
    kind: ClassVar[str] = "set-link-down"
    ifname: str

    def describe(self) -> str:
        return f"bring {self.ifname} down in {self.ns}"


# --- layer 3 ----------------------------------------------------------------------------


@op_class
class AddAddress(Op):
    kind: ClassVar[str] = "add-address"
    ifname: str
    address: str  # CIDR, IPv4 or IPv6 (IPv6 added with no DAD delay)

    def describe(self) -> str:
        return f"add address {self.address} to {self.ifname} in {self.ns}"

    def undo(self) -> Op:
        return DeleteAddress(self.ns, self.ifname, self.address)


@op_class
class DeleteAddress(Op):
    kind: ClassVar[str] = "delete-address"
    ifname: str
    address: str

    def describe(self) -> str:
        return f"delete address {self.address} from {self.ifname} in {self.ns}"


@op_class
class AddRoute(Op):
    kind: ClassVar[str] = "add-route"
    to: str  # "default" or a network
    via: str | None = None
    dev: str | None = None
    metric: int | None = None
    family: int = 4  # 4 or 6; decides what "default" means
    table: int | None = None  # a VRF's table; None: the main table

    def describe(self) -> str:
        words = [f"add route {self.to}"]
        if self.to == "default" and self.family == 6:
            words[0] += " (ipv6)"
        if self.via:
            words.append(f"via {self.via}")
        if self.dev:
            words.append(f"dev {self.dev}")
        if self.metric is not None:
            words.append(f"metric {self.metric}")
        if self.table is not None:
            words.append(f"table {self.table}")
        return " ".join(words) + f" in {self.ns}"

    def undo(self) -> Op:
        return DeleteRoute(self.ns, self.to, self.via, self.dev, self.metric, self.family,
                           self.table)


@op_class
class DeleteRoute(Op):
    kind: ClassVar[str] = "delete-route"
    to: str
    via: str | None = None
    dev: str | None = None
    metric: int | None = None
    family: int = 4
    table: int | None = None

    def describe(self) -> str:
        table = f" table {self.table}" if self.table is not None else ""
        return f"delete route {self.to}{table} in {self.ns}"


@op_class
class SetSysctl(Op):
    """A sysctl under net., written inside the namespace. No undo: it lives and dies with
    the namespace, which is new and ours."""

    kind: ClassVar[str] = "set-sysctl"
    key: str
    value: str

    def describe(self) -> str:
        return f"set {self.key}={self.value} in {self.ns}"


@op_class
class SetOffload(Op):
    """Offload features of a veth end (ethtool's gro and tso). With GRO on at the end that
    receives, and TSO off at the end that sends, a veth hands frames over through the
    receiver's own queue (NAPI) instead of the CPU's shared backlog, which holds only
    net.core.netdev_max_backlog (1000) frames: a bridge flooding a broadcast to more ports
    than that in one go loses the rest. No undo: it goes with the namespace."""

    kind: ClassVar[str] = "set-offload"
    ifname: str
    gro: bool | None = None
    tso: bool | None = None

    def describe(self) -> str:
        said = [f"{name} {'on' if on else 'off'}"
                for name, on in (("gro", self.gro), ("tso", self.tso)) if on is not None]
        return f"set {', '.join(said)} on {self.ifname} in {self.ns}"


# --- traffic control --------------------------------------------------------------------


@op_class
class SetQdisc(Op):
    """The root qdisc of an interface (its egress): tbf or netem, in the kernel's numbers.
    Replaces whatever root qdisc is there (`tc qdisc replace ... root`)."""

    kind: ClassVar[str] = "set-qdisc"
    ifname: str
    qdisc: Qdisc

    def __post_init__(self) -> None:
        if isinstance(self.qdisc, dict):  # read back from the journal
            object.__setattr__(self, "qdisc", Qdisc.from_json(self.qdisc))

    def describe(self) -> str:
        return f"shape {self.ifname} in {self.ns}: {self.qdisc.describe()}"

    def undo(self) -> Op:
        return DeleteQdisc(self.ns, self.ifname)

    def to_json(self) -> dict[str, Any]:
        return {"ns": self.ns, "ifname": self.ifname, "qdisc": self.qdisc.to_json(),
                "op": self.kind}


@op_class
class DeleteQdisc(Op):
    """Back to the interface's default qdisc (no shaping)."""

    kind: ClassVar[str] = "delete-qdisc"
    ifname: str
    in_namespace: bool = True

    def describe(self) -> str:
        return f"remove the shaping of {self.ifname} in {self.ns}"


# --- processes --------------------------------------------------------------------------


@op_class
class SetLimits(Op):
    """The node's `limits:` on its cgroup, before anything runs there. They go with the
    node's cgroup when its namespace is deleted."""

    kind: ClassVar[str] = "set-limits"
    cpu: float | None = None  # cores
    memory: int | None = None  # bytes
    pids: int | None = None

    def describe(self) -> str:
        said = [f"{k} {v}" for k, v in (("cpu", self.cpu), ("memory", self.memory),
                                          ("pids", self.pids)) if v is not None]
        return f"limit {', '.join(said)} in {self.ns}"


@op_class
class RunCommand(Op):
    """A command run to completion inside the node once the lab is up (`exec:`)."""

    kind: ClassVar[str] = "run-command"
    command: str
    env: dict[str, str] = field(default_factory=dict)  # besides NETLAB_* (see services.py)
    node_dir: str = ""  # the node's folder: the working directory, NETLAB_NODE_DIR

    def describe(self) -> str:
        return f"run '{self.command}' in {self.ns}"


@op_class
class WriteFiles(Op):
    """The node's `files:` written into its folder (names relative to it; a private
    folder's files under private/). They go when the lab's state does. `owners` gives a
    file's (mode, uid, gid); any other file is written with `mode`."""

    kind: ClassVar[str] = "write-files"
    node_dir: str
    files: dict[str, str] = field(default_factory=dict)
    owners: dict[str, tuple[int, int | None, int | None]] = field(default_factory=dict)
    mode: int = 0o600

    def describe(self) -> str:
        return f"write {', '.join(self.files)} into {self.node_dir}"


@op_class
class StartService(Op):
    """A long-running program in the node, tracked by pid, its output in a log."""

    kind: ClassVar[str] = "start-service"
    name: str
    command: str
    node_dir: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None  # relative to node_dir
    uid: int | None = None
    gid: int | None = None
    ready: str | None = None  # text in its output that says it is ready
    ready_timeout: float = 10.0
    ready_port: int | None = None  # or: a port it listens on when it is ready
    ready_proto: str = "tcp"
    capabilities: tuple[str, ...] = ()  # ambient capabilities of a service run as a user
    after: tuple[str, ...] = ()  # "<namespace>:<service>" that must be ready first

    def describe(self) -> str:
        return f"start service {self.name} ('{self.command}') in {self.ns}"

    def undo(self) -> Op:
        return StopService(self.ns, self.name, self.node_dir)


@op_class
class StopService(Op):
    """Stop a service netlab started: the processes of its cgroup, as the kernel lists them.
    Not left to the namespace's removal: a process keeps a namespace alive."""

    kind: ClassVar[str] = "stop-service"
    name: str
    node_dir: str
    in_namespace: bool = False

    def describe(self) -> str:
        return f"stop service {self.name} in {self.ns}"


OP_TYPES: dict[str, type[Op]] = {
    cls.kind: cls
    for cls in (
        CreateNamespace,
        DeleteNamespace,
        CreateNodeHost,
        DeleteNodeHost,
        CreateVeth,
        CreateBond,
        CreateVrf,
        CreateBridge,
        CreateDummy,
        CreateMacvlan,
        CreateVlan,
        CreateTunTap,
        CreateVxlan,
        DeleteLink,
        SetLink,
        SetVlanFiltering,
        SetPortVlans,
        SetLinkUp,
        SetLinkDown,
        AddAddress,
        DeleteAddress,
        AddRoute,
        DeleteRoute,
        SetQdisc,
        DeleteQdisc,
        SetSysctl,
        SetOffload,
        SetLimits,
        RunCommand,
        WriteFiles,
        StartService,
        StopService,
    )
}


def _finish(classes: list[type]) -> None:
    """The __init__ of every op class, as dataclass(frozen=True) would write it (fields
    set through object.__setattr__, defaults, default factories, __post_init__), compiled
    in one go; and what Op's methods need of each class."""
    scope: dict[str, Any] = {"_set": object.__setattr__, "_NO_VALUE": _NO_VALUE}
    source = []
    for number, cls in enumerate(classes):
        fields = dataclasses.fields(cls)
        names = tuple(f.name for f in fields)
        cls._field_names = names  # type: ignore[attr-defined]
        # (attrgetter of one name gives the value itself, not a tuple of one)
        cls._values = attrgetter(*names) if len(names) > 1 else _one_value(names[0])  # type: ignore[attr-defined]
        params, body = [], []
        for f in fields:
            if f.kw_only is True or not f.init:  # not written here: say so, not misbuild
                raise TypeError(f"op_class: field {cls.__name__}.{f.name} is keyword-only "
                                "or not in __init__")
            value = f.name
            if f.default is not dataclasses.MISSING:
                scope[f"_default_{number}_{f.name}"] = f.default
                params.append(f"{f.name}=_default_{number}_{f.name}")
            elif f.default_factory is not dataclasses.MISSING:
                scope[f"_factory_{number}_{f.name}"] = f.default_factory
                params.append(f"{f.name}=_NO_VALUE")
                value = f"_factory_{number}_{f.name}() if {f.name} is _NO_VALUE else {f.name}"
            else:
                params.append(f.name)
            body.append(f"    _set(self, {f.name!r}, {value})")
        if hasattr(cls, "__post_init__"):
            body.append("    self.__post_init__()")
        source.append(f"def _init_{number}(self, {', '.join(params)}):\n" + "\n".join(body))
    exec("\n".join(source), scope)  # as dataclasses does, but once
    for number, cls in enumerate(classes):
        init = scope[f"_init_{number}"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init  # type: ignore[misc]


def _one_value(name: str) -> Callable[[Any], tuple[Any, ...]]:
    return lambda op: (getattr(op, name),)


_finish(_MADE)


def op_from_json(data: dict[str, Any]) -> Op:
    fields = dict(data)
    cls = OP_TYPES[fields.pop("op")]
    return cls(**fields)
