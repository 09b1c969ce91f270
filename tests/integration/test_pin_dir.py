"""The folder nodes' mount and UTS namespaces are pinned in (nodehost.PIN_DIR): a private
tmpfs of its own when netlab makes it empty; a folder that holds files, or is a mount
already, kept as it is (its files stay in sight); made once when asked twice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.kernel import nodehost


def _mounts_at(path: Path) -> list[tuple[str, str]]:
    """(filesystem type, propagation fields) of each mount at `path`, lowest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(path):
            dash = fields.index("-")
            found.append((fields[dash + 1], " ".join(fields[6:dash])))
    return found


@pytest.fixture
def pin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "netlab-ns"
    monkeypatch.setattr(nodehost, "PIN_DIR", str(folder))
    try:
        yield folder
    finally:
        for _ in _mounts_at(folder):
            nodehost._libc.umount2(str(folder).encode(), nodehost.MNT_DETACH)
        assert not _mounts_at(folder)


def test_made_empty_it_is_a_private_tmpfs_once(pin_dir: Path) -> None:
    nodehost.ensure_pin_dir()
    nodehost.ensure_pin_dir()  # a second `up`: the same mount, not another on top
    mounts = _mounts_at(pin_dir)
    assert [fstype for fstype, _ in mounts] == ["tmpfs"]
    assert "shared:" not in mounts[0][1] and "master:" not in mounts[0][1]  # private
    assert oct(pin_dir.stat().st_mode & 0o7777) == "0o755"
    (pin_dir / "netlab-x-h1.host").write_text("{}")  # a promise is made in it
    assert os.stat(pin_dir / "netlab-x-h1.host").st_dev == os.stat(pin_dir).st_dev


def test_a_folder_with_files_keeps_them_in_sight(pin_dir: Path) -> None:
    pin_dir.mkdir()
    (pin_dir / "netlab-x-h1.host").write_text("a live lab's promise")
    nodehost.ensure_pin_dir()
    mounts = _mounts_at(pin_dir)
    assert [fstype for fstype, _ in mounts] != ["tmpfs"] and len(mounts) == 1
    assert "shared:" not in mounts[0][1]
    assert (pin_dir / "netlab-x-h1.host").read_text() == "a live lab's promise"
