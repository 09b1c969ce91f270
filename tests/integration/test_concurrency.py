"""Two at once: labs side by side never touch each other; two commands on one lab are
serialised by its lock (the loser waits, or after NETLAB_LOCK_TIMEOUT says who holds it);
`up` of a lab that is up and unchanged is a no-op."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.kernel.reach import ping
from netlab.pytest_plugin import unique_name
from netlab.state.store import LabState

from .hostcheck import HELLO, Host, count, force_down, netlab, star, start, wait_for


@pytest.fixture
def two_labs() -> Iterator[tuple[str, str]]:
    names = unique_name("side-a"), unique_name("side-b")
    try:
        yield names
    finally:
        for name in names:
            force_down(name)


def _works(lab: Lab) -> None:
    """Whole and carrying traffic: no drift, h1 reaches h3 through the router."""
    assert lab.status()["drift"] == []
    assert ping(lab.namespace("h1"), "10.0.2.1", 1.0, 3) is not None


def _inodes(lab: str) -> dict[str, int]:
    return {ns: os.stat(f"/run/netns/{ns}").st_ino for ns in Host.of(lab).namespaces}


def test_two_labs_side_by_side_never_touch(two_labs: tuple[str, str]) -> None:
    a, b = two_labs
    before_b = Host.of(b)
    # Both at once, from the same file.
    procs = [start("up", str(HELLO), "--name", name, "--json") for name in (a, b)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["created"] is True
    lab_a, lab_b = Lab.attach(a), Lab.attach(b)
    _works(lab_a)
    _works(lab_b)
    inodes_a = _inodes(a)
    assert len(inodes_a) == 5

    netlab("down", "-l", b)
    assert Host.of(b) == before_b
    assert _inodes(a) == inodes_a  # the very same namespaces, untouched
    _works(lab_a)
    assert [lab["lab"] for lab in json.loads(netlab("ls", "--json").stdout)["labs"]
            if lab["lab"] in (a, b)] == [a]


def test_two_labs_in_threads_of_one_process(two_labs: tuple[str, str]) -> None:
    """The API from threads other than the main one (no signal handlers there)."""
    labs = [Lab.from_file(HELLO, name=name) for name in two_labs]
    errors: list[BaseException] = []

    def up(lab: Lab) -> None:
        try:
            lab.up()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=up, args=(lab,)) for lab in labs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for lab in labs:
        _works(lab)
    for lab in labs:
        lab.down()
        assert not Host.of(lab.name).namespaces


def test_up_twice_at_once_builds_once(fresh_lab: str) -> None:
    procs = [start("up", str(HELLO), "--name", fresh_lab, "--json") for _ in range(2)]
    created = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        created.append(json.loads(out)["created"])
    assert sorted(created) == [False, True]
    assert count(fresh_lab, "begin") == len(Lab.from_file(HELLO).plan.ops)  # built once
    _works(Lab.attach(fresh_lab))


def test_down_waits_for_up_to_finish(fresh_lab: str, tmp_path: Path) -> None:
    topo = star(tmp_path)
    before = Host.of(fresh_lab)
    up = start("up", str(topo), "--name", fresh_lab)
    try:
        assert wait_for(lambda: count(fresh_lab, "done") >= 1, up)
        down = start("down", "-l", fresh_lab, "--json", env={"NETLAB_LOCK_TIMEOUT": "60"})
        down_out, down_err = down.communicate(timeout=120)
        up_out, up_err = up.communicate(timeout=120)
    finally:
        for proc in (up,):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert up.returncode == 0, up_err
    assert f"lab {fresh_lab} is up" in up_out
    assert down.returncode == 0, down_err
    assert json.loads(down_out)["was_up"] is True  # it waited for the whole lab
    assert Host.of(fresh_lab) == before


def test_loser_says_who_holds_the_lock(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    with LabState(fresh_lab).locked(what="up"):
        started = time.monotonic()
        result = netlab("up", str(HELLO), "--name", fresh_lab, check=3,
                        env={"NETLAB_LOCK_TIMEOUT": "0.5"})
        waited = time.monotonic() - started
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: lab '{fresh_lab}' is busy: netlab up (pid {os.getpid()}) is "
                      "working on it"], result.stderr
    assert "NETLAB_LOCK_TIMEOUT" in result.stderr  # the hint says how to wait longer
    assert 0.5 <= waited < 20
    assert Host.of(fresh_lab) == before


def test_down_of_a_busy_lab_says_so(fresh_lab: str) -> None:
    lab = Lab.from_file(HELLO, name=fresh_lab)
    lab.up()
    with LabState(fresh_lab).locked(what="exec"):
        result = netlab("down", "-l", fresh_lab, check=3, env={"NETLAB_LOCK_TIMEOUT": "0.2"})
    assert f"lab '{fresh_lab}' is busy: netlab exec (pid {os.getpid()})" in result.stderr
    _works(lab)  # untouched
    lab.down()


def test_waiter_goes_on_once_the_lock_is_free(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with LabState(fresh_lab).locked(what="up"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        proc = start("up", str(HELLO), "--name", fresh_lab, env={"NETLAB_LOCK_TIMEOUT": "60"})
        time.sleep(1.0)
        assert proc.poll() is None  # waiting
        assert not Host.of(fresh_lab).namespaces  # and touching nothing meanwhile
        release.set()
        _, err = proc.communicate(timeout=120)
    finally:
        release.set()
        thread.join()
    assert proc.returncode == 0, err
    _works(Lab.attach(fresh_lab))
    netlab("down", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_up_of_a_lab_up_and_unchanged_is_a_no_op(fresh_lab: str) -> None:
    netlab("up", str(HELLO), "--name", fresh_lab)
    inodes = _inodes(fresh_lab)
    journal = LabState(fresh_lab).journal_path.read_bytes()
    again = netlab("up", str(HELLO), "--name", fresh_lab, "--json")
    assert json.loads(again.stdout) == {"schema": "netlab.up/1", "lab": fresh_lab,
                                        "created": False, "ops": 0,
                                        "seconds": json.loads(again.stdout)["seconds"],
                                        "replaced": None}
    assert _inodes(fresh_lab) == inodes
    assert LabState(fresh_lab).journal_path.read_bytes() == journal
    _works(Lab.attach(fresh_lab))
    netlab("down", "-l", fresh_lab)


def test_a_lab_being_built_is_listed_as_such(fresh_lab: str, tmp_path: Path) -> None:
    """While `up` works (its last service takes 3 s to be ready), `ls` says the lab is being
    built and by whom, not that it is up nor that it is incomplete; `cleanup` leaves it
    alone. Once `up` is done, it is up."""
    proc = start("up", str(star(tmp_path, hosts=10, held=True)), "--name", fresh_lab)
    try:
        assert wait_for(lambda: count(fresh_lab, "done") >= 40, proc)
        listed = json.loads(netlab("ls", "--json").stdout)["labs"]
        entry = next(lab for lab in listed if lab["lab"] == fresh_lab)
        assert entry["state"] == "building", entry
        assert f"netlab up (pid {proc.pid}) is working on it" == entry["note"], entry
        dry = json.loads(netlab("cleanup", "-l", fresh_lab, "--dry-run", "--json").stdout)
        assert dry["leftovers"] == [], dry
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    listed = json.loads(netlab("ls", "--json").stdout)["labs"]
    assert next(lab for lab in listed if lab["lab"] == fresh_lab)["state"] == "up"
    netlab("down", "-l", fresh_lab)
