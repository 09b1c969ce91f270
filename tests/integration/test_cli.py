"""The command line as a script uses it: exit codes, JSON, idempotence, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.pytest_plugin import unique_name

from ..conftest import host_links, netlab_namespaces
from .hostcheck import namespaces, netlab

TOPO = Path(__file__).parents[2] / "topologies"




@pytest.fixture
def lab_name() -> Iterator[str]:
    name = unique_name("cli")
    try:
        yield name
    finally:
        subprocess.run([sys.executable, "-m", "netlab", "down", "-l", name],
                       capture_output=True, timeout=120)


def _host(lab: str) -> tuple[set[str], set[str]]:
    """What a lab could leave on the host: its namespaces, and any host interface."""
    return netlab_namespaces(f"netlab-{lab}-"), host_links()


def test_up_status_exec_down(lab_name: str) -> None:
    before = _host(lab_name)
    up = json.loads(netlab("up", str(TOPO / "router.yaml"), "--name", lab_name, "--json").stdout)
    assert up["schema"] == "netlab.up/1" and up["created"] is True

    again = netlab("up", str(TOPO / "router.yaml"), "--name", lab_name)
    assert "already up and unchanged" in again.stdout

    doc = json.loads(netlab("status", "-l", lab_name, "--json").stdout)
    assert doc["schema"] == "netlab.status/1"
    assert {n["name"] for n in doc["nodes"]} == {"left", "r1", "right"}
    assert doc["drift"] == []

    table = netlab("status", "-l", lab_name).stdout
    assert "10.1.0.1/24" in table and "r1" in table

    out = netlab("exec", "-l", lab_name, "r1", "--", "cat", "/proc/sys/net/ipv4/ip_forward")
    assert out.stdout.strip() == "1"
    # the command's exit code is passed through
    assert netlab("exec", "-l", lab_name, "left", "--", "sh", "-c", "exit 7", check=7)

    ls = json.loads(netlab("ls", "--json").stdout)
    assert ls["schema"] == "netlab.ls/1" and lab_name in [lab["lab"] for lab in ls["labs"]]

    # A lab's name where a FILE may go is taken for -l (`netlab status LAB`, `down LAB`).
    assert json.loads(netlab("status", lab_name, "--json").stdout)["lab"] == lab_name

    down = json.loads(netlab("down", lab_name, "--json").stdout)
    assert down["schema"] == "netlab.down/1"
    assert down["was_up"] is True and down["processes"] == 0  # a number, none to stop
    assert _host(lab_name) == before
    # down again: nothing to do, still success
    assert "not up" in netlab("down", "-l", lab_name).stdout


def test_changed_topology_needs_recreate(lab_name: str) -> None:
    netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name)
    changed = netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name,
                     "--set", "net=192.168.51", check=3)
    assert changed.stderr.splitlines() == [
        f"error: lab '{lab_name}' is already up with a different topology",
        # the hint is a command that works as it is: the file, and the lab's own name
        f"hint: 'netlab up --recreate {TOPO / 'bridge.yaml'} --name {lab_name}' tears it down "
        "and builds it anew",
    ], changed.stderr
    netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name, "--set", "net=192.168.51",
           "--recreate")
    doc = json.loads(netlab("status", "-l", lab_name, "--json").stdout)
    h1 = next(n for n in doc["nodes"] if n["name"] == "h1")
    assert "192.168.51.1/24" in h1["interfaces"][0]["addresses"]
    netlab("down", "-l", lab_name)


def test_another_file_with_the_same_lab_name_is_not_offered_recreate(tmp_path: Path,
                                                                       lab_name: str) -> None:
    """Two files that happen to use one `name:`: the second up names the file the lab was
    built from, and offers --name first; --recreate would replace the other lab."""
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(f"name: {lab_name}\nnodes: {{a: {{}}}}\n")
    second.write_text(f"name: {lab_name}\nnodes: {{b: {{}}}}\n")
    netlab("up", str(first))
    refused = netlab("up", str(second), check=3)
    assert refused.stderr.splitlines() == [
        f"error: lab '{lab_name}' is already up, built from {first}",
        f"hint: 'netlab up {second} --name OTHER' builds this one beside it; "
        f"'netlab up --recreate {second}' replaces it",
    ], refused.stderr
    assert netlab_namespaces(f"netlab-{lab_name}-") == {f"netlab-{lab_name}-a"}


def test_failing_exec_command_rolls_back(tmp_path: Path, lab_name: str) -> None:
    topo = tmp_path / "bad-exec.yaml"
    topo.write_text(
        "name: badexec\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.1/24]}}\n"
        "    exec: ['sleep 30 &', 'echo oops >&2; exit 3']\n"
        "  b:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.2/24]}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = _host(lab_name)
    result = netlab("up", str(topo), "--name", lab_name, check=1)
    assert "exit 3" in result.stderr or "exit status 3" in result.stderr, result.stderr
    assert "rolled back" in result.stderr
    # the background sleep was stopped, so the namespaces really went away
    assert _host(lab_name) == before
    assert lab_name not in netlab("ls").stdout


def test_a_program_this_machine_lacks_is_said_before_anything(tmp_path: Path,
                                                              lab_name: str) -> None:
    # up: refused before anything is made, exit 5 (this machine cannot), with its line.
    topo = tmp_path / "lacks.yaml"
    topo.write_text(
        "name: lacks\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.1/24]}}\n"
        "    services: {d: {run: netlab-test-no-such-daemon -f}}\n"
        "  b:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.2/24]}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = _host(lab_name)
    refused = netlab("up", str(topo), "--name", lab_name, check=5)
    assert refused.stderr.splitlines() == [
        f"{topo}:5: nodes.a.services.d.run: 'netlab-test-no-such-daemon' is not "
        "installed on this machine",
        "hint: install netlab-test-no-such-daemon on this machine (a node runs this "
        "machine's programs)",
    ], refused.stderr
    assert _host(lab_name) == before and lab_name not in netlab("ls").stdout
    # exec: said by netlab, exit 127 as a shell's "command not found"; a path is the node's.
    topo.write_text(topo.read_text().replace("netlab-test-no-such-daemon -f", "sleep 60"))
    netlab("up", str(topo), "--name", lab_name)
    missing = netlab("exec", "-l", lab_name, "a", "--", "netlab-test-no-such-tool", "-v",
                     check=127)
    assert missing.stderr.splitlines() == [
        "error: 'netlab-test-no-such-tool' is not installed on this machine",
        "hint: install netlab-test-no-such-tool on this machine (a node runs this machine's "
        "programs)",
    ], missing.stderr
    several = netlab("exec", "-l", lab_name, "--all", "--", "netlab-test-no-such-tool",
                     check=127)
    assert "'netlab-test-no-such-tool' is not installed" in several.stderr
    path = netlab("exec", "-l", lab_name, "a", "--", "/nonexistent/tool", check=127)
    assert "No such file or directory" in path.stderr
    assert netlab("exec", "-l", lab_name, "a", "--", "true").returncode == 0


def test_keep_on_error_then_down(tmp_path: Path, lab_name: str) -> None:
    env_topo = str(TOPO / "veth-pair.yaml")
    before = _host(lab_name)
    result = subprocess.run(
        [sys.executable, "-m", "netlab", "up", env_topo, "--name", lab_name, "--keep-on-error"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NETLAB_FAIL_AT": "5"},
    )
    assert result.returncode == 1, result.stderr
    assert "fault injection" in result.stderr and "--keep-on-error" in result.stderr
    assert f"netlab-{lab_name}-a" in netlab_namespaces()
    netlab("down", "-l", lab_name)
    assert _host(lab_name) == before


def test_down_with_no_lab_up_has_nothing_to_do(tmp_path: Path, lab_name: str) -> None:
    """`netlab down` twice (or in a script's cleanup): exit 0, as `down -l LAB` of a lab
    not up; the only lab up is the one it takes down. A state folder of its own keeps the
    suite's other labs out of it."""
    env = {**os.environ, "NETLAB_STATE_DIR": str(tmp_path / "state")}

    def down(*more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "netlab", "down", *more],
                              capture_output=True, text=True, timeout=60, env=env)

    before = _host(lab_name)
    none = down()
    assert (none.returncode, none.stdout, none.stderr) == (
        0, "no lab is up; nothing to do\n", "")
    doc = json.loads(down("--json").stdout)
    assert (doc["lab"], doc["was_up"], doc["undone"]) == (None, False, 0)
    try:
        up = subprocess.run([sys.executable, "-m", "netlab", "up",
                             str(TOPO / "veth-pair.yaml"), "--name", lab_name],
                            capture_output=True, text=True, timeout=60, env=env)
        assert up.returncode == 0, up.stderr
        taken = down()
        assert taken.returncode == 0 and f"lab {lab_name} is down" in taken.stdout
        assert down().stdout == "no lab is up; nothing to do\n"
    finally:
        down("-l", lab_name)  # its state is in that folder: the fixture's down looks elsewhere
    assert _host(lab_name) == before


