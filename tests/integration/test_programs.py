"""Userspace programs in the packet path (issue 6): the VPN tunnel over TUN devices and the
learning switch over TAP devices, as the example labs run them (as services)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

from netlab.kernel.capture import Capture
from netlab.kernel.services import stop_service
from netlab.plan.ops import StartService
from netlab.pytest_plugin import LabFactory, LabHandle

TOPO = Path(__file__).parents[2] / "topologies"
SECRET = b"attack at dawn, bring sandwiches " * 8


def _tcp_through(lab: LabHandle, payload: bytes) -> bytes:
    """Send payload from a1 to b1 over TCP; b1 echoes it back."""
    listener = lab.socket("b1")
    listener.bind(("10.2.0.10", 0))
    listener.listen(1)
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got = b""
            while len(got) < len(payload):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
            conn.sendall(got)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with lab.socket("a1") as client:
            client.settimeout(10)
            client.connect(("10.2.0.10", port))
            client.sendall(payload)
            back = b""
            while len(back) < len(payload):
                chunk = client.recv(65536)
                if not chunk:
                    break
                back += chunk
            return back
    finally:
        thread.join(10)
        listener.close()


def _underlay(lab: LabHandle, payload: bytes) -> tuple[bytes, list[bytes]]:
    """Send payload across the VPN while capturing on the internet router's side."""
    with Capture(lab.namespace("inet"), "eth0") as cap:
        echoed = _tcp_through(lab, payload)
        frames = [p.data for p in cap.pending()]
    return echoed, frames


def _ipv4(frames: list[bytes]) -> list[bytes]:
    return [f[14:] for f in frames if f[12:14] == b"\x08\x00"]


def _service_dir(lab: LabHandle, node: str) -> str:
    op = next(o for o in lab.lab.plan.ops
              if isinstance(o, StartService) and o.ns == lab.namespace(node))
    return op.node_dir


def test_vpn_carries_tcp_sealed_over_udp(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml")
    echoed, frames = _underlay(lab, SECRET)
    assert echoed == SECRET
    packets = _ipv4(frames)
    assert packets, "nothing crossed the underlay"
    for ip in packets:
        header = (ip[0] & 0x0F) * 4
        assert ip[9] == 17, "only UDP may cross the underlay"
        ends = {socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])}
        assert ends == {"198.51.100.1", "203.0.113.1"}
        assert int.from_bytes(ip[header : header + 2], "big") == 5000
    wire = b"".join(frames)
    assert b"attack at dawn" not in wire, "the key is set: no plaintext on the wire"
    # The tunnel attached to its TUN as the device's owner, not as root.
    log = Path(_service_dir(lab, "gwa")) / "services" / "vpn" / "log"
    assert "uid 1000" in log.read_text()


def test_vpn_without_key_shows_plaintext(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml", {"key": ""})
    echoed, frames = _underlay(lab, SECRET)
    assert echoed == SECRET
    assert b"attack at dawn" in b"".join(frames)


def test_stopping_the_tunnel_cuts_the_sites_apart(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml")
    assert lab.ping("a1", "b1")
    assert stop_service(_service_dir(lab, "gwa"), "vpn")
    assert not lab.ping("a1", "b1", timeout=0.5, count=2)
    assert lab.status()["nodes"][1]["services"][0]["running"] is False
    # Now the device is free; anyone but its owner (uid 1000) is refused by the kernel.
    ns = lab.namespace("gwa")
    refused = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "netlab.programs.tunnel",
         "--dev", "tun0", "--listen", "198.51.100.1:5001", "--peer", "203.0.113.1:5001",
         "--user", "1001", "--group", "1001"],
        capture_output=True, text=True, timeout=30,
    )
    assert refused.returncode == 1
    assert "only its owner" in refused.stderr


def test_userspace_switch_joins_taps(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "tap-switch.yaml")
    for source, target in (("h1", "h2"), ("h1", "h3"), ("h2", "h3"), ("h1", "fd00:7::2")):
        assert lab.ping(source, target, count=5), f"{source} -> {target}"
    # The program learned where each host's MAC lives; status shows it.
    switch = next(n for n in lab.status()["nodes"] if n["name"] == "sw")["services"][0]
    assert switch["running"]
    deadline_tries = 20
    table: dict[str, object] = {}
    for _ in range(deadline_tries):  # the table is written once a second
        table = next(n for n in lab.status()["nodes"]
                     if n["name"] == "sw")["services"][0].get("mac_table", {})
        if len(table.get("macs", [])) == 3:  # type: ignore[arg-type]
            break
        import time

        time.sleep(0.2)
    ports = {m["port"] for m in table["macs"]}  # type: ignore[index, union-attr]
    assert ports == {"h1:tap0", "h2:tap0", "h3:tap0"}
