"""The service and limits keys of a node: the list form, ready ports, capabilities, limits."""

from __future__ import annotations

from netlab.spec.model import Node, ReadyPort


def test_a_list_of_commands_names_each_service_after_its_program() -> None:
    node = Node.model_validate({"services": ["python3 -m http.server 7000",
                                             "/usr/sbin/dnsmasq -k"]})
    assert {k: v.run for k, v in node.services.items()} == {
        "python3": "python3 -m http.server 7000", "dnsmasq": "/usr/sbin/dnsmasq -k"}


def test_clashing_or_unnamable_programs_are_named_by_their_index() -> None:
    node = Node.model_validate({"services": ["sleep 1", "sleep 2", "My_Tool", "1"]})
    assert list(node.services) == ["1", "2", "3", "4"]


def test_ready_is_a_text_or_a_port() -> None:
    node = Node.model_validate({"services": {
        "web": {"run": "x", "ready": {"tcp": 8000}},
        "dns": {"run": "y", "ready": {"udp": 53}},
        "log": {"run": "z", "ready": "Serving"}}})
    assert node.services["web"].ready == ReadyPort(tcp=8000)
    assert node.services["dns"].ready == ReadyPort(udp=53)
    assert node.services["log"].ready == "Serving"


def test_capabilities_are_spelled_as_the_kernel_names_them() -> None:
    node = Node.model_validate({"services": {
        "vpn": {"run": "x", "user": "nobody", "capabilities": ["net_admin", "CAP_NET_RAW"]}}})
    assert node.services["vpn"].capabilities == ["CAP_NET_ADMIN", "CAP_NET_RAW"]


def test_limits_take_units() -> None:
    limits = Node.model_validate({"limits": {"cpu": 0.5, "memory": "256M", "pids": 500}}).limits
    assert limits is not None
    assert (limits.cpu, limits.memory, limits.pids) == (0.5, 256 * 2**20, 500)
    assert Node.model_validate({"limits": {"memory": "1g"}}).limits.memory == 2**30  # type: ignore[union-attr]
