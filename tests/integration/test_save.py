"""`netlab save DIR` on real labs: a node's private folders and files (FRR's running config,
as configured live with vtysh) are handed in, `down`, and `netlab up DIR/topology.yaml` (or
`netlab up FILE --restore DIR`) brings them back; what a lab's processes plant in their
folders (a link to a root-only file, a FIFO, a huge sparse file, a folder swapped for a
link) is never followed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from netlab.api import Lab

from .hostcheck import Host, netlab

TOPOLOGY = """
name: handin-src
vars: {who: student}
nodes:
  r1:
    interfaces: {eth1: {addresses: [10.0.12.1/24]}}
    frr:
      config: |
        hostname r1
        interface eth1
         description to {{ who }}
  h2:
    interfaces: {eth1: {addresses: [10.0.12.2/24]}}
    private: [/run/handin]
    files:
      /run/handin/answer.txt: "{{ who }}'s first answer"
      /run/handin/gone.txt: "the student removes this"
      notes.txt: "{{ '{{' }} literally"
links:
  - [r1:eth1, h2:eth1]
"""


def _modes(folder: Path) -> set[tuple[str, int, int]]:
    """(kind, permission bits, owner) of everything below folder."""
    found = set()
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        kind = "dir" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(
            info.st_mode) else "other"
        found.add((kind, stat.S_IMODE(info.st_mode), info.st_uid))
    return found


def test_a_lab_handed_in_comes_back_with_its_files_and_running_config(
        fresh_lab: str, tmp_path: Path) -> None:
    before = Host.of(fresh_lab)
    topo = tmp_path / "lab.yaml"
    topo.write_text(TOPOLOGY)
    handin = tmp_path / "handin"
    netlab("up", str(topo), "--name", fresh_lab)  # the saved topology has the lab's name
    try:
        # What the student does live: FRR configured with vtysh (not written), files
        # changed, made and removed in the nodes.
        netlab("exec", "-l", fresh_lab, "r1", "--", "vtysh", "-c", "configure terminal",
               "-c", "ip route 10.55.0.0/16 10.0.12.2")
        netlab("exec", "-l", fresh_lab, "h2", "--", "sh", "-c",
               "echo second answer > /run/handin/answer.txt && mkdir /run/handin/more && "
               "echo made live > /run/handin/more/new.txt && chmod 640 /run/handin/more/new.txt"
               " && rm /run/handin/gone.txt && echo edited >> notes.txt")
        said = netlab("save", "-l", fresh_lab, str(handin))
        assert f"lab {fresh_lab} saved into {handin}" in said.stdout
        assert said.stderr == ""
        assert "ip route 10.55.0.0/16 10.0.12.2" in (handin / "r1/etc/frr/frr.conf").read_text()
        assert (handin / "h2/run/handin/answer.txt").read_text() == "second answer\n"
        assert (handin / "h2/run/handin/more/new.txt").read_text() == "made live\n"
        assert not (handin / "h2/run/handin/gone.txt").exists()
        assert (handin / "h2/node-folder/notes.txt").read_text() == "{{ literallyedited\n"
        assert _modes(handin) == {("dir", 0o700, 0), ("file", 0o600, 0)}
        # Not over what is there, unless forced.
        again = netlab("save", "-l", fresh_lab, str(handin), check=2)
        assert "is not empty" in again.stderr and len(again.stderr.splitlines()) == 2
        said = netlab("save", "-l", fresh_lab, str(handin), "--force", "--json").stdout
        assert json.loads(said)["schema"] == "netlab.save/1"
        # The same from Python: r1's frr.conf (and its .sav), daemons, vtysh.conf; h2's
        # two files of /run/handin and notes.txt.
        saved = Lab.attach(fresh_lab).save(str(tmp_path / "from-python"))
        assert saved.files == {"r1": 4, "h2": 3} and saved.notes == []
    finally:
        netlab("down", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before

    # Restored two ways: the handed-in topology as it is, or the teacher's own topology
    # with the handed-in files (where a file the student removed is the teacher's again).
    for up, listed in (([str(handin / "topology.yaml")], "answer.txt\nmore\n"),
                       ([str(topo), "--name", fresh_lab, "--restore", str(handin)],
                        "answer.txt\ngone.txt\nmore\n")):
        netlab("up", *up)
        try:
            running = netlab("exec", "-l", fresh_lab, "r1", "--", "vtysh", "-c",
                             "show running-config").stdout
            assert "ip route 10.55.0.0/16 10.0.12.2" in running
            assert "description to student" in running
            route = netlab("exec", "-l", fresh_lab, "r1", "--", "ip", "route", "show",
                           "10.55.0.0/16").stdout
            assert "via 10.0.12.2" in route and "proto static" in route, route
            files = netlab("exec", "-l", fresh_lab, "h2", "--", "sh", "-c",
                           "cat /run/handin/answer.txt /run/handin/more/new.txt notes.txt; "
                           "stat -c %a /run/handin/more/new.txt; ls /run/handin").stdout
            assert files == "second answer\nmade live\n{{ literallyedited\n640\n" + listed
        finally:
            netlab("down", "-l", fresh_lab)
        assert Host.of(fresh_lab) == before


HOSTILE = """
name: {lab}
nodes:
  h1:
    private: [/run/handin, /run/extra]
    files:
      /run/handin/ok.txt: fine
      /run/extra/x.txt: x
