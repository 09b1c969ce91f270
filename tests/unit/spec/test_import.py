"""`netlab import`: containerlab and Kathará labs made into netlab topologies (no root).
Each result must load as a file does; what cannot be carried is named in a comment."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.errors import InputError
from netlab.spec import load_text
from netlab.spec.foreign import detect
from netlab.spec.from_clab import convert as from_clab
from netlab.spec.from_kathara import KATHARA_SYSCTLS
from netlab.spec.from_kathara import convert as from_kathara
from netlab.ui.cli import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = [ROOT / "examples" / "containerlab" / "bridge" / "bridge.clab.yml",
            ROOT / "examples" / "containerlab" / "routed" / "routed.clab.yml",
            ROOT / "examples" / "kathara" / "two-lans"]
BY_HAND = "# Added by hand after the import"

CLAB = """\
name: Demo_Lab
mgmt: {network: clab-mgmt}
topology:
  defaults: {kind: linux, image: alpine:3, env: {A: "1"}, exec: [echo defaults]}
  kinds:
    linux: {exec: [echo kind]}
  groups:
    pcs: {exec: [echo group], env: {B: two}}
  nodes:
    PC_1: {group: pcs, exec: [ip addr add 10.0.0.1/24 dev eth1], binds: [run.sh:/opt/run.sh],
           ports: ["80:80"]}
    srl: {kind: nokia_srlinux, image: ghcr.io/nokia/srlinux}
    br0: {kind: bridge}
    ovs: {kind: ovs-bridge}
    myhost: {kind: host}
  links:
    - endpoints: ["PC_1:eth1", "br0:p1"]
    - type: veth
      mtu: 9000
      endpoints:
        - {node: srl, interface: e1-1, mac: "02:00:00:00:00:05"}
        - {node: ovs, interface: p2}
    - type: host
      endpoint: {node: srl, interface: e1-2}
      host-interface: srl-e12
    - endpoints: ["srl:e1-3", "myhost:veth9"]
