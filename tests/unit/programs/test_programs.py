"""The userspace programs' pure parts: switching decisions and sealing."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from netlab.programs import RateLimit
from netlab.programs.tapswitch import LearningSwitch, describe
from netlab.programs.tunnel import Refused, Sealer, Tunnel, looks_like_ip, main, parse_key

A, B, C = (bytes.fromhex(f"02000000000{i}") for i in (1, 2, 3))
BROADCAST = b"\xff" * 6


def frame(dst: bytes, src: bytes, ethertype: int = 0x0800) -> bytes:
    return dst + src + ethertype.to_bytes(2, "big") + b"\0" * 46


def test_switch_floods_unknown_then_forwards_learned() -> None:
    sw = LearningSwitch(["tap0", "tap1", "tap2"])
    assert sw.forward("tap0", frame(BROADCAST, A, 0x0806), 0) == ["tap1", "tap2"]
    assert sw.forward("tap1", frame(A, B), 1) == ["tap0"]  # A was learned on tap0
    assert sw.forward("tap0", frame(B, A), 2) == ["tap1"]  # and B on tap1
    assert sw.forward("tap0", frame(C, A), 3) == ["tap1", "tap2"]  # C unknown: flood
    assert sw.forward("tap0", frame(A, B), 4) == []  # B moved to tap0, A is there: drop
    assert {e["mac"]: e["port"] for e in sw.snapshot(5)} == {
        "02:00:00:00:00:01": "tap0", "02:00:00:00:00:02": "tap0"}


def test_switch_forgets_after_ageing_and_never_learns_multicast_sources() -> None:
    sw = LearningSwitch(["p1", "p2", "p3"], ageing=10)
    sw.forward("p1", frame(B, A), 0)
    assert sw.forward("p2", frame(A, B), 5) == ["p1"]
    assert sw.forward("p3", frame(A, C), 20) == ["p1", "p2"]  # A aged out
    sw.forward("p1", frame(A, b"\x01" + A[1:]), 21)
    assert all(not bytes.fromhex(e["mac"].replace(":", ""))[0] & 1 for e in sw.snapshot(21))
    assert sw.forward("p1", b"short", 22) == []


def test_describe_names_the_ethertype() -> None:
    assert describe(frame(BROADCAST, A, 0x0806)).endswith("ARP 60 bytes")
    assert "IPv6" in describe(frame(B, A, 0x86DD))


def test_sealer_round_trip_and_tamper() -> None:
    key = os.urandom(32)
    a, b = Sealer(key), Sealer(key)
    packet = b"\x45" + b"secret payload" * 4
    sealed = a.seal(packet)
    assert b"secret payload" not in sealed
    assert b.open(sealed) == packet
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    assert b.open(tampered) is None
    assert Sealer(os.urandom(32)).open(sealed) is None
    assert Sealer(None).seal(packet) == packet


IP_PACKET = b"\x45\x00\x00\x1c" + b"\0" * 24  # IPv4, total length 28


def test_rate_limit_counts_what_it_holds_back() -> None:
    limit = RateLimit(10)
    assert limit.allow("x", 0) == 0
    assert limit.allow("x", 1) is None
    assert limit.allow("x", 2) is None
    assert limit.allow("y", 2) == 0  # another key is news
    assert limit.allow("x", 10) == 2
    limit.forget("x")
    assert limit.allow("x", 11) == 0


def test_key_is_checked_and_never_echoed() -> None:
    assert parse_key(None) is None and parse_key("") is None
    assert parse_key("ab" * 32) == bytes([0xAB]) * 32
    for bad in ("zz", "ab" * 31, "ab" * 33, "g" * 64):
        with pytest.raises(Refused) as refused:
            parse_key(bad)
        assert refused.value.code == 2
        assert "64 hex digits" in str(refused.value) and bad not in str(refused.value)


def test_bad_key_and_busy_port_are_one_line(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETLAB_TUNNEL_KEY", raising=False)
    args = ["--dev", "tun-absent", "--peer", "127.0.0.1:9"]
    assert main([*args, "--listen", "127.0.0.1:0", "--key", "zz"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "netlab-tunnel: the key (--key or NETLAB_TUNNEL_KEY) must be 64 hex digits "
        "(32 bytes); this one has 2 characters"]
    monkeypatch.setenv("NETLAB_TUNNEL_KEY", "not hex")
    assert main([*args, "--listen", "127.0.0.1:0"]) == 2
    assert "must be 64 hex digits" in capsys.readouterr().err
    monkeypatch.delenv("NETLAB_TUNNEL_KEY")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        assert main([*args, "--listen", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"netlab-tunnel: cannot listen on 127.0.0.1:{port}: Address already in "
                   "use (another program, or another tunnel, has it)"]
    assert main([*args, "--listen", "nonsense"]) == 2
    assert "is not ADDRESS:PORT" in capsys.readouterr().err


def test_looks_like_ip() -> None:
    assert looks_like_ip(IP_PACKET)
    assert not looks_like_ip(IP_PACKET + b"x")
    assert looks_like_ip(b"\x60" + b"\0" * 3 + b"\x00\x04" + b"\0" * 34 + b"abcd")
    assert not looks_like_ip(os.urandom(12) + b"sealed stuff that is not ip")


class _Loopback:
    """A tunnel on a socketpair (its 'TUN') and a loopback UDP socket, and a peer socket."""

    def __init__(self, key: bytes | None) -> None:
        self.tun, self.tun_far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.peer.bind(("127.0.0.1", 0))
        self.peer.connect(self.udp.getsockname())
        self.tunnel = Tunnel(self.tun.fileno(), self.udp, self.peer.getsockname(),
                             Sealer(key), report=10)

    def close(self) -> None:
        for s in (self.tun, self.tun_far, self.udp, self.peer):
            s.close()


def test_rejections_are_logged_once_then_counted(capsys: pytest.CaptureFixture[str]) -> None:
    key = os.urandom(32)
    loop = _Loopback(key)
    try:
        other = Sealer(os.urandom(32))
        for now in range(5):  # five datagrams sealed with another key
            loop.peer.send(other.seal(IP_PACKET))
            loop.tunnel.from_peer(float(now))
        loop.peer.send(IP_PACKET)  # not sealed at all
        loop.tunnel.from_peer(5.0)
        loop.peer.send(Sealer(key).seal(IP_PACKET))  # the right key
        loop.tunnel.from_peer(6.0)
        assert loop.tun_far.recv(100) == IP_PACKET
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.sendto(Sealer(key).seal(IP_PACKET), loop.udp.getsockname())
            loop.tunnel.from_peer(7.0)
        loop.tunnel.tick(8.0)  # within the report period: nothing
        loop.tunnel.tick(20.0)
        loop.tunnel.tick(40.0)  # nothing changed since: nothing
    finally:
        loop.close()
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(": ", 2)[-1] for ln in lines[:2]] == [
        "fails authentication (a different key at the peer?)",
        "not sealed, a plain IP packet (has the peer no key?)",
    ]
    assert lines[2].endswith(f", not the peer 127.0.0.1:{loop.tunnel.peer[1]}")
    assert lines[3:] == ["netlab-tunnel: 0 packets sent, 1 received, 7 rejected, 0 dropped"]


def test_unsealed_end_rejects_sealed_datagrams(capsys: pytest.CaptureFixture[str]) -> None:
    loop = _Loopback(None)
    try:
        loop.peer.send(Sealer(os.urandom(32)).seal(IP_PACKET))
        loop.tunnel.from_peer(0.0)
    finally:
        loop.close()
    assert "not an IP packet (does the peer seal? this end has no key)" in \
        capsys.readouterr().out


class _Unreachable:
    """A socket whose sends fail while `down` (the kernel's answer with no route)."""

    down = True

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if self.down:
            raise OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))
        return len(data)


def test_send_failures_drop_the_packet_and_say_so_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    tun, tun_far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock = _Unreachable()
    tunnel = Tunnel(tun.fileno(), sock, ("192.0.2.1", 5000), Sealer(None))  # type: ignore[arg-type]
    try:
        for now in range(4):
            tun_far.send(IP_PACKET)
            tunnel.from_tun(float(now))
        sock.down = False
        tun_far.send(IP_PACKET)
        tunnel.from_tun(5.0)
    finally:
        tun.close()
        tun_far.close()
    assert tunnel.counters.dropped == 4 and tunnel.counters.to_peer == 1
    assert capsys.readouterr().out.strip().splitlines() == [
        "netlab-tunnel: send to 192.0.2.1:5000 failed: Network is unreachable, packet dropped",
        "netlab-tunnel: send to 192.0.2.1:5000 works again (after 4 failures)",
    ]
