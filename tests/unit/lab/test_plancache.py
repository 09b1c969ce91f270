"""The plan cache's key and store (netlab/lab/plancache.py): a hit gives what a miss
planned, op for op; anything in the key that changes is a miss; a damaged, linked or
loosely permitted entry or folder is a miss and nothing is written through it; at most
KEEP entries stay. The store is of the user running the tests (root's at `up`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from netlab.api import Lab, checked_lab
from netlab.errors import InputError, NetlabError
from netlab.lab import plancache
from netlab.spec import userdb
from netlab.state.store import LabState, dirs_without_journal, labs_with_state, locks_without_lab

ROOT = Path(__file__).resolve().parents[3]
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))
PAIR = """name: pc
nodes:
  h1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
links:
  - [h1:eth0, h2:eth0]
"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("NETLAB_STATE_DIR", str(root))
    return root


def _file(tmp_path: Path, text: str = PAIR, name: str = "pc.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _up(file: str, name: str | None = None, host: str | None = None) -> tuple[Lab, bool]:
    """The lab `up` would build, and whether it came from the cache."""
    lab = checked_lab(file, {}, name, host)
    return lab, lab._topology is None


def _entries(state: Path) -> list[Path]:
    return sorted((state / plancache.FOLDER).glob("*.json"))


def test_a_hit_is_what_the_miss_planned_for_every_topology_of_the_repo(
        state: Path, tmp_path: Path) -> None:
    built = 0
    for path in TOPOLOGIES:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        source = plancache.read(str(copy), {}, None, None)
        if source is None:
            continue  # a template: never cached (below)
        try:
            miss, cached = _up(str(copy))
        except NetlabError:  # a lab across hosts (--host needed), ...
            continue
        assert not cached
        hit, cached = _up(str(copy))
        assert cached, path.name
        a, b = miss.checked, hit.checked
        assert (a.topology, a.skeleton, a.namespaces, a.needs, a.links, a.services) == (
            b.topology, b.skeleton, b.namespaces, b.needs, b.links, b.services), path.name
        assert a.ops == b.ops, path.name  # tuples as tuples, qdiscs as Qdiscs
        assert [op.to_json() for op in a.ops] == [op.to_json() for op in b.ops]
        assert (hit.name, hit.source, hit.host) == (miss.name, miss.source, miss.host)
        assert hit.topology == miss.topology  # the model, made when asked for
        built += 1
    assert built >= 10


@pytest.mark.parametrize("change", ["bytes", "name", "host", "state root", "netlab",
                                    "python", "path"])
def test_anything_in_the_key_that_changes_is_a_miss(
        change: str, state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _file(tmp_path)
    _up(file)
    assert _up(file)[1]
    name = host = None
    if change == "bytes":
        Path(file).write_text(PAIR.replace("10.0.0.2/24", "10.0.0.3/24"))
    elif change == "name":
        name = "other"
    elif change == "host":
        host = "nowhere"  # a lab on no hosts: refused by the plan, and never kept
    elif change == "state root":
        monkeypatch.setenv("NETLAB_STATE_DIR", str(tmp_path / "elsewhere"))
        (tmp_path / "elsewhere" / plancache.FOLDER).mkdir(parents=True, mode=0o700)
        shutil.copy(_entries(state)[0], tmp_path / "elsewhere" / plancache.FOLDER)
    elif change == "netlab":
        monkeypatch.setattr(plancache, "netlab_fingerprint", lambda: "another netlab")
    elif change == "python":
        monkeypatch.setattr(plancache.sys, "version", "3.99")
    elif change == "path":
        os.symlink(file, tmp_path / "again.yaml")
        file = str(tmp_path / "again.yaml")
    if change == "host":
        with pytest.raises(Exception, match="nowhere"):
            _up(file, name, host)
        assert len(_entries(state)) == 1
        return
    lab, cached = _up(file, name, host)
    assert not cached
    if change == "bytes":
        assert lab.checked.topology["nodes"]["h2"]["interfaces"]["eth0"]["addresses"] == [
            "10.0.0.3/24"]
    if change == "name":
        assert set(lab.checked.namespaces.values()) == {"netlab-other-h1", "netlab-other-h2"}
    if change == "state root":
        assert str(tmp_path / "elsewhere") in json.dumps(lab.checked.to_json())


def test_an_answer_of_the_user_database_that_changes_is_a_miss(
        state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _file(tmp_path, PAIR.replace("  h2: {", "  h2: {services: {s: {run: sleep 9, "
                                        "user: root}}, "))
    _up(file)
    entry = json.loads(_entries(state)[0].read_text())
    assert ["user", "root", 0] in entry["lookups"]
    assert _up(file)[1]
    real = userdb.pwd.getpwnam

    class Renumbered:
        pw_uid = 1234

    monkeypatch.setattr(userdb.pwd, "getpwnam",
                        lambda name: Renumbered() if name == "root" else real(name))
    lab, cached = _up(file)
    assert not cached
    assert any(getattr(op, "uid", None) == 1234 for op in lab.checked.ops)


def test_what_is_never_cached(state: Path, tmp_path: Path) -> None:
    template = _file(tmp_path, PAIR.replace("10.0.0.1/24", "{{ '10.0.0.1/24' }}"), "t.yaml")
    assert plancache.read(template, {}, None, None) is None
    plain = _file(tmp_path)
    assert plancache.read(plain, {"x": "1"}, None, None) is None  # --set: rendered
    os.mkfifo(tmp_path / "fifo")
    assert plancache.read(str(tmp_path / "fifo"), {}, None, None) is None
    assert plancache.read(str(tmp_path / "missing.yaml"), {}, None, None) is None
    (tmp_path / "nul.yaml").write_bytes(b"name: x\0")
    assert plancache.read(str(tmp_path / "nul.yaml"), {}, None, None) is None
    checked_lab(template, {}, None, None)
    checked_lab(plain, {}, None, None, cache=False)
    assert not (state / plancache.FOLDER).exists()


def test_a_bad_file_is_never_kept(state: Path, tmp_path: Path) -> None:
    bad = _file(tmp_path, PAIR.replace("h2:eth0]", "h3:eth0]"))
    for _ in range(2):
        with pytest.raises(Exception, match="h3"):
            checked_lab(bad, {}, None, None)
    assert _entries(state) == []


def test_a_damaged_entry_is_a_miss_and_goes(state: Path, tmp_path: Path) -> None:
    file = _file(tmp_path)
    _up(file)
    for damage in (b"{", b"[]", b'{"format": 1}', b""):
        entry = _entries(state)[0]
        good = entry.read_bytes()
        entry.write_bytes(damage)
        assert not _up(file)[1]  # a miss, which writes the entry anew
        assert _entries(state)[0].read_bytes() != damage
    entry = _entries(state)[0]
    data = json.loads(entry.read_text())
    data["checked"]["ops"][0]["op"] = "no-such-op"
    entry.write_text(json.dumps(data))
    assert not _up(file)[1]
    data["checked"]["ops"] = json.loads(good)["checked"]["ops"]
    del data["checked"]["needs"]["qdiscs"]
    entry.write_text(json.dumps(data))
    assert not _up(file)[1]
    data["checked"]["needs"] = json.loads(good)["checked"]["needs"]
    data["key"]["sha256"] = "0" * 64  # an entry of another key under this name
    entry.write_text(json.dumps(data))
    assert not _up(file)[1]
    assert _up(file)[1]


def test_a_linked_or_loose_entry_is_a_miss_and_nothing_is_followed(
        state: Path, tmp_path: Path) -> None:
    file = _file(tmp_path)
    _up(file)
    entry = _entries(state)[0]
    target = tmp_path / "planted.json"
    shutil.copy(entry, target)
    entry.unlink()
    entry.symlink_to(target)
    assert not _up(file)[1]
    assert not entry.is_symlink() and target.read_bytes()  # replaced, target untouched
    assert _up(file)[1]
    entry.chmod(0o644)  # readable by others: not ours as we make them
    assert not _up(file)[1]
    assert _up(file)[1]
    os.link(entry, tmp_path / "second-name")  # two names
    assert not _up(file)[1]
    (tmp_path / "second-name").unlink()
    assert _up(file)[1]


def test_a_linked_or_loose_folder_is_never_used(state: Path, tmp_path: Path) -> None:
    file = _file(tmp_path)
    _up(file)
    folder = state / plancache.FOLDER
    folder.chmod(0o755)
    assert not _up(file)[1]
    assert not _up(file)[1]  # nor written to
    folder.chmod(0o700)
    assert _up(file)[1]
    planted = tmp_path / "planted"
    folder.rename(planted)
    folder.symlink_to(planted)
    assert not _up(file)[1]
    assert folder.is_symlink()
    assert len(list(planted.iterdir())) == 1  # nothing written through the link


def test_the_newest_entries_are_kept(state: Path, tmp_path: Path) -> None:
    files = [_file(tmp_path, PAIR.replace("name: pc", f"name: pc{k}"), f"pc{k}.yaml")
             for k in range(plancache.KEEP + 4)]
    for file in files:
        _up(file)
    assert len(_entries(state)) == plancache.KEEP
    assert not _up(files[0])[1]  # among the oldest: gone
    assert _up(files[-1])[1]
    (state / plancache.FOLDER / "stray").write_text("x")
    _up(_file(tmp_path, PAIR.replace("name: pc", "name: pcx"), "pcx.yaml"))
    assert not (state / plancache.FOLDER / "stray").exists()
    assert len(_entries(state)) == plancache.KEEP


def test_the_fingerprint_of_netlab_follows_its_files_not_its_bytecode(tmp_path: Path) -> None:
    copy = tmp_path / "netlab"
    (copy / "spec" / "__pycache__").mkdir(parents=True)
    (copy / "spec" / "model.py").write_text("x = 1\n")
    before = plancache.netlab_fingerprint(copy)
    (copy / "spec" / "__pycache__" / "model.pyc").write_bytes(b"...")
    assert plancache.netlab_fingerprint(copy) == before
    (copy / "spec" / "model.py").write_text("x = 2\n")
    os.utime(copy / "spec" / "model.py", ns=(1, 1))
    assert plancache.netlab_fingerprint(copy) != before
    assert plancache.netlab_fingerprint() == plancache.netlab_fingerprint()


def test_the_libraries_are_found_without_importing_them() -> None:
    found = plancache.libraries_fingerprint()
    for name in ("pydantic", "pydantic_core", "yaml", "jinja2"):
        assert found[name] is not None and name in found[name][0]
    assert any(n.startswith("pydantic-") for n in found["dist-info"])
    assert any(n.lower().startswith("pyyaml-") for n in found["dist-info"])
    assert any("_yaml" in f[0] for f in found["yaml"][1])  # libyaml, if built with it


def test_the_store_is_no_lab(state: Path, tmp_path: Path) -> None:
    _up(_file(tmp_path))
    (state / plancache.FOLDER / "journal.jsonl").write_text("")  # as if it were a lab's
    assert labs_with_state() == dirs_without_journal() == locks_without_lab() == []
    with pytest.raises(InputError, match="not a valid lab name"):
        LabState(plancache.FOLDER)


def test_an_unreadable_path_is_no_error_but_no_cache(
        state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fails() -> str:
        raise PermissionError("a folder on the path")

    monkeypatch.setattr(plancache, "netlab_fingerprint", fails)
    lab, cached = _up(_file(tmp_path))
    assert not cached and lab.checked.ops
    assert not (state / plancache.FOLDER).exists()
