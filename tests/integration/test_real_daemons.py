"""Real daemons in nodes, from Debian's packages.

OpenVPN (topologies/openvpn.yaml) and wireguard-go (topologies/wireguard.yaml) on TUN
devices netlab made, run as an unprivileged user (the pattern TUN ownership exists for):
each carries a ping between two sites; the daemon's processes run as the user (read from
/proc, not from pid files); stopping the daemon cuts the sites apart; `down` leaves no
process of the user, no mount and nothing on the host. The user is a fresh one
(conftest.py's lab_user), passed with `--set user=...`.

nginx (topologies/nginx.yaml): two servers on one host, each with its own pid file, logs,
pages and temporary files; the host's are untouched."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from netlab.api import Lab

from .hostcheck import TOPO, Host, netlab


def _in_node(lab: Lab, node: str, comm: str) -> list[int]:
    """Pids of the processes named `comm` in the node's network namespace (from the
    kernel: the namespace's inode, not a pid file)."""
    inode = os.stat(f"/run/netns/{lab.namespace(node)}").st_ino
    found = []
    for entry in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != comm:
                    continue
            if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                found.append(int(entry))
        except OSError:
            continue
    return found


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _alive(pid: int, uid: int | None = None) -> bool:
    """The process runs (and as uid, when given). A zombie holds nothing: it waits for
    init, which here may be slow, to reap it."""
    try:
        status = _status(pid)
    except OSError:
        return False
    return not status["State"].startswith("Z") and \
        (uid is None or int(status["Uid"].split()[0]) == uid)


def _of_user(uid: int) -> list[int]:
    """Every live process on the host whose real uid is uid."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _alive(int(p), uid)]


def _listing(folder: str) -> list[tuple[str, int, int]]:
    """What a folder of the host holds: names, sizes and times."""
    try:
        return sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                      for e in os.scandir(folder))
    except FileNotFoundError:
        return []


def _mounts_of(lab: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if f"netlab-{lab}-" in line or f"/{lab}/" in line]


def _runs_as(lab: Lab, node: str, comm: str, user: pwd.struct_passwd) -> dict[str, str]:
    pids = _in_node(lab, node, comm)
    assert len(pids) == 1, f"{comm} in {node}: {pids}"
    status = _status(pids[0])
    assert status["Uid"].split() == [str(user.pw_uid)] * 4, status["Uid"]
    assert status["Gid"].split() == [str(user.pw_gid)] * 4, status["Gid"]
    return status


def _as(user: pwd.struct_passwd) -> dict[str, str]:
    """The topology's vars for a daemon run as user (useradd made its own group)."""
    return {"user": user.pw_name, "group": user.pw_name}


def test_openvpn_runs_as_a_user_on_the_tun_netlab_made(
        fresh_lab: str, lab_user: pwd.struct_passwd) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(TOPO / "openvpn.yaml", _as(lab_user), name=fresh_lab)
    lab.up()
    try:
        # Across the tunnel: a1 -> gwa -> tun0 -> OpenVPN -> UDP -> gwb -> b1.
        netlab("ping", "-l", fresh_lab, "-c", "2", "a1", "b1")
        for gw in ("gwa", "gwb"):
            status = _runs_as(lab, gw, "openvpn", lab_user)
            # No capability at all: owning tun0 is what lets it attach.
            assert int(status["CapEff"], 16) == 0, status["CapEff"]
            assert f"user {lab_user.pw_name}" in lab.exec(gw, "ip -d link show tun0").stdout
            listing = lab.exec(gw, "ls -ln /etc/openvpn/tunnel.conf").stdout
            assert listing.startswith("-rw------- 1 ") and \
                f" {lab_user.pw_uid} {lab_user.pw_gid} " in listing, listing
        # The gateway's own /etc/openvpn: the host's has no tunnel.conf.
        assert not Path("/etc/openvpn/tunnel.conf").exists()
        # The daemon is the path: without it in gwa, the sites are apart.
        lab.service("gwa", "openvpn", "stop")
        assert not lab.ping("a1", "b1", count=2)
        assert _in_node(lab, "gwa", "openvpn") == []
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _of_user(lab_user.pw_uid) == []
    assert _mounts_of(fresh_lab) == []