"""


def test_containerlab_nodes_links_inheritance_and_comments(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("echo hi\n")
    text = from_clab(CLAB, "demo.clab.yml", tmp_path).yaml()
    topo = load_text(text, "imported.yaml").topology
    assert topo.name == "demo-lab"
    pc = topo.nodes["pc-1"]
    assert pc.exec == ["echo defaults", "echo kind", "echo group",
                       "ip addr add 10.0.0.1/24 dev eth1"]
    assert pc.env == {"A": "1", "B": "two"}
    assert pc.files == {"run.sh": "echo hi\n"}
    assert topo.nodes["br0"].kind == "switch" and topo.nodes["ovs"].kind == "switch"
    assert topo.nodes["srl"].interfaces["e1-1"].mac == "02:00:00:00:00:05"
    assert [link.ends() for link in topo.links] == [["pc-1:eth1", "br0:p1"],
                                                    ["srl:e1-1", "ovs:p2"]]
    assert topo.links[1].mtu == 9000
    for comment in (
        "# mgmt: (the management network) is not carried",
        "PC_1 -> pc-1",
        "# ports: ['80:80'] -- no port publishing",
        "# image: alpine:3 -- netlab runs the host's programs",
        "# kind: nokia_srlinux (a network OS in a container) has no meaning here",
        "# kind: host (the host itself) is not carried",
        "# links[2] (type host) is not carried",
        "# links[3] ['srl:e1-3', 'myhost:veth9'] is not carried",
        "# binds: run.sh:/opt/run.sh -- the file is run.sh in the node's folder",
    ):
        assert comment in text, comment


def test_a_bind_path_in_exec_becomes_the_files_path(tmp_path: Path) -> None:
    (tmp_path / "s.sh").write_text("true\n")
    clab = CLAB.replace("ip addr add 10.0.0.1/24 dev eth1", "sh /opt/run.sh").replace(
        "run.sh:/opt", "s.sh:/opt")
    topo = load_text(from_clab(clab, "x.clab.yml", tmp_path).yaml(), "t.yaml").topology
    assert topo.nodes["pc-1"].exec[-1] == "sh $NETLAB_NODE_DIR/run.sh"


def test_a_bind_that_is_missing_or_large_is_named_not_carried(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 100_000)
    clab = CLAB.replace("binds: [run.sh:/opt/run.sh]", "binds: [big.bin:/big, nope:/nope]")
    text = from_clab(clab, "x.clab.yml", tmp_path).yaml()
    assert "# binds: big.bin:/big -- not carried" in text
    assert "# binds: nope:/nope -- not carried" in text
    assert "files" not in load_text(text, "t.yaml").topology.nodes["pc-1"].model_dump(
        exclude_defaults=True)


def test_not_a_containerlab_file() -> None:
    with pytest.raises(InputError, match="no 'topology:' mapping"):
        from_clab("name: x\nnodes: {}\n", "x.yml", Path("."))


def kathara_lab(tmp_path: Path) -> Path:
    (tmp_path / "lab.conf").write_text(
        'LAB_DESCRIPTION="two hosts"\n'
        "# a comment\n"
        'pc1[0]="A"\n'
        "pc1[1]=lan_b/02:00:00:AA:00:01\n"
        'pc1[image]="kathara/base"\n'
        'pc1[sysctl]="net.ipv4.conf.all.forwarding=0"\n'
        'pc1[env]="ROLE=client"\n'
        'pc1[exec]="echo from-lab-conf"\n'
        "a[0]=A\n"
        'a[ipv6]="true"\n'
    )
    (tmp_path / "shared.startup").write_text("echo shared\n")
    (tmp_path / "pc1.startup").write_text(
        "# set the address\nip addr add 10.0.0.1/24 dev eth0\n\n/etc/init.d/frr start\n")
    (tmp_path / "a.startup").write_text("for i in 1 2; do\n  echo $i\ndone\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    (tmp_path / "lab.dep").write_text("")
    return tmp_path


def test_kathara_devices_domains_startups_and_options(tmp_path: Path) -> None:
    text = from_kathara(kathara_lab(tmp_path), "lab").yaml()
    topo = load_text(text, "imported.yaml").topology
    pc1 = topo.nodes["pc1"]
    assert pc1.sysctls == {**KATHARA_SYSCTLS, "net.ipv4.conf.all.forwarding": 0}
    assert pc1.env == {"ROLE": "client"}
    assert pc1.exec == ["echo from-lab-conf", "echo shared", "ip addr add 10.0.0.1/24 dev eth0"]
    assert pc1.interfaces["eth1"].mac == "02:00:00:aa:00:01"
    # The device a and the collision domain A are apart; lan_b gets a valid name.
    assert topo.nodes["a-2"].kind == "switch" and topo.nodes["lan-b"].kind == "switch"
    assert [link.ends() for link in topo.links] == [
        ["pc1:eth0", "a-2"], ["pc1:eth1", "lan-b"], ["a:eth0", "a-2"]]
    a = topo.nodes["a"]
    assert a.sysctls["net.ipv6.conf.all.forwarding"] == 1
    assert a.files == {"a.startup": "for i in 1 2; do\n  echo $i\ndone\n"}
    assert a.exec == ["echo shared", 'sh "$NETLAB_NODE_DIR/a.startup"']
    for comment in (
        "# LAB_DESCRIPTION: two hosts",
        "# [image]=kathara/base -- netlab runs the host's programs",
        '# - "/etc/init.d/frr start"   (starts a daemon of the image',
        "# folder a/ (1 file for the device's root file system) is not carried",
        "# lab.dep is not carried",
        "# collision domain A",
    ):
        assert comment in text, comment


def test_kathara_mistakes_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no lab\.conf in this folder"):
        from_kathara(tmp_path, "lab")
    (tmp_path / "lab.conf").write_text('pc1[0]="A"\nthis is not lab.conf\n')
    with pytest.raises(InputError, match=r"lab/lab.conf:2: not a line of lab.conf"):
        from_kathara(tmp_path, "lab")


def test_other_tools_files_are_told_apart() -> None:
    assert detect(CLAB) == "containerlab"
    assert detect('pc1[0]="A"\n') == "Kathará"
    assert detect("name: x\nnodes: {h1: {}}\n") is None
    assert detect("name: x\ntopology:\nnodes: {h1: {}}\n") is None  # a netlab file


@pytest.mark.parametrize("source", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_imported_examples_are_what_import_makes(
    source: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = source if source.is_dir() else source.parent
    monkeypatch.chdir(folder.parents[2])  # as made: netlab import examples/...
    assert main(["import", str(source.relative_to(folder.parents[2]))]) == 0
    made = capsys.readouterr().out
    kept = (folder / f"{folder.name}.yaml").read_text()
    assert kept.startswith(made) and kept[len(made):].startswith(BY_HAND)


def test_import_writes_the_file_and_validate_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "lab.yaml"
    assert main(["import", str(kathara_lab(tmp_path)), "-o", str(out)]) == 0
    assert "from Kathará, 4 nodes, 3 links" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0
    assert main(["validate", str(tmp_path)]) == 2
    assert "this is a Kathará lab, not a netlab topology; 'netlab import" in \
        capsys.readouterr().err
    assert main(["import", str(tmp_path / "nothing.yml")]) == 2


def test_import_keeps_an_existing_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A topology written by import and then mended by hand (checks added) is not
    overwritten by the next import without --force."""
    lab, out = kathara_lab(tmp_path), tmp_path / "lab.yaml"
    out.write_text("# mended by hand\nchecks: []\n")
    assert main(["import", str(lab), "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {out} exists; not overwriting it",
        f"hint: 'netlab import {lab} -o {out} --force' replaces it (or -o another file)"]
    assert out.read_text() == "# mended by hand\nchecks: []\n"
    assert main(["import", str(lab), "-o", str(out), "--force"]) == 0
    assert "from Kathará" in capsys.readouterr().err
    assert main(["validate", str(out)]) == 0


def test_a_lab_whose_every_link_is_left_out_still_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A link to a node that is not carried is a comment; with no link left, 'links:' must
    not read as null (it was "links: expected a list of links ..., got nothing", exit 2)."""
    clab = tmp_path / "one.clab.yml"
    clab.write_text("name: one\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n"
                    '    - endpoints: ["a:eth1", "b:eth1"]\n')
    out = tmp_path / "one.yaml"
    assert main(["import", str(clab), "-o", str(out)]) == 0
    assert "from containerlab, 1 node, 0 links;" in capsys.readouterr().err
    assert "# links[0] ['a:eth1', 'b:eth1'] is not carried" in out.read_text()
    assert load_text(out.read_text(), "one.yaml").topology.links == []
