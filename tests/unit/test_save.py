"""`netlab save`'s pure parts: the saved topology reads back as the files saved, and the
reading of a node's folder (as any user, in a folder of the test's) follows nothing planted
there and is bounded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from netlab.errors import InputError, LabStateError
from netlab.kernel import copyout
from netlab.lab.save import dump, saved_topology
from netlab.spec import load_text

TOPOLOGY = """
name: handin
vars: {greeting: hi}
nodes:
  r1:
    frr:
      daemons: [ospfd]
      config: "hostname {{ greeting }}\\n"
    private: [/etc/sv]
    files:
      /etc/sv/a.conf: "{{ greeting }} a"
      /etc/sv/gone.conf: "deleted by the student"
      notes.txt: old
  h2: {}
"""


def _record() -> dict[str, object]:
    return load_text(TOPOLOGY, "t.yaml").topology.model_dump(mode="json")


def _found(path: str, data: bytes, mode: int = 0o600, uid: int = 0) -> copyout.Found:
    return copyout.Found(path, data, mode, uid, uid)


def _names(uid: int) -> int | str:
    return {0: "root", 101: "frr"}.get(uid, uid)


def test_the_saved_topology_reads_back_as_the_files_saved() -> None:
    found = {"r1": {
        "/etc/sv/a.conf": _found("a.conf", b"{{ not jinja }} {% raw %} {# #}\r\n", 0o640),
        "/etc/sv/new/b.conf": _found("new/b.conf", b"made live\n"),
        "/etc/sv/blob": _found("blob", b"\x00\xff"),
        "/etc/frr/frr.conf": _found("frr.conf", b"hostname r1\nip route 10.55.0.0/16 Null0\n",
                                    0o640, 101),
        "notes.txt": _found("notes.txt", b"new"),
    }}
    doc, notes = saved_topology("renamed", _record(), found, _names, _names)
    text = dump(doc)
    assert load_text(text, "saved.yaml").topology.name == "renamed"  # the lab's name
    assert "vars" not in doc and "services" not in doc["nodes"]["r1"]  # frr: makes them
    back = load_text(text, "saved.yaml").topology.nodes["r1"]
    files = {k: (v if isinstance(v, str) else v.content) for k, v in back.files.items()}
    assert files["/etc/sv/a.conf"] == "{{ not jinja }} {% raw %} {# #}\r\n"
    assert files["/etc/sv/new/b.conf"] == "made live\n"
    assert files["notes.txt"] == "new"
    assert "/etc/sv/gone.conf" not in files and "/etc/sv/blob" not in files
    assert notes == ["r1:/etc/sv/blob: not text, saved but not restorable by 'netlab up'"]
    a = back.files["/etc/sv/a.conf"]
    assert not isinstance(a, str) and a.mode == 0o640 and a.owner is None
    # FRR's running config is the node's frr config, and what frr: makes comes back.
    assert back.frr is not None and "ip route 10.55.0.0/16 Null0" in back.frr.config
    assert files["/etc/frr/frr.conf"] == back.frr.config
    assert set(back.services) == {"zebra", "staticd", "ospfd"}
    assert {p.path for p in back.private_paths()} == {"/etc/sv", "/etc/frr", "/var/log/frr"}


def test_a_file_frr_writes_as_it_would_is_left_to_frr() -> None:
    record = _record()
    daemons = record["nodes"]["r1"]["files"]["/etc/frr/daemons"]  # type: ignore[index]
    found = {"r1": {"/etc/frr/daemons": _found("daemons", daemons["content"].encode(),
                                               0o640, 101)}}
    doc, _ = saved_topology("handin", record, found, _names, _names)
    assert "/etc/frr/daemons" not in doc["nodes"]["r1"].get("files", {})


def test_a_name_files_cannot_take_is_said() -> None:
    found = {"h2": {"/etc/sv/with space": _found("with space", b"x")}}
    _, notes = saved_topology("handin", _record(), found, _names, _names)
    assert notes == ["h2:/etc/sv/with space: a name `files:` does not take, saved but not "
                     "restorable by 'netlab up'"]


# --- reading a node's folder ------------------------------------------------------------


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "lab" / "nodes" / "r1"
    (folder / "private" / "etc" / "sv" / "sub").mkdir(parents=True)
    return folder


def test_only_regular_files_are_read(node_dir: Path, tmp_path: Path) -> None:
    sv = node_dir / "private" / "etc" / "sv"
    (sv / "a.conf").write_text("a")
    (sv / "sub" / "b").write_text("b")
    os.chmod(sv / "a.conf", 0o640)
    secret = tmp_path / "secret"
    secret.write_text("root's only")
    (sv / "link").symlink_to(secret)
    (sv / "dirlink").symlink_to(tmp_path)
    os.mkfifo(sv / "fifo")
    os.link(sv / "a.conf", sv / "hard")
    reading = copyout.Reading()
    got = copyout.read_tree(str(node_dir), "private/etc/sv", "r1:/etc/sv", reading)
    assert {f.path: f.data for f in got} == {"sub/b": b"b"}  # a.conf has two names now
    assert sorted(reading.skipped) == [
        "r1:/etc/sv/a.conf: a file with other names (hard links), not saved",
        f"r1:/etc/sv/dirlink: a symbolic link to {tmp_path}, not saved",
        "r1:/etc/sv/fifo: a FIFO, not saved",
        "r1:/etc/sv/hard: a file with other names (hard links), not saved",
        f"r1:/etc/sv/link: a symbolic link to {secret}, not saved",
    ]
    os.unlink(sv / "hard")
    os.chmod(sv / "a.conf", 0o4750)
    got = copyout.read_tree(str(node_dir), "private/etc/sv", "r1:/etc/sv", copyout.Reading())
    assert [(f.path, f.mode) for f in got if f.path == "a.conf"] == [("a.conf", 0o750)]


def test_a_folder_of_too_many_entries_stops_early(node_dir: Path) -> None:
    for k in range(5):
        (node_dir / "private" / "etc" / "sv" / f"f{k}").write_text("")
    with pytest.raises(LabStateError, match="more than 3 files and folders"):
        copyout.read_tree(str(node_dir), "private/etc/sv", "r1:/etc/sv",
                          copyout.Reading(max_entries=3))


def test_a_private_folder_swapped_for_a_link_is_said_and_not_followed(
        node_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x").write_text("not the node's")
    sv = node_dir / "private" / "etc" / "sv"
    os.rename(sv, tmp_path / "old")
    sv.symlink_to(tmp_path / "elsewhere")
    reading = copyout.Reading()
    assert copyout.read_tree(str(node_dir), "private/etc/sv", "r1:/etc/sv", reading) == []
    assert reading.skipped == ["r1:/etc/sv: not a folder (a symbolic link?), not saved"]
    (node_dir / "notes").symlink_to(tmp_path / "elsewhere" / "x")
    reading = copyout.Reading()
    assert copyout.read_file(str(node_dir), "notes", "r1:notes", reading) is None
    assert reading.skipped[0].startswith("r1:notes: a symbolic link to ")


def test_what_is_read_is_bounded(node_dir: Path) -> None:
    big = node_dir / "private" / "etc" / "sv" / "sparse"
    with open(big, "wb") as f:
        f.truncate(1 << 40)  # a terabyte that takes no room
    with pytest.raises(LabStateError, match=r"r1:/etc/sv/sparse makes the saved files "
                       r"larger than 64 MiB"):
        copyout.read_tree(str(node_dir), "private/etc/sv", "r1:/etc/sv", copyout.Reading())


def test_the_folder_saved_into_is_new_or_empty_and_no_link(tmp_path: Path) -> None:
    target = tmp_path / "handin"
    assert copyout.open_target(target, create=False) is None and not target.exists()
    fd = copyout.open_target(target)
    assert fd is not None
    try:
        copyout.write_into(fd, "r1/etc/frr/frr.conf", b"hostname r1\n")
    finally:
        os.close(fd)
    for path in (target, target / "r1", target / "r1" / "etc" / "frr"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((target / "r1/etc/frr/frr.conf").stat().st_mode) == 0o600
    for create in (True, False):
        with pytest.raises(InputError, match="is not empty"):
            copyout.open_target(target, create=create)
    assert copyout.open_target(target, force=True, create=False) is None
    forced = copyout.open_target(target, force=True)
    assert forced is not None
    os.close(forced)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="it is a symbolic link"):
        copyout.open_target(tmp_path / "link", force=True)
    assert not (tmp_path / "elsewhere").exists()
    with pytest.raises(InputError, match="no: No such file or directory"):
        copyout.open_target(tmp_path / "no" / "such")


# --- restoring into the teacher's own topology ---------------------------------------------

TEACHER = """
name: exam
nodes:
  r1:
    frr: {daemons: [ospfd], config: "hostname r1\\n"}
    private: [/etc/sv]
    exec: [teacher's own check]
    files: {/etc/sv/a.conf: teacher's}
    interfaces: {eth1: {addresses: [10.0.12.1/24]}}
  h2:
    interfaces: {eth1: {addresses: [10.0.12.2/24]}}
links: [[r1:eth1, h2:eth1]]
"""


def test_a_handin_restored_into_the_teachers_topology_brings_only_files(
        tmp_path: Path) -> None:
    from netlab.spec.restore import with_saved_files

    found = {
        "r1": {"/etc/sv/a.conf": _found("a.conf", b"student's {{ x }}\n"),
               "/etc/frr/frr.conf": _found("frr.conf", b"hostname r1\nip route 10.5.0.0/16 "
                                           b"Null0\n", 0o640, 101),
               "/var/lib/x/y": _found("y", b"outside the teacher's folders")},
        "h2": {"/etc/frr/frr.conf": _found("frr.conf", b"h2 ran FRR")},
        "h9": {"notes.txt": _found("notes.txt", b"not in the exam")},
    }
    record = load_text(TOPOLOGY, "t.yaml").topology.model_dump(mode="json")
    record["nodes"]["h2"]["frr"] = {"daemons": [], "config": ""}
    record["nodes"]["h9"] = {}
    record["nodes"]["r1"]["exec"] = ["rm -rf / # the student's"]
    record["nodes"]["r1"]["private"].append("/var/lib/x")
    doc, _ = saved_topology("exam", record, found, _names, _names)
    (tmp_path / "handin").mkdir()
    (tmp_path / "handin" / "topology.yaml").write_text(dump(doc))
    teacher = load_text(TEACHER, "exam.yaml")
    restored, notes = with_saved_files(teacher, str(tmp_path / "handin"))
    r1 = restored.topology.nodes["r1"]
    assert r1.exec == ["teacher's own check"]  # what runs is the teacher's
    assert [p.path for p in r1.private_paths()] == ["/etc/sv", "/etc/frr", "/var/log/frr"]
    a = r1.files["/etc/sv/a.conf"]
    assert not isinstance(a, str) and a.content == "student's {{ x }}\n"
    assert r1.frr is not None and "ip route 10.5.0.0/16 Null0" in r1.frr.config
    conf = r1.files["/etc/frr/frr.conf"]
    assert not isinstance(conf, str) and conf.content == r1.frr.config
    assert r1.services.keys() == {"zebra", "staticd", "ospfd"}
    handin = tmp_path / "handin" / "topology.yaml"
    assert notes == [
        f"{handin}: r1:/var/lib/x/y is in none of the node's private folders in exam.yaml; "
        "left out",
        f"{handin}: h2's FRR config is left out: h2 runs no FRR in exam.yaml",
        f"{handin}: node 'h9' is not in exam.yaml; its files are left out",
    ]
    with pytest.raises(InputError, match=r"no topology\.yaml of 'netlab save' there"):
        with_saved_files(teacher, str(tmp_path))


def test_a_file_too_large_for_the_topology_is_left_to_the_folder() -> None:
    found = {"r1": {"/etc/sv/big": _found("big", b"x" * 1_100_000),
                    "/etc/sv/small": _found("small", b"fits\n")}}
    doc, notes = saved_topology("handin", _record(), found, _names, _names)
    assert notes == ["r1:/etc/sv/big: too large for topology.yaml (netlab reads 1 MB of a "
                     "topology), saved but not restorable by 'netlab up'"]
    back = load_text(dump(doc), "saved.yaml").topology.nodes["r1"]
    assert "/etc/sv/small" in back.files and "/etc/sv/big" not in back.files
