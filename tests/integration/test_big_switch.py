"""A switch past the kernel's 1023 ports per bridge: a tree of bridges that is one switch."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml

from netlab.pytest_plugin import LabFactory

from ..conftest import netlab_namespaces

HOSTS = 1100


def _star(path: Path, hosts: int) -> Path:
    nodes: dict[str, object] = {"sw": {"kind": "switch"}}
    links = []
    for i in range(hosts):
        address = ipaddress.ip_address("10.0.0.1") + i
        nodes[f"h{i}"] = {"interfaces": {"eth0": {"addresses": [f"{address}/16"]}}}
        links.append([f"h{i}:eth0", "sw"])
    path.write_text(yaml.safe_dump({"name": "bigstar", "nodes": nodes, "links": links}))
    return path


def test_star_of_1100_hosts_is_one_switch(netlab_lab: LabFactory, tmp_path: Path) -> None:
    lab = netlab_lab(_star(tmp_path / "star.yaml", HOSTS))
    first, last = "h0", f"h{HOSTS - 1}"
    status = lab.status()
    switches = [n for n in status["nodes"] if n["kind"] == "switch"]
    assert [n["name"] for n in switches] == ["sw"]
    ports = {i["name"]: i for i in switches[0]["interfaces"]}
    assert ports[f"{first}-eth0"]["master"] == "br0"
    assert ports[f"{last}-eth0"]["master"] == "br1"  # a leaf bridge, behind a trunk
    assert ports["br0-br1"]["master"] == "br0" and ports["br1-br0"]["master"] == "br1"
    assert sum(1 for i in ports.values() if i["master"] == "br0") == 1023
    assert status["drift"] == []
    # One broadcast domain: ARP crosses the trunk both ways, and so do the echoes. For the
    # first seconds the hosts' own IPv6 start-up (MLD reports, router solicitations, each
    # flooded to 1100 ports) keeps the CPUs busy and loses frames: a ping may need retries.
    assert lab.ping(first, last, count=15)
    assert lab.ping(last, first, count=15)
    assert lab.ping("h1", "h2", count=15)  # two on the root bridge
    assert lab.ping(f"h{HOSTS - 2}", last, count=15)  # two on the leaf bridge
    lab.down()
    assert not netlab_namespaces(f"netlab-{lab.name}-")
