"""NetlinkKernel: carries out ops with raw rtnetlink sockets, one born in each namespace.

Why it is fast:
- no fork anywhere: namespaces are made by threads (two at once), sockets are opened by a
  thread that sits in the namespace for the time of one socket() call;
- consecutive netlink ops go out as one batch, one sendmsg per run of messages for the same
  namespace, and a batch that succeeds is answered by a single ack;
- links are created with an ifindex chosen here (the kernel accepts it), so later messages
  of the same batch can name them without asking the kernel first.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import os
import resource
import socket
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab.kernel import ethtool, nlsock, nsfs, rtnl, tcmsg, tun
from netlab.kernel.base import BeginHook, DoneHook, OpFailed
from netlab.kernel.reasons import explain, vni_taken
from netlab.kernel.threads import map_side_by_side, threads_for
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    CreateBond,
    CreateBridge,
    CreateDummy,
    CreateMacvlan,
    CreateNamespace,
    CreateTunTap,
    CreateVeth,
    CreateVlan,
    CreateVrf,
    CreateVxlan,
    DeleteAddress,
    DeleteLink,
    DeleteNamespace,
    DeleteQdisc,
    DeleteRoute,
    Op,
    SetLink,
    SetLinkDown,
    SetLinkUp,
    SetOffload,
    SetPortVlans,
    SetQdisc,
    SetSysctl,
    SetVlanFiltering,
)
from netlab.values import sysctls
from netlab.values.names import DEFAULT_VLAN as DEFAULT_PVID
from netlab.values.names import IFNAMSIZ, MAX_VLAN, NETNS_DIR, NS_PREFIX

HOST = ""  # the namespace key of netlab's own (the host's) namespace: a cable to another host
_RUN_MSGS = 256  # messages per sendmsg: keeps acks and the send buffer small
_RUN_BYTES = 64 * 1024
REMOVE_THREADS = 16  # namespaces unmounted side by side at `down` (each may wait for RCU)
REMOVALS_PER_THREAD = 25  # fewer threads for fewer namespaces: starting one costs as much


class _Refused(Exception):
    """An op refused before anything was sent (bad name, unknown interface...)."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class _Msg:
    ns: str
    data: bytearray
    op: int  # index of the op in the ops being executed
    creates: int | None = None  # ifindex this message creates in ns
    undo: tuple[str, bytearray] | None = None  # (ns, message) removing what this one made
    # A follow-up nothing else in the batch waits for (the alias of a veth's far end): sent
    # at the batch's end, so that the runs of messages to one namespace stay long.
    late: bool = False


@dataclass
class _Batch:
    msgs: list[_Msg] = field(default_factory=list)
    # Namespace -> an fd of it the messages refer to: one each (the switch's side of 256
    # cables names its namespace 256 times; opening it each time was ~0.02 s at 500).
    fds: dict[str, int] = field(default_factory=dict)


# Checked once per name: a lab's ops name each namespace and interface many times (only
# names that pass are remembered: a refusal raises each time).
@functools.lru_cache(maxsize=8192)
def _check_ns(ns: str) -> None:
    try:
        nsfs.check_name(ns)
    except ValueError:
        raise _Refused(f"invalid namespace name {ns!r}") from None
    if not ns.startswith(NS_PREFIX):
        raise _Refused(f"{ns} is not a netlab namespace: netlab acts only inside its own")


@functools.lru_cache(maxsize=8192)
def _check_ifname(name: str) -> None:
    bad = (not name or len(name.encode()) > IFNAMSIZ or name in (".", "..")
           or any(c in name for c in "/:\0") or any(c.isspace() for c in name))
    if bad:
        raise _Refused(f"invalid interface name {name!r} (at most 15 bytes, no '/', ':' or "
                       "spaces)")


def _mac(text: str) -> bytes:
    parts = text.split(":")
    try:
        if len(parts) != 6:
            raise ValueError(text)
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise _Refused(f"invalid MAC address {text!r}") from None


