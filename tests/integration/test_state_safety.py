"""A lab's state folder against the other users of the machine (issue 10.2, 10.8): a real
unprivileged user (made by the test, removed after) reads none of a running lab's secrets,
and links planted in the state folder are refused, never followed."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.state.store import state_root

from .hostcheck import TOPO, force_down, netlab


@pytest.fixture
def stranger() -> Iterator[tuple[int, int]]:
    """A local user of no privilege (uid, gid), removed after the test."""
    name = f"nlx{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True)
    try:
        out = subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True)
        uid = int(out.stdout)
        gid = int(subprocess.run(["id", "-g", name], capture_output=True, text=True,
                                 check=True).stdout)
        yield uid, gid
    finally:
        subprocess.run(["userdel", name], check=False)


def _as(user: tuple[int, int], *argv: str) -> subprocess.CompletedProcess[str]:
    uid, gid = user
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv],
        capture_output=True, text=True, check=False, cwd="/", env={"PATH": "/usr/bin:/bin"},
    )


def test_another_user_reads_no_secret_of_a_running_lab(
    fresh_lab: str, stranger: tuple[int, int]
) -> None:
    key = secrets.token_hex(32)
    netlab("up", str(TOPO / "vpn.yaml"), "--name", fresh_lab, "--set", f"key={key}")
    folder = state_root() / fresh_lab
    holding = [p for p in folder.rglob("*")
               if p.is_file() and not p.is_symlink() and key in p.read_text(errors="replace")]
    # The key is in the record and the journal (and nowhere the stranger can read).
    assert {"lab.json", "journal.jsonl"} <= {p.name for p in holding}
    for path in holding:
        assert path.stat().st_mode & 0o077 == 0, path
        looked = _as(stranger, "cat", str(path))
        assert looked.returncode != 0 and key not in looked.stdout, path
    found = _as(stranger, "grep", "-r", "-l", key, str(folder))
    assert key not in found.stdout and str(folder) not in found.stdout
    listed = _as(stranger, "ls", str(folder))
    assert listed.returncode != 0  # not even the names of the files
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink() and path.stat().st_uid == 0:
            assert path.stat().st_mode & 0o066 == 0, path
    # Nor in any command line `ps` shows.
    processes = _as(stranger, "ps", "-eo", "args")
    assert processes.returncode == 0 and key not in processes.stdout
    # Root still reads all of it.
    assert "netlab-tunnel: tun0" in netlab("logs", "-l", fresh_lab, "gwa", "vpn").stdout
    netlab("status", "-l", fresh_lab, "--json")
    netlab("down", "-l", fresh_lab)


HELLO_FILES = """name: {lab}
nodes:
  h1:
    files: {{note.txt: "written by netlab"}}
    services:
      web: {{run: "exec sleep 60", user: 65534}}
"""


def _plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize("where", ["node", "service", "log"])
def test_a_link_planted_in_a_lab_folder_is_refused(
    fresh_lab: str, tmp_path: Path, where: str
) -> None:
    topo = tmp_path / "lab.yaml"
    topo.write_text(HELLO_FILES.format(lab=fresh_lab))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim"
    victim.write_text("root's own\n")
    node = state_root() / fresh_lab / "nodes" / "h1"
    planted = {"node": node, "service": node / "services" / "web",
               "log": node / "services" / "web" / "log"}[where]
    _plant(planted, victim if where == "log" else elsewhere)
    before = sorted((p.name, p.stat().st_uid, p.stat().st_mode) for p in elsewhere.iterdir())
    try:
        result = netlab("up", str(topo), check=1)
        message = result.stderr.strip().splitlines()
        assert f"{planted} is a symbolic link, not netlab's own; not following it" in \
            message[0], result.stderr
        assert sorted((p.name, p.stat().st_uid, p.stat().st_mode)
                      for p in elsewhere.iterdir()) == before
        assert victim.read_text() == "root's own\n"
        assert elsewhere.stat().st_uid == 0
    finally:
        planted.unlink(missing_ok=True)  # (rollback removes the lab folder, not what links lead to)
        force_down(fresh_lab)
        shutil.rmtree(state_root() / fresh_lab, ignore_errors=True)


def test_a_link_in_place_of_lab_json_is_not_read(fresh_lab: str, tmp_path: Path) -> None:
    netlab("up", str(TOPO / "hello.yaml"), "--name", fresh_lab)
    record = state_root() / fresh_lab / "lab.json"
    elsewhere = tmp_path / "secret.json"
    elsewhere.write_text('{"name": "not-this-one"}')
    kept = record.read_bytes()
    try:
        record.unlink()
        record.symlink_to(elsewhere)
        status = netlab("status", "-l", fresh_lab, check=None)
        assert status.returncode != 0
        assert f"{record} is a symbolic link" in status.stderr
        assert "not-this-one" not in status.stdout + status.stderr
        assert len(status.stderr.strip().splitlines()) <= 2  # the line and its hint
    finally:
        record.unlink()
        record.write_bytes(kept)
        os.chmod(record, 0o600)
    netlab("down", "-l", fresh_lab)
    assert elsewhere.read_text() == '{"name": "not-this-one"}'
