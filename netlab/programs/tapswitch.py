"""A userspace learning switch on TAP devices: the hypervisor's side of a VM's NIC.

    python -m netlab.programs.tapswitch --tap tap0 --tap tap1 --tap tap2 [-v]
    netlab-tapswitch --tap h1:tap0 --tap h2:tap0      # TAPs in other nodes of the lab

Every TAP device is a port: a name in this node, or NODE:NAME in another node of the same
lab (the program, like a hypervisor, holds the fd; the node's kernel sees the NIC). A frame
read from one port is sent out of the port where its destination MAC was last seen as a
source, or out of every other port when that is unknown (or broadcast/multicast): what a
Linux bridge does in the kernel, done here in Python so each step can be watched (-v prints
source, destination and EtherType of each frame). The learned table is written as JSON to
$NETLAB_SERVICE_DIR/mac-table.json (or --table FILE), where `netlab status` finds it.

A port whose device is down (the kernel refuses the frame) is skipped, and the switch goes
on with the others; the log says when a port stops and starts taking frames. A port that
does not exist is refused at the start: the switch never creates a TAP.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import sys
import time
from pathlib import Path

from netlab.kernel.tunfd import attach_in, open_device
from netlab.programs import say, stop_on_signals

PROG = "netlab-tapswitch"

AGEING = 300.0  # seconds, like a Linux bridge
ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q"}


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class LearningSwitch:
    """Pure forwarding logic: which ports a frame goes out of, and what was learned."""

    def __init__(self, ports: list[str], ageing: float = AGEING) -> None:
        self.ports = ports
        self.ageing = ageing
        self.table: dict[bytes, tuple[str, float]] = {}

    def forward(self, in_port: str, frame: bytes, now: float) -> list[str]:
        if len(frame) < 14:
            return []
        dst, src = frame[0:6], frame[6:12]
        if not src[0] & 1:  # a multicast source is bogus: never learn it
            self.table[src] = (in_port, now)
        if dst[0] & 1:  # broadcast or multicast: flood
            return [p for p in self.ports if p != in_port]
        known = self.table.get(dst)
        if known and now - known[1] <= self.ageing:
            return [] if known[0] == in_port else [known[0]]
        return [p for p in self.ports if p != in_port]

    def snapshot(self, now: float) -> list[dict[str, object]]:
        return [
            {"mac": mac_text(mac), "port": port, "age": round(now - seen, 1)}
            for mac, (port, seen) in sorted(self.table.items(), key=lambda kv: kv[1][0])
            if now - seen <= self.ageing
        ]


class PortError(Exception):
    """A port that cannot be opened: one line for the user."""


def open_port(spec: str) -> int:
    """The fd of TAP `spec`: NAME here, or NODE:NAME in another node of this lab."""
    node, sep, ifname = spec.rpartition(":")
    lab = os.environ.get("NETLAB_LAB")
    ns = f"netlab-{lab}-{node}" if lab else node  # outside a lab: a namespace name
    where = f"node {node}" if sep else "this node"
    try:
        if not sep:
            return open_device(spec, "tap")
        try:
            return attach_in(ns, ifname, "tap")
        except FileNotFoundError as error:
            if error.errno == errno.ENOENT:  # the namespace, not the device
                raise PortError(f"{spec}: no node {node} in this lab") from None
            raise
    except FileNotFoundError:
        raise PortError(f"{spec}: {where} has no device {ifname} (the switch attaches to "
                        "existing TAPs; it does not create them)") from None
    except PermissionError:
        raise PortError(f"{spec}: not allowed to attach as uid {os.geteuid()}") from None
    except OSError as error:
        reasons = {errno.EINVAL: "it is not a TAP device", errno.EBUSY: "another program holds it"}
        raise PortError(f"{spec}: {reasons.get(error.errno or 0, error.strerror)}") from None


class Ports:
    """The open TAP fds, and which of them the kernel refuses frames on just now."""

    def __init__(self, fds: dict[str, int]) -> None:
        self.fds = fds
        self.refusing: set[str] = set()

    def send(self, port: str, frame: bytes) -> bool:
        """Write the frame out of port; False (and a line, once) if its device refuses."""
        try:
            os.write(self.fds[port], frame)
        except OSError as error:
            if port not in self.refusing:
                self.refusing.add(port)
                state = " (is it down?)" if error.errno == errno.EIO else ""
                say(PROG, f"port {port} refuses frames: {error.strerror}{state}; "
                    "skipping it")
            return False
        if port in self.refusing:
            self.refusing.discard(port)
            say(PROG, f"port {port} takes frames again")
        return True


def describe(frame: bytes) -> str:
    ethertype = int.from_bytes(frame[12:14], "big") if len(frame) >= 14 else 0
    name = ETHERTYPES.get(ethertype, f"0x{ethertype:04x}")
    return f"{mac_text(frame[6:12])} > {mac_text(frame[0:6])} {name} {len(frame)} bytes"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab-tapswitch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tap", action="append", required=True, help="a TAP port (repeat)")
    parser.add_argument("--table", type=Path, help="where to write the MAC table (JSON)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    table_file = args.table
    if table_file is None and os.environ.get("NETLAB_SERVICE_DIR"):
        table_file = Path(os.environ["NETLAB_SERVICE_DIR"]) / "mac-table.json"
    try:
        fds = {name: open_port(name) for name in args.tap}
    except PortError as error:
        print(f"{PROG}: {error}", file=sys.stderr, flush=True)
        return 1
    switch = LearningSwitch(list(fds))
    ports = Ports(fds)
    selector = selectors.DefaultSelector()
    for name, fd in fds.items():
        selector.register(fd, selectors.EVENT_READ, name)
    stop = stop_on_signals()
    say(PROG, f"ports {', '.join(fds)}")
    written = 0.0
    frames = 0
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.5):
            try:
                frame = os.read(fds[key.data], 65535)
            except OSError as error:  # the device went away: the port is dead for good
                selector.unregister(fds[key.data])
                say(PROG, f"port {key.data} is gone: {error.strerror}")
                continue
            frames += 1
            now = time.monotonic()
            out = [p for p in switch.forward(key.data, frame, now) if ports.send(p, frame)]
            if args.verbose:
                print(f"{key.data}: {describe(frame)} -> {', '.join(out) or 'dropped'}",
                      flush=True)
        now = time.monotonic()
        if table_file is not None and now - written >= 1.0:
            tmp = table_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"ports": list(fds), "frames": frames,
                                       "refusing": sorted(ports.refusing),
                                       "macs": switch.snapshot(now)}))
            os.replace(tmp, table_file)
            written = now
    say(PROG, f"{frames} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
