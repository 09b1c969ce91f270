"""Targets that cannot be probed are refused with words, not the kernel's errno."""

from __future__ import annotations

import pytest

from netlab.errors import InputError
from netlab.spec.targets import no_interface, refuse_link_local


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.1.1", "fd00::1", "2001:db8::1"])
def test_addresses_that_need_no_interface_pass(address: str) -> None:
    refuse_link_local(address)


@pytest.mark.parametrize("address", ["fe80::1", "fe80::1%eth0", "febf::1"])
def test_ipv6_link_local_is_refused(address: str) -> None:
    with pytest.raises(InputError, match="link-local") as refused:
        refuse_link_local(address)
    assert refused.value.hint and "ping" in refused.value.hint


def test_no_interface_lists_the_nodes_interfaces() -> None:
    assert no_interface("r1", "eth9", ["eth0", "eth1"]) == (
        "node 'r1' has no interface 'eth9' (its interfaces: eth0, eth1)")
    assert no_interface("h", "eth0", []) == (
        "node 'h' has no interface 'eth0' (its interfaces: none)")
