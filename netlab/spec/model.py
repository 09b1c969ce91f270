"""The typed topology model (format version 1). Pure: no I/O, no kernel.

Pydantic checks types and shapes (and gives `netlab schema` its JSON Schema);
cross-references (links naming nodes, bridge ports, duplicates) are checked in validate.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from netlab.spec.frr import DAEMONS as FRR_DAEMONS
from netlab.spec.frr import expand as frr_keys
from netlab.spec.ip import parse_address, parse_interface, parse_network
from netlab.values.names import MAX_VLAN
from netlab.values.sysctls import NET_KEY

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}\Z")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\Z")
MAX_NAME = 24  # node (and service) names; keeps namespace names short and readable
# Lab names: the same limit as `--name` (state/store.py). The kernel's own limit is far
# off: a namespace netlab-<lab>-<node> is a file name (255 bytes), the mark netlab:<lab>
# an interface alias (255 bytes).
MAX_LAB_NAME = 64


def _check_name(value: str, longest: int = MAX_NAME) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"'{value}' is not a valid name: use lowercase letters, digits and '-' "
            "(not at either end)"
        )
    if len(value) > longest:
        raise ValueError(f"'{value}' is too long ({len(value)} characters, at most {longest})")
    return value


def check_lab_name(value: str) -> str:
    """A lab name, from a file's `name:` or from --name: ValueError in words if bad."""
    return _check_name(value, MAX_LAB_NAME)


def check_ifname(value: str) -> str:
    if value in (".", ".."):
        raise ValueError(f"'{value}' is not a valid interface name")
    if len(value.encode()) > 15:
        raise ValueError(
            f"interface name '{value}' is {len(value.encode())} bytes long; "
            "the kernel allows at most 15"
        )
    if not IFNAME_RE.match(value):
        raise ValueError(
            f"'{value}' is not a valid interface name: use letters, digits, '_', '.', '-'"
        )
    return value


def _check_cidr(value: str) -> str:
    if "%" in value:
        raise ValueError(f"'{value}': leave out the %zone; the interface is the zone")
    try:
        iface = parse_interface(value)
    except ValueError:
        address, _, prefix = value.partition("/")
        longest = _max_prefix(address)
        if longest is not None and prefix.isdigit() and int(prefix) > longest:
            raise ValueError(
                f"'{value}': the prefix length is at most {longest} for this address"
            ) from None
        raise ValueError(
            f"'{value}' is not an address with a prefix length, e.g. 10.0.0.1/24 or fd00::1/64"
        ) from None
    if "/" not in value:
        example = "64" if iface.version == 6 else "24"
        raise ValueError(f"'{value}' needs a prefix length, e.g. {value}/{example}")
    return str(iface)


def _max_prefix(address: str) -> int | None:
    try:
        return parse_address(address).max_prefixlen
    except ValueError:
        return None


def _check_ip(value: str) -> str:
    try:
        return str(parse_address(value))
    except ValueError:
        if "/" in value and _max_prefix(value.partition("/")[0]) is not None:
            raise ValueError(
                f"'{value}' is not an IP address; leave out the prefix length "
                f"('{value.partition('/')[0]}')"
            ) from None
        raise ValueError(f"'{value}' is not an IP address") from None


def _check_dest(value: str) -> str:
    if value == "default":
        return value
    try:
        network = parse_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not 'default' or a network such as 10.0.2.0/24") from None
    if "/" in value and network.network_address != parse_address(value.partition("/")[0]):
        # The kernel would install the network and drop the host bits without a word.
        raise ValueError(f"'{value}' has host bits set; write the network: to: {network}")
    return str(network)


def _check_sysctl(value: str) -> str:
    if any(c.isspace() for c in value):
        bare = "".join(value.split())
        fix = f"; write {bare}" if NET_KEY.match(bare) else ""
        raise ValueError(f"'{value}': a sysctl name has no spaces{fix}")
    if "/" in value and NET_KEY.match(value.replace("/", ".")):
        raise ValueError(f"'{value}': write sysctl names with dots: {value.replace('/', '.')}")
    if value.startswith("net.") and (".." in value or value.endswith(".")):
        raise ValueError(f"'{value}' has an empty part between dots")
    if not NET_KEY.match(value) or ".." in value:
        raise ValueError(f"'{value}': only sysctls under 'net.' can be set in a node")
    return value


