"""`netlab cleanup` finds what crashed runs left by netlab's marks alone, and removes only
that: never a namespace netlab did not make, never a lab a command is working on.

The removing runs are scoped with -l LAB: an unscoped `netlab cleanup` would also remove
the leftovers of other people's runs on a shared machine. Unscoped runs here are dry.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.errors import KernelError
from netlab.state.store import LabState

from .hostcheck import HELLO, Host, journal, netlab, star, start, wait_for, write_old_journal


def _killed_up(lab: str, tmp_path: Path, lines: int = 150) -> None:
    """`up` SIGKILLed half way, its record and journal left as they were."""
    topo = star(tmp_path, hosts=30, held=True)
    proc = start("up", str(topo), "--name", lab)
    try:
        assert wait_for(lambda: len(journal(lab)) >= lines, proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "up ended before the kill point"


def _crash_and_lose_state(lab: str, tmp_path: Path, lines: int = 300) -> set[str]:
    """`up` killed half way, then its state directory deleted: only marks are left."""
    _killed_up(lab, tmp_path, lines)
    shutil.rmtree(LabState(lab).dir)
    left = Host.of(lab).namespaces
    assert left, "the crash should have left namespaces"
    return set(left)


def test_cleanup_after_a_crash_with_the_state_lost(fresh_lab: str, tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    left = _crash_and_lose_state(fresh_lab, tmp_path)
    assert "not up" in netlab("down", "-l", fresh_lab).stdout  # down cannot know them

    dry = netlab("cleanup", "--dry-run", "-l", fresh_lab).stdout
    listed = {line.split()[3] for line in dry.splitlines() if line.startswith("would remove")}
    assert listed == left, dry
    assert Host.of(fresh_lab).namespaces == left  # a dry run removes nothing
    # Unscoped, the dry run lists them too.
    doc = json.loads(netlab("cleanup", "--dry-run", "--json").stdout)
    assert doc["schema"] == "netlab.cleanup/1"
    assert left <= {lo["name"] for lo in doc["leftovers"]}

    netlab("cleanup", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before
    assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab).stdout


def _foreign(name: str) -> None:
    """A namespace named like netlab's that netlab did not make, with an unmarked link."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "add", "fx0", "type", "veth", "peer", "name",
                    "fx1"], check=True)


def _links_in(ns: str) -> set[str]:
    out = subprocess.run(["ip", "-n", ns, "-o", "link", "show"], capture_output=True,
                         text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


@pytest.fixture
def foreign(fresh_lab: str) -> Iterator[str]:
    name = f"netlab-{fresh_lab}-h1"
    _foreign(name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_foreign_namespace_is_left_alone_by_cleanup(fresh_lab: str, foreign: str) -> None:
    doc = json.loads(netlab("cleanup", "--dry-run", "--json").stdout)
    assert foreign not in {lo["name"] for lo in doc["leftovers"]}
    assert foreign in {lo["name"] for lo in doc["left_alone"]}
    scoped = json.loads(netlab("cleanup", "-l", fresh_lab, "--dry-run", "--json").stdout)
    assert scoped["leftovers"] == []
    assert "left alone: namespace " + foreign in netlab("cleanup", "-l", fresh_lab).stdout
    assert foreign in Host.of(fresh_lab).namespaces
    assert _links_in(foreign) == {"lo", "fx0", "fx1"}


def test_foreign_namespace_stops_up_with_a_clear_error(fresh_lab: str, foreign: str) -> None:
    result = netlab("up", str(HELLO), "--name", fresh_lab, check=3)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: namespace {foreign} already exists and is not part of lab "
                      f"'{fresh_lab}'; netlab will not adopt or delete it"], result.stderr
    assert Host.of(fresh_lab).namespaces == {foreign}
    assert _links_in(foreign) == {"lo", "fx0", "fx1"}
    assert not LabState(fresh_lab).dir.exists()


def test_foreign_namespace_made_during_up_is_not_rolled_back(
    fresh_lab: str, foreign: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is taken between up's check and its create (the check is skipped here to
    make that race certain): the kernel refuses, and the rollback must not delete the
    other one's namespace."""
    monkeypatch.setattr(Lab, "_refuse_foreign_objects", lambda self: None)
    lab = Lab.from_file(HELLO, name=fresh_lab)
    with pytest.raises(KernelError) as failure:
        lab.up()
    assert f"create namespace {foreign}" in str(failure.value)
    assert Host.of(fresh_lab).namespaces == {foreign}
    assert _links_in(foreign) == {"lo", "fx0", "fx1"}
    assert not lab.is_up()


def test_empty_unmarked_namespace_in_use_is_left_alone(fresh_lab: str) -> None:
    name = f"netlab-{fresh_lab}-x"
    subprocess.run(["ip", "netns", "add", name], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "60"])
    try:
        assert wait_for(lambda: _pids_in(name), timeout=10)
        out = netlab("cleanup", "-l", fresh_lab).stdout
        assert f"left alone: namespace {name}" in out, out
        assert sleeper.poll() is None  # not killed
        assert name in Host.of(fresh_lab).namespaces
    finally:
        sleeper.kill()
        sleeper.wait()
        subprocess.run(["ip", "netns", "del", name], check=False)


