"""A node that runs nothing at `up` gets its mount and UTS namespaces on first entry
(kernel/nodehost.py ensure): the same host as `up` would have made, made once however many
enter it at the same time, and removed by `down` and `cleanup` whatever the first entry
got through before it was killed."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from netlab.api import Lab
from netlab.kernel import nodehost
from netlab.plan.naming import namespace, node_dir
from netlab.state.store import state_root

from .hostcheck import Host, netlab, start

TOPOLOGY = """\
name: lazy
nodes:
  busy:
    interfaces: {eth0: {addresses: [10.67.0.1/24]}}
    services: {idle: "sleep 60"}
  plain:
    interfaces: {eth0: {addresses: [10.67.0.2/24]}}
    dns: [10.67.0.1]
{more}
links: [[busy:eth0, plain:eth0]]
"""


def _topology(tmp_path: Path, more: int = 0) -> Path:
    extra = "\n".join(f"  n{i}: {{}}" for i in range(more))
    path = tmp_path / "lazy.yaml"
    path.write_text(TOPOLOGY.replace("{more}", extra))
    return path


def _mounts_of(lab: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if f"netlab-{lab}-" in line]


def _unmount(pin: str) -> None:
    from netlab.kernel.libc import libc

    assert libc.umount2(pin.encode(), nodehost.MNT_DETACH) == 0
    os.unlink(pin)


def test_a_plain_node_is_made_a_host_on_first_entry(fresh_lab: str, tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(_topology(tmp_path, more=1), name=fresh_lab)
    lab.up()
    try:
        busy, plain = namespace(fresh_lab, "busy"), namespace(fresh_lab, "plain")
        assert nodehost.exists(busy)  # runs a service: made at `up`
        assert not nodehost.exists(plain) and os.path.exists(nodehost.promise_path(plain))
        folder = node_dir(str(state_root()), fresh_lab, "plain")
        assert not os.path.exists(folder)  # made on first entry too
        # The first entry sees what `up` would have made, and so does every later one.
        first = lab.exec("plain", "hostname; readlink /proc/self/ns/mnt; cat /etc/hosts "
                         "/etc/resolv.conf; ls /sys/class/net; pwd")
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        assert lines[0] == "plain"
        assert "10.67.0.1\tbusy" in lines and "10.67.0.2\tplain-eth0" in lines
        assert "127.0.0.1\tlocalhost" in lines and "nameserver 10.67.0.1" in lines
        assert {"eth0", "lo"} <= set(lines) and "docker0" not in lines
        assert lines[-1] == folder == lab.exec("plain", "echo $NETLAB_NODE_DIR").stdout.strip()
        assert os.stat(folder).st_uid == 0 and os.stat(folder).st_mode & 0o022 == 0
        assert nodehost.exists(plain)
        again = lab.exec("plain", "hostname; readlink /proc/self/ns/mnt").stdout.splitlines()
        assert again == lines[:2]
        # Its own /run and /tmp, as any node's.
        assert lab.exec("plain", "echo mine > /tmp/lazy-x && cat /tmp/lazy-x").stdout == "mine\n"
        assert not os.path.exists("/tmp/lazy-x")
        # Through the command line too, as a student types it.
        said = netlab("exec", "-l", fresh_lab, "n0", "--", "sh", "-c", "hostname; cat /etc/hosts")
        assert said.stdout.startswith("n0\n") and "10.67.0.2\tplain\n" in said.stdout
        assert netlab("exec", "-l", fresh_lab, "n0", "--", "hostname").stdout == "n0\n"
        # The lab's names resolve in it, as in a node made at `up`.
        assert lab.exec("n0", "getent hosts busy").stdout.split()[0] == "10.67.0.1"
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []


def test_concurrent_first_entries_make_one_host(fresh_lab: str, tmp_path: Path) -> None:
    lab = Lab.from_file(_topology(tmp_path, more=2), name=fresh_lab)
    before = Host.of(fresh_lab)
    lab.up()
    try:
        # Processes (two students' `exec`) and threads of one (checks run side by side).
        procs = [start("exec", "-l", fresh_lab, "n0", "--", "sh", "-c",
                       "hostname; readlink /proc/self/ns/mnt /proc/self/ns/uts")
                 for _ in range(6)]
        said: list[str] = []

        def enter() -> None:
            said.append(lab.exec("n1", "hostname; readlink /proc/self/ns/mnt").stdout)

        threads = [threading.Thread(target=enter) for _ in range(6)]
        for t in threads:
            t.start()
        outs = [p.communicate(timeout=60) for p in procs]
        for t in threads:
            t.join(60)
        assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
        assert len({out for out, _ in outs}) == 1 and outs[0][0].startswith("n0\nmnt:[")
        assert len(said) == 6 and len(set(said)) == 1 and said[0].startswith("n1\nmnt:[")
        assert said[0].splitlines()[1] != outs[0][0].splitlines()[1]
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before


def test_entries_racing_down_leave_nothing(fresh_lab: str, tmp_path: Path) -> None:
    """First entries into many nodes while `down` runs: whichever side wins each node,
    nothing of the lab is left (the session leak check looks too)."""
    lab = Lab.from_file(_topology(tmp_path, more=12), name=fresh_lab)
    before = Host.of(fresh_lab)
    lab.up()
    procs = [start("exec", "-l", fresh_lab, f"n{i}", "--", "true") for i in range(12)]
    time.sleep(0.05)  # some entries under way, some not yet
    down = netlab("down", "-l", fresh_lab, check=None)
    for p in procs:
        p.communicate(timeout=60)  # in or refused: both are fine; a leak is not
    assert down.returncode == 0, down.stderr
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []


def test_a_killed_first_entry_leaves_nothing_behind(fresh_lab: str, tmp_path: Path) -> None:
    nodes = 10
    lab = Lab.from_file(_topology(tmp_path, more=nodes), name=fresh_lab)
    before = Host.of(fresh_lab)
    lab.up()
    try:
        # Killed at moments spread over its life (what it forked dies with it).
        for i in range(nodes):
            proc = start("exec", "-l", fresh_lab, f"n{i}", "--", "true")
            time.sleep(0.012 * i)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        # The states a kill can leave, made for sure: a pin's file made but never mounted
        # on; the mount namespace pinned, the UTS one not yet.
        mnt, _ = nodehost.pins(namespace(fresh_lab, "plain"))
        if not nodehost.exists(namespace(fresh_lab, "plain")):
            os.close(os.open(mnt, os.O_CREAT | os.O_WRONLY, 0))
        _, uts = nodehost.pins(namespace(fresh_lab, "n0"))
        assert lab.exec("n0", "true").returncode == 0
        _unmount(uts)
        # The next entry finds the node as `up` would have made it.
        for node in [*(f"n{i}" for i in range(nodes)), "plain"]:
            said = lab.exec(node, "hostname; grep -c 10.67.0 /etc/hosts")
            assert said.stdout == f"{node}\n4\n", (node, said.stderr)
        # Killed again mid-way on a node made meanwhile: nothing changes.
        proc = start("exec", "-l", fresh_lab, "n0", "--", "true")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert lab.exec("n0", "hostname").stdout == "n0\n"
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert _mounts_of(fresh_lab) == []


def test_cleanup_removes_what_a_killed_entry_left_of_a_lab_gone(fresh_lab: str,
                                                                 tmp_path: Path) -> None:
    """A lab whose state is gone (a crash) but whose lazy node's promise and half-made pins
    remain: `cleanup` removes them."""
    ns = namespace(fresh_lab, "a")
    before = Host.of(fresh_lab)
    nodehost.promise(ns, "a", str(tmp_path), str(tmp_path / "hosts"), "", "", False)
    mnt, _ = nodehost.pins(ns)
    os.close(os.open(mnt, os.O_CREAT | os.O_WRONLY, 0))  # a pin's file, never mounted
    survey = netlab("cleanup", "-l", fresh_lab, "--dry-run", check=None)
    assert ns in survey.stdout, survey.stdout
    netlab("cleanup", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_a_leftover_promise_stops_up_in_words_and_rolls_back(fresh_lab: str,
                                                              tmp_path: Path) -> None:
    """A lazy node's promise that is there already (a crashed lab of the same name left it)
    stops `up` with the file named, and the rollback leaves the host as it was, that
    leftover included (it was not this run's to remove); `cleanup` then removes it."""
    path = _topology(tmp_path, more=30)
    stale = namespace(fresh_lab, "n17")
    before = Host.of(fresh_lab)
    nodehost.promise(stale, "n17", str(tmp_path), str(tmp_path / "hosts"), "", "", False)
    with_stale = Host.of(fresh_lab)
    assert with_stale != before  # the leftover is seen
    try:
        failed = netlab("up", str(path), "--name", fresh_lab, check=None)
        assert failed.returncode != 0
        assert f"{nodehost.promise_path(stale)} already exists" in failed.stderr, failed.stderr
        assert "netlab cleanup" in failed.stderr
        assert Host.of(fresh_lab) == with_stale  # rolled back: the others' promises gone
        netlab("cleanup", "-l", fresh_lab)
    finally:
        if os.path.exists(nodehost.promise_path(stale)):
            nodehost.remove(stale)
    assert Host.of(fresh_lab) == before
    assert not os.path.exists(nodehost.promise_path(stale))
    assert _mounts_of(fresh_lab) == []
