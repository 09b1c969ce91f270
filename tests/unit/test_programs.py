"""The userspace programs' pure parts: switching decisions and sealing."""

from __future__ import annotations

import os

from netlab.programs.tapswitch import LearningSwitch, describe
from netlab.programs.tunnel import Sealer

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
