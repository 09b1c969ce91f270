"""Which nodes `up` makes small hosts at once, and which on first entry (lazy): a node that
runs nothing and has nothing written into its folders at `up` is lazy; its undo removes
whatever a first entry made, and nothing made is no error."""

from __future__ import annotations

from netlab.plan import ops as o
from netlab.plan.planner import plan
from netlab.spec import load_text

TOPOLOGY = """\
name: lz
nodes:
  plain: {dns: [10.0.0.9]}
  switch: {kind: switch}
  limited: {limits: {pids: 100}, sysctls: {net.ipv4.ip_forward: 1}}
  serves: {services: {s: "sleep 60"}}
  prepares: {prepare: ["true"]}
  execs: {exec: ["true"]}
  writes: {files: {a.txt: "x"}}
  private: {private: [/var/lib/misc]}
  frr: {frr: {daemons: [ospfd]}}
"""


def test_only_nodes_that_run_nothing_at_up_are_made_on_first_entry() -> None:
    hosts = {op.hostname: op for op in plan(load_text(TOPOLOGY, "t.yaml").topology).ops
             if isinstance(op, o.CreateNodeHost)}
    lazy = {name for name, op in hosts.items() if op.lazy}
    assert lazy == {"plain", "switch", "limited"}
    # What the first entry makes it from is planned all the same.
    assert hosts["plain"].resolv == "nameserver 10.0.0.9\n"
    assert hosts["plain"].hosts_file.endswith("/lz/hosts")


def test_a_lazy_node_host_is_undone_whatever_was_made() -> None:
    op = o.CreateNodeHost("netlab-lz-plain", "plain", lazy=True)
    assert op.undo() == o.DeleteNodeHost("netlab-lz-plain", lazy=True)
    assert o.op_from_json(op.to_json()) == op
    old = op.to_json()
    del old["lazy"]  # a journal written before lazy nodes: made at up
    assert o.op_from_json(old) == o.CreateNodeHost("netlab-lz-plain", "plain")
    assert "on first entry" in op.describe()