def _socket_limit() -> int:
    # Each cached socket is one fd; leave most of RLIMIT_NOFILE to everyone else.
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(16, soft // 4)


class _Sockets:
    """One route socket per namespace, least recently used closed beyond the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: OrderedDict[str, socket.socket] = OrderedDict()

    def get(self, ns: str) -> socket.socket:
        sock = self._open.get(ns)
        if sock is None:
            sock = nlsock.open_here() if ns == HOST else nlsock.open_in(ns)
            self.put(ns, sock)
        else:
            self._open.move_to_end(ns)
        return sock

    def put(self, ns: str, sock: socket.socket) -> None:
        old = self._open.pop(ns, None)
        if old is not None and old is not sock:
            old.close()
        self._open[ns] = sock
        while len(self._open) > self.limit:
            self._open.popitem(last=False)[1].close()

    def drop(self, ns: str) -> None:
        sock = self._open.pop(ns, None)
        if sock is not None:
            sock.close()

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()


# Duplicate address detection off for every interface made in a lab's namespace (the
# kernel skips it when `all` and the device both say 0; devices copy `default`). Link-local
# addresses are then usable at once, as netlab's own IPv6 addresses (nodad) are; and the DAD
# work of hundreds of new interfaces, which holds the kernel's global RTNL lock, no longer
# slows every netlink call on the machine for seconds after `up` (status of 500 nodes right
# after up: 1.6 s -> 0.8 s). A node's `sysctls:` may turn it back on (they come later).
_DAD_ALL = "/proc/sys/net/ipv6/conf/all/accept_dad"
_DAD_DEFAULT = "/proc/sys/net/ipv6/conf/default/accept_dad"
_INHERIT = "/proc/sys/net/core/devconf_inherit_init_net"


def birth_sysctls(inherit: str) -> tuple[str, ...]:
    """The sysctls a new namespace gets 0 in. `all` starts at the kernel's compiled 0
    unless the host makes new namespaces copy another's settings (`inherit`, the value of
    net.core.devconf_inherit_init_net: 1 or 3, or unknown): only then is it written. Each
    write's lookup walks one hash chain of every namespace's /proc/sys/net (~0.03 s of a
    500-node `up`): one that changes nothing is not made."""
    return (_DAD_DEFAULT,) if inherit.strip() in ("0", "2") else (_DAD_ALL, _DAD_DEFAULT)


def _host_birth_sysctls() -> tuple[str, ...]:
    try:
        with open(_INHERIT) as f:  # the host's (netlab runs in the host's namespace)
            return birth_sysctls(f.read())
    except OSError:
        return birth_sysctls("")


def _born(alias: str, sysctls: tuple[str, ...]) -> tuple[socket.socket, dict[str, int]]:
    """Run inside a namespace just made: its socket, and the links it starts with. The
    loopback gets the lab's mark, so leftovers can be told apart from others' namespaces;
    IPv6 duplicate address detection is turned off (`sysctls`: birth_sysctls)."""
    for sysctl in sysctls:
        # /proc/sys/net is the namespace of whoever opens it: this thread's, the new one.
        with contextlib.suppress(FileNotFoundError), open(sysctl, "w") as f:  # no IPv6: skip
            f.write("0")
    sock = nlsock.open_here()
    try:
        links = {name: index for index, name in socket.if_nameindex()}
        if alias and "lo" in links:
            # A fresh socket: any sequence number is ours alone.
            refused = nlsock.exchange(sock, [rtnl.set_link(1, links["lo"], alias=alias)])
            if refused:
                code, text = next(iter(refused.values()))
                raise OSError(code, text or os.strerror(code))
    except BaseException:
        sock.close()
        raise
    return sock, links


class NetlinkKernel:
    """The Kernel protocol over rtnetlink (see netlab.kernel.base)."""

    def __init__(self, *, batch_limit: int = 256, workers: int | None = None,
                 socket_limit: int | None = None) -> None:
        self.batch_limit = batch_limit
        # Threads making namespaces: the kernel makes them in parallel, one per CPU.
        self.workers = workers or min(4, os.cpu_count() or 2)
        self._socks = _Sockets(socket_limit or _socket_limit())
        self._links: dict[str, dict[str, int]] = {}  # ns -> ifname -> ifindex, as known
        self._next: dict[str, int] = {}  # ns -> next ifindex to give a new link
        self._seq = 0

    # --- the protocol -----------------------------------------------------------------
    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        i = 0
        while i < len(ops):
            op = ops[i]
            try:
                if isinstance(op, CreateNamespace):
                    i = self._create_namespaces(ops, i, begin, done)
                elif isinstance(op, DeleteNamespace):
                    i = self._delete_namespaces(ops, i, begin, done)
                elif isinstance(op, NETLINK_OPS):
                    i = self._netlink_batch(ops, i, begin, done)
                elif isinstance(op, SetOffload):
                    i = self._set_offloads(ops, i, begin, done)
                else:
                    self._single(i, op, begin)
                    done(i)
                    i += 1
            except OpFailed:
                raise
            except _Refused as refused:
                raise OpFailed(i, op, refused.reason, refused.hint) from None
            except OSError as err:
                raise self._failed(i, op, err) from None
            except Exception as err:  # a bug must still let the engine roll back
                raise OpFailed(i, op, f"internal error: {type(err).__name__}: {err}") from err

    def close(self) -> None:
        self._socks.close()
        self._links.clear()
        self._next.clear()

    # --- namespaces -------------------------------------------------------------------
    def _create_namespaces(self, ops: Sequence[Op], first: int, begin: BeginHook,
                           done: DoneHook) -> int:
        last, refused = self._run_of(ops, first, CreateNamespace)
        names = [op.ns for op in ops[first:last]]
        aliases = {op.ns: getattr(op, "alias", "") for op in ops[first:last]}
        if names:
            begin(first, last)
        sysctls = _host_birth_sysctls() if names else ()
        results = nsfs.create_many(names, lambda ns: _born(aliases[ns], sysctls),
                                   self.workers)
        failure: OpFailed | None = None
        for k, (name, result) in enumerate(zip(names, results, strict=True)):
            if isinstance(result, BaseException):
                if failure is None:
                    failure = self._failed(first + k, ops[first + k], result)
                continue
            assert result is not None
            sock, links = result
            self._socks.put(name, sock)
            self._links[name] = links
            self._next.pop(name, None)
            done(first + k)
        first_failure = failure or refused
        if first_failure is not None:
            raise first_failure
        return last

    def _delete_namespaces(self, ops: Sequence[Op], first: int, begin: BeginHook,
                           done: DoneHook) -> int:
        last, refused = self._run_of(ops, first, DeleteNamespace)
        if last > first:
            begin(first, last)
        # Its veth peers in other namespaces go with it: what we know of links is stale.
        self._forget_links()
        for k in range(first, last):
            self._socks.drop(ops[k].ns)  # our socket would keep the namespace alive
        # Side by side while they are there: each unmount may wait for an RCU grace
        # period (the kernel's cleanup of namespaces removed before), which waits in
        # parallel share. From the first that is not there, one at a time: its refusal
        # is what a teardown expects, and it goes on after it.
        there = first
        while there < last and nsfs.exists(ops[there].ns):
            there += 1
        errors: list[OSError | None] = []
        if there > first:
            errors = map_side_by_side(
                _removed, [op.ns for op in ops[first:there]],
                threads_for(there - first, REMOVALS_PER_THREAD, REMOVE_THREADS))
        for k in range(first, last):
            error = errors[k - first] if k < there else _removed(ops[k].ns)
            if error is not None:
                raise self._failed(k, ops[k], error) from None
            done(k)
        if refused is not None:
            raise refused
        return last

    def _set_offloads(self, ops: Sequence[Op], first: int, begin: BeginHook,
                      done: DoneHook) -> int:
        """A run of ethtool ioctls, journaled as one: a big switch has two per cable."""
        last, refused = self._run_of(ops, first, SetOffload)
        if last > first:
            begin(first, last)
        for k in range(first, last):
            op = ops[k]
            assert isinstance(op, SetOffload)
            try:
                _check_ifname(op.ifname)
                ethtool.set_offload(self._socks.get(op.ns), op.ifname, op.gro, op.tso)
            except (_Refused, OSError) as err:
                raise self._failed(k, op, err) from None
            done(k)
        if refused is not None:
            raise refused
        return last

    def _run_of(self, ops: Sequence[Op], first: int, kind: type[Op]) -> tuple[int, OpFailed | None]:
        """The consecutive ops of `kind` from `first` (at most batch_limit), stopping before
        one that must be refused: the ops before it are still carried out."""
        last = first
        while last < len(ops) and isinstance(ops[last], kind) and last - first < self.batch_limit:
            try:
                _check_ns(ops[last].ns)
            except _Refused as why:
                return last, OpFailed(last, ops[last], why.reason, why.hint)
            last += 1
        return last, None

    # --- netlink batches --------------------------------------------------------------
    def _netlink_batch(self, ops: Sequence[Op], first: int, begin: BeginHook,
                       done: DoneHook) -> int:
        batch = _Batch()
        refused: OpFailed | None = None
        last = first
        try:
            while (last < len(ops) and isinstance(ops[last], NETLINK_OPS)
                   and last - first < self.batch_limit):
                try:
                    batch.msgs.extend(self._encode(last, ops[last], batch))
                except _Refused as why:
                    refused = OpFailed(last, ops[last], why.reason, why.hint)
                    break
                except OSError as err:
                    refused = self._failed(last, ops[last], err)
                    break
                last += 1
                if isinstance(ops[last - 1], DeleteLink):
                    break  # a veth takes its peer along: learn the links afresh after it
                if _underlay(ops[last - 1]) and not (last < len(ops) and _underlay(ops[last])):
                    break  # the kernel chose their indexes: learn them before using them
            if last > first:
                begin(first, last)
                if not isinstance(ops[last - 1], DeleteLink):  # (it may take them along)
                    batch.msgs.sort(key=lambda m: m.late)  # stable: the order stays else
                self._send(ops, first, last, batch, done)
        finally:
            for fd in batch.fds.values():
                os.close(fd)
            if last > first and isinstance(ops[last - 1], DeleteLink):
                self._forget_links()
            for op in ops[first:last]:
                if _underlay(op):
                    self._forget_links(op.ns)
        if refused is not None:
            raise refused
        return last

    def _send(self, ops: Sequence[Op], first: int, last: int, batch: _Batch,
              done: DoneHook) -> None:
        """Send the batch run by run; stop after a run with a refusal, but finish the
        ops already under way (their remaining messages are follow-ups such as an alias
        on the peer). done() each op whose messages all succeeded."""
        left = {k: 0 for k in range(first, last)}
        for m in batch.msgs:
            left[m.op] += 1
        errors: dict[int, tuple[int, str]] = {}  # op -> first (errno, text)
        created: dict[int, tuple[str, int]] = {}  # op -> the link it made
        undone: dict[int, tuple[str, bytearray]] = {}  # op -> how to remove what it made
        started: set[int] = set()
        pending = list(batch.msgs)
        stopping = False
        while pending:
            if stopping:
                pending = [m for m in pending if m.op in started and m.op not in errors]
                if not pending:
                    break
            run = self._next_run(pending)
            pending = pending[len(run):]
            try:
                refused = nlsock.exchange(self._socks.get(run[0].ns), [m.data for m in run])
            except FileNotFoundError:
                # Our socket there was closed to save fds, and the namespace has gone since.
                for m in run:
                    errors.setdefault(m.op, (errno.ENOENT, f"no such namespace {m.ns}"))
                stopping = True
                continue
            except OSError as err:
                # The run's fate is unknown: count its ops as refused, learn links anew.
                code = err.errno or errno.ETIMEDOUT
                for m in run:
                    errors.setdefault(m.op, (code, f"no answer from the kernel: {err}"))
                self._forget_links()
                stopping = True
                continue
            for m in run:
                started.add(m.op)
                failed = refused.get(rtnl.seq_of(m.data))
                if failed:
                    errors.setdefault(m.op, failed)
                    stopping = True
                    continue
                if m.creates is not None:
                    created[m.op] = (m.ns, m.creates)
                if m.undo is not None:
                    undone[m.op] = m.undo
                left[m.op] -= 1
                if left[m.op] == 0 and m.op not in errors:
                    done(m.op)
        if not errors:
            return
        # A refused op must leave nothing: remove what its first message made.
        for k in errors:
            if k in created:
                ns, index = created[k]
                with contextlib.suppress(OSError):
                    nlsock.exchange(self._socks.get(ns), [rtnl.del_link(self._next_seq(), index)])
            elif k in undone:
                ns, undo = undone[k]
                with contextlib.suppress(OSError):
                    nlsock.exchange(self._socks.get(ns), [undo])
        for ns in {m.ns for m in batch.msgs}:
            self._forget_links(ns)
        k = min(errors)
        code, text = errors[k]
        reason, hint = explain(code, text, ops[k])
        if code == errno.EEXIST and not vni_taken(text) and self._index_was_taken(ops[k]):
            reason = ("the node changed behind netlab's back: the interface index netlab "
                      "chose was taken meanwhile")
            hint = "run the command again"
        raise OpFailed(k, ops[k], reason, hint)

    def _index_was_taken(self, op: Op) -> bool:
        """A create with a chosen ifindex is refused as 'exists' when that index is in use
        by another link: if no link has the name, that is what happened."""
        wanted: list[tuple[str, str]] = []
        if type(op) in ENCODERS:  # made with an ifindex chosen here (a tun/tap is not)
            wanted.append((op.ns, getattr(op, "ifname", "")))
        if isinstance(op, CreateVeth):
            wanted.append((op.peer_ns, op.peer_ifname))
        try:
            return bool(wanted) and not any(name in self._table(ns) for ns, name in wanted)
        except _Refused:
            return False

    @staticmethod
    def _next_run(pending: list[_Msg]) -> list[_Msg]:
        ns = pending[0].ns
        size = 0
        for n, m in enumerate(pending):
            size += len(m.data)
            if m.ns != ns or n >= _RUN_MSGS or (n and size > _RUN_BYTES):
                return pending[:n]
        return pending

    # --- encoding ops into messages ---------------------------------------------------
    def _encode(self, k: int, op: Op, batch: _Batch) -> list[_Msg]:
        _check_ns(op.ns)
        encoder = ENCODERS.get(type(op))
        if encoder is not None:
            return encoder(self, k, op, batch)
        if isinstance(op, DeleteLink):
            index = self._index(op.ns, op.ifname)
            del self._links[op.ns][op.ifname]
            return [_Msg(op.ns, rtnl.del_link(self._next_seq(), index), k)]
        if isinstance(op, SetLink):
            return [self._encode_set_link(k, op)]
        if isinstance(op, SetVlanFiltering):
            index = self._index(op.ns, op.ifname)
            return [_Msg(op.ns, rtnl.vlan_filtering(self._next_seq(), index), k)]
        if isinstance(op, SetPortVlans):
            return self._encode_port_vlans(k, op)
        if isinstance(op, (SetLinkUp, SetLinkDown)):
            index = self._index(op.ns, op.ifname)
            up = isinstance(op, SetLinkUp)
            return [_Msg(op.ns, rtnl.set_link(self._next_seq(), index, up=up), k)]
        if isinstance(op, (AddAddress, DeleteAddress)):
            try:
                iface = ipaddress.ip_interface(op.address)
            except ValueError:
                raise _Refused(f"invalid address {op.address!r} (want a CIDR such as "
                               "10.0.0.1/24 or fd00::1/64)") from None
            index = self._index(op.ns, op.ifname)
            add = isinstance(op, AddAddress)
            return [_Msg(op.ns, rtnl.address(self._next_seq(), add, index, iface), k)]
        if isinstance(op, (AddRoute, DeleteRoute)):
            return [self._encode_route(k, op)]
        if isinstance(op, (SetQdisc, DeleteQdisc)):
            index = self._index(op.ns, op.ifname)
            msg = (tcmsg.new_qdisc(self._next_seq(), index, op.qdisc) if isinstance(op, SetQdisc)
                   else tcmsg.del_qdisc(self._next_seq(), index))
            return [_Msg(op.ns, msg, k)]
        raise _Refused(f"not a netlink op: {op.kind}")

    def _encode_veth(self, k: int, op: CreateVeth, batch: _Batch) -> list[_Msg]:
        _check_ns(op.peer_ns)
        _check_ifname(op.ifname)
        _check_ifname(op.peer_ifname)
        if op.ns == op.peer_ns and op.ifname == op.peer_ifname:
            raise _Refused("both ends of the cable have the same name in the same node")
        self._must_be_free(op.ns, op.ifname)
        self._must_be_free(op.peer_ns, op.peer_ifname)
        peer_fd = None
        if op.peer_ns != op.ns:
            peer_fd = self._ns_fd(op.peer_ns, batch)
        index = self._alloc(op.ns)
        # Two ends with the same ifindex (each the first link of its node: both 2) make the
        # kernel's linkwatch take their carrier changes for unimportant and handle them up
        # to a second late (linkwatch_urgent_event: ifindex == iflink); meanwhile the link
        # drops what it is given, and `up` waits for it. A gap in the numbering costs nothing.
        peer_index = self._alloc(op.peer_ns, avoid=index)
        msg = rtnl.new_veth(self._next_seq(), index, op.ifname, peer_index, op.peer_ifname,
                            peer_fd, op.mtu)
        msgs = self._named(op.ns, op.ifname, index, op.alias, k, [_Msg(op.ns, msg, k, index)])
        return self._named(op.peer_ns, op.peer_ifname, peer_index, op.alias, k, msgs,
                           late=op.peer_ns != op.ns)

    def _encode_bridge(self, k: int, op: CreateBridge, batch: _Batch) -> list[_Msg]:
        _check_ifname(op.ifname)
        self._must_be_free(op.ns, op.ifname)
        index = self._alloc(op.ns)
        msgs = [_Msg(op.ns, rtnl.new_bridge(self._next_seq(), index, op.ifname, op.stp,
                                            op.mtu), k, index)]
        return self._named(op.ns, op.ifname, index, op.alias, k, msgs)

    def _encode_standalone(self, k: int, op: CreateDummy | CreateBond | CreateVrf,
                           batch: _Batch) -> list[_Msg]:
        """A device of the node's own on no other: a dummy, a bond, a vrf."""
        _check_ifname(op.ifname)
        if isinstance(op, CreateBond) and op.mode not in rtnl.BOND_MODES:
            raise _Refused(f"invalid bond mode {op.mode!r} ({', '.join(rtnl.BOND_MODES)})")
        if isinstance(op, CreateVrf) and not 0 < op.table < 1 << 32:
            raise _Refused(f"invalid vrf table {op.table} (1 to 4294967295)")
        self._must_be_free(op.ns, op.ifname)
        index = self._alloc(op.ns)
        seq = self._next_seq()
        if isinstance(op, CreateBond):
            msg = rtnl.new_bond(seq, index, op.ifname, op.mode, op.mtu)
        elif isinstance(op, CreateVrf):
            msg = rtnl.new_vrf(seq, index, op.ifname, op.table, op.mtu)
        else:
            msg = rtnl.new_kind(seq, op.ifname, "dummy", index, op.mtu)
        return self._named(op.ns, op.ifname, index, op.alias, k, [_Msg(op.ns, msg, k, index)])

    def _encode_on_parent(self, k: int, op: CreateMacvlan | CreateVlan,
                          batch: _Batch) -> list[_Msg]:
        """A macvlan or vlan: a device on another of the node's devices."""
        _check_ifname(op.ifname)
        if isinstance(op, CreateMacvlan) and op.mode not in rtnl.MACVLAN_MODES:
            raise _Refused(f"invalid macvlan mode {op.mode!r} ({', '.join(rtnl.MACVLAN_MODES)})")
        if isinstance(op, CreateVlan) and not 1 <= op.vid <= MAX_VLAN:
            raise _Refused(f"invalid vlan id {op.vid} (1 to {MAX_VLAN})")
        parent = self._index(op.ns, op.parent)
        self._must_be_free(op.ns, op.ifname)
        index = self._alloc(op.ns)
        seq = self._next_seq()
        msg = (rtnl.new_macvlan(seq, index, op.ifname, parent, op.mode, op.mtu)
               if isinstance(op, CreateMacvlan)
               else rtnl.new_vlan(seq, index, op.ifname, parent, op.vid, op.mtu))
        return self._named(op.ns, op.ifname, index, op.alias, k, [_Msg(op.ns, msg, k, index)])

    def _encode_vxlan(self, k: int, op: CreateVxlan, batch: _Batch) -> list[_Msg]:
        _check_ifname(op.ifname)
        if not 0 <= op.vni < 1 << 24:
            raise _Refused(f"invalid VXLAN id {op.vni} (0 to 16777215)")
        if not 0 < op.port < 1 << 16:
            raise _Refused(f"invalid UDP port {op.port}")
        try:
            remote = ipaddress.ip_address(op.remote)
            if op.local and ipaddress.ip_address(op.local).version != remote.version:
                raise _Refused("local and remote addresses are of different families")
        except ValueError as err:
            raise _Refused(f"invalid address: {err}") from None
        if op.underlay:
            return self._encode_underlay_vxlan(k, op, batch)
        dev = self._index(op.ns, op.dev) if op.dev else None
        self._must_be_free(op.ns, op.ifname)
        index = self._alloc(op.ns)
        msg = rtnl.new_vxlan(self._next_seq(), index, op.ifname, op.vni, op.remote, op.local,
                             dev, op.port, op.mtu)
        return self._named(op.ns, op.ifname, index, op.alias, k, [_Msg(op.ns, msg, k, index)])

    def _encode_underlay_vxlan(self, k: int, op: CreateVxlan, batch: _Batch) -> list[_Msg]:
        """A cable to another host: the vxlan is made by a socket in the host's namespace
        (so its UDP socket and underlay device are the host's) and put straight into the
        node. Its index is the kernel's choice (one chosen here could be taken in the host,
        where the kernel looks first), so it is named by its name afterwards."""
        self._must_be_free(op.ns, op.ifname)
        dev = None
        if op.dev:
            try:
                dev = socket.if_nametoindex(op.dev)
            except OSError:
                raise _Refused(f"no such underlay interface {op.dev} on this host") from None
        fd = self._ns_fd(op.ns, batch)
        msg = rtnl.new_vxlan(self._next_seq(), 0, op.ifname, op.vni, op.remote, op.local,
                             dev, op.port, op.mtu, into_nsfd=fd)
        undo = (op.ns, rtnl.del_link_named(self._next_seq(), op.ifname))
        msgs = [_Msg(HOST, msg, k, undo=undo)]
        if op.alias:
            msgs.append(_Msg(op.ns, rtnl.set_alias_named(self._next_seq(), op.ifname, op.alias),
                             k))
        return msgs

    def _encode_set_link(self, k: int, op: SetLink) -> _Msg:
        index = self._index(op.ns, op.ifname)
        master: int | None = None
        if op.master == "":
            master = 0  # detach from the bridge
        elif op.master is not None:
            master = self._links[op.ns].get(op.master)
            if master is None:
                raise _Refused(f"no such bridge {op.master} in that node")
        mac = _mac(op.mac) if op.mac else None
        msg = rtnl.set_link(self._next_seq(), index, mtu=op.mtu, mac=mac, master=master,
                            addrgen_none=op.addrgen_none)
        return _Msg(op.ns, msg, k)

    def _encode_port_vlans(self, k: int, op: SetPortVlans) -> list[_Msg]:
        vids = ([op.pvid] if op.pvid is not None else []) + list(op.tagged)
        named = [*vids, *op.drop]
        if not vids or not all(1 <= v <= MAX_VLAN for v in named):
            raise _Refused(f"invalid vlan ids {named} (1 to {MAX_VLAN})")
        index = self._index(op.ns, op.ifname)
        msgs = []
        if op.pvid is not None:
            # An access port's VLAN, or a trunk's native one: untagged, and for what
            # arrives untagged, instead of VLAN 1 (removed before a trunk's tagged VLANs
            # are added: a trunk with another native VLAN may carry VLAN 1 tagged).
            access = rtnl.BRIDGE_VLAN_INFO_PVID | rtnl.BRIDGE_VLAN_INFO_UNTAGGED
            msgs.append(_Msg(op.ns, rtnl.port_vlans(self._next_seq(), index,
                                                    [(op.pvid, access)], add=True), k))
            if op.pvid != DEFAULT_PVID:
                msgs.append(_Msg(op.ns, rtnl.port_vlans(self._next_seq(), index,
                                                        [(DEFAULT_PVID, 0)], add=False), k))
        if op.tagged:  # a trunk: tagged, besides its native VLAN untagged
            msgs.append(_Msg(op.ns, rtnl.port_vlans(self._next_seq(), index,
                                                    [(v, 0) for v in op.tagged], add=True), k))
        dropped = [v for v in op.drop if v not in vids]
        if dropped:  # after the new PVID is in: the port is never without one
            msgs.append(_Msg(op.ns, rtnl.port_vlans(self._next_seq(), index,
                                                    [(v, 0) for v in dropped], add=False), k))
        return msgs

    def _encode_route(self, k: int, op: AddRoute | DeleteRoute) -> _Msg:
        if op.family not in (4, 6):
            raise _Refused(f"invalid address family {op.family} (4 or 6)")
        try:
            dst = ipaddress.ip_network("0.0.0.0/0" if op.family == 4 else "::/0")
            if op.to != "default":
                dst = ipaddress.ip_network(op.to)
            via = ipaddress.ip_address(op.via) if op.via else None
        except ValueError as err:
            raise _Refused(f"invalid route: {err}") from None
        if dst.version != op.family or (via is not None and via.version != dst.version):
            raise _Refused("the destination and the gateway are of different families")
        oif = self._index(op.ns, op.dev) if op.dev else None
        if isinstance(op, AddRoute) and via is None and oif is None:
            raise _Refused("a route needs a gateway (via) or an interface (dev)")
        msg = rtnl.route(self._next_seq(), isinstance(op, AddRoute), dst, via, oif, op.metric,
                         op.table)
        return _Msg(op.ns, msg, k)

    def _named(self, ns: str, ifname: str, index: int, alias: str, k: int,
               msgs: list[_Msg], late: bool = False) -> list[_Msg]:
        """Record a link about to be made, and mark it with the lab's alias."""
        self._links[ns][ifname] = index
        if alias:
            msgs.append(_Msg(ns, rtnl.set_link(self._next_seq(), index, alias=alias), k,
                             late=late))
        return msgs

    # --- what we know of each namespace's links ---------------------------------------
    def _table(self, ns: str) -> dict[str, int]:
        table = self._links.get(ns)
        if table is None:
            try:
                with nsfs.entered(ns):
                    table = {name: index for index, name in socket.if_nameindex()}
            except FileNotFoundError:
                raise _Refused(f"no such namespace {ns}") from None
            self._links[ns] = table
            self._next.pop(ns, None)
        return table

    def _index(self, ns: str, ifname: str) -> int:
        index = self._table(ns).get(ifname)
        if index is None:
            raise _Refused(f"no such interface {ifname} in that node")
        return index

    def _must_be_free(self, ns: str, ifname: str) -> None:
        if ifname in self._table(ns):
            raise _Refused(f"an interface named {ifname} already exists in {ns}")

    def _alloc(self, ns: str, avoid: int | None = None) -> int:
        """An ifindex for a new link in ns: above every index we know there (and not
        `avoid`)."""
        index = self._next.get(ns) or max(self._table(ns).values(), default=0) + 1
        if index == avoid:
            index += 1
        self._next[ns] = index + 1
        return index

    def socket_in(self, ns: str) -> socket.socket:
        """The route socket this kernel sends through in `ns` (FileNotFoundError when the
        namespace is gone), for a question asked between batches."""
        return self._socks.get(ns)

    def index_known(self, ns: str, ifname: str) -> int | None:
        """The ifindex of a link of `ns` as netlab knows it (None: not known), asking the
        kernel nothing."""
        return self._links.get(ns, {}).get(ifname)

    def forget_links(self, ns: str | None = None) -> None:
        """Drop what netlab knows of the links in `ns` (or everywhere): something else
        (an `exec:` command, a service) may have made or removed links there."""
        self._forget_links(ns)

    def _forget_links(self, ns: str | None = None) -> None:
        if ns is None:
            self._links.clear()
            self._next.clear()
        else:
            self._links.pop(ns, None)
            self._next.pop(ns, None)

    def _ns_fd(self, ns: str, batch: _Batch) -> int:
        """An fd of namespace `ns` for the batch's messages, opened once per batch."""
        fd = batch.fds.get(ns)
        if fd is None:
            fd = batch.fds[ns] = self._open_ns(ns)
        return fd

    def _open_ns(self, ns: str) -> int:
        try:
            return nsfs.open_fd(ns)
        except FileNotFoundError:
            raise _Refused(f"no such namespace {ns}") from None

    def _next_seq(self) -> int:
        self._seq = self._seq % 0xFFFFFFFF + 1
        return self._seq

    # --- ops that are not netlink messages --------------------------------------------
    def _single(self, k: int, op: Op, begin: BeginHook) -> None:
        _check_ns(op.ns)
        one_by_one = ONE_BY_ONE.get(type(op))
        if one_by_one is not None:
            one_by_one(self, k, op, begin)
        elif isinstance(op, SetSysctl):
            path = _sysctl_path(op.key)
            begin(k, k + 1)
            _in_ns(op.ns, lambda: _write(path, op.value))
        else:
            raise _Refused(f"unknown op {op.kind}")

    def _tuntap(self, k: int, op: CreateTunTap, begin: BeginHook) -> None:
        _check_ifname(op.ifname)
        if op.mode not in ("tun", "tap"):
            raise _Refused(f"invalid mode {op.mode!r} (tun or tap)")
        self._must_be_free(op.ns, op.ifname)
        begin(k, k + 1)
        index = tun.create(op.ns, op.ifname, op.mode, op.uid, op.gid)
        self._links[op.ns][op.ifname] = index
        self._next.pop(op.ns, None)  # the kernel chose this index
        if not (op.alias or op.mtu):
            return
        msg = rtnl.set_link(self._next_seq(), index, alias=op.alias or None, mtu=op.mtu)
        try:
            refused = nlsock.exchange(self._socks.get(op.ns), [msg])
        except OSError:
            refused = {0: (errno.EIO, "")}
        if refused:
            with contextlib.suppress(OSError):
                nlsock.exchange(self._socks.get(op.ns), [rtnl.del_link(self._next_seq(), index)])
            self._forget_links(op.ns)
            code, text = next(iter(refused.values()))
            reason, hint = explain(code, text, op)
            raise OpFailed(k, op, reason, hint)

    # --- errors -----------------------------------------------------------------------
    @staticmethod
    def _failed(k: int, op: Op, err: BaseException) -> OpFailed:
        if isinstance(err, _Refused):
            return OpFailed(k, op, err.reason, err.hint)
        if isinstance(err, OSError) and err.errno:
            reason, hint = explain(err.errno, "", op)
            if isinstance(op, CreateTunTap) and err.errno == errno.EINVAL:
                reason = "the kernel refused the tun/tap settings (invalid value)"
            return OpFailed(k, op, reason, hint)
        return OpFailed(k, op, f"{type(err).__name__}: {err}")


