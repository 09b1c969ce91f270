"""`--topo NAME,ARGS`: Mininet's topologies made from a few numbers (pure)."""

from __future__ import annotations

import pytest

from netlab.errors import InputError
from netlab.spec import load_text
from netlab.spec.generate import generate
from netlab.ui.cli import main


@pytest.mark.parametrize(
    ("spec", "name", "hosts", "switches", "links", "checks"),
    [
        ("single,3", "single-3", 3, 1, 3, 3),
        ("linear,4", "linear-4", 4, 4, 7, 6),
        ("linear,2,2", "linear-2-2", 4, 2, 5, 6),
        ("tree,depth=2,fanout=3", "tree-2-3", 9, 4, 12, 36),
        ("tree,2,2", "tree-2-2", 4, 3, 6, 6),
        ("tree,depth=3", "tree-3", 8, 7, 14, 28),
        ("ring,4", "ring-4", 4, 4, 8, 6),
        ("grid,2,3", "grid-2-3", 6, 6, 13, 15),
        ("single,100", "single-100", 100, 1, 100, 99 + 98),
    ],
)
def test_each_topology_is_a_valid_lab(
    spec: str, name: str, hosts: int, switches: int, links: int, checks: int
) -> None:
    topo = load_text(generate(spec), f"--topo {spec}").topology
    assert topo.name == name
    kinds = [n.kind for n in topo.nodes.values()]
    assert kinds.count("host") == hosts and kinds.count("switch") == switches
    assert list(topo.nodes)[:hosts] == [f"h{k}" for k in range(1, hosts + 1)]
    assert len(topo.links) == links
    assert len(topo.checks) == checks
    assert topo.nodes["h1"].interfaces["eth0"].addresses == ["10.0.0.1/8"]


def test_tree_numbers_switches_and_hosts_as_mininet_does() -> None:
    text = generate("tree,depth=2,fanout=2")
    for link in ("[s1, s2]", "[h1:eth0, s2]", "[h2:eth0, s2]", "[s1, s3]", "[h3:eth0, s3]"):
        assert link in text


def test_only_switches_in_a_loop_run_the_spanning_tree() -> None:
    assert "stp: true" in generate("ring,3")
    assert "stp: true" in generate("grid,2,2")
    for spec in ("grid,1,4", "linear,3", "tree,2", "single,2"):
        assert "stp" not in generate(spec), spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("star,3", "--topo star,3: no topology 'star' (there are: single, linear, tree, ring, "
         "grid)"),
        ("ring,2", "--topo ring,2: n must be at least 3"),
        ("tree", "--topo tree: give depth, e.g. --topo tree,depth=D,fanout=F"),
        ("tree,depth=x", "--topo tree,depth=x: depth must be a whole number, not 'x'"),
        ("tree,depth=2,width=3", "--topo tree,depth=2,width=3: tree has no 'width' (it "
         "takes: depth, fanout)"),
        ("single,1,2", "--topo single,1,2: single takes at most 1 number"),
        ("single,3,n=4", "--topo single,3,n=4: 'n' is given twice"),
        ("grid,2", "--topo grid,2: give cols, e.g. --topo grid,R,C"),
        ("tree,depth=40,fanout=4", "hosts; at most 1000"),
    ],
)
def test_bad_specs_are_refused_in_words(spec: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        generate(spec)
    assert message in str(caught.value)


def test_the_command_line_takes_topo_wherever_a_file_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--topo", "linear,3"]) == 0
    assert "--topo linear,3: ok: lab 'linear-3', 6 nodes, 5 links" in capsys.readouterr().out
    assert main(["plan", "--topo", "single,2", "--json"]) == 0
    assert '"lab":"single-2"' in capsys.readouterr().out
    assert main(["plan", "--topo", "ring,3", "--print"]) == 0
    printed = capsys.readouterr().out
    assert printed == generate("ring,3") and printed.startswith("# Made by netlab --topo")
    assert main(["validate", "--topo", "ring,1"]) == 2
    assert "n must be at least 3" in capsys.readouterr().err
    assert main(["validate", "lab.yaml", "--topo", "single,2"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["validate"]) == 2
    assert "give a topology FILE (or --topo" in capsys.readouterr().err
    assert main(["validate", "x.yaml", "--print"]) == 2
    assert "--print prints the topology that --topo makes" in capsys.readouterr().err
