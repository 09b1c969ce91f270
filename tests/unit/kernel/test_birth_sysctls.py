"""Which IPv6 sysctls a lab's new namespace gets written (netlink.birth_sysctls)."""

import pytest

from netlab.kernel.netlink import birth_sysctls

ALL = "/proc/sys/net/ipv6/conf/all/accept_dad"
DEFAULT = "/proc/sys/net/ipv6/conf/default/accept_dad"


@pytest.mark.parametrize("inherit", ["0\n", "2\n", "0"])
def test_compiled_values_leave_all_as_it_is(inherit: str) -> None:
    # A new namespace starts with the kernel's compiled values: all.accept_dad is 0.
    assert birth_sysctls(inherit) == (DEFAULT,)


@pytest.mark.parametrize("inherit", ["1\n", "3\n", "", "garbage"])
def test_inherited_or_unknown_values_get_both(inherit: str) -> None:
    # Copied from a namespace whose `all` may say 1, or not known: both are written.
    assert birth_sysctls(inherit) == (ALL, DEFAULT)