def test_up_after_a_kept_lab_says_it_removed_it(lab_name: str) -> None:
    """The next `up` removes a lab kept with --keep-on-error before it builds: it says so,
    when it builds (a note; "replaced" in --json) and when it fails again (the hint)."""
    topo = str(TOPO / "veth-pair.yaml")
    before = _host(lab_name)
    kept = {**os.environ, "NETLAB_FAIL_AT": "5"}
    command = [sys.executable, "-m", "netlab", "up", topo, "--name", lab_name]
    subprocess.run([*command, "--keep-on-error"], capture_output=True, env=kept, timeout=60)
    assert f"netlab-{lab_name}-a" in netlab_namespaces()
    again = subprocess.run(command, capture_output=True, text=True, env=kept, timeout=60)
    assert again.returncode == 1, again.stderr
    assert "hint: rolled back: the host is as it was; the half-built lab kept by an earlier " \
        "'up --keep-on-error' was removed first" in again.stderr, again.stderr
    assert _host(lab_name) == before
    subprocess.run([*command, "--keep-on-error"], capture_output=True, env=kept, timeout=60)
    built = netlab("up", topo, "--name", lab_name)
    assert built.stderr.startswith("note: the half-built lab kept by an earlier 'up "
                                   "--keep-on-error' was removed first\n"), built.stderr
    assert f"lab {lab_name} is up" in built.stdout
    netlab("down", "-l", lab_name)
    subprocess.run([*command, "--keep-on-error"], capture_output=True, env=kept, timeout=60)
    up = json.loads(netlab("up", topo, "--name", lab_name, "--json").stdout)
    assert (up["created"], up["replaced"]) == (True, "kept")
    netlab("down", "-l", lab_name)
    assert _host(lab_name) == before


def test_foreign_namespace_is_not_adopted(lab_name: str) -> None:
    foreign = f"netlab-{lab_name}-a"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        result = netlab("up", str(TOPO / "veth-pair.yaml"), "--name", lab_name, check=3)
        assert foreign in result.stderr and "not part of lab" in result.stderr
        assert foreign in netlab_namespaces()  # untouched
        assert f"netlab-{lab_name}-b" not in netlab_namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_bad_input_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    topo = tmp_path / "typo.yaml"
    topo.write_text("name: typo\nnodes:\n  a:\n    kind: rooter\n")
    before = _host("typo")
    result = netlab("up", str(topo), check=2)
    assert "typo.yaml:4:" in result.stderr
    assert _host("typo") == before
    assert netlab("validate", str(topo), check=2).stderr == result.stderr


def test_changed_checks_alone_need_no_rebuild(tmp_path: Path, lab_name: str) -> None:
    topo = tmp_path / "chk.yaml"
    base = ("name: chk\nnodes:\n  a: {interfaces: {eth0: {addresses: [10.9.0.1/24]}}}\n"
            "  b: {interfaces: {eth0: {addresses: [10.9.0.2/24]}}}\nlinks: [[a:eth0, b:eth0]]\n"
            "checks:\n  - {from: a, to: b}\n")
    topo.write_text(base)
    netlab("up", str(topo), "--name", lab_name)
    journal = (Path("/run/netlab") / lab_name / "journal.jsonl").read_bytes()
    topo.write_text(base + "  - {name: back, from: b, to: a}\n")
    assert "unchanged" in netlab("up", str(topo), "--name", lab_name).stdout
    assert (Path("/run/netlab") / lab_name / "journal.jsonl").read_bytes() == journal
    report = json.loads(netlab("test", "-l", lab_name, "--json").stdout)
    assert "back" in json.dumps(report)  # the new check was kept for `test -l`


