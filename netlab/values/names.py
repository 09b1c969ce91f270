"""Names and limits every layer shares: the kernel's, and netlab's own conventions. Pure."""

from __future__ import annotations

IFNAMSIZ = 15  # the longest interface name, in bytes (the kernel's IFNAMSIZ less its NUL)
NETNS_DIR = "/run/netns"  # where named namespaces are bound (as `ip netns` does)
NS_PREFIX = "netlab-"  # every namespace netlab makes: netlab-<lab>-<node>
MARK_PREFIX = "netlab:"  # the interface alias that marks a lab's own objects
SWITCH_BRIDGE = "br0"  # the bridge of a switch node, named in its own namespace
LOOPBACK = "lo"  # exists in every namespace; may be given addresses, never linked

DEFAULT_VLAN = 1  # a bridge's default PVID (vlan_default_pvid): untagged, on every port
MAX_VLAN = 4094  # 802.1Q: VLAN ids are 1 to 4094 (0 and 4095 are reserved)
