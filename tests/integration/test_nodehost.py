"""Every node is a small host: its own mount and UTS namespaces (hostname, /etc/hosts,
/etc/resolv.conf, /run, /tmp, private folders), entered by everything netlab runs there;
`prepare:` before the services, `exec:` after; files with mode and owner."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from netlab.api import Lab
from netlab.kernel import nodehost, nsfs
from netlab.plan.naming import mark, namespace

from .hostcheck import Host, netlab

TOPOLOGY = """\
name: hosts
nodes:
  a:
    interfaces: {eth0: {addresses: [10.66.0.1/24]}}
    dns: [10.66.0.2]
    env: {GREETING: hello}
    private: [/var/lib/misc, {path: /etc/skel, from: host}]
    files:
      secret.key: "k3y"
      shared.txt: {content: "for all", mode: "0644"}
      mine.txt: {content: "for nobody", owner: nobody}
      /var/lib/misc/lease: "from files:"
    prepare: ["echo prepared > /run/ready-for-service"]
    services:
      svc: "cat /run/ready-for-service > /tmp/seen; echo started; sleep 60"
    exec: ["cat /tmp/seen > exec-saw; hostname > exec-hostname"]
  b:
    interfaces: {eth0: {addresses: [10.66.0.2/24]}}
links: [[a:eth0, b:eth0]]
"""


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _host_files() -> dict[str, object]:
    return {
        "hosts": _digest("/etc/hosts"),
        "resolv": _digest(os.path.realpath("/etc/resolv.conf")),
        "hostname": os.uname().nodename,
        "run": sorted(os.listdir("/run")),
        "tmp-x": os.path.exists("/tmp/netlab-nodehost-x"),
        "misc": sorted(os.listdir("/var/lib/misc")),
        "skel": sorted(os.listdir("/etc/skel")),
    }


def _mounts_of(lab: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if f"netlab-{lab}-" in line]


def test_each_node_is_a_host_of_its_own(fresh_lab: str, tmp_path: Path) -> None:
    topo = tmp_path / "hosts.yaml"
    topo.write_text(TOPOLOGY)
    host = _host_files()
    before = Host.of(fresh_lab)
    lab = Lab.from_file(topo, name=fresh_lab)
    lab.up()
    try:
        for node in ("a", "b"):
            # The same paths, each node its own files.
            said = lab.exec(node, f"echo {node} > /tmp/netlab-nodehost-x; "
                            f"echo {node} > /run/x")
            assert said.returncode == 0, said.stderr
        assert lab.exec("a", "echo a > /var/lib/misc/x").returncode == 0  # private in a
        for node in ("a", "b"):
            assert lab.exec(node, "cat /tmp/netlab-nodehost-x /run/x").stdout == f"{node}\n" * 2
            assert lab.exec(node, "hostname").stdout == f"{node}\n"
            hosts = lab.exec(node, "cat /etc/hosts").stdout
            assert "10.66.0.1\ta\n" in hosts and "10.66.0.2\tb-eth0\n" in hosts
            assert "127.0.0.1\tlocalhost" in hosts
            # /sys shows the node's own interfaces.
            assert sorted(lab.exec(node, "ls /sys/class/net").stdout.split()) == ["eth0", "lo"]
        assert lab.exec("a", "cat /etc/resolv.conf").stdout == "nameserver 10.66.0.2\n"
        assert lab.exec("b", "cat /etc/resolv.conf").stdout == ""
        # a's private folders: its own, one from files:, one seeded from the host's.
        assert lab.exec("a", "cat /var/lib/misc/lease /var/lib/misc/x").stdout == (
            "from files:a\n")
        assert lab.exec("a", "ls -A /etc/skel").stdout.split() == sorted(os.listdir("/etc/skel"))
        assert lab.exec("a", "touch /etc/skel/mine && ls /etc/skel/mine").returncode == 0
        # prepare: ran before the service, exec: after it had started.
        assert lab.exec("a", "cat exec-saw exec-hostname").stdout == "prepared\na\n"
        # exec runs in the node's folder, with its env and NETLAB_* variables.
        said = lab.exec("a", "pwd; echo $GREETING $NETLAB_NODE $NETLAB_LAB").stdout
        assert said.splitlines() == [lab.exec("a", "echo $NETLAB_NODE_DIR").stdout.strip(),
                                     f"hello a {fresh_lab}"]
        cli = netlab("exec", "-l", fresh_lab, "a", "--", "sh", "-c", "pwd; echo $GREETING")
        assert cli.stdout.splitlines()[1] == "hello" and cli.stdout.endswith("\n")
        # Files: not readable by others unless told; owned as told.
        folder = Path(lab.exec("a", "echo $NETLAB_NODE_DIR").stdout.strip())
        modes = {n: os.stat(folder / n) for n in ("secret.key", "shared.txt", "mine.txt")}
        assert stat.S_IMODE(modes["secret.key"].st_mode) == 0o600
        assert stat.S_IMODE(modes["shared.txt"].st_mode) == 0o644
        assert modes["mine.txt"].st_uid == 65534 and modes["secret.key"].st_uid == 0
        assert (folder / "private" / "var/lib/misc/lease").read_text() == "from files:"
        assert nodehost.exists(namespace(fresh_lab, "a"))
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []
    assert _host_files() == host


def test_a_symlink_in_the_node_folder_is_not_followed(fresh_lab: str, tmp_path: Path) -> None:
    """files: are written without following links a node's process may have planted."""
    from netlab.kernel.services import write_file

    root = tmp_path / "node"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "conf").symlink_to(outside)
    (root / "f").symlink_to(outside / "f")
    try:
        write_file(str(root), "conf/a", "x", 0o600)
    except OSError:
        pass
    else:
        raise AssertionError("conf/a was written through a link")
    write_file(str(root), "f", "x", 0o600)  # the link is replaced, not followed
    assert not (root / "f").is_symlink() and (root / "f").read_text() == "x"
    assert list(outside.iterdir()) == []


