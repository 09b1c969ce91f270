"""`netlab graph`: golden Mermaid and DOT for the default lab, SVG through Graphviz's `dot`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.lab import graph
from netlab.spec import load_text
from netlab.ui.cli import main

ROOT = Path(__file__).parents[3]
HELLO = ROOT / "topologies" / "hello.yaml"
GOLDEN = Path(__file__).parents[1] / "golden"
REGEN = os.environ.get("NETLAB_REGEN_GOLDEN") == "1"


def _graph_of(path: Path) -> graph.Graph:
    lab = Lab.from_file(path)
    return graph.build(lab.topology, lab.plan)


def _check_golden(name: str, got: str) -> None:
    golden = GOLDEN / name
    if REGEN:
        golden.write_text(got)
    assert golden.exists(), f"no {golden.name}; make it with NETLAB_REGEN_GOLDEN=1"
    assert got == golden.read_text(), f"{name} differs; NETLAB_REGEN_GOLDEN=1 rewrites it"


def test_hello_mermaid_golden() -> None:
    _check_golden("hello.mmd", graph.mermaid(_graph_of(HELLO)))


def test_hello_dot_golden() -> None:
    _check_golden("hello.dot", graph.dot(_graph_of(HELLO)))


def test_hello_graph_content() -> None:
    g = _graph_of(HELLO)
    assert [(n.name, n.kind) for n in g.nodes] == [
        ("sw1", "switch"), ("h1", "host"), ("h2", "host"), ("r1", "router"), ("h3", "host"),
    ]
    assert g.port("r1", "tun0").cable is False
    assert g.port("r1", "tun0").addresses == ("10.8.0.1/24",)
    assert g.port("h3", "tap0").notes == ("owner 1000", "group 1000", "in br0")
    assert g.port("sw1", "h1-eth0").notes == ("in br0",)
    assert [(e.a, e.b) for e in g.edges][-1] == (("r1", "eth1"), ("h3", "eth0"))


def test_shapes_and_devices_inside_their_node() -> None:
    text = graph.mermaid(_graph_of(HELLO))
    assert 'n_sw1{{"' in text and 'n_r1(("' in text and 'n_h1["' in text
    r1 = next(line for line in text.splitlines() if line.startswith("  n_r1(("))
    assert "tun0 tun 10.8.0.1/24" in r1
    dot = graph.dot(_graph_of(HELLO))
    assert '"r1":"p_eth1" -- "h3":"p_eth0";' in dot
    assert '<TD PORT="p_tun0"' in dot


LINK_NOTES = """
name: notes
nodes:
  end: {kind: router}
  a-b:
    interfaces: {e: {addresses: [10.0.0.1/30]}}
links:
  - endpoints: [a-b:e, end:eth0]
    mtu: 9000
    rate: 100mbit
