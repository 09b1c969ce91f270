"""Two `netlab test` of one lab at once: the second is refused in words, and the first,
which brought the lab up, finishes its checks and takes it down (nothing torn down under
it). A run under another --name goes ahead side by side."""

from __future__ import annotations

import json
import time
from pathlib import Path

from netlab.state.store import LabState

from .hostcheck import force_down, netlab, start

LAB = """\
name: twice
nodes:
  a: {interfaces: {eth0: {addresses: [10.83.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.83.0.2/24]}}}
links: [[a:eth0, b:eth0]]
checks:
  - {node: a, run: "sleep 3", timeout: 10}
  - {from: a, to: b}
"""


def test_a_second_run_of_one_lab_is_refused_not_torn_down(
    tmp_path: Path, fresh_lab: str,
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    first = start("test", str(path), "--name", fresh_lab, "--json")
    try:
        state = LabState(fresh_lab)
        deadline = time.monotonic() + 60
        while not (state.exists() and state.read_meta().get("complete")):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = netlab("test", str(path), "--name", fresh_lab, check=3)
        assert f"lab '{fresh_lab}' is in use by netlab test (pid {first.pid}), which brought " \
            "it up and takes it down when done" in second.stderr
        by_lab = netlab("test", "-l", fresh_lab, check=3)
        assert "is in use by netlab test" in by_lab.stderr
        other = netlab("test", str(path), "--name", f"{fresh_lab}-2", "--json")
        assert json.loads(other.stdout)["ok"] is True
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
        force_down(f"{fresh_lab}-2")
    assert first.returncode == 0, err
    assert json.loads(out)["ok"] is True
    assert not state.exists()
    assert not state.test_path.exists()


def test_runs_on_a_lab_that_is_up_share_it_and_the_last_leaves_no_file(
    tmp_path: Path, fresh_lab: str,
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB.replace("sleep 3", "sleep 1"))
    netlab("up", str(path), "--name", fresh_lab)
    try:
        state = LabState(fresh_lab)
        first = start("test", "-l", fresh_lab, "--json")
        try:
            deadline = time.monotonic() + 30
            while not state.test_path.exists():  # the first run holds it
                assert time.monotonic() < deadline and first.poll() is None
                time.sleep(0.02)
            second = netlab("test", "-l", fresh_lab, "--json")  # shares it, side by side
            assert json.loads(second.stdout)["ok"] is True
            out, err = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
        assert first.returncode == 0, err
        assert json.loads(out)["ok"] is True
        assert not state.test_path.exists()  # the last to leave removed it
        netlab("test", "-l", fresh_lab)  # alone: the same
        assert not state.test_path.exists()
    finally:
        force_down(fresh_lab)