"""


def test_what_a_lab_plants_in_its_folders_is_never_followed(
        fresh_lab: str, tmp_path: Path) -> None:
    topo = tmp_path / "lab.yaml"
    topo.write_text(HOSTILE.format(lab=fresh_lab))
    handin = tmp_path / "handin"
    netlab("up", str(topo))
    try:
        # Root in the node plants a link to a root-only host file, a FIFO (a save that
        # read it would hang), a hard link, and swaps a private folder (as the host sees
        # it, through the node's folder) for a link to /etc.
        netlab("exec", "-l", fresh_lab, "h1", "--", "sh", "-c",
               "ln -s /etc/shadow /run/handin/shadow && mkfifo /run/handin/fifo && "
               "ln /run/handin/ok.txt /run/handin/hard && "
               "mv $NETLAB_NODE_DIR/private/run/extra $NETLAB_NODE_DIR/gone && "
               "ln -s /etc $NETLAB_NODE_DIR/private/run/extra")
        said = netlab("save", "-l", fresh_lab, str(handin))
        assert said.stderr.splitlines() == [
            "warning: h1:/run/handin/fifo: a FIFO, not saved",
            "warning: h1:/run/handin/hard: a file with other names (hard links), not saved",
            "warning: h1:/run/handin/ok.txt: a file with other names (hard links), not saved",
            "warning: h1:/run/handin/shadow: a symbolic link to /etc/shadow, not saved",
            "warning: h1:/run/extra: not a folder (a symbolic link?), not saved",
        ]
        saved = sorted(str(p.relative_to(handin)) for p in handin.rglob("*"))
        assert saved == ["topology.yaml"]
        shadow = Path("/etc/shadow").read_bytes()
        assert shadow not in (handin / "topology.yaml").read_bytes()

        # A sparse file of a terabyte: an error, and nothing written.
        netlab("exec", "-l", fresh_lab, "h1", "--", "truncate", "-s", "1T",
               "/run/handin/huge")
        big = netlab("save", "-l", fresh_lab, str(tmp_path / "big"), check=1)
        assert "h1:/run/handin/huge makes the saved files larger than 64 MiB" in big.stderr
        assert not (tmp_path / "big").exists()

        # DIR a link: refused, nothing written where it points.
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
        link = netlab("save", "-l", fresh_lab, str(tmp_path / "link"), "--force", check=2)
        assert "it is a symbolic link" in link.stderr
        assert os.listdir(tmp_path / "elsewhere") == []
    finally:
        netlab("down", "-l", fresh_lab)


def test_save_says_what_is_wrong_in_one_line(fresh_lab: str, tmp_path: Path) -> None:
    said = netlab("save", "-l", fresh_lab, str(tmp_path / "x"), check=3)
    assert f"lab '{fresh_lab}' is not up" in said.stderr.splitlines()[0]
    assert not (tmp_path / "x").exists()
