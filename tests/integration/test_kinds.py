"""Interface kinds on a real kernel: a macvlan here; those some kernels lack made and carrying
packets where the kernel has them (the stock-kernel VM: tests/stockvm.py), refused before
anything is made (exit 5, naming the kernel option) where it lacks them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from netlab.kernel import features
from netlab.pytest_plugin import LabFactory, unique_name

from ..conftest import netlab_namespaces
from .hostcheck import netlab
from .test_shaping import iface

DUMMY = """\
name: {name}
nodes:
  h1:
    interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}
    routes: [{{to: 192.0.2.1/32, via: 10.0.0.2}}]
  r1:
    interfaces:
      eth0: {{addresses: [10.0.0.2/24]}}
      lo0: {{kind: dummy, addresses: [192.0.2.1/32]}}
links:
  - [h1:eth0, r1:eth0]
"""


def test_dummy_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().missing_links().get("dummy") is None:
        pytest.skip("this kernel has dummy devices (CONFIG_DUMMY): nothing to refuse")
    name = unique_name("dummy")
    path = tmp_path / "dummy.yaml"
    path.write_text(DUMMY.format(name=name))
    result = netlab("up", str(path), check=5)
    assert (f"{path}:9: nodes.r1.interfaces.lo0.kind: r1:lo0 is a dummy device, which this "
            "kernel lacks (CONFIG_DUMMY)") in result.stderr
    assert "modprobe dummy" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_a_dummy_address_is_reached_through_its_node(netlab_lab: LabFactory,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "dummy.yaml"
    path.write_text(DUMMY.format(name="dummy"))
    lab = netlab_lab(path)
    assert lab.ping("h1", "192.0.2.1")
    doc = lab.status()
    assert doc["drift"] == []
    lo0 = iface(doc, "r1", "lo0")
    assert lo0["kind"] == "dummy" and "192.0.2.1/32" in lo0["addresses"]
    shown = subprocess.run(["ip", "-n", lab.namespace("r1"), "-d", "link", "show", "lo0"],
                           capture_output=True, text=True, check=True).stdout
    assert "dummy" in shown and f"alias netlab:{lab.name}" in shown
    # Loading the dummy module made no dummy0 of its own in the host's namespace.
    assert "dummy0" not in subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                                          text=True, check=True).stdout


MACVLAN = """\
name: mv
nodes:
  h1:
    # Only the interface that has an address answers ARP for it: h2 learns mv0's own MAC.
    sysctls: {net.ipv4.conf.all.arp_ignore: 1}
    interfaces:
      mv0: {macvlan: {parent: eth0, mode: bridge}, addresses: [10.0.0.11/24]}
  h2:
    interfaces: {eth0: {addresses: [10.0.0.2/24]}}
links:
  - [h1:eth0, h2:eth0]
"""


def ip_json(ns: str, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-j", "-n", ns, *args], capture_output=True, text=True,
                         check=True).stdout
    return list(json.loads(out))


def test_a_macvlan_answers_with_its_own_mac_on_its_parents_wire(netlab_lab: LabFactory,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "mv.yaml"
    path.write_text(MACVLAN)
    lab = netlab_lab(path)
    assert lab.ping("h2", "10.0.0.11")
    h1 = lab.namespace("h1")
    [mv0] = ip_json(h1, "-d", "link", "show", "mv0")
    [eth0] = ip_json(h1, "link", "show", "eth0")
    assert mv0["linkinfo"]["info_kind"] == "macvlan"  # type: ignore[index]
    assert mv0["linkinfo"]["info_data"]["mode"] == "bridge"  # type: ignore[index]
    neighbours = {n["dst"]: n.get("lladdr") for n in ip_json(lab.namespace("h2"), "neigh")}
    assert neighbours["10.0.0.11"] == mv0["address"] != eth0["address"]
    doc = lab.status()
    assert doc["drift"] == []
    settings = iface(doc, "h1", "mv0")["macvlan"]
    assert settings == {"now": {"parent": "eth0", "mode": "bridge"},
                        "planned": {"parent": "eth0", "mode": "bridge"}, "as_planned": True}
    # changed behind netlab's back: status tells
    subprocess.run(["ip", "-n", h1, "link", "set", "mv0", "type", "macvlan", "mode", "vepa"],
                   check=True)
    assert lab.status()["drift"] == ["h1: mv0 is a macvlan on eth0 in mode vepa; the "
                                     "topology says on eth0 in mode bridge"]
    assert "on eth0 (vepa)" in netlab("status", "-l", lab.name).stdout


VLANS = """\
name: {name}
nodes:
  a:
    interfaces:
      eth0.10: {{vlan: {{parent: eth0, id: 10}}, addresses: [10.0.10.1/24]}}
      eth0.20: {{vlan: {{parent: eth0, id: 20}}, addresses: [10.0.20.1/24]}}
  b:
    interfaces:
      eth0.10: {{vlan: {{parent: eth0, id: 10}}, addresses: [10.0.10.2/24]}}
      eth0.30: {{vlan: {{parent: eth0, id: 30}}, addresses: [10.0.20.2/24]}}