def _check_mac(value: str) -> str:
    if not MAC_RE.match(value):
        raise ValueError(f"'{value}' is not a MAC address such as 02:00:00:00:00:01")
    return value.lower()


def _not_a_boolean(value: Any) -> Any:
    # YAML reads true/yes as a boolean, which pydantic would take as the number 1.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "a number, not true or false")
    return value


NotBool = BeforeValidator(_not_a_boolean)  # on every number of the format

Name = Annotated[str, AfterValidator(_check_name)]
LabName = Annotated[str, AfterValidator(check_lab_name)]
IfName = Annotated[str, AfterValidator(check_ifname)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
IpAddr = Annotated[str, AfterValidator(_check_ip)]
Destination = Annotated[str, AfterValidator(_check_dest)]
SysctlKey = Annotated[str, AfterValidator(_check_sysctl)]
Mac = Annotated[str, AfterValidator(_check_mac)]
Mtu = Annotated[int, Field(ge=68, le=65535), NotBool]
Owner = Annotated[int | Annotated[str, Field(min_length=1, max_length=32)], NotBool]
VlanId = Annotated[int, Field(ge=1, le=MAX_VLAN), NotBool]  # 802.1Q: 0 and 4095 are reserved

NodeKind = Literal["host", "router", "switch"]
InterfaceKind = Literal["veth", "tun", "tap", "bridge", "vxlan", "dummy", "macvlan", "vlan",
                        "bond", "vrf"]
# The kernel's bonding modes (BOND_MODE_*), in its order.
BondMode = Literal["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad",
                   "balance-tlb", "balance-alb"]
# How a macvlan meets the others on its parent (the kernel's MACVLAN_MODE_*).
MacvlanMode = Literal["private", "vepa", "bridge", "passthru"]


# The default of an empty mapping or list: a function of netlab's rather than the builtin
# dict or list, whose signature pydantic would read by tokenizing its text signature (20
# fields: ~2.5 ms of every command that loads the model). The same schema, the same values.
def _no_items() -> dict[Any, Any]:
    return {}


def _no_entries() -> list[Any]:
    return []


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vxlan(_Strict):
    """A VXLAN tunnel endpoint inside a node (unicast)."""

    id: Annotated[int, Field(ge=0, le=16777215), NotBool]
    remote: IpAddr
    local: IpAddr | None = None
    dev: IfName | None = None
    port: Annotated[int, Field(ge=1, le=65535), NotBool] = 4789


class Macvlan(_Strict):
    """An interface of its own MAC on another interface of the node (its parent's wire)."""

    parent: IfName
    mode: MacvlanMode = "bridge"


class Vlan(_Strict):
    """An 802.1Q VLAN on another interface of the node: what it sends leaves that interface
    tagged with `id`, and it receives what arrives there so tagged."""

    parent: IfName
    id: VlanId


class Bond(_Strict):
    """One interface over several of the node's links (ports): a backup, or their sum."""

    ports: Annotated[list[IfName], Field(min_length=1)]
    mode: BondMode = "active-backup"


# Routing tables a VRF may not take: unspec (0), default (253), main (254), local (255).
RESERVED_TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}


def _check_table(value: int) -> int:
    if value in RESERVED_TABLES:
        raise ValueError(f"table {value} is the kernel's '{RESERVED_TABLES[value]}' table; "
                         "give the vrf a table of its own, e.g. 10")
    return value


class Vrf(_Strict):
    """A VRF device: a routing table of its own for the interfaces that name it (`vrf:`)."""

    table: Annotated[int, Field(ge=1, le=4294967295), NotBool, AfterValidator(_check_table)]


