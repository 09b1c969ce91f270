"""Raw NETLINK_ROUTE sockets: opened inside a namespace without forking, a batch of
messages sent in one sendmsg, replies matched by sequence number.

A netlink socket acts on the namespace it was born in, for life. The kernel handles the
messages of one send() one after the other, inside that call; a failing message does not
stop the ones after it. Only the last message of a batch asks for an ack: errors are
always reported, so a batch that succeeds costs one send and one recv.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from netlab.kernel import nsfs, rtnl

ACK_TIMEOUT = 30.0  # the kernel answers inside send(); this only guards against a bug
_RCVBUF = 1 << 20
SO_RCVBUFFORCE = 33  # not exported by the socket module


def open_here() -> socket.socket:
    """A route socket in the current thread's namespace."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    try:
        sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_EXT_ACK, 1)
        sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_CAP_ACK, 1)  # short acks
        try:
            # Room for many error acks at once; FORCE passes rmem_max (we are root).
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, _RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        sock.bind((0, 0))
        sock.settimeout(ACK_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    return sock


def open_in(ns: str) -> socket.socket:
    with nsfs.entered(ns):
        return open_here()


def exchange(sock: socket.socket, msgs: Sequence[bytearray]) -> dict[int, tuple[int, str]]:
    """Send msgs as one batch; return {seq: (errno, ext-ack text)} for those refused.
    Raises OSError (or TimeoutError) if the batch's fate is unknown."""
    if not msgs:
        return {}
    rtnl.set_ack(msgs[-1])
    last = rtnl.seq_of(msgs[-1])
    wanted = {rtnl.seq_of(m) for m in msgs}
    sock.send(b"".join(msgs))
    errors: dict[int, tuple[int, str]] = {}
    buf = bytearray(65536)
    while True:
        size = sock.recv_into(buf)
        for reply in rtnl.replies(memoryview(buf)[:size]):
            if reply.kind != rtnl.NLMSG_ERROR or reply.seq not in wanted:
                continue  # a stale answer to an earlier, abandoned request
            if reply.error:
                errors[reply.seq] = (reply.error, reply.text)
            if reply.seq == last:
                return errors


def dump(sock: socket.socket, msg: bytearray) -> list[rtnl.Reply]:
    """Send a dump request and gather its answer (raises OSError on a refusal)."""
    seq = rtnl.seq_of(msg)
    sock.send(msg)
    out: list[rtnl.Reply] = []
    buf = bytearray(1 << 16)
    while True:
        size = sock.recv_into(buf)
        for reply in rtnl.replies(memoryview(buf)[:size]):
            if reply.seq != seq:
                continue
            if reply.kind == rtnl.NLMSG_DONE:
                return out
            if reply.kind == rtnl.NLMSG_ERROR:
                if reply.error:
                    raise OSError(reply.error, reply.text or "dump refused")
                return out
            out.append(reply)
