"""netlab.build(): a topology made in Python, checked exactly as a file is (no root)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import netlab
from netlab.spec import load_text

HERE = __file__


def line_of(text: str) -> int:
    """The line of this file that holds `text` (where a builder call was made)."""
    return next(n for n, line in enumerate(Path(HERE).read_text().splitlines(), 1)
                if text in line)


def test_a_star_in_a_loop_is_the_file_it_stands_for() -> None:
    t = netlab.build("star", description="three hosts on a switch")
    s1 = t.switch("s1")
    for k in range(1, 4):
        t.link(t.host(f"h{k}", f"10.0.0.{k}/24"), s1)
    t.check("h1", "h3")
    lab = t.lab()
    assert isinstance(lab, netlab.Lab)
    as_file = load_text(t.yaml(), "star.yaml").topology
    assert lab.topology == as_file
    assert lab.topology.nodes["h2"].interfaces["eth0"].addresses == ["10.0.0.2/24"]
    assert [link.ends() for link in lab.topology.links] == [
        ["h1:eth0", "s1"], ["h2:eth0", "s1"], ["h3:eth0", "s1"]]
    assert lab.plan.ops  # plannable like any lab


def test_interfaces_are_named_when_left_out_and_addresses_go_where_asked() -> None:
    t = netlab.build("routed")
    t.router("r1", "10.0.1.1/24")
    t.host("h1", "10.0.1.2/24", routes=[{"to": "default", "via": "10.0.1.1"}])
    t.host("h2", routes=[{"to": "default", "via": "10.0.2.1"}])
    t.link("r1", "h1")
    t.link("r1", "h2:eth5", addresses=("10.0.2.1/24", "10.0.2.2/24"), rate="10mbit")
    t.check("h1", "h2")
    topo = t.lab().topology
    assert topo.nodes["r1"].kind == "router"
    assert topo.nodes["r1"].interfaces["eth0"].addresses == ["10.0.1.1/24"]
    assert topo.nodes["r1"].interfaces["eth1"].addresses == ["10.0.2.1/24"]
    assert topo.nodes["h2"].interfaces["eth5"].addresses == ["10.0.2.2/24"]
    assert topo.links[1].ends() == ["r1:eth1", "h2:eth5"]
    assert topo.links[1].rate == "10mbit"
    assert t.lab().topology == topo  # making it twice changes nothing


def test_mistakes_raise_input_error_with_a_files_messages_and_the_calls_line() -> None:
    t = netlab.build("oops")
    t.host("h1", "10.0.0.1/24")
    t.link("h1", "h9")  # the bad link
    t.check("h1", "h9")  # the bad check
    with pytest.raises(netlab.InputError) as caught:
        t.lab()
    assert isinstance(caught.value, netlab.TopologyError)
    message = str(caught.value).splitlines()
    assert message == [
        f"{HERE}:{line_of('# the bad link')}: links[0]: node 'h9' is not defined (nodes: h1)",
        f"{HERE}:{line_of('# the bad check')}: checks[0].to: node 'h9' is not defined "
        "(nodes: h1)",
    ]


def test_type_mistakes_and_a_node_made_twice() -> None:
    t = netlab.build("Bad Name")
    t.host("h1", "10.0.0.300/24")
    with pytest.raises(netlab.InputError) as caught:
        t.lab()
    text = str(caught.value)
    assert "name: 'Bad Name' is not a valid name" in text
    assert "nodes.h1.interfaces.eth0.addresses[0]: '10.0.0.300/24' is not an address" in text
    t = netlab.build("twice")
    t.host("h1")
    t.host("h1")  # again
    with pytest.raises(netlab.InputError, match=r"node 'h1' is defined twice \(first at line"):
        t.lab()


def test_import_netlab_stays_cheap() -> None:
    code = ("import sys, netlab; netlab.InputError; "
            "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'pyroute2', "
            "'yaml', 'jinja2', 'netlab.api'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