def _underlay(op: Op) -> bool:
    return isinstance(op, CreateVxlan) and op.underlay


def _sysctl_path(key: str) -> str:
    path = sysctls.path_of(key)
    if path is None:
        raise _Refused(f"refusing sysctl {key!r}: netlab sets only net.* keys")
    return path


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(f"{value}\n")
    except FileNotFoundError:
        raise _Refused(f"no such sysctl {path[len('/proc/sys/'):].replace('/', '.')} "
                       "in this kernel (or that interface does not exist)") from None
    except OSError as err:
        if err.errno == errno.EINVAL:
            raise _Refused(f"invalid value {value!r} for that sysctl") from None
        if err.errno in (errno.EACCES, errno.EPERM) and _host_only(path):
            key = path[len("/proc/sys/"):].replace("/", ".")
            raise _Refused(
                f"{key} is not per-namespace: it is the host's, and the kernel lets no "
                "namespace change it",
                f"leave it out of the node, or set it on the host (sysctl -w {key}=...)",
            ) from None
        raise


def _host_only(path: str) -> bool:
    """A sysctl the kernel keeps for the host alone shows read-only in every other
    namespace (even to root); a per-namespace one is writable there."""
    try:
        return os.stat(path).st_mode & 0o222 == 0
    except OSError:
        return False


