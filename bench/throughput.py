"""Throughput of a TCP stream through the kernel's veth pair, through netlab's userspace
switch on TAP devices, and through the userspace VPN on TUN devices (plain and sealed).

    sudo .venv/bin/python bench/throughput.py [--seconds 2]

Why containers use veth and VMs use TAP, in numbers: a veth pair never leaves the kernel;
every frame through a TAP crosses into a program and back. Prints Mbit/s; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netlab.api import Lab  # noqa: E402
from netlab.pytest_plugin import LabHandle, unique_name  # noqa: E402

CHUNK = b"\0" * 65536


def stream(lab: LabHandle, client: str, server: str, address: str, seconds: float) -> float:
    """Mbit/s of one TCP stream from client to server:address for `seconds`."""
    listener = lab.socket(server)
    listener.bind((address, 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received = 0
    done = threading.Event()

    def sink() -> None:
        nonlocal received
        conn, _ = listener.accept()
        with conn:
            while chunk := conn.recv(1 << 20):
                received += len(chunk)
        done.set()

    thread = threading.Thread(target=sink, daemon=True)
    thread.start()
    with lab.socket(client) as sock:
        sock.connect((address, port))
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            sock.sendall(CHUNK)
    done.wait(10)
    elapsed = time.perf_counter() - start
    listener.close()
    return received * 8 / elapsed / 1e6


def measure(topology: str, client: str, server: str, address: str, seconds: float,
            overrides: dict[str, str] | None = None) -> float:
    probe = Lab.from_file(ROOT / "topologies" / topology, overrides)
    lab = Lab(probe.topology, unique_name(probe.topology.name), probe.source)
    lab.up()
    try:
        handle = LabHandle(lab)
        handle.ping(client, address, count=5)  # resolve ARP, warm the path
        return stream(handle, client, server, address, seconds)
    finally:
        lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    rows = [
        ("veth pair (kernel only)", "veth-pair.yaml", "a", "b", "10.0.0.2", None),
        ("TAP + userspace switch", "tap-switch.yaml", "h1", "h2", "10.7.0.2", None),
        ("TUN + userspace VPN, plain", "vpn.yaml", "a1", "b1", "10.2.0.10", {"key": ""}),
        ("TUN + userspace VPN, sealed", "vpn.yaml", "a1", "b1", "10.2.0.10", None),
    ]
    print(f"{'path':<30}{'Mbit/s':>10}")
    for label, topo, client, server, address, overrides in rows:
        rate = measure(topo, client, server, address, args.seconds, overrides)
        print(f"{label:<30}{rate:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
