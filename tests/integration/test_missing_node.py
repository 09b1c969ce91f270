"""Checks and entries into a node whose network namespace is missing (the lab taken down
meanwhile, a deleted netns, a lab up from another topology without that node): one clear
line at once, no retries, no raw Python error, and no cgroup made for the node."""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.errors import NetlabError, NodeMissing
from netlab.kernel import cgroups
from netlab.kernel.enter import node_argv
from netlab.pytest_plugin import unique_name

from .hostcheck import force_down, netlab

TWO = """\
name: twonodes
nodes:
  a:
    interfaces: {eth0: {addresses: [10.78.0.1/24]}}
  b:
    interfaces: {eth0: {addresses: [10.78.0.2/24]}}
links:
  - [a:eth0, b:eth0]
checks:
  - {from: b, to: a, timeout: 10}
  - {node: b, run: "true", timeout: 10}
"""


def _group_there(ns: str) -> bool:
    group = cgroups.node_group(ns)
    return group is not None and group.exists()


def test_checks_on_a_deleted_node_fail_at_once_and_leave_no_cgroup(
        tmp_path: Path, fresh_lab: str) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    gone = lab.namespace("b")
    subprocess.run(["ip", "netns", "del", gone], check=True)  # this test's own lab
    started = time.monotonic()
    result = netlab("test", "-l", fresh_lab, check=1)
    took = time.monotonic() - started
    assert took < 8, f"retried for the checks' whole timeout ({took:.1f} s)"
    assert "node b's namespace is missing (lab taken down" in result.stdout, result.stdout
    assert "Errno" not in result.stdout + result.stderr
    assert not _group_there(gone)
    with pytest.raises(NodeMissing, match="missing"):
        node_argv(gone, "/", ["true"])
    assert not _group_there(gone)


def test_checks_naming_a_node_the_lab_up_lacks(tmp_path: Path, fresh_lab: str) -> None:
    """A lab up from another topology is tested as it is (docs/cli.md): a check that
    enters a node it lacks says so in one line, at once."""
    one = tmp_path / "one.yaml"
    one.write_text("name: one\nnodes:\n  a: {}\n")
    Lab.from_file(one, name=fresh_lab).up()
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    started = time.monotonic()
    result = netlab("test", str(path), "-l", fresh_lab, check=1)
    assert time.monotonic() - started < 8
    assert "node b's namespace is missing" in result.stdout, result.stdout
    assert "Errno" not in result.stdout + result.stderr
    assert not _group_there(f"netlab-{fresh_lab}-b")
    netlab("down", "-l", fresh_lab)


def test_missing_namespace_hint_names_the_lab(tmp_path: Path, fresh_lab: str) -> None:
    """The hint to build the lab anew, copied, must rebuild this lab (its --name), not
    a second one named as the topology."""
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    subprocess.run(["ip", "netns", "del", lab.namespace("b")], check=True)
    result = netlab("exec", "-l", fresh_lab, "b", "--", "true", check=3)
    assert f"'netlab up --recreate {path} --name {fresh_lab}'" in result.stderr, result.stderr
    with pytest.raises(NetlabError) as raised:
        lab.node_namespace("b")
    assert f"--name {fresh_lab}'" in (raised.value.hint or "")


def test_file_commands_note_the_lab_built_from_the_file(tmp_path: Path, fresh_lab: str) -> None:
    """`up FILE --name X`, then `status FILE` / `test FILE` (which look for the file's own
    lab) say that X is up, built from FILE, as `down FILE` does."""
    own = unique_name("filenote")
    path = tmp_path / "two.yaml"
    path.write_text(TWO.replace("name: twonodes", f"name: {own}"))
    Lab.from_file(path, name=fresh_lab).up()
    note = f"note: lab {fresh_lab} is up, built from {path}: 'netlab"
    status = netlab("status", str(path), check=3)
    assert f"{note} status -l {fresh_lab}' shows it" in status.stderr, status.stderr
    try:
        tested = netlab("test", str(path))  # still its own lab, up and down again
    finally:
        force_down(own)
    assert f"{note} test -l {fresh_lab}' tests it" in tested.stderr, tested.stderr
    down = netlab("down", str(path))
    assert f"{note} down -l {fresh_lab}' takes it down" in down.stderr, down.stderr


def test_junit_says_why_up_failed(tmp_path: Path, fresh_lab: str) -> None:
    """`test FILE --junit` whose up fails (a service exits): the documented exit status
    of a failed up (1), and a JUnit file with one errored case carrying up's error."""
    path = tmp_path / "dies.yaml"
    path.write_text(TWO.replace("  b:\n", "  b:\n    services: {dies: {run: 'exit 3'}}\n"))
    junit = tmp_path / "out.xml"
    result = netlab("test", str(path), "--name", fresh_lab, "--junit", str(junit), check=1)
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: "), result.stderr
    suite = ET.parse(junit).getroot()
    assert suite.get("errors") == "1" and suite.get("tests") == "1"
    error = suite.find("testsuite/testcase/error")
    assert error is not None and error.get("message") == first.removeprefix("error: ")


def test_down_removes_the_cgroups_of_the_labs_prefix(tmp_path: Path, fresh_lab: str) -> None:
    """A cgroup made for a node the lab lacks (by an entry that raced `down`, or an older
    netlab) goes with the lab's `down`, as `cleanup -l` would remove it."""
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    ghost = f"netlab-{fresh_lab}-ghost"
    try:
        if not cgroups.join_files(ghost, cgroups.RUN_LEAF):  # what an entry makes
            pytest.fail("no cgroup hierarchy to track nodes' processes")
        assert _group_there(ghost)
        netlab("down", "-l", fresh_lab)
        assert not _group_there(ghost)
    finally:
        cgroups.kill(ghost)  # this test's own, whatever happened
