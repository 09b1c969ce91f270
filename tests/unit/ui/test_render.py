"""Rendering: what a person reads must show the data as it is."""

from __future__ import annotations

from netlab.ui.common import out
from netlab.ui.render import status_view


def _doc() -> dict:
    iface = {
        "name": "eth0", "kind": "veth", "peer": "b:eth0", "master": None,
        "addresses": ["10.0.0.1/30", "fd00:a::1/64"], "mac": "02:00:00:00:00:01",
        "mtu": 1500, "admin": "up", "oper": "up", "rx_bytes": 1, "tx_bytes": 2,
        "rx_packets": 3, "tx_packets": 4, "owner": None, "group": None,
        "planned": True, "present": True,
    }
    return {
        "lab": "t", "nodes": [{"name": "a", "kind": "host", "namespace": "netlab-t-a",
                              "present": True, "interfaces": [iface], "routes": []}],
        "drift": ["a: eth1 [x] is missing"],
    }


def test_addresses_and_brackets_are_shown_verbatim() -> None:
    with out.capture() as captured:  # the very console the CLI prints with
        out.print(status_view(_doc()))
    text = captured.get()
    assert "fd00:a::1/64" in text  # not an emoji for ':a:'
    assert "eth1 [x] is missing" in text  # not eaten as markup


def _port(**changes: object) -> dict:
    iface = {
        "name": "tap0", "kind": "tap", "peer": None, "master": None, "addresses": [],
        "mac": None, "mtu": 1500, "admin": "up", "oper": "down", "carrier": False,
        "rx_bytes": 0, "tx_bytes": 0, "rx_packets": 0, "tx_packets": 0, "owner": None,
        "group": None, "planned": True, "present": True,
    }
    return {**iface, **changes}


def _table_line(iface: dict, name: str) -> str:
    doc = {"lab": "t", "nodes": [{"name": "a", "kind": "host", "namespace": "netlab-t-a",
                                  "present": True, "interfaces": [iface], "routes": []}],
           "drift": []}
    with out.capture() as captured:
        out.print(status_view(doc))
    return next(line for line in captured.get().splitlines() if f" {name} " in line)


def test_the_link_column_says_what_a_port_is_attached_to() -> None:
    assert "in br0, owner 65534" in _table_line(_port(master="br0", owner=65534), "tap0")
    assert "in br0" in _table_line(_port(master="br0"), "tap0")
    assert "owner 0" in _table_line(_port(kind="tun", name="tun0", owner=0), "tun0")
    veth = _port(kind="veth", name="eth1", peer="b:eth1", master="br0")
    assert "to b:eth1, in br0" in _table_line(veth, "eth1")