def test_cleanup_removes_pinned_namespaces_a_killed_up_left(fresh_lab: str) -> None:
    """What an `up` killed while making the nodes' mount namespaces leaves: a marked network
    namespace and the pins of its mount and UTS namespaces, with no lab journal."""
    from netlab.kernel.netlink import NetlinkKernel
    from netlab.plan.ops import CreateNamespace

    ns = namespace(fresh_lab, "a")
    before = Host.of(fresh_lab)
    kernel = NetlinkKernel()
    try:
        kernel.execute([CreateNamespace(ns, mark(fresh_lab))], lambda a, b: None,
                       lambda i: None)
    finally:
        kernel.close()
    folder = f"/run/netlab-test-{fresh_lab}"
    os.makedirs(folder)
    try:
        assert nodehost.create([nodehost.NodeHost(ns, "a", folder, "")]) == {}
        assert nodehost.exists(ns) and nsfs.exists(ns)
        netlab("cleanup", "-l", fresh_lab)
    finally:
        os.rmdir(folder)
    assert not nodehost.exists(ns) and not nsfs.exists(ns)
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []


def test_a_refusal_while_nodes_become_hosts_rolls_back_all(fresh_lab: str, tmp_path: Path,
                                                          monkeypatch: object) -> None:
    """The nodes' mount and UTS namespaces are made by helpers while the netlink work goes
    on: a refusal of a netlink op then waits for the helpers, journals what they made, and
    the rollback removes it all (no pin is made after the rollback looked)."""
    import pytest

    from netlab.errors import KernelError
    from netlab.kernel.netlink import NetlinkKernel

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    real = NetlinkKernel._netlink_batch
    calls: list[int] = []

    def refuse_once_hosts_are_in_the_making(self: NetlinkKernel, *args: object,
                                            **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(95, "refused by this test")  # EOPNOTSUPP: said as the op's refusal
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(NetlinkKernel, "_netlink_batch", refuse_once_hosts_are_in_the_making)
    topo = tmp_path / "hosts.yaml"
    topo.write_text(TOPOLOGY)
    before = Host.of(fresh_lab)
    lab = Lab.from_file(topo, name=fresh_lab)
    try:
        lab.up()
    except KernelError as error:
        assert "could not create veth" in error.message  # the first op of the batch
    else:
        lab.down()
        raise AssertionError("up should have been refused")
    assert calls, "the netlink batch was never reached"
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []
