"""The processes a lab starts: found and stopped from the kernel (cgroups and the node's
network namespace), never from a file the lab can write; a user's service gets a clean
environment and the capabilities it asks for; `ready:` waits for a port; limits hold.

The unprivileged user is made by a fixture (conftest.py's lab_user, removed after);
nothing it runs needs to read the checkout."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from netlab.kernel import cgroups
from netlab.plan.naming import namespace
from netlab.state.store import state_root

from .hostcheck import netlab, start, wait_for


def _topology(tmp_path: Path, name: str, node_yaml: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(f"name: {name}\nnodes:\n  h1:\n{node_yaml}")
    return path


def _service_dir(lab: str, service: str) -> Path:
    return state_root() / lab / "nodes" / "h1" / "services" / service


def _start_time(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[19]


def _with_marker(marker: str) -> list[int]:
    """Processes whose command line holds the marker (a number no one else uses)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_forged_pid_file_cannot_make_down_kill_a_root_process(
        fresh_lab: str, tmp_path: Path, lab_user: pwd.struct_passwd) -> None:
    # The attack of issue 10.1: the service's user writes a root process's pid and start
    # time where netlab once kept the service's pid. `down` must not touch that process.
    path = _topology(tmp_path, fresh_lab, f"""\
    services:
      idle: {{run: "echo up; exec sleep 3650", user: {lab_user.pw_name}, ready: up}}
""")
    victim = subprocess.Popen(["sleep", "3651"], start_new_session=True)
    try:
        netlab("up", str(path))
        folder = _service_dir(fresh_lab, "idle")
        record = f'{{"pid": {victim.pid}, "start": {_start_time(victim.pid)}}}'
        subprocess.run(["setpriv", f"--reuid={lab_user.pw_uid}", f"--regid={lab_user.pw_gid}",
                        "--clear-groups", "sh", "-c", f"echo '{record}' > {folder}/pid"],
                       check=True)
        ns = namespace(fresh_lab, "h1")
        service_pids = cgroups.pids(ns, cgroups.service_leaf("idle"))
        assert service_pids, "the service runs in its cgroup"
        netlab("down", "-l", fresh_lab)
        assert victim.poll() is None, "down killed a root process named in a forged file"
        assert not any(_alive(p) for p in service_pids)
    finally:
        victim.kill()
        victim.wait()


FORKER = ("trap '' TERM; echo forking; while :; do sleep {m} & sleep 0.02; done")


@pytest.mark.parametrize("mode", ["detected", "v1"])
def test_children_forked_during_the_grace_period_are_gone(
        fresh_lab: str, tmp_path: Path, lab_user: pwd.struct_passwd, mode: str) -> None:
    # Issue 10.5: a service ignores SIGTERM and forks children (which ignore it too) all
    # through the grace period. After `down` nothing of it is left, and `down` says so.
    # "v1" forces the freezer of cgroup v1 (this machine also has a v2 hierarchy).
    marker = f"3{secrets.randbelow(10**6):06d}.5"
    path = _topology(tmp_path, fresh_lab, f"""\
    services:
      forker: {{run: "{FORKER.format(m=marker)}", user: {lab_user.pw_name}, ready: forking}}
""")
    env = {"NETLAB_CGROUP_MODE": "v1"} if mode == "v1" else {}
    netlab("up", str(path), env=env)
    assert wait_for(lambda: len(_with_marker(marker)) >= 5, timeout=10, step=0.05)
    ns = namespace(fresh_lab, "h1")
    down = netlab("down", "-l", fresh_lab, env=env)
    assert _with_marker(marker) == []
    assert not Path(f"{cgroups.CGROUP_ROOT}/unified/netlab/{ns}").exists()
    assert not Path(f"{cgroups.CGROUP_ROOT}/freezer/netlab/{ns}").exists()
    said = r"; \d+ processes stopped \(\d+ killed after the grace period"
    assert re.search(said, down.stdout), down.stdout


def test_a_process_started_by_hand_in_the_node_is_stopped_too(
        fresh_lab: str, tmp_path: Path) -> None:
    # Outside every cgroup of the node (root entered the namespace by hand): the scan of
    # the namespace finds it.
    marker = f"4{secrets.randbelow(10**6):06d}.5"
    path = _topology(tmp_path, fresh_lab, "    interfaces: {lo: {}}\n")
    netlab("up", str(path))
    ns = namespace(fresh_lab, "h1")
    stray = subprocess.Popen(["ip", "netns", "exec", ns, "sh", "-c",
                              f"trap '' TERM; sleep {marker}"], start_new_session=True)
    try:
        assert wait_for(lambda: _with_marker(marker), timeout=5, step=0.05)
        netlab("down", "-l", fresh_lab)
        stray.wait(timeout=10)
        assert _with_marker(marker) == []
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()


def test_a_users_service_gets_a_clean_environment(
        fresh_lab: str, tmp_path: Path, lab_user: pwd.struct_passwd) -> None:
    path = _topology(tmp_path, fresh_lab, f"""\
    env: {{GREETING: hello}}
    services:
      show: {{run: "env > $NETLAB_SERVICE_DIR/env.txt; /bin/pwd > $NETLAB_SERVICE_DIR/pwd.txt;
                   echo done; exec sleep 300",
              user: {lab_user.pw_name}, env: {{PORT: "7000"}}, ready: done}}
""")
    netlab("up", str(path), env={"ROOTS_SECRET": "s3cret", "PYENV_ROOT": "/root/.pyenv"})
    try:
        text = (_service_dir(fresh_lab, "show") / "env.txt").read_text()
        env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        assert env["HOME"] == lab_user.pw_dir
        assert env["USER"] == env["LOGNAME"] == lab_user.pw_name
        assert env["SHELL"] == lab_user.pw_shell
        assert env["PATH"].endswith("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        assert (env["GREETING"], env["PORT"]) == ("hello", "7000")
        assert (env["NETLAB_LAB"], env["NETLAB_NODE"]) == (fresh_lab, "h1")
        assert "ROOTS_SECRET" not in env and "PYENV_ROOT" not in env
        assert "s3cret" not in text
        # It can name its folder (the node's): it was entered inside the node, not before.
        pwd_txt = (_service_dir(fresh_lab, "show") / "pwd.txt").read_text()
        assert pwd_txt == f"{state_root() / fresh_lab / 'nodes' / 'h1'}\n", pwd_txt
    finally:
        netlab("down", "-l", fresh_lab)


def test_ready_waits_for_a_port_and_the_readme_example_works_from_env_i(
        fresh_lab: str, tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(f"""\
name: {fresh_lab}
nodes:
  srv:
    interfaces: {{eth0: {{addresses: [10.97.0.1/24]}}}}
    services:
      web: {{run: python3 -m http.server 8000, ready: "Serving HTTP"}}
      port: {{run: python3 -m http.server 8001, ready: {{tcp: 8001}}}}
  cli:
    interfaces: {{eth0: {{addresses: [10.97.0.2/24]}}}}
links: [[srv:eth0, cli:eth0]]
""")
    import sys
    clean = subprocess.run(
        ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", sys.executable, "-m", "netlab",
         "up", str(path)], capture_output=True, text=True, timeout=120, check=False)
    try:
        assert clean.returncode == 0, clean.stderr
        for port in (8000, 8001):
            got = netlab("exec", "-l", fresh_lab, "cli", "--", "python3", "-c",
                         f"import urllib.request; print(urllib.request.urlopen("
                         f"'http://10.97.0.1:{port}/', timeout=5).status)")
            assert got.stdout.strip() == "200"
    finally:
        netlab("down", "-l", fresh_lab)


def test_a_service_that_never_listens_times_out_and_up_shows_its_last_lines(
        fresh_lab: str, tmp_path: Path) -> None:
    path = _topology(tmp_path, fresh_lab, """\
    services:
      mute: {run: "echo first-words; echo last-words-7; exec sleep 300",
             ready: {udp: 5353}, ready_timeout: 1}
""")
    failed = netlab("up", str(path), check=None)
    assert failed.returncode != 0
    assert "did not listen on udp port 5353" in failed.stderr
    assert "last-words-7" in failed.stderr  # the log itself went with the rollback


def test_a_list_of_commands_runs_as_services(fresh_lab: str, tmp_path: Path) -> None:
    path = _topology(tmp_path, fresh_lab, """\
    services: ["python3 -m http.server 7000", "sleep 300"]
""")
    netlab("up", str(path))
    try:
        doc = netlab("status", "-l", fresh_lab, "--json")
        import json
        services = json.loads(doc.stdout)["nodes"][0]["services"]
        assert [(s["name"], s["running"]) for s in services] == [("python3", True),
                                                                   ("sleep", True)]
    finally:
        netlab("down", "-l", fresh_lab)


def test_capabilities_let_a_users_service_configure_the_node(
        fresh_lab: str, tmp_path: Path, lab_user: pwd.struct_passwd) -> None:
    # A user with CAP_NET_ADMIN (ambient) adds an address in the node; one without cannot.
    path = _topology(tmp_path, fresh_lab, f"""\
    services:
      able: {{run: "ip addr add 10.98.0.1/32 dev lo && echo made; exec sleep 300",
              user: {lab_user.pw_name}, capabilities: [CAP_NET_ADMIN], ready: made}}
      unable: {{run: "ip addr add 10.98.0.2/32 dev lo; echo tried; exec sleep 300",
                user: {lab_user.pw_name}, ready: tried}}
""")
    netlab("up", str(path))
    try:
        addresses = netlab("exec", "-l", fresh_lab, "h1", "--", "ip", "-o", "addr").stdout
        assert "10.98.0.1/32" in addresses
        assert "10.98.0.2/32" not in addresses
    finally:
        netlab("down", "-l", fresh_lab)


def test_limits_hold_for_everything_in_the_node(fresh_lab: str, tmp_path: Path) -> None:
    path = _topology(tmp_path, fresh_lab, """\
    limits: {cpu: 0.5, memory: 64M, pids: 40}
    services:
      idle: "sleep 300"
""")
    netlab("up", str(path))
    try:
        import json
        node = json.loads(netlab("status", "-l", fresh_lab, "--json").stdout)["nodes"][0]
        assert node["limits"] == {"cpu": "0.5", "memory": str(64 * 2**20), "pids": "40"}
        # More processes than the limit: the kernel refuses the rest (fork fails).
        many = netlab("exec", "-l", fresh_lab, "h1", "--", "sh", "-c",
                      "for i in $(seq 60); do sleep 30 & done; wait", check=None)
        assert many.returncode != 0 or "fork" in many.stderr.lower()
        assert "Resource temporarily unavailable" in many.stderr or "fork" in many.stderr
    finally:
        netlab("down", "-l", fresh_lab)
    ns = namespace(fresh_lab, "h1")
    assert ns not in cgroups.groups()


def test_cleanup_stops_the_processes_of_a_crashed_lab(fresh_lab: str, tmp_path: Path) -> None:
    # `up` killed while it waits for a second service: the first, which ignores SIGTERM and
    # forks, is left running. `cleanup` takes the lab down from its journal: nothing stays.
    marker = f"5{secrets.randbelow(10**6):06d}.5"
    path = _topology(tmp_path, fresh_lab, f"""\
    services:
      stubborn: {{run: "trap '' TERM; echo on; while :; do sleep {marker} & sleep 0.05; done",
                  ready: "on"}}
      slow: {{run: "exec sleep 300", ready: never, ready_timeout: 60}}
""")
    up = start("up", str(path))
    try:
        assert wait_for(lambda: len(_with_marker(marker)) >= 2, up, timeout=30, step=0.05)
    finally:
        up.kill()
        up.wait()
    netlab("cleanup", "-l", fresh_lab)
    assert _with_marker(marker) == []
    assert namespace(fresh_lab, "h1") not in cgroups.groups()


def test_cleanup_stops_the_processes_of_a_cgroup_whose_namespace_is_gone(
        fresh_lab: str) -> None:
    marker = f"6{secrets.randbelow(10**6):06d}.5"
    ghost = namespace(fresh_lab, "ghost")
    orphan = subprocess.Popen(cgroups.wrap(["sh", "-c", f"trap '' TERM; sleep {marker}"],
                                           ghost, cgroups.RUN_LEAF), start_new_session=True)
    try:
        assert wait_for(lambda: cgroups.pids(ghost), timeout=5, step=0.05)
        survey = netlab("cleanup", "-l", fresh_lab, "--dry-run").stdout
        assert f"cgroup {ghost}" in survey
        netlab("cleanup", "-l", fresh_lab)
        orphan.wait(timeout=10)
        assert ghost not in cgroups.groups()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_netlab_service_stops_starts_and_restarts_one_service(
        fresh_lab: str, tmp_path: Path) -> None:
    path = _topology(tmp_path, fresh_lab, """\
    services:
      web: {run: "python3 -m http.server 7100", ready: {tcp: 7100}}
      idle: "sleep 300"
""")
    netlab("up", str(path))
    ns = namespace(fresh_lab, "h1")
    try:
        first = cgroups.main_pid(ns, cgroups.service_leaf("web"))
        netlab("service", "-l", fresh_lab, "h1", "web", "stop")
        assert cgroups.pids(ns, cgroups.service_leaf("web")) == []
        assert cgroups.pids(ns, cgroups.service_leaf("idle"))  # the other one runs on
        assert netlab("service", "-l", fresh_lab, "h1", "status", check=1)
        netlab("service", "-l", fresh_lab, "h1", "web", "start")
        netlab("service", "-l", fresh_lab, "h1", "web", "restart")
        again = cgroups.main_pid(ns, cgroups.service_leaf("web"))
        assert again is not None and again != first
        import json
        doc = json.loads(netlab("service", "-l", fresh_lab, "h1", "--json").stdout)
        assert doc["schema"] == "netlab.service/1"
        assert [(s["name"], s["running"]) for s in doc["services"]] == [("web", True),
                                                                          ("idle", True)]
        wrong = netlab("service", "-l", fresh_lab, "h1", "nosuch", "start", check=2)
        assert "has no service 'nosuch'" in wrong.stderr
    finally:
        netlab("down", "-l", fresh_lab)


def test_junit_carries_the_service_logs_of_the_nodes_in_a_failed_check(
        fresh_lab: str, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = tmp_path / "lab.yaml"
    path.write_text(f"""\
name: {fresh_lab}
nodes:
  h1:
    services:
      chatty: {{run: "echo svc-said-4711; exec sleep 300", ready: svc-said-4711}}
checks:
  - {{name: always fails, node: h1, run: "false"}}
""")
    junit = tmp_path / "results.xml"
    netlab("test", str(path), "--junit", str(junit), check=1)
    [case] = list(ET.parse(junit).getroot().iter("testcase"))
    out = case.find("system-out")
    assert out is not None and "svc-said-4711" in (out.text or "")
    assert "==> h1/chatty <==" in (out.text or "")


PEER = ("python3 -m http.server {mine} & "
        "until python3 -c \\\"import socket; socket.create_connection(('{peer}', {theirs}), 1)\\\" "
        "2>/dev/null; do sleep 0.1; done; echo peer-up; wait")
SAW = ("python3 -c \\\"import socket; socket.create_connection(('10.99.0.2', 7202), 1)\\\" "
       "&& echo saw-b; exec sleep 300")


def test_peers_that_need_each_other_start_and_after_orders(
        fresh_lab: str, tmp_path: Path) -> None:
    # Each end is ready only once the other listens (OpenVPN's two ends): started one after
    # the other, the first would time out. `c` starts only once `b` is ready (after:).
    path = tmp_path / "peers.yaml"
    path.write_text(f"""\
name: {fresh_lab}
nodes:
  h1:
    interfaces: {{eth0: {{addresses: [10.99.0.1/24]}}}}
    services:
      a: {{run: "{PEER.format(mine=7201, peer='10.99.0.2', theirs=7202)}", ready: peer-up}}
      c: {{run: "{SAW}", after: h2:b, ready: saw-b}}
  h2:
    interfaces: {{eth0: {{addresses: [10.99.0.2/24]}}}}
    services:
      b: {{run: "{PEER.format(mine=7202, peer='10.99.0.1', theirs=7201)}", ready: peer-up}}
links: [[h1:eth0, h2:eth0]]
""")
    netlab("up", str(path))
    try:
        import json
        doc = json.loads(netlab("status", "-l", fresh_lab, "--json").stdout)
        running = {(n["name"], s["name"]): s["running"] for n in doc["nodes"]
                   for s in n["services"]}
        assert running == {("h1", "a"): True, ("h1", "c"): True, ("h2", "b"): True}
    finally:
        netlab("down", "-l", fresh_lab)


def test_a_log_replaced_by_a_link_is_not_shown_by_a_failing_up(
        fresh_lab: str, tmp_path: Path, lab_user: pwd.struct_passwd) -> None:
    # The service's user swaps its log for a link to a root-only file, then fails: the
    # rollback's message must not show that file's lines.
    secret = tmp_path / "root-only"
    secret.write_text("root-secret-9931\n")
    secret.chmod(0o600)
    path = _topology(tmp_path, fresh_lab, f"""\
    services:
      swap: {{run: "ln -sf {secret} $NETLAB_SERVICE_DIR/log.new && mv -f
                   $NETLAB_SERVICE_DIR/log.new $NETLAB_SERVICE_DIR/log; exit 3",
              user: {lab_user.pw_name}}}
""")
    failed = netlab("up", str(path), check=None)
    assert failed.returncode == 1, failed.stderr
    assert "root-secret-9931" not in failed.stderr + failed.stdout