def test_a_namespace_removed_by_hand_is_said_by_up_and_exec(lab_name: str) -> None:
    topo = str(TOPO / "router.yaml")
    netlab("up", topo, "--name", lab_name)
    ns = f"netlab-{lab_name}-r1"
    subprocess.run(["ip", "netns", "del", ns], check=True)

    again = netlab("up", topo, "--name", lab_name, check=3)
    assert again.stderr.splitlines() == [
        f"error: lab '{lab_name}' is up but the namespace of 1 node is missing: r1 ({ns})",
        f"hint: 'netlab up --recreate {topo} --name {lab_name}' builds it anew (or 'netlab "
        f"down -l {lab_name}', then 'netlab up {topo} --name {lab_name}')",
    ], again.stderr
    assert "nothing to do" not in again.stdout

    exec_ = netlab("exec", "-l", lab_name, "r1", "--", "true", check=3)
    assert exec_.stderr.splitlines()[0] == (
        f"error: the namespace of node 'r1' of lab '{lab_name}' ({ns}) is missing"
    ), exec_.stderr
    assert "Cannot open network namespace" not in exec_.stderr
    assert netlab("exec", "-l", lab_name, "left", "--", "true").returncode == 0

    drift = json.loads(netlab("status", "-l", lab_name, "--json").stdout)["drift"]
    assert f"r1: namespace {ns} is missing" in drift

    netlab("up", topo, "--name", lab_name, "--recreate")
    assert json.loads(netlab("status", "-l", lab_name, "--json").stdout)["drift"] == []
    netlab("down", "-l", lab_name)
    assert not namespaces(f"netlab-{lab_name}-")


@pytest.fixture
def lab_named_after(lab_name: str) -> Iterator[str]:
    """A second lab whose name is the first one's plus '-b'."""
    name = f"{lab_name}-b"
    try:
        yield name
    finally:
        subprocess.run([sys.executable, "-m", "netlab", "down", "-l", name],
                       capture_output=True, timeout=120)


def test_a_name_clash_names_the_lab_that_owns_the_namespace(
    tmp_path: Path, lab_name: str, lab_named_after: str
) -> None:
    """Lab L with node b-c and lab L-b with node c both want namespace netlab-L-b-c."""
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("name: first\nnodes:\n  b-c: {}\n")
    second.write_text("name: second\nnodes:\n  c: {}\n")
    netlab("up", str(first), "--name", lab_name)
    clash = netlab("up", str(second), "--name", lab_named_after, check=3)
    ns = f"netlab-{lab_name}-b-c"
    assert clash.stderr.splitlines() == [
        f"error: namespace {ns} already exists and is not part of lab '{lab_named_after}'; "
        "netlab will not adopt or delete it",
        f"hint: it is a namespace of lab '{lab_name}', which is up (lab and node names are "
        "joined by '-'): give this lab another name with --name, or take that one down with "
        f"'netlab down -l {lab_name}'",
    ], clash.stderr
    assert "cleanup" not in clash.stderr
    assert lab_named_after not in netlab("ls").stdout
    assert json.loads(netlab("status", "-l", lab_name, "--json").stdout)["drift"] == []
    netlab("down", "-l", lab_name)