links:
  - [a:eth0, b:eth0]
"""


def test_vlan_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().missing_links().get("vlan") is None:
        pytest.skip("this kernel has 802.1Q vlans (CONFIG_VLAN_8021Q): nothing to refuse")
    name = unique_name("vlan")
    path = tmp_path / "vlans.yaml"
    path.write_text(VLANS.format(name=name))
    result = netlab("up", str(path), check=5)
    assert (f"{path}:5: nodes.a.interfaces.eth0.10: a:eth0.10 is a vlan device, which this "
            "kernel lacks (CONFIG_VLAN_8021Q)") in result.stderr
    assert "modprobe 8021q" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_vlans_on_one_wire_carry_only_their_own_id(netlab_lab: LabFactory,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "vlans.yaml"
    path.write_text(VLANS.format(name="vlans"))
    lab = netlab_lab(path)
    assert lab.ping("a", "10.0.10.2")  # both ends in vlan 10
    # the same subnet, but a sends in vlan 20 and b listens in vlan 30
    assert not lab.ping("a", "10.0.20.2", timeout=0.5, count=3)
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "b", "eth0.30")["vlan"] == {
        "now": {"parent": "eth0", "id": 30}, "planned": {"parent": "eth0", "id": 30},
        "as_planned": True}
    [shown] = ip_json(lab.namespace("a"), "-d", "link", "show", "eth0.20")
    assert shown["linkinfo"]["info_data"]["id"] == 20  # type: ignore[index]


BONDS = """\
name: {name}
nodes:
  h1:
    interfaces:
      bond0: {{bond: {{ports: [eth1, eth2], mode: active-backup}}, addresses: [10.0.0.1/24]}}
  h2:
    interfaces:
      bond0: {{bond: {{ports: [eth1, eth2], mode: active-backup}}, addresses: [10.0.0.2/24]}}
links:
  - [h1:eth1, h2:eth1]
  - [h1:eth2, h2:eth2]
"""


def test_bond_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().missing_links().get("bond") is None:
        pytest.skip("this kernel has bonding (CONFIG_BONDING): nothing to refuse")
    name = unique_name("bond")
    path = tmp_path / "bonds.yaml"
    path.write_text(BONDS.format(name=name))
    result = netlab("up", str(path), check=5)
    assert (f"{path}:5: nodes.h1.interfaces.bond0: h1:bond0 is a bond device, which this "
            "kernel lacks (CONFIG_BONDING)") in result.stderr
    assert "modprobe bonding" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_an_active_backup_bond_fails_over(netlab_lab: LabFactory, tmp_path: Path) -> None:
    path = tmp_path / "bonds.yaml"
    path.write_text(BONDS.format(name="bonds"))
    lab = netlab_lab(path)
    assert lab.ping("h1", "10.0.0.2")
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "h1", "bond0")["bond"]["now"] == {"ports": ["eth1", "eth2"],
                                                        "mode": "active-backup"}

    def active() -> str:
        return lab.exec("h1", "cat /sys/class/net/bond0/bonding/active_slave").stdout.strip()

    first = active()
    assert first in ("eth1", "eth2")
    lab.link(f"h1:{first}").down()  # its cable cut: the bond goes on through the other
    assert lab.ping("h1", "10.0.0.2", timeout=1, count=10)
    assert active() not in ("", first)
    # and the host's own namespace got no bond0 of the module's
    assert "bond0" not in subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                                         text=True, check=True).stdout
    lab.link(f"h1:{first}").up()
    subprocess.run(["ip", "-n", lab.namespace("h2"), "link", "set", "eth2", "nomaster"],
                   check=True)
    assert "h2: bond0 is a bond active-backup over eth1; the topology says active-backup " \
           "over eth1, eth2" in lab.status()["drift"]