def _pids_in(ns: str) -> list[int]:
    from netlab.kernel.processes import pids_in

    return pids_in(ns)


def test_cleanup_leaves_a_busy_lab_alone(fresh_lab: str, tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    left = _crash_and_lose_state(fresh_lab, tmp_path, lines=100)
    state = LabState(fresh_lab)
    with state.locked(what="up"):
        result = netlab("cleanup", "-l", fresh_lab, check=1)
        assert f"lab '{fresh_lab}' is busy" in result.stderr
        assert Host.of(fresh_lab).namespaces == left
    netlab("cleanup", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_cleanup_leaves_a_lab_that_is_up_alone(fresh_lab: str) -> None:
    netlab("up", str(HELLO), "--name", fresh_lab)
    assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab).stdout
    doc = json.loads(netlab("cleanup", "--dry-run", "--json").stdout)
    assert not [lo for lo in doc["leftovers"] if lo["lab"] == fresh_lab]
    assert Lab.attach(fresh_lab).status()["drift"] == []
    netlab("down", "-l", fresh_lab)


def test_cleanup_stops_processes_in_leftovers(fresh_lab: str, tmp_path: Path) -> None:
    topo = tmp_path / "bg.yaml"
    topo.write_text(
        "name: bg\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.66.0.1/24]}}\n"
        "    exec: ['sleep 300 >/dev/null 2>&1 &']  # a daemon: detached from netlab's output\n"
        "  b: {interfaces: {eth0: {addresses: [10.66.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = Host.of(fresh_lab)
    netlab("up", str(topo), "--name", fresh_lab)
    ns = f"netlab-{fresh_lab}-a"
    pids = _pids_in(ns)
    assert pids, "the background sleep runs in the node"
    shutil.rmtree(LabState(fresh_lab).dir)  # the state is lost
    netlab("cleanup", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def test_cleanup_removes_a_record_without_journal(fresh_lab: str) -> None:
    state = LabState(fresh_lab)
    state.write_meta({"lab": fresh_lab, "complete": False})
    dry = netlab("cleanup", "-l", fresh_lab, "--dry-run").stdout
    assert f"would remove state {fresh_lab}" in dry
    assert state.dir.exists()
    netlab("cleanup", "-l", fresh_lab)
    assert not state.dir.exists()


def test_cleanup_removes_a_mount_point_never_mounted(fresh_lab: str) -> None:
    """A crash between creating /run/netns/<name> and mounting the namespace on it."""
    path = Path("/run/netns") / f"netlab-{fresh_lab}-h1"
    path.touch()
    try:
        dry = netlab("cleanup", "-l", fresh_lab, "--dry-run").stdout
        assert f"would remove namespace {path.name} (empty file, never mounted)" in dry
        netlab("cleanup", "-l", fresh_lab)
        assert not path.exists()
    finally:
        path.unlink(missing_ok=True)


def test_a_lock_file_left_by_a_killed_command_goes(fresh_lab: str) -> None:
    """A command killed after removing the lab's record and before removing its lock."""
    state = LabState(fresh_lab)
    state.lock_path.parent.mkdir(parents=True, exist_ok=True)
    state.lock_path.write_text("4242 down")
    dry = netlab("cleanup", "-l", fresh_lab, "--dry-run").stdout
    assert f"would remove lock .{fresh_lab}.lock (a lock file with no lab)" in dry
    assert state.lock_path.exists()
    netlab("cleanup", "-l", fresh_lab)
    assert not state.lock_path.exists()
    # `down -l` tidies it as well (it is what the user runs after a killed `down`).
    state.lock_path.write_text("4242 down")
    assert "is not up; nothing to do" in netlab("down", "-l", fresh_lab).stdout
    assert not state.lock_path.exists()


def test_a_held_lock_without_lab_is_left_alone(fresh_lab: str) -> None:
    state = LabState(fresh_lab)
    with state.locked(what="up"):  # as `up` holds it before it writes the lab's record
        assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab).stdout
        assert state.lock_path.exists()
    assert not state.lock_path.exists()


# --- a lab whose `up` did not finish ------------------------------------------------------


def _listed(lab: str) -> dict[str, object]:
    labs = json.loads(netlab("ls", "--json").stdout)["labs"]
    return next(entry for entry in labs if entry["lab"] == lab)


def test_a_killed_up_is_incomplete_and_cleanup_takes_it_down(fresh_lab: str,
                                                             tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    _killed_up(fresh_lab, tmp_path)
    assert Host.of(fresh_lab).namespaces

    entry = _listed(fresh_lab)
    assert entry["state"] == "incomplete", entry
    assert f"'netlab down -l {fresh_lab}'" in str(entry["note"])
    table = netlab("ls").stdout
    assert f"{fresh_lab}: incomplete: its 'up' did not finish" in table, table
    # status shows what is there, says what is not, and says why: no internal error.
    status = netlab("status", "-l", fresh_lab, "--json")
    assert f"warning: lab {fresh_lab} is incomplete" in status.stderr, status.stderr
    assert "internal error" not in status.stderr
    assert json.loads(status.stdout)["drift"], "what the killed up did not make is missing"

    dry = json.loads(netlab("cleanup", "-l", fresh_lab, "--dry-run", "--json").stdout)
    assert [(lo["kind"], lo["name"]) for lo in dry["leftovers"]] == [("lab", fresh_lab)], dry
    unscoped = json.loads(netlab("cleanup", "--dry-run", "--json").stdout)
    assert ("lab", fresh_lab) in {(lo["kind"], lo["name"]) for lo in unscoped["leftovers"]}
    assert Host.of(fresh_lab) != before  # a dry run removes nothing

    out = netlab("cleanup", "-l", fresh_lab).stdout
    assert f"removing lab {fresh_lab} (its 'up' did not finish" in out, out
    assert Host.of(fresh_lab) == before
    assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab).stdout


def _as_if_killed_while_mounting(lab: Lab, node: str) -> Path:
    """The lab's record says its `up` did not finish, and the namespace of `node` is only
    its mount point: an empty file, never mounted (a kill between the two steps)."""
    from netlab.kernel import nsfs

    ns = lab.namespace(node)
    nsfs.remove(ns)
    path = Path(nsfs.path(ns))
    path.touch(mode=0)
    lab.state.write_meta({**lab.state.read_meta(), "complete": False})
    return path


def test_a_mount_point_never_mounted_shows_as_missing_and_goes(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(HELLO, name=fresh_lab)
    lab.up()
    path = _as_if_killed_while_mounting(lab, "h2")
    doc = json.loads(netlab("status", "-l", fresh_lab, "--json").stdout)
    h2 = next(node for node in doc["nodes"] if node["name"] == "h2")
    assert h2["present"] is False
    assert f"h2: namespace {path.name} is missing" in doc["drift"]
    result = netlab("exec", "-l", fresh_lab, "h2", "--", "true", check=3)
    assert f"error: the namespace of node 'h2' of lab '{fresh_lab}' ({path.name}) is " \
           "missing" in result.stderr, result.stderr

    netlab("cleanup", "-l", fresh_lab)
    assert not path.exists()
    assert Host.of(fresh_lab) == before


def test_a_lab_kept_for_debugging_goes_only_when_named(fresh_lab: str) -> None:
    """--keep-on-error keeps a failed lab on purpose: listed as incomplete, left alone by
    an unscoped cleanup (someone is debugging it), removed by `cleanup -l LAB`."""
    before = Host.of(fresh_lab)
    netlab("up", str(HELLO), "--name", fresh_lab, "--keep-on-error", check=1,
           env={"NETLAB_FAIL_AT": "12"})
    entry = _listed(fresh_lab)
    assert entry["state"] == "incomplete" and "--keep-on-error" in str(entry["note"]), entry

    unscoped = json.loads(netlab("cleanup", "--dry-run", "--json").stdout)
    assert fresh_lab not in {lo["name"] for lo in unscoped["leftovers"]}
    alone = [lo for lo in unscoped["left_alone"] if lo["name"] == fresh_lab]
    assert alone and "kept with --keep-on-error" in alone[0]["why"], unscoped

    out = netlab("cleanup", "-l", fresh_lab).stdout
    assert f"removing lab {fresh_lab} (its 'up' failed and it was kept" in out, out
    assert Host.of(fresh_lab) == before


def test_a_lab_being_built_is_not_incomplete(fresh_lab: str) -> None:
    """Its record says "not finished" while `up` works on it: ls says it is being built,
    and cleanup does not touch it."""
    lab = Lab.from_file(HELLO, name=fresh_lab)
    lab.up()
    lab.state.write_meta({**lab.state.read_meta(), "complete": False})
    with lab.state.locked(what="up"):
        entry = _listed(fresh_lab)
        assert entry["state"] == "building", entry
        assert f"netlab up (pid {os.getpid()})" in str(entry["note"])
        dry = json.loads(netlab("cleanup", "-l", fresh_lab, "--dry-run", "--json").stdout)
        assert dry["leftovers"] == [], dry
    assert Lab.attach(fresh_lab).status()["drift"] == []


def _makes_a_node_host(line: dict[str, object]) -> bool:
    op = line.get("op")
    return isinstance(op, dict) and op.get("op") == "create-node-host"


def test_an_up_killed_while_nodes_become_hosts_is_cleaned_up(fresh_lab: str,
                                                             tmp_path: Path) -> None:
    """Nodes' mount and UTS namespaces are made by helper processes while `up` goes on
    with the links: `up` killed once they are journaled (begun, not done) leaves pins that
    `cleanup` removes with the rest; the helpers die with `up`."""
    before = Host.of(fresh_lab)
    topo = star(tmp_path, hosts=30, held=True)
    proc = start("up", str(topo), "--name", fresh_lab)
    try:
        assert wait_for(lambda: any(_makes_a_node_host(line) for line in journal(fresh_lab)),
                        proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "up ended before the kill point"
    begun = {line["i"] for line in journal(fresh_lab) if line["s"] == "begin"}
    assert begun, "the killed up journaled nothing"
    out = netlab("cleanup", "-l", fresh_lab).stdout
    assert f"removing lab {fresh_lab}" in out, out
    assert Host.of(fresh_lab) == before  # namespaces, pins, links, state, lock: all gone
    assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab).stdout


# --- a journal written by netlab before it journaled runs of ops --------------------------

def test_a_lab_brought_up_by_the_previous_netlab_goes_down(fresh_lab: str,
                                                           tmp_path: Path) -> None:
    """A lab brought up by a netlab that journaled one line per op and event (main before
    runs were journaled as one line) goes down with this one, and leaves nothing."""
    before = Host.of(fresh_lab)
    netlab("up", str(star(tmp_path, hosts=20, held=True)), "--name", fresh_lab)
    events = journal(fresh_lab)
    assert write_old_journal(fresh_lab) == len(events) > 100  # one line per event now
    assert all("ops" not in line and "n" not in line for line in _lines(fresh_lab))
    out = netlab("down", "-l", fresh_lab).stdout
    begun = sum(1 for e in events if e["s"] == "begin")
    assert f"lab {fresh_lab} is down" in out, out
    assert begun > 100
    assert Host.of(fresh_lab) == before


def test_a_killed_up_journaled_the_previous_way_is_cleaned_up(fresh_lab: str,
                                                              tmp_path: Path) -> None:
    """The same for an `up` of that netlab killed half way: its begun ops are undone."""
    before = Host.of(fresh_lab)
    _killed_up(fresh_lab, tmp_path)
    events = journal(fresh_lab)
    assert {e["i"] for e in events if e["s"] == "begin"} \
        - {e["i"] for e in events if e["s"] == "done"}, "nothing in flight at the kill"
    write_old_journal(fresh_lab)
    out = netlab("cleanup", "-l", fresh_lab).stdout
    assert f"removing lab {fresh_lab} (its 'up' did not finish" in out, out
    assert Host.of(fresh_lab) == before


def _lines(lab: str) -> list[dict[str, object]]:
    text = LabState(lab).journal_path.read_text()
    return [json.loads(raw) for raw in text.splitlines()]