CAP_NET_ADMIN = 1 << 12


def test_wireguard_go_runs_as_a_user_and_each_node_sees_only_its_own_wg0(
        fresh_lab: str, lab_user: pwd.struct_passwd) -> None:
    before = Host.of(fresh_lab)
    host_sockets = _listing("/run/wireguard")
    lab = Lab.from_file(TOPO / "wireguard.yaml", _as(lab_user), name=fresh_lab)
    lab.up()
    try:
        netlab("ping", "-l", fresh_lab, "-c", "2", "a1", "b1")
        keys = {}
        for gw in ("gwa", "gwb"):
            status = _runs_as(lab, gw, "wireguard-go", lab_user)
            # CAP_NET_ADMIN and nothing else (it sets the device's MTU with it).
            assert int(status["CapEff"], 16) == CAP_NET_ADMIN, status["CapEff"]
            # `wg` in the node talks to that node's daemon only: its /run is its own.
            assert lab.exec(gw, "wg show interfaces").stdout.split() == ["wg0"]
            keys[gw] = lab.exec(gw, "wg show wg0 public-key").stdout.strip()
            mine = lab.exec(gw, "sed -n 's/^PrivateKey = //p' /etc/wireguard/wg0.conf "
                                "| wg pubkey").stdout.strip()
            assert keys[gw] == mine, (gw, keys[gw], mine)
            socket = lab.exec(gw, "stat -c '%U %a' /run/wireguard/wg0.sock").stdout.split()
            assert socket[0] == lab_user.pw_name, socket
        assert keys["gwa"] != keys["gwb"]
        assert lab.exec("gwa", "wg show wg0 peers").stdout.split() == [keys["gwb"]]
        # The host's /run/wireguard is untouched: neither node's socket is there.
        assert _listing("/run/wireguard") == host_sockets
        lab.service("gwb", "wireguard", "stop")
        assert not lab.ping("a1", "b1", count=2)
        assert _in_node(lab, "gwb", "wireguard-go") == []
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _of_user(lab_user.pw_uid) == []
    assert _mounts_of(fresh_lab) == []


def test_two_nginx_nodes_each_have_their_own_pid_logs_and_pages(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    host_logs, host_pid = _listing("/var/log/nginx"), Path("/run/nginx.pid").exists()
    lab = Lab.from_file(TOPO / "nginx.yaml", name=fresh_lab)
    lab.up()
    masters: dict[str, int] = {}
    try:
        for n in ("web1", "web2"):
            page = lab.exec("client", f"curl -sf http://{n}/").stdout
            assert page == f"{n} says hello\n", page
        for n in ("web1", "web2"):
            pids = _in_node(lab, n, "nginx")
            users = {p: _status(p)["Uid"].split()[0] for p in pids}
            master = [p for p, uid in users.items() if uid == "0"]
            www = str(pwd.getpwnam("www-data").pw_uid)
            assert len(master) == 1 and www in users.values(), users
            masters[n] = master[0]
            # The node's own /run/nginx.pid names the node's own master.
            assert lab.exec(n, "cat /run/nginx.pid").stdout.strip() == str(master[0])
            # Its own access log: the client's one request to it, nothing of the other's.
            log = lab.exec(n, "cat /var/log/nginx/access.log").stdout.splitlines()
            assert len(log) == 1 and log[0].startswith("10.40.0.10 "), log
        assert masters["web1"] != masters["web2"]
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _listing("/var/log/nginx") == host_logs
    assert Path("/run/nginx.pid").exists() == host_pid
    assert not [p for p in masters.values() if _alive(p)]
    assert _mounts_of(fresh_lab) == []
