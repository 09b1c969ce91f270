"""The pure parts of a lab across hosts: partition, VNIs, the --via template."""

from __future__ import annotations

import pytest

from netlab.errors import InputError
from netlab.lab.fanout import command_for
from netlab.plan.ops import CreateVeth, CreateVxlan
from netlab.plan.partition import VNI_SPACE, vni, vni_base
from netlab.plan.planner import plan
from netlab.spec import load_text

TOPOLOGY = """
name: across
hosts:
  a: {address: 192.0.2.1}
  b: {address: 192.0.2.2, dev: u0}
nodes:
  h1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  r1: {kind: router}
  sw1: {kind: switch, host: b}
  h2: {host: b, interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
links:
  - [h1:eth0, r1:eth0]
  - [r1:eth1, sw1]
  - endpoints: [h2:eth0, sw1]
  - endpoints: [h1:eth1, h2:eth1]
    mtu: 1400
"""

def test_each_host_builds_its_own_nodes_and_its_end_of_each_cable() -> None:
    topo = load_text(TOPOLOGY, "across.yaml").topology
    a, b = plan(topo, host="a"), plan(topo, host="b")
    assert set(a.namespaces) == {"h1", "r1"} and set(b.namespaces) == {"sw1", "h2"}
    vx_a = [op for op in a.ops if isinstance(op, CreateVxlan)]
    vx_b = [op for op in b.ops if isinstance(op, CreateVxlan)]
    # The same VNIs at both ends, each pointing at the other host, all over the underlay.
    assert [op.vni for op in vx_a] == [op.vni for op in vx_b]
    assert {op.remote for op in vx_a} == {"192.0.2.2"} and {op.remote for op in vx_b} == {
        "192.0.2.1"}
    assert all(op.underlay and op.port == 4789 for op in vx_a + vx_b)
    assert [(op.ifname, op.mtu, op.dev) for op in vx_b] == [
        ("r1-eth1", 1450, "u0"), ("eth1", 1400, "u0")]
    # A cable on one host stays a veth; nothing of the other host's nodes is touched.
    assert [op.ifname for op in a.ops if isinstance(op, CreateVeth)] == ["eth0"]
    assert all(op.ns.split("-")[-1] in ("h1", "r1") for op in a.ops)

def test_a_lab_across_hosts_needs_a_host_and_a_known_one() -> None:
    topo = load_text(TOPOLOGY, "across.yaml").topology
    with pytest.raises(InputError, match="spans hosts a, b"):
        plan(topo)
    with pytest.raises(InputError, match="no host 'c'"):
        plan(topo, host="c")

def test_a_lab_with_no_hosts_plans_as_before() -> None:
    text = "name: one\nnodes: {h1: {}, h2: {}}\nlinks: [[h1:eth0, h2:eth0]]\n"
    topo = load_text(text, "one.yaml").topology
    ops = plan(topo).ops
    assert not any(isinstance(op, CreateVxlan) for op in ops)
    with pytest.raises(InputError, match="no 'hosts:'"):
        plan(topo, host="a")

def test_vnis_are_a_block_per_lab_derived_from_its_name() -> None:
    assert vni("lab1", 0) == vni_base("lab1")
    assert [vni("lab1", k) - vni("lab1", 0) for k in range(3)] == [0, 1, 2]
    assert vni_base("lab1") != vni_base("lab2")
    # The block wraps within 1..16777215, never 0.
    assert all(1 <= vni(name, k) <= VNI_SPACE for name in ("x", "y") for k in (0, VNI_SPACE))

def test_the_via_template() -> None:
    argv = ["netlab", "up", "-", "--host", "a"]
    assert command_for("ssh root@{address}", "a", "192.0.2.1", argv) == [
        "ssh", "root@192.0.2.1", "netlab up - --host a"]
    assert command_for("nsenter --net=/x/{host}/net -- {cmd}", "a", "192.0.2.1", argv) == [
        "nsenter", "--net=/x/a/net", "--", *argv]
    assert command_for("sh -c '{cmd} 2>&1'", "a", "1", ["echo", "a b"]) == [
        "sh", "-c", "echo 'a b' 2>&1"]
    with pytest.raises(InputError):
        command_for("", "a", "1", argv)


def test_a_via_template_that_ends_in_the_netlab_program_runs_that_one() -> None:
    # Over ssh the remote shell's PATH seldom holds a venv: the template names the program.
    argv = ["netlab", "down", "-l", "x"]
    assert command_for("ssh root@{address} /opt/nl/bin/netlab", "a", "192.0.2.1", argv) == [
        "ssh", "root@192.0.2.1", "/opt/nl/bin/netlab", "down -l x"]
    assert command_for("ssh u@{address} sudo netlab", "a", "1", argv)[-3:] == [
        "sudo", "netlab", "down -l x"]
    # With {cmd}, the template is taken as written.
    assert command_for("env {cmd}", "a", "1", argv) == ["env", *argv]

