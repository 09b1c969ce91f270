"""A lab's record and journal are root's alone from their first byte, whatever the umask,
and nothing planted in the lab's folder is followed (issue 10.2, 10.8)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.errors import LabStateError
from netlab.plan.ops import CreateNamespace
from netlab.state.store import LabState


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_record_and_journal_are_private_whatever_the_umask(
    tmp_path: Path, open_umask: None
) -> None:
    state = LabState("lab", tmp_path)
    state.write_meta({"env": "secret"})
    state.begin(0, [CreateNamespace("netlab-lab-a")])
    state.close()
    assert _mode(tmp_path / "lab") == 0o711
    assert _mode(tmp_path / "lab" / "lab.json") == 0o600
    assert _mode(tmp_path / "lab" / "journal.jsonl") == 0o600
    assert state.read_meta() == {"env": "secret"}
    assert [e.op for e in state.entries()] == [CreateNamespace("netlab-lab-a")]


@pytest.mark.parametrize("name", ["lab.json", "journal.jsonl", "lab.json.tmp"])
def test_a_link_in_the_lab_folder_is_never_followed(tmp_path: Path, name: str) -> None:
    state = LabState("lab", tmp_path)
    state.write_meta({})
    victim = tmp_path / "victim"
    victim.write_text("{}")
    (tmp_path / "lab" / name).unlink(missing_ok=True)
    (tmp_path / "lab" / name).symlink_to(victim)
    if name == "lab.json.tmp":
        state.write_meta({"a": 1})  # the planted name is replaced, not written through
        assert state.read_meta() == {"a": 1}
    else:
        with pytest.raises(LabStateError, match="is a symbolic link, not netlab's own"):
            state.read_meta() if name == "lab.json" else state.begin(0, [])
    assert victim.read_text() == "{}"


def test_a_lab_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "lab").symlink_to(elsewhere)
    with pytest.raises(LabStateError, match="lab is a symbolic link"):
        LabState("lab", tmp_path / "root").write_meta({})
    assert list(elsewhere.iterdir()) == []