@pytest.mark.parametrize(("command", "needs"), [
    (["up", str(TOPO / "router.yaml")], "build a lab"),
    (["status", "-l", "LAB"], "read a lab's namespaces"),
    (["cleanup", "--dry-run"], "find and remove what crashed runs left behind"),
    (["down", "-l", "LAB"], "take a lab down"),
    (["exec", "-l", "LAB", "left", "--", "true"], "enter a lab's namespaces"),
    (["save", "-l", "LAB", "/nonexistent/handin"], "save a lab"),
])
def test_without_root_each_command_says_what_it_needs_root_for(
    command: list[str], needs: str, lab_name: str
) -> None:
    netlab("up", str(TOPO / "router.yaml"), "--name", lab_name)
    result = subprocess.run(
        ["setpriv", "--bounding-set=-net_admin,-sys_admin", "--inh-caps=-net_admin,-sys_admin",
         "--", sys.executable, "-m", "netlab",
         *[lab_name if arg == "LAB" else arg for arg in command]],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"error: netlab needs root to {needs} (missing CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    ), result.stderr
    assert json.loads(netlab("status", "-l", lab_name, "--json").stdout)["drift"] == []


def test_a_file_broken_after_up_still_names_its_lab(tmp_path: Path, lab_name: str) -> None:
    """A student edits the file into a mistake (or deletes it), then `netlab down FILE`:
    the mistake is said, and so is how to take the lab down without the file."""
    topo = tmp_path / "lab.yaml"
    topo.write_text(f"name: {lab_name}\nnodes: {{a: {{}}}}\n")
    netlab("up", str(topo))
    topo.write_text(f"name: {lab_name}\nnodes: {{a: {{knd: router}}}}\n")
    hint = (f"hint: lab {lab_name} is up, built from {topo}: 'netlab down -l {lab_name}' "
            "needs no file")
    assert netlab("down", str(topo), check=2).stderr.splitlines()[-1] == hint
    topo.unlink()
    assert netlab("down", str(topo), check=2).stderr.splitlines() == [
        f"{topo}: no such file", hint]
    assert netlab_namespaces(f"netlab-{lab_name}-") == {f"netlab-{lab_name}-a"}  # untouched
    netlab("down", "-l", lab_name)
    assert not netlab_namespaces(f"netlab-{lab_name}-")


def test_down_of_a_file_whose_lab_has_another_name_says_which_is_up(
    tmp_path: Path, lab_name: str,
) -> None:
    """`up lab.yaml --name X` (or --set changing the name), then `down lab.yaml`: nothing
    to do for the file's own name (exit 0, as always), and a note names the lab it built."""
    topo = tmp_path / "lab.yaml"
    topo.write_text("name: qa-own-name\nnodes: {a: {}}\n")
    netlab("up", str(topo), "--name", lab_name)
    down = netlab("down", str(topo))
    assert down.stdout.strip() == "lab qa-own-name is not up; nothing to do"
    assert down.stderr.splitlines() == [
        f"note: lab {lab_name} is up, built from {topo}: 'netlab down -l {lab_name}' takes "
        "it down"]
    assert netlab_namespaces(f"netlab-{lab_name}-") == {f"netlab-{lab_name}-a"}


def test_status_check_exits_4_when_the_lab_drifted(lab_name: str) -> None:
    """`status --check` is CI's question "is the lab as its topology says?": 0 when it is,
    4 with the drift listed when not (in the table, or the document's "drift")."""
    netlab("up", str(TOPO / "router.yaml"), "--name", lab_name)
    assert netlab("status", "-l", lab_name, "--check").stderr == ""
    assert json.loads(netlab("status", "-l", lab_name, "--check", "--json").stdout)[
        "drift"] == []

    netlab("link", "-l", lab_name, "r1:eth1", "down")
    doc = json.loads(netlab("status", "-l", lab_name, "--check", "--json", check=4).stdout)
    assert "r1: eth1 is administratively down; the topology has it up" in doc["drift"]
    drifted = netlab("status", "-l", lab_name, "--check", check=4)
    assert all(line in drifted.stdout for line in doc["drift"])
    assert drifted.stderr.splitlines() == [
        f"error: lab {lab_name} is up but not as its topology says: "
        f"{len(doc['drift'])} differences"]
    assert netlab("status", "-l", lab_name).returncode == 0  # without --check: as before

    subprocess.run(["ip", "netns", "del", f"netlab-{lab_name}-right"], check=True)
    missing = json.loads(netlab("status", "-l", lab_name, "--check", "--json", check=4).stdout)
    assert f"right: namespace netlab-{lab_name}-right is missing" in missing["drift"]
    netlab("down", "-l", lab_name)
    # Not up is not drift: exit 3, as every command that needs the lab up says it.
    for command in (["status", "--check"], ["exec", "left", "--", "true"],
                    ["ping", "left", "right"]):
        gone = netlab(command[0], "-l", lab_name, *command[1:], check=3)
        assert gone.stderr.splitlines()[0] == f"error: lab '{lab_name}' is not up", gone.stderr


def test_down_json_counts_the_processes_it_stopped(tmp_path: Path, lab_name: str) -> None:
    topo = tmp_path / "svc.yaml"
    topo.write_text("name: svc\nnodes:\n  a:\n    services:\n"
                    "      idle: {run: 'sleep 600 & echo started; wait', ready: started}\n")
    netlab("up", str(topo), "--name", lab_name)
    down = json.loads(netlab("down", "-l", lab_name, "--json").stdout)
    assert (down["was_up"], down["processes"]) == (True, 2), down  # sh and its sleep
    again = json.loads(netlab("down", "-l", lab_name, "--json").stdout)
    assert (again["was_up"], again["processes"]) == (False, 0), again