"""


def test_link_settings_awkward_names(tmp_path: Path) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text(LINK_NOTES)
    g = _graph_of(path)
    assert g.edges[0].notes == ("rate 100mbit", "mtu 9000")
    text = graph.mermaid(g)
    # "end" is a Mermaid keyword and '-' may start an arrow: ids are prefixed and sanitised.
    assert "  n_a_b ---|" in text and "| n_end" in text
    assert "rate 100mbit, mtu 9000" in text
    dot = graph.dot(g)
    assert '"a-b":"p_e" -- "end":"p_eth0" [label="rate 100mbit, mtu 9000"];' in dot


def test_html_and_quotes_are_escaped() -> None:
    assert graph._html('<a & "b">') == "&lt;a &amp; &quot;b&quot;&gt;"
    assert graph._quote('say "hi"') == '"say \\"hi\\""'
    assert graph._mermaid_text(['"x"', "y"]) == "#quot;x#quot;<br/>y"


def test_load_text_graph_has_every_node() -> None:
    loaded = load_text("name: one\nnodes: {solo: {}}\n", "one.yaml")
    lab = Lab(loaded.topology)
    g = graph.build(lab.topology, lab.plan)
    assert graph.mermaid(g).count("n_solo") == 2  # the node, and its class
    assert '"solo" [shape=box' in graph.dot(g)


# --- the command --------------------------------------------------------------------------


def test_cli_writes_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(HELLO), "-o", str(tmp_path / "h.mmd")]) == 0
    assert (tmp_path / "h.mmd").read_text() == (GOLDEN / "hello.mmd").read_text()
    assert main(["graph", str(HELLO), "-o", str(tmp_path / "h.gv")]) == 0
    assert (tmp_path / "h.gv").read_text() == (GOLDEN / "hello.dot").read_text()
    assert main(["graph", str(HELLO), "--format", "dot"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "hello.dot").read_text()
    assert main(["graph", str(HELLO), "--set", "lan=10.9.1"]) == 0
    assert "10.9.1.254/24" in capsys.readouterr().out


def _fake_dot(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text("#!/bin/sh\n" + script)
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)


def test_svg_through_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for Graphviz that records its arguments and wraps its input.
    _fake_dot(tmp_path / "bin", 'echo "$@" > "$0.args"; echo "<svg>"; /bin/cat; echo "</svg>"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    out = tmp_path / "hello.svg"
    assert main(["graph", str(HELLO), "-o", str(out)]) == 0
    assert (tmp_path / "bin" / "dot.args").read_text().strip() == "-Tsvg"
    text = out.read_text()
    assert text.startswith("<svg>") and 'graph "hello" {' in text


def test_svg_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", str(HELLO), "--format", "svg"]) == 5
    stderr = capsys.readouterr().err
    assert "Graphviz's 'dot' program, which is not installed" in stderr
    assert "apt-get install graphviz" in stderr
    assert "Traceback" not in stderr


def test_svg_when_dot_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    _fake_dot(tmp_path / "bin", 'echo "Error: syntax error in line 1" >&2; exit 3\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert main(["graph", str(HELLO), "-f", "svg"]) == 1
    assert "'dot' failed (exit 3): Error: syntax error in line 1" in capsys.readouterr().err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(tmp_path / "missing.yaml")]) == 2
    assert main(["graph", str(HELLO), "-o", str(tmp_path / "no" / "such" / "dir.mmd")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["graph", str(HELLO), "--format", "png"]) == 2


def test_settings_of_one_end(tmp_path: Path) -> None:
    path = tmp_path / "ends.yaml"
    path.write_text(
        "name: ends\nnodes: {r1: {kind: router}, r2: {kind: router}}\n"
        "links:\n  - endpoints: [{node: r1, interface: eth1, rate: 1mbit}, r2:eth0]\n"
        "    rate: 10mbit\n"
    )
    g = _graph_of(path)
    assert g.edges[0].notes == ("rate 10mbit", "r1:eth1 out rate 1mbit")


def test_the_output_file_name_says_the_format(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "x.png"
    assert main(["graph", str(HELLO), "-o", str(png)]) == 2
    stderr = capsys.readouterr().err
    assert f"error: -o {png}: netlab graph does not write .png files\n" in stderr
    assert ".mmd or .md (Mermaid), .dot or .gv (Graphviz DOT)" in stderr
    assert not png.exists()
    assert main(["graph", str(HELLO), "-o", str(tmp_path / "graph")]) == 2
    assert "the name has no suffix to tell the format" in capsys.readouterr().err
    # Markdown: Mermaid in the fenced block GitHub and GitLab render.
    assert main(["graph", str(HELLO), "-o", str(tmp_path / "h.md")]) == 0
    mermaid = (GOLDEN / "hello.mmd").read_text()
    assert (tmp_path / "h.md").read_text() == f"```mermaid\n{mermaid}```\n"
    # A format given with -f is written whatever the name.
    assert main(["graph", str(HELLO), "-f", "dot", "-o", str(tmp_path / "graph")]) == 0
    assert (tmp_path / "graph").read_text() == (GOLDEN / "hello.dot").read_text()
