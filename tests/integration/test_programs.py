"""Userspace programs in the packet path (issue 6): the VPN tunnel over TUN devices and the
learning switch over TAP devices, as the example labs run them (as services)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from netlab.errors import NetlabError
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
    assert stop_service(lab.namespace("gwa"), "vpn").total
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


def _log(lab: LabHandle, node: str, service: str) -> str:
    return (Path(_service_dir(lab, node)) / "services" / service / "log").read_text()


def _running(lab: LabHandle, node: str) -> bool:
    entry = next(n for n in lab.status()["nodes"] if n["name"] == node)
    return bool(entry["services"][0]["running"])


def _eventually(predicate: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_tunnel_outlives_its_underlay_going_down(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml")
    assert lab.ping("a1", "b1")
    lab.link("gwa:wan").down()
    assert not lab.ping("a1", "b1", timeout=0.3, count=4)
    assert _running(lab, "gwa"), "the tunnel must drop the packet, not die"
    lab.link("gwa:wan").up()
    assert _eventually(lambda: lab.ping("a1", "b1", timeout=0.5, count=1))
    log = _log(lab, "gwa", "vpn")
    # Several packets were dropped; one line said so, and one that it works again.
    assert log.count("Network is unreachable") == 1, log
    assert "works again" in log
    assert "Traceback" not in log


def test_tunnel_key_is_not_on_the_command_line(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml")
    key = "5c0a1f3e9b7d2c4a"  # the start of the topology's key
    assert lab.ping("a1", "b1")  # sealed with the key from NETLAB_TUNNEL_KEY
    for node in lab.status()["nodes"]:
        for service in node.get("services", []):
            assert key not in str(service["command"])
    assert key not in _log(lab, "gwa", "vpn")
    assert "(sealed)" in _log(lab, "gwa", "vpn")


def test_tunnel_logs_what_it_rejects(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "vpn.yaml")
    assert stop_service(lab.namespace("gwb"), "vpn").total
    wrong = "00" * 31 + "ff"

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.namespace("gwb"), sys.executable, "-m",
             "netlab.programs.tunnel", "--dev", "tun0", "--listen", "203.0.113.1:5000",
             "--peer", "198.51.100.1:5000", "--report", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={"NETLAB_TUNNEL_KEY": wrong, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        assert proc.stdout is not None
        return proc, proc.stdout.readline()

    tunnel, first = start()
    for _ in range(20):  # the stopped service's process may hold the port a moment longer
        if "Address already in use" not in first:
            break
        tunnel.wait(10)
        time.sleep(0.1)
        tunnel, first = start()
    try:
        assert "netlab-tunnel: tun0" in first
        assert not lab.ping("a1", "b1", timeout=0.3, count=4)  # a different key: no way
        time.sleep(1.5)  # one report period: the summary line
    finally:
        tunnel.terminate()
        out, _ = tunnel.communicate(timeout=10)
    rejections = [ln for ln in out.splitlines() if "rejected a datagram" in ln]
    assert len(rejections) == 1, out  # the first one is news; the rest are counted
    assert "fails authentication" in rejections[0]
    assert re.search(r"\d+ packets sent, 0 received, [1-9]\d* rejected", out), out
    assert wrong not in out


def test_switch_skips_a_port_that_is_down(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "tap-switch.yaml")
    subprocess.run(["ip", "-n", lab.namespace("h3"), "link", "set", "tap0", "down"],
                   check=True)
    # h1's ARP request is flooded to every port: h3's refuses it, the others still work.
    assert lab.ping("h1", "h2", count=3)
    assert lab.ping("h2", "h1", count=3)
    assert _running(lab, "sw")
    subprocess.run(["ip", "-n", lab.namespace("h3"), "link", "set", "tap0", "up"],
                   check=True)
    assert _eventually(lambda: lab.ping("h1", "h3", timeout=0.5, count=1))
    log = _log(lab, "sw", "switch")
    assert log.count("port h3:tap0 refuses frames") == 1, log
    assert "port h3:tap0 takes frames again" in log


def test_switch_refuses_a_tap_that_does_not_exist(netlab_lab: LabFactory,
                                                  tmp_path: Path) -> None:
    lab = netlab_lab(TOPO / "tap-switch.yaml")
    switch = f"NETLAB_LAB={lab.lab.name} {sys.executable} -m netlab.programs.tapswitch"
    done = lab.exec("sw", f"{switch} --tap h3:tap9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "netlab-tapswitch: h3:tap9: node h3 has no device tap9 (the switch attaches to "
        "existing TAPs; it does not create them)"]
    busy = lab.exec("sw", f"{switch} --tap h1:tap0")  # the lab's own switch holds it
    assert busy.returncode == 1
    assert busy.stderr.strip() == "netlab-tapswitch: h1:tap0: another program holds it"
    absent = subprocess.run(["ip", "-n", lab.namespace("h3"), "link", "show", "tap9"],
                            capture_output=True)
    assert absent.returncode != 0, "a mistyped port must not become a new TAP"
    # In a topology, `up` fails with that line and rolls back.
    text = (TOPO / "tap-switch.yaml").read_text().replace("h3:tap0", "h3:tap9")
    (tmp_path / "typo.yaml").write_text(text.replace("name: tap-switch", "name: hd-typo"))
    with pytest.raises(NetlabError, match="node h3 has no device tap9"):
        netlab_lab(tmp_path / "typo.yaml")
