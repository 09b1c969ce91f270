"""VRFs on a real kernel: topologies/vrf.yaml (a provider edge router, two customers with
the same addresses, each in a VRF of its own) in the stock-kernel VM (tests/stockvm.py);
refused before anything is made (exit 5, naming CONFIG_NET_VRF) where the kernel lacks VRFs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netlab.kernel import features
from netlab.pytest_plugin import LabFactory, unique_name

from ..conftest import netlab_namespaces
from .hostcheck import netlab
from .test_kinds import ip_json
from .test_shaping import iface

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "topologies" / "vrf.yaml"


def test_vrf_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().missing_links().get("vrf") is None:
        pytest.skip("this kernel has VRFs (CONFIG_NET_VRF): nothing to refuse")
    name = unique_name("vrf")
    result = netlab("up", str(EXAMPLE), "--name", name, check=5)
    assert (f"{EXAMPLE}:11: nodes.pe.interfaces.red: pe:red is a vrf device, which this "
            "kernel lacks (CONFIG_NET_VRF)") in result.stderr
    assert "modprobe vrf" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_two_vrfs_with_the_same_addresses_keep_their_customers_apart(
        netlab_lab: LabFactory) -> None:
    lab = netlab_lab(EXAMPLE)
    # Each customer reaches its other site through a route in its own VRF's table, over
    # the same addresses (10.0.0.1 and 10.9.0.1 on pe, twice).
    assert lab.ping("red-a", "10.1.0.1")
    assert lab.ping("blue-a", "10.2.0.1")
    # ... and never the other customer's.
    assert not lab.ping("red-a", "10.2.0.1", timeout=0.5, count=2)
    assert not lab.ping("blue-a", "10.1.0.1", timeout=0.5, count=2)
    report = lab.run_checks()
    assert report, report.summary()
    # pe knows 10.0.0.2 twice: red-a's MAC behind eth1 (vrf red), blue-a's behind eth2.
    pe = lab.namespace("pe")
    macs = {host: ip_json(lab.namespace(host), "link", "show", "eth0")[0]["address"]
            for host in ("red-a", "blue-a")}
    neighbours = {(n["dev"], n.get("lladdr")) for n in ip_json(pe, "neigh", "show", "10.0.0.2")}
    assert {("eth1", macs["red-a"]), ("eth2", macs["blue-a"])} <= neighbours
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "pe", "red")["vrf"] == {"now": {"table": 10}, "planned": {"table": 10},
                                              "as_planned": True}
    assert iface(doc, "pe", "eth4")["master"] == "blue"
    routes = next(n for n in doc["nodes"] if n["name"] == "pe")["routes"]
    assert {"to": "10.1.0.0/24", "via": "10.9.0.2", "vrf": "red", "table": 10}.items() <= next(
        r for r in routes if r["to"] == "10.1.0.0/24").items()
    # moved behind netlab's back: status tells
    subprocess.run(["ip", "-n", pe, "link", "set", "eth1", "master", "blue"], check=True)
    assert "pe: eth1 is in vrf blue; the topology says vrf red" in lab.status()["drift"]
    assert "table 20" in netlab("status", "-l", lab.name).stdout