class Interface(_Strict):
    kind: InterfaceKind | None = None  # None: veth when linked, otherwise from other keys
    addresses: list[Cidr] = Field(default_factory=_no_entries)
    mtu: Mtu | None = None
    mac: Mac | None = None
    owner: Owner | None = None  # tun/tap: user (uid or name) allowed to attach
    group: Owner | None = None  # tun/tap: group allowed to attach
    ports: list[IfName] = Field(default_factory=_no_entries)  # bridge: interfaces enslaved to it
    stp: bool = False  # bridge: spanning tree
    vxlan: Vxlan | None = None
    macvlan: Macvlan | None = None
    vlan: Vlan | None = None
    bond: Bond | None = None
    # `vrf: {table: 10}` makes the interface a VRF; `vrf: red` puts it in the VRF red.
    vrf: Vrf | IfName | None = None
    up: bool = True

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data: Any) -> Any:
        # `eth1:` with nothing after it: YAML reads null; it means "all defaults".
        return {} if data is None else data

    @property
    def vrf_name(self) -> str | None:
        """The VRF this interface is in (`vrf: red`); None for a VRF itself or none."""
        return self.vrf if isinstance(self.vrf, str) else None

    @property
    def port_names(self) -> list[str]:
        """The interfaces enslaved to it: a bridge's ports, or a bond's."""
        return list(self.bond.ports) if self.bond is not None else list(self.ports)

    @field_validator("owner", "group", mode="after")
    @classmethod
    def _numeric_id(cls, value: int | str | None) -> int | str | None:
        # `owner: "1000"` (quoted) is the uid 1000, not a user named "1000".
        return int(value) if isinstance(value, str) and value.isdigit() else value


class Route(_Strict):
    to: Destination
    via: IpAddr | None = None
    dev: IfName | None = None
    metric: Annotated[int, Field(ge=0, le=4294967295), NotBool] | None = None
    vrf: IfName | None = None  # the VRF (an interface of the node) whose table it goes in

    @model_validator(mode="after")
    def _needs_gateway_or_dev(self) -> Route:
        if self.via is None and self.dev is None:
            raise ValueError("a route needs 'via' (a gateway) or 'dev' (an interface)")
        return self


FILE_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\Z")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def _check_file_name(value: str) -> str:
    # Files land in the node's folder under /run/netlab: nothing may climb out of it.
    parts = value.split("/")
    if not FILE_RE.match(value) or any(p in (".", "..") for p in parts):
        raise ValueError(
            f"'{value}' is not a file name inside the node's folder: use letters, digits, "
            "'_', '.', '-' and '/' between names, not '..'"
        )
    return value


def _check_env_name(value: str) -> str:
    if not ENV_RE.match(value):
        raise ValueError(f"'{value}' is not an environment variable name")
    return value


def _check_file_path(value: str) -> str:
    # An absolute path names a file in one of the node's `private:` folders (validate.py
    # checks that it is inside one); anything else stays inside the node's folder.
    if value.startswith("/"):
        _check_private_path(value)
        return value
    return _check_file_name(value)


def _check_private_path(value: str) -> str:
    if value in ("/", "/proc", "/sys", "/dev", "/run", "/tmp", "/etc", "/usr", "/var"):
        raise ValueError(f"'{value}' cannot be private: name a folder inside it")
    parts = value.split("/")[1:]
    if (not value.startswith("/") or not FILE_RE.match(value[1:])
            or any(p in (".", "..") for p in parts)):
        raise ValueError(
            f"'{value}' is not an absolute path such as /etc/frr: use letters, digits, "
            "'_', '.', '-' and '/' between names, not '..'"
        )
    return value


def _check_mode(value: Any) -> Any:
    # `mode: "0640"` (text, octal as chmod reads it) or `mode: 0o640`; YAML 1.1 reads an
    # unquoted 0640 as the number 416, which is the same mode.
    if isinstance(value, bool):
        raise PydanticCustomError("mode", "a file mode such as \"0640\", not true or false")
    if isinstance(value, str):
        try:
            value = int(value, 8)
        except ValueError:
            bad = next((c for c in value.removeprefix("0o") if c not in "01234567"), None)
            why = (f"{bad} is not an octal digit (0-7)" if bad is not None and bad.isdigit()
                   else "it is not a number")
            raise PydanticCustomError(
                "mode", "mode '{value}' is not a file mode: {why}; write it in octal such as "
                "\"0640\"", {"value": value, "why": why}) from None
    if isinstance(value, int) and not 0 <= value <= 0o7777:
        raise PydanticCustomError("mode", "a file mode is at most 7777 (octal), e.g. \"0640\"")
    return value


FileName = Annotated[str, AfterValidator(_check_file_name)]
FilePath = Annotated[str, AfterValidator(_check_file_path)]
PrivatePath = Annotated[str, AfterValidator(_check_private_path)]
FileMode = Annotated[int, BeforeValidator(_check_mode), Field(ge=0, le=0o7777)]
DEFAULT_FILE_MODE = 0o600  # files may hold keys: readable by their owner only, unless told
EnvName = Annotated[str, AfterValidator(_check_env_name)]
EnvValue = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int | float) else v)]


