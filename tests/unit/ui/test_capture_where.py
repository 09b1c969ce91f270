"""What `netlab capture` is told to capture on: h1:eth0, h1 eth0, or h1 alone (pure)."""

from __future__ import annotations

import pytest

from netlab.errors import InputError
from netlab.ui.cmd_capture import split_where

IFACES = {"h1": ["eth0"], "r1": ["eth0", "eth1"], "lonely": []}


@pytest.mark.parametrize(("where", "iface", "expected"), [
    ("h1:eth0", None, ("h1", "eth0")),
    ("h1", "eth0", ("h1", "eth0")),
    ("r1", "eth1", ("r1", "eth1")),
    ("h1", None, ("h1", "eth0")),  # its only interface
])
def test_the_ways_to_name_an_interface(where: str, iface: str | None,
                                       expected: tuple[str, str]) -> None:
    assert split_where(where, iface, IFACES) == expected


@pytest.mark.parametrize(("where", "iface", "message"), [
    ("r1", None, "'r1' has 2 interfaces (eth0, eth1): name one, e.g. r1:eth0"),
    ("lonely", None, "'lonely': name a node and an interface, e.g. h1:eth0"),
    ("h1:", None, "'h1:': name a node and an interface, e.g. h1:eth0"),
    ("h1:eth0", "eth0", "'h1:eth0 eth0': name the interface once, e.g. h1:eth0"),
])
def test_what_does_not_name_one_is_said(where: str, iface: str | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        split_where(where, iface, IFACES)
    assert str(info.value) == message
