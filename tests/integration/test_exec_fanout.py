"""`netlab exec --all` / `--nodes a,b`: one command in several nodes, output prefixed by
node, exit status the worst."""

from __future__ import annotations

from pathlib import Path

from .hostcheck import netlab

LAB = """\
name: fanout
nodes:
  a: {interfaces: {eth0: {addresses: [10.84.0.1/24]}}}
  bb: {interfaces: {eth0: {addresses: [10.84.0.2/24]}}}
  c: {}
links: [[a:eth0, bb:eth0]]
"""


def test_exec_in_several_nodes(tmp_path: Path, fresh_lab: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    netlab("up", str(path), "--name", fresh_lab)
    every = netlab("exec", "-l", fresh_lab, "--all", "--", "hostname", "-I")
    assert [line.split(":")[0] for line in every.stdout.splitlines()] == ["a", "bb", "c"]
    two = netlab("exec", "-l", fresh_lab, "--nodes", "a,bb", "--", "ip", "-br", "-4", "addr",
                 "show", "eth0")
    lines = two.stdout.splitlines()
    assert lines[0].startswith("a:  eth0") and "10.84.0.1/24" in lines[0]
    assert lines[1].startswith("bb: eth0") and "10.84.0.2/24" in lines[1]
    # c has no eth0: its error is on stderr, prefixed, and the status is the worst.
    failed = netlab("exec", "-l", fresh_lab, "--all", "--", "ip", "link", "show", "eth0",
                    check=1)
    assert any(line.startswith("c:  ") for line in failed.stderr.splitlines())
    some = netlab("exec", "-l", fresh_lab, "--nodes", "bb,a", "--", "sh", "-c", "exit 3",
                  check=3)
    assert some.stdout == ""
    unknown = netlab("exec", "-l", fresh_lab, "--nodes", "a,zz", "--", "true", check=2)
    assert "has no node 'zz'" in unknown.stderr
    netlab("down", "-l", fresh_lab)
