"""`frr:` is sugar: the private folders, files, prepare command and services it stands for,
the node's own keys winning; a lab with FRR on a host without it is refused before `up`."""

from __future__ import annotations

import pytest

from netlab.errors import EXIT_UNSUPPORTED, Unsupported
from netlab.lab.preflight import refuse_unsupported
from netlab.spec import frr
from netlab.spec.model import Node, Topology


def test_frr_becomes_files_private_folders_and_services() -> None:
    node = Node.model_validate({"frr": {"daemons": ["ospfd"], "config": "router ospf\n"},
                                "services": {"staticd": "sleep 1"}})
    assert list(node.services) == ["zebra", "staticd", "ospfd"]
    assert node.services["staticd"].run == "sleep 1"  # the node's own wins
    assert node.services["ospfd"].after == ["zebra"] and node.services["zebra"].after == []
    assert node.services["ospfd"].run.startswith("exec /usr/lib/frr/ospfd -u frr -g frr ")
    assert [p.path for p in node.private_paths()] == ["/etc/frr", "/var/log/frr"]
    conf = node.files["/etc/frr/frr.conf"]
    assert not isinstance(conf, str) and conf.content == "router ospf\n"
    assert node.prepare == [frr.MAKE_RUN_DIR]
    # Read back from its own dump (the lab's record), it is the same node.
    assert Node.model_validate(node.model_dump(by_alias=True)) == node


def test_a_missing_frr_refuses_the_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    topo = Topology.model_validate({"name": "f", "nodes": {"r1": {"frr": {}}}})
    monkeypatch.setattr(frr, "ZEBRA", "/nonexistent/zebra")
    with pytest.raises(Unsupported, match="node 'r1' runs FRR") as info:
        refuse_unsupported(topo)
    assert info.value.exit_code == EXIT_UNSUPPORTED  # this machine cannot: not a bad file