# The capabilities(7) a service run as a user may be given (ambient capabilities).
CAPABILITIES = frozenset({
    "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER", "CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE",
    "CAP_LINUX_IMMUTABLE", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP",
    "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG",
    "CAP_WAKE_ALARM",
})


def _check_capability(value: str) -> str:
    name = value.upper()
    name = name if name.startswith("CAP_") else f"CAP_{name}"
    if name not in CAPABILITIES:
        raise ValueError(f"'{value}' is not a Linux capability (such as CAP_NET_ADMIN)")
    return name


Capability = Annotated[str, AfterValidator(_check_capability)]
Port = Annotated[int, Field(ge=1, le=65535), NotBool]


class ReadyPort(_Strict):
    """`ready: {tcp: 8000}`: ready once a socket of the node listens on that port."""

    tcp: Port | None = None
    udp: Port | None = None

    @model_validator(mode="after")
    def _one_port(self) -> ReadyPort:
        if (self.tcp is None) == (self.udp is None):
            raise ValueError("say one port: {tcp: 8000} or {udp: 53}")
        return self


def service_key(node: str, ref: str) -> str:
    """`after:` names `svc` (on the same node) or `node:svc`: as `node:svc`."""
    return ref if ":" in ref else f"{node}:{ref}"


class Service(_Strict):
    """A long-running program in the node: started after `up`, stopped at `down`."""

    run: Annotated[str, Field(min_length=1)] = Field(
        description="The command, run with `sh -c` in the node; its output goes to its log."
    )
    user: Owner | None = Field(None, description="Run as this user (uid or name), not root.")
    group: Owner | None = Field(None, description="Run with this group (gid or name).")
    env: dict[EnvName, EnvValue] = Field(
        default_factory=_no_items, description="Environment variables, besides the node's `env`."
    )
    cwd: FileName | None = Field(
        None, description="Working directory, relative to the node's folder (NETLAB_NODE_DIR)."
    )
    # `up` waits until the service's output contains this text, or until a socket of the
    # node listens on the port (it is ready to serve), for at most ready_timeout seconds;
    # without it, `up` waits only to see it did not die.
    ready: Annotated[str, Field(min_length=1)] | ReadyPort | None = Field(
        None, description="`up` waits until the service's output contains this text, or "
        "until the node listens on a port: `{tcp: 8000}` or `{udp: 53}`."
    )
    after: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]],
                     BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = Field(
        default_factory=_no_entries, description="Services that must be ready before this one "
        "starts: `svc` (same node) or `node:svc`. The others start together."
    )
    capabilities: list[Capability] = Field(
        default_factory=_no_entries, description="Ambient capabilities of a service run as "
        "`user:`, e.g. [CAP_NET_ADMIN] for a VPN on a TUN device netlab made."
    )
    ready_timeout: Annotated[float, Field(gt=0, le=600), NotBool] = Field(
        10.0, description="Seconds `up` waits for `ready` before it gives up (and rolls back)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        # `web: python3 -m http.server` is the same as `web: {run: python3 -m http.server}`.
        return {"run": data} if isinstance(data, str) else data

    @field_validator("ready")
    @classmethod
    def _ready_is_one_line(cls, value: str | ReadyPort | None) -> str | ReadyPort | None:
        # The text is looked for in a line of the service's output: a newline or another
        # control character there could never be seen, and `up` would time out.
        if isinstance(value, str) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("the text is looked for in one line of the service's output: "
                             "no newline or other control character (e.g. ready: \"listening\")")
        return value

    @model_validator(mode="after")
    def _capabilities_need_a_user(self) -> Service:
        if self.capabilities and self.user is None:
            raise ValueError("capabilities are for a service run as 'user:' (root has them)")
        return self


MEMORY_RE = re.compile(r"^([0-9]+)([KMGT]?)$")
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
MIN_MEMORY = 4 * 2**20  # less and the node's first process is killed at once
MAX_MEMORY = 2**50


def _memory_bytes(value: Any) -> Any:
    if isinstance(value, str):
        match = MEMORY_RE.match(value.strip().upper().removesuffix("B") or "x")
        if not match:
            raise PydanticCustomError(
                "memory", "'{v}' is not an amount of memory such as 256M, 1G or 1048576",
                {"v": value})
        value = int(match.group(1)) * _UNITS[match.group(2)]
    if isinstance(value, int) and not isinstance(value, bool) and not (
            MIN_MEMORY <= value <= MAX_MEMORY):
        raise PydanticCustomError(
            "memory", "memory {v} bytes is out of range (at least 4M, at most 1P)",
            {"v": value})
    return value


class Limits(_Strict):
    """What the node's processes may use together (cgroups), as Mininet's CPULimitedHost."""

    cpu: Annotated[float, Field(gt=0, le=1024), NotBool] | None = Field(
        None, description="CPU time in cores, e.g. 0.5 (half of one core).")
    memory: Annotated[int, NotBool, BeforeValidator(_memory_bytes)] | None = Field(
        None, description="Memory, in bytes or with K, M, G, T: 256M.")
    pids: Annotated[int, Field(ge=1, le=4194304), NotBool] | None = Field(
        None, description="The most processes (and threads) at once.")


class Frr(_Strict):
    """FRR on the node: its daemons (besides zebra and staticd) and its frr.conf."""

    daemons: list[Literal[FRR_DAEMONS]] = Field(  # type: ignore[valid-type]
        default_factory=_no_entries, description="FRR daemons besides zebra and staticd, e.g. "
        "[ospfd, bgpd].")
    config: str = Field("", description="frr.conf, the integrated config (Jinja2 works).")


def _services_from_list(data: Any) -> Any:
    """`services: ["python3 -m http.server 7000"]`: each command a service named after its
    program (its index when that is no name, or names clash)."""
    if not isinstance(data, list):
        return data
    programs = []
    for item in data:
        words = item.split() if isinstance(item, str) else []
        programs.append(words[0].rsplit("/", 1)[-1] if words else "")
    indexes = {str(k) for k in range(1, len(data) + 1)}
    named = {}
    for k, (item, program) in enumerate(zip(data, programs, strict=True), 1):
        unique = (programs.count(program) == 1 and bool(NAME_RE.match(program))
                  and len(program) <= MAX_NAME and program not in indexes)
        named[program if unique else str(k)] = item
    return named


class File(_Strict):
    """A file of a node written long: its text, mode and owner."""

    content: str = Field(description="The file's text (Jinja2 variables work in it).")
    mode: FileMode = Field(
        DEFAULT_FILE_MODE, description="Permissions in octal, e.g. \"0644\" (default 0600)."
    )
    owner: Owner | None = Field(None, description="Owner (uid or name); default root.")
    group: Owner | None = Field(None, description="Group (gid or name); default the owner's.")

    @field_validator("owner", "group", mode="after")
    @classmethod
    def _numeric_id(cls, value: int | str | None) -> int | str | None:
        return int(value) if isinstance(value, str) and value.isdigit() else value


class Private(_Strict):
    """A folder of the node's own, mounted over `path`: empty, or a copy of the host's."""

    path: PrivatePath
    from_: Literal["host"] | None = Field(
        None, alias="from", description="`host`: start from a copy of the host's folder."
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class Node(_Strict):
    kind: NodeKind = "host"
    host: Name | None = Field(
        None, description="The machine (a key of `hosts:`) the node is built on "
        "(default: the first host).",
    )
    interfaces: dict[IfName, Interface] = Field(default_factory=_no_items)
    routes: list[Route] = Field(default_factory=_no_entries)
    sysctls: dict[SysctlKey, int | str] = Field(default_factory=_no_items)
    prepare: list[str] = Field(default_factory=_no_entries)  # before the services
    exec: list[str] = Field(default_factory=_no_entries)  # once every node's services are ready
    # Environment of `exec:` commands and services (besides NETLAB_LAB, NETLAB_NODE and
    # NETLAB_NODE_DIR, which netlab sets).
    env: dict[EnvName, EnvValue] = Field(
        default_factory=_no_items, description="Environment of the node's `exec:` and services."
    )
    services: Annotated[dict[Name, Service], BeforeValidator(_services_from_list)] = Field(
        default_factory=_no_items,
        description="Long-running programs, started after `up` and stopped at `down` "
        "(`netlab logs NODE`). A plain string is the command; a list of commands names "
        "each service after its program.",
    )
    limits: Limits | None = Field(
        None, description="What the node's processes may use together: "
        "`{cpu: 0.5, memory: 256M, pids: 500}` (cgroups).",
    )
    # Files written into the node's folder (NETLAB_NODE_DIR) before `exec:` and services;
    # their text is part of the topology, so Jinja2 variables work in them.
    files: dict[FilePath, str | File] = Field(
        default_factory=_no_items,
        description="Files written before `prepare:` and services: a name relative to the "
        "node's folder (NETLAB_NODE_DIR), or an absolute path inside one of its `private:` "
        "folders. Text, or {content, mode, owner, group}; mode 0600 unless told. Jinja2 "
        "variables work in them.",
    )
    private: list[PrivatePath | Private] = Field(
        default_factory=_no_entries,
        description="Folders of the node's own, mounted over these absolute paths: empty, "
        "or `{path: /etc/frr, from: host}` to start from the host's copy.",
    )
    dns: list[IpAddr] = Field(
        default_factory=_no_entries,
        description="Name servers for the node's own /etc/resolv.conf (empty without).",
    )

    frr: Frr | None = Field(
        None, description="Run FRR: `{daemons: [ospfd], config: ...}`; /etc/frr and "
        "/var/log/frr become private, and zebra, staticd and the daemons services.",
    )

    @model_validator(mode="after")
    def _expand_frr(self) -> Node:
        # `frr:` is sugar: the private folders, files, prepare command and services it means.
        if self.frr is None:
            return self
        # The node's own keys win, so a record dumped after expansion reads back the same.
        extra = Node.model_validate(frr_keys(list(self.frr.daemons), self.frr.config))
        have = {p.path for p in self.private_paths()}
        update = {
            "private": [*self.private, *(p for p in extra.private if p not in have)],
            "files": {**extra.files, **self.files},
            "prepare": [*(c for c in extra.prepare if c not in self.prepare), *self.prepare],
            "services": {**extra.services, **self.services},
        }
        for key, value in update.items():
            object.__setattr__(self, key, value)  # still validating: the model is ours
        return self

    def private_paths(self) -> list[Private]:
        return [p if isinstance(p, Private) else Private(path=p) for p in self.private]

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data: Any) -> Any:
        # `h1:` with nothing after it: YAML reads null; it means a node with all defaults.
        return {} if data is None else data

    def vrf_tables(self) -> dict[str, int]:
        """The node's VRFs: name -> routing table."""
        return {name: iface.vrf.table for name, iface in self.interfaces.items()
                if isinstance(iface.vrf, Vrf)}

    def first_address(self, family: int | None = None, interface: str | None = None) -> str | None:
        """What a node (or node:interface) means as a target: its first address as written
        (of `family`, if given), without prefix; None if it has none."""
        for name, settings in self.interfaces.items():
            if interface is not None and name != interface:
                continue
            for cidr in settings.addresses:
                ip = parse_interface(cidr).ip
                if family is None or ip.version == family:
                    return str(ip)
        return None


# The tc parameters of a link (Shaping's fields), as one tuple for the validator below.
TC_FIELDS: tuple[str, ...] = ("rate", "burst", "latency", "limit", "delay", "jitter", "loss")
TC_FIELDS += ("duplicate", "corrupt", "reorder")


class Shaping(_Strict):
    """Traffic control on a link or one endpoint: values as tc writes them."""

    rate: str | None = None  # 10mbit
    burst: str | None = None  # 32kb
    latency: str | None = None  # tbf queue latency, 50ms
    limit: str | None = None  # queue length in packets (netem) or bytes (tbf)
    delay: str | None = None  # netem
    jitter: str | None = None  # netem
    loss: str | None = None  # netem, 1%
    duplicate: str | None = None  # netem
    corrupt: str | None = None  # netem
    reorder: str | None = None  # netem

    @field_validator(*TC_FIELDS, mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        # `limit: 1000` is a number to YAML; tc reads text, and a bare number without its
        # unit (`delay: 10`) is then reported by validate.py in words.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value

    def shaping(self) -> dict[str, str]:
        """The tc values given here (Shaping's fields only), by key."""
        return {k: v for k in TC_FIELDS if (v := getattr(self, k)) is not None}


class Endpoint(Shaping):
    """One end of a link written long, with the shaping of what leaves through it:
    {node: r1, interface: eth1, rate: 1mbit} (to a switch, `interface` may be left out)."""

    node: Name
    interface: IfName | None = None

    def text(self) -> str:
        return f"{self.node}:{self.interface}" if self.interface else self.node


class Link(Shaping):
    """A cable: a veth pair between two endpoints 'node:interface' (or 'switch').

    Shaping given on the link applies to both directions (each end's egress); shaping given
    on an endpoint written long applies to what leaves through that end, over the link's."""

    endpoints: Annotated[list[str | Endpoint], Field(min_length=2, max_length=2)]
    mtu: Mtu | None = None
    vlan: VlanId | None = Field(
        None, description="On a link to a switch: the switch's port is an access port of "
        "this VLAN (untagged; its PVID). docs/links.md \"VLANs on switches\".")
    vlans: Annotated[list[VlanId], Field(min_length=1)] | None = Field(
        None, description="On a link to a switch: the switch's port is a trunk carrying "
        "these VLANs tagged (and its native VLAN, 1 unless `native` says, untagged). "
        "Between two switches, both ends are trunks.")
    native: VlanId | None = Field(
        None, description="With `vlans`: the trunk's native VLAN, carried untagged (what a "
        "node's plain frames on the trunk are in; its PVID); 1 when not given.")

    def switch_vlans(self) -> tuple[int | None, tuple[int, ...]]:
        """(the VLAN of the untagged frames, if not the default: an access port's VLAN or
        a trunk's native one; the trunk's tagged VLANs) a switch's end of this link has."""
        if self.vlans is not None:
            return self.native, tuple(self.vlans)
        return self.vlan, ()

    def ends(self) -> list[str]:
        """The endpoints as text, 'node:interface' or 'switch', whichever form was written."""
        return [e if isinstance(e, str) else e.text() for e in self.endpoints]

    def end_shaping(self, k: int) -> dict[str, str]:
        """The tc values for the egress of endpoint k: the link's, overridden by the end's."""
        end = self.endpoints[k]
        return {**self.shaping(), **(end.shaping() if isinstance(end, Endpoint) else {})}

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        # The short form `- [h1:eth0, sw1]` is the same as `- endpoints: [h1:eth0, sw1]`.
        if isinstance(data, list):
            return {"endpoints": data}
        return data


Seconds = Annotated[float, Field(ge=0.1, le=3600), NotBool]


class Check(_Strict):
    """What must be true of a running lab (`netlab test`), in one of three forms:

        {from: alice, to: srv}                  srv (its first address) answers ICMP echo
        {from: alice, to: srv, tcp: 7000}       a TCP connect to srv port 7000 succeeds
        {node: gw, run: "ip route", expect_output: "172.20.0.0/30"}   exit 0, output has it

    `expect: unreachable` turns a from/to check around. Which keys go together is checked
    in validate.py, so that a mix is reported in words rather than as a type error.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="What the check is called in reports (default: made from it)."
    )
    from_: Name | None = Field(
        None, alias="from", description="The node the probe is sent from."
    )
    to: str | None = Field(
        None,
        description="A node (its first address), node:interface, or an IP address.",
    )
    tcp: Port | None = Field(None, description="Connect to this TCP port instead of pinging.")
    expect: Literal["reachable", "unreachable"] | None = Field(
        None, description="reachable (the default) or unreachable."
    )
    node: Name | None = Field(None, description="The node a command is run in.")
    run: str | None = Field(None, description="A command for `sh -c` inside the node.")
    expect_output: str | None = Field(
        None, description="Text the command's output must contain."
    )
    expect_exit: Annotated[int, Field(ge=0, le=255), NotBool] | None = Field(
        None, description="The exit status the command must have (default 0)."
    )
    timeout: Seconds | None = Field(
        None, description="Seconds to wait for success (unreachable: seconds to watch)."
    )


class Host(_Strict):
    """A machine a lab spans (docs/multi-host.md): its nodes are built there by
    `netlab up FILE --host NAME`, and its cables to other hosts are VXLAN over the underlay."""

    address: IpAddr = Field(
        description="The host's underlay address: the other hosts send its VXLAN packets there."
    )
    dev: IfName | None = Field(
        None, description="The host's underlay interface (default: the route to each peer)."
    )


class Topology(_Strict):
    name: LabName
    version: Literal[1] = 1
    description: str | None = None
    vars: dict[str, Any] = Field(default_factory=_no_items)
    nodes: dict[Name, Node] = Field(min_length=1)
    links: list[Link] = Field(default_factory=_no_entries)
    checks: list[Check] = Field(default_factory=_no_entries)  # for `netlab test`
    hosts: dict[Name, Host] = Field(
        default_factory=_no_items,
        description="The machines the lab spans, by name (none: the lab is on one machine).",
    )
