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