def _in_ns(ns: str, action: Callable[[], None]) -> None:
    """/proc/sys/net shows the namespace of the thread that opens it: enter, act, leave."""
    try:
        with nsfs.entered(ns):
            action()
    except FileNotFoundError as err:
        if err.filename and str(err.filename).startswith(NETNS_DIR):
            raise _Refused(f"no such namespace {ns}") from None
        raise


# The kernel layer's kind table: each op that makes a device (plan/kind_ops.py) -> how it is
# sent. ENCODERS turn it into netlink messages, sent in batches; ONE_BY_ONE make it alone
# (a tun/tap: opened through /dev/net/tun, then named and sized by a netlink message).
ENCODERS: dict[type[Op], Callable[[NetlinkKernel, int, Any, _Batch], list[_Msg]]] = {
    CreateVeth: NetlinkKernel._encode_veth,
    CreateBridge: NetlinkKernel._encode_bridge,
    CreateVxlan: NetlinkKernel._encode_vxlan,
    CreateDummy: NetlinkKernel._encode_standalone,
    CreateBond: NetlinkKernel._encode_standalone,
    CreateVrf: NetlinkKernel._encode_standalone,
    CreateMacvlan: NetlinkKernel._encode_on_parent,
    CreateVlan: NetlinkKernel._encode_on_parent,
}
ONE_BY_ONE: dict[type[Op], Callable[[NetlinkKernel, int, Any, BeginHook], None]] = {
    CreateTunTap: NetlinkKernel._tuntap,
}
NETLINK_OPS = (*ENCODERS, DeleteLink, SetLink, SetLinkUp, SetLinkDown, AddAddress,
               DeleteAddress, AddRoute, DeleteRoute, SetQdisc, DeleteQdisc,
               SetVlanFiltering, SetPortVlans)


def _removed(ns: str) -> OSError | None:
    """Remove namespace `ns`: None, or why not."""
    try:
        nsfs.remove(ns)
    except OSError as err:
        return err
    return None
