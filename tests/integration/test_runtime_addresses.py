"""Addresses a node makes itself at run time (`exec: ip addr add`, as containerlab labs do,
or DHCP): `netlab ping`, `checks:` (`to: NODE`), `status` and Lab.ping use the kernel's."""

from __future__ import annotations

import json
from pathlib import Path

from netlab.api import Lab

from .hostcheck import netlab

LAB = """\
name: runtime
nodes:
  server:
    interfaces: {eth0: {addresses: [10.78.0.1/24]}}
  client:
    exec: [ip addr add 10.78.0.7/24 dev eth0]
  quiet: {}
links:
  - [server:eth0, client:eth0]
  - [server:eth1, quiet:eth0]
checks:
  - {from: server, to: client}
  - {from: server, to: client:eth0, tcp: 9, expect: unreachable, timeout: 0.5}
"""


def test_exec_made_address_is_pinged_checked_and_shown(tmp_path: Path, fresh_lab: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    netlab("up", str(path), "--name", fresh_lab)

    ping = netlab("ping", "-l", fresh_lab, "server", "client", "-c", "1")
    assert "client (10.78.0.7)" in ping.stdout
    assert "1 received" in ping.stdout

    # The node whose topology gives none and that makes none: said in words, not a crash.
    quiet = netlab("ping", "-l", fresh_lab, "server", "quiet", "-c", "1", check=2)
    assert "node 'quiet' has no address (none in the topology, none in the kernel now)" \
        in quiet.stderr
    # Its lo has only loopback's address, which would answer from server itself: refused.
    own = netlab("ping", "-l", fresh_lab, "server", "quiet:lo", "-c", "1", check=2)
    assert "quiet:lo has no address but loopback's (127.0.0.1, ::1)" in own.stderr
    assert "PING" not in own.stdout

    test = netlab("test", "-l", fresh_lab, "--json")
    doc = json.loads(test.stdout)
    assert doc["ok"] is True, doc
    assert "reply from 10.78.0.7" in doc["checks"][0]["why"]
    assert doc["checks"][0]["address"] is None  # looked up when probed

    status = json.loads(netlab("status", "-l", fresh_lab, "--json").stdout)
    client = next(n for n in status["nodes"] if n["name"] == "client")
    eth0 = next(i for i in client["interfaces"] if i["name"] == "eth0")
    assert "10.78.0.7/24" in eth0["addresses"]

    lab = Lab.attach(fresh_lab)
    assert lab.ping("server", "client")
    assert not lab.ping("client", "10.78.0.99", count=1, timeout=0.3)
    netlab("down", "-l", fresh_lab)


def test_a_node_that_runs_nothing_still_needs_an_address(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB.replace("to: client:eth0", "to: quiet"))
    result = netlab("validate", str(path), check=2)
    assert "checks[1].to: node 'quiet' has no address" in result.stderr
