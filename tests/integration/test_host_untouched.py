"""A lab that runs real software leaves the host as it found it: the shipped DHCP+DNS lab
(dnsmasq, dhclient) and OSPF lab (FRR) up as one, and the host's /etc/hosts,
/etc/resolv.conf, hostname, /run and the folders these programs write on a host (/etc/frr,
/etc/dhcp, /var/lib/dhcp, /var/lib/misc, /var/log/frr) the same, byte for byte, while it
runs and after `down`; `down` leaves no mount, no process and no file of the lab.

Folders are compared with their modification times too, so a file made and removed again
shows; in /etc, which other work on the machine changes (a test adding a user), names made
next to these files are watched instead (dhclient-script writes its new resolv.conf next to
the old one, then renames or copies it). RUN_LIVE says what of /run is left out."""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import struct
import time
from pathlib import Path

import yaml

from netlab.api import Lab
from netlab.checks.run import check_lab

from .hostcheck import TOPO, Host, namespace_inodes, processes_in

FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
FOLDERS = ("/etc/frr", "/etc/dhcp", "/var/lib/dhcp", "/var/lib/misc", "/var/log/frr")
# Under /run: what netlab keeps for every lab (other labs' come and go), left out; the
# machine's own live state (systemd, udev, the journal, logins, mount(8)'s table), which
# changes on a busy host by itself: there or not, not compared inside; but where DHCP
# clients' hooks write in it (Debian's dhclient-exit-hooks.d/timesyncd), compared.
RUN_OTHERS = ("netlab", "netns")
RUN_LIVE = ("systemd", "udev", "log", "user", "utmp", "mount")
RUN_WATCHED = ("/run/systemd/timesyncd.conf.d", "/run/systemd/resolved.conf.d")
WAIT = 60.0  # OSPF's hellos come every 10 s


def _entry(path: str) -> tuple[object, ...]:
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            what: object = hashlib.sha256(f.read()).hexdigest()
    elif stat.S_ISLNK(st.st_mode):
        what = os.readlink(path)
    else:  # a folder: its mtime changes when a name in it is made or removed
        what = st.st_mtime_ns if stat.S_ISDIR(st.st_mode) else None
    return (stat.filemode(st.st_mode), st.st_uid, st.st_gid, what)


def _tree(top: str, skip: tuple[str, ...] = (), shallow: tuple[str, ...] = ()
          ) -> dict[str, object]:
    """Every entry below `top`; of its own entries, those named in `skip` left out and
    those in `shallow` only there (not their contents, nor their mtime)."""
    found: dict[str, object] = {}
    for folder, dirs, files in os.walk(top):
        if folder == top:
            dirs[:] = [d for d in dirs if d not in skip and not d.startswith("netlab")]
            files = [f for f in files if f not in skip]
            found |= {os.path.join(top, n): "there" for n in dirs + files if n in shallow}
            dirs[:] = [d for d in dirs if d not in shallow]
            files = [f for f in files if f not in shallow]
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[path] = _entry(path)
    return found


def host_files() -> dict[str, object]:
    """What a node's programs would change, were they not in a small host of their own."""
    snapshot: dict[str, object] = {"hostname": os.uname().nodename}
    snapshot |= {path: _entry(os.path.realpath(path)) for path in FILES}
    for path in FOLDERS + RUN_WATCHED:
        if os.path.exists(path):
            snapshot |= {path: _entry(path)} | _tree(path)
    # /run's own mtime is left out: other labs' folders come and go at its top.
    snapshot |= _tree("/run", RUN_OTHERS, RUN_LIVE)
    return snapshot


class NamesMade:
    """Names made in a folder while watched (inotify), also those removed again since."""

    IN_MOVED_TO, IN_CREATE = 0x80, 0x100

    def __init__(self, folder: str) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(
                self.fd, folder.encode(), self.IN_CREATE | self.IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {folder}")

    def names(self) -> list[str]:
        made: list[str] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return made
            at = 0
            while at < len(data):
                _wd, _mask, _cookie, size = struct.unpack_from("iIII", data, at)
                made.append(data[at + 16:at + 16 + size].rstrip(b"\0").decode())
                at += 16 + size

    def close(self) -> None:
        os.close(self.fd)


def _changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _dhcp_and_ospf(tmp_path: Path) -> Path:
    """The shipped dhcp-dns and ospf labs as one (their names and addresses differ)."""
    dhcp = yaml.safe_load((TOPO / "dhcp-dns.yaml").read_text())
    ospf = yaml.safe_load((TOPO / "ospf.yaml").read_text())
    both = {"name": "dhcp-ospf", "nodes": {**dhcp["nodes"], **ospf["nodes"]},
            "links": dhcp["links"] + ospf["links"], "checks": dhcp["checks"]}
    path = tmp_path / "dhcp-ospf.yaml"
    path.write_text(yaml.safe_dump(both))
    return path


def _poll(lab: Lab, node: str, command: str, text: str) -> None:
    deadline = time.monotonic() + WAIT
    while text not in (said := lab.exec(node, command).stdout):
        assert time.monotonic() < deadline, f"{node}: {command!r} has no {text!r}: {said}"
        time.sleep(1)


def test_dhcp_and_frr_leave_the_host_as_it_was(fresh_lab: str, tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    files = host_files()
    lab = Lab.from_file(_dhcp_and_ospf(tmp_path), name=fresh_lab)
    etc = NamesMade("/etc")
    try:
        lab.up()
        try:
            inodes = namespace_inodes(fresh_lab)
            # The software works: leases, names, resolv.conf from DHCP; OSPF neighbors.
            report = check_lab(lab)
            assert report.ok, report.summary()
            assert "nameserver 10.0.50.1\n" in lab.exec("pc1", "cat /etc/resolv.conf").stdout
            assert "pc1" in lab.exec("server", "cat /var/lib/misc/dnsmasq.leases").stdout
            assert "lease {" in lab.exec("pc2", "cat /var/lib/dhcp/dhclient.leases").stdout
            _poll(lab, "r2", "vtysh -c 'show ip ospf neighbor'", "Full")
            running = processes_in(inodes)
            for program in ("dnsmasq", "dhclient", "zebra", "ospfd"):
                assert any(program in p for p in running), (program, running)
            assert _changes(files, host_files()) == []  # ... while the lab runs
        finally:
            lab.down()
        made = etc.names()
    finally:
        etc.close()
    assert _changes(files, host_files()) == []
    assert [n for n in made if n.startswith(("resolv.conf", "hosts", "hostname"))] == [], made
    assert Host.of(fresh_lab) == before  # no namespace, pin, state folder (node folders) or lock
    assert processes_in(inodes) == []
    with open("/proc/self/mountinfo") as f:
        assert [line for line in f if f"netlab-{fresh_lab}-" in line
                or f"/{fresh_lab}/" in line] == []
