"""A full state directory (NETLAB_STATE_DIR on a small tmpfs the test mounts): `up` says
what is full and where, its hint is true, it rolls back; `down` and `cleanup` work then,
and a lab that is up goes down even when nothing more fits (issue 10.7)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .hostcheck import TOPO, Host, force_down, namespaces, netlab


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "state"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_up_on_a_full_state_folder_says_so_and_rolls_back(
    fresh_lab: str, small_tmpfs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETLAB_STATE_DIR", str(small_tmpfs))
    env = {"NETLAB_STATE_DIR": str(small_tmpfs)}
    try:
        result = netlab("up", str(TOPO / "vpn.yaml"), "--name", fresh_lab, check=1, env=env)
        lines = result.stderr.strip().splitlines()
        assert lines[0].endswith(
            f"the state folder {small_tmpfs} is full (No space left on device): could not "
            f"write the journal of lab '{fresh_lab}'"), result.stderr
        assert lines[0].startswith("error: the state folder")  # not "could not create veth"
        assert lines[1] == (
            f"hint: make room there (df -h {small_tmpfs}) or point NETLAB_STATE_DIR at a "
            "filesystem with space; rolled back: the host is as it was")
        assert namespaces(f"netlab-{fresh_lab}-") == set()  # the hint is true
        assert list(small_tmpfs.iterdir()) == []
        assert "nothing to do" in netlab("down", "-l", fresh_lab, env=env).stdout
        assert "nothing to clean up" in netlab("cleanup", "-l", fresh_lab, env=env).stdout
    finally:
        force_down(fresh_lab)


def test_a_lab_that_is_up_goes_down_when_its_state_folder_is_full(
    fresh_lab: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = tmp_path / "state"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], check=True)
    monkeypatch.setenv("NETLAB_STATE_DIR", str(where))
    env = {"NETLAB_STATE_DIR": str(where)}
    try:
        before = Host.of(fresh_lab)
        netlab("up", str(TOPO / "hello.yaml"), "--name", fresh_lab, env=env)
        filler = where / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k", "count=100"],
                       capture_output=True, check=False)  # until the tmpfs is full
        netlab("status", "-l", fresh_lab, env=env)
        netlab("down", "-l", fresh_lab, env=env)
        assert namespaces(f"netlab-{fresh_lab}-") == set()
        filler.unlink()
        assert not (where / fresh_lab).exists()
        assert Host.of(fresh_lab).namespaces == before.namespaces
    finally:
        try:
            force_down(fresh_lab)
        finally:  # the tmpfs goes even when taking the lab down fails
            subprocess.run(["umount", "-l", str(where)], check=True)
