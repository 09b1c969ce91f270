"""Whatever refuses or stops `up` half way, the host ends as it was.

- the kernel refuses the N-th op, for every N of hello.yaml (NETLAB_FAIL_AT, in-process);
- the same with --keep-on-error, then `down`;
- a refusal during `down`, then `down` again;
- SIGKILL at several points of `up` of a large lab, then `down -l LAB`;
- SIGINT/SIGTERM during `up` (rolls back) and during `down` (the teardown finishes).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.errors import KernelError, LabStateError
from netlab.kernel.base import OpFailed
from netlab.state.store import LabState
from netlab.ui.cli import main

from .hostcheck import (
    HELLO,
    Host,
    count,
    journal,
    netlab,
    open_fds,
    own_netns,
    star,
    start,
    wait_for,
)

HELLO_OPS = Lab.from_file(HELLO).plan.ops


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert all(line.startswith(("error:", "hint:")) for line in stderr.splitlines()), stderr
    return errors[0]


# --- the kernel refuses -----------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, len(HELLO_OPS) + 1))
def test_refusal_of_any_op_rolls_back(
    n: int, fresh_lab: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before, netns, fds = Host.of(fresh_lab), own_netns(), open_fds()
    monkeypatch.setenv("NETLAB_FAIL_AT", str(n))
    code = main(["up", str(HELLO), "--name", fresh_lab])
    stderr = capsys.readouterr().err
    assert code == 1, stderr
    op = Lab.from_file(HELLO, name=fresh_lab).plan.ops[n - 1]
    line = _one_error_line(stderr)
    assert line == f"error: could not {op.describe()}: refused by fault injection (NETLAB_FAIL_AT)"
    assert "rolled back: the host is as it was" in stderr
    assert Host.of(fresh_lab) == before
    # The test process itself is back in its own namespace and holds nothing of the lab.
    assert own_netns() == netns
    assert open_fds() == fds


@pytest.mark.parametrize("n", range(1, len(HELLO_OPS) + 1, 3))
def test_refusal_kept_for_debugging_then_down(
    n: int, fresh_lab: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(HELLO, name=fresh_lab)
    monkeypatch.setenv("NETLAB_FAIL_AT", str(n))
    with pytest.raises(OpFailed) as failure:
        lab.up(keep_on_error=True)
    assert failure.value.op == lab.plan.ops[n - 1]
    assert "--keep-on-error" in (failure.value.hint or "")
    assert lab.is_up()
    if n > 1:
        assert Host.of(fresh_lab).namespaces  # really kept
    monkeypatch.delenv("NETLAB_FAIL_AT")
    lab.down()
    assert Host.of(fresh_lab) == before


def test_up_after_a_kept_failure_builds_the_lab(
    fresh_lab: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A half-built lab is not 'already up': `up` again removes the remains and builds."""
    lab = Lab.from_file(HELLO, name=fresh_lab)
    monkeypatch.setenv("NETLAB_FAIL_AT", "30")
    with pytest.raises(OpFailed):
        lab.up(keep_on_error=True)
    monkeypatch.delenv("NETLAB_FAIL_AT")
    result = lab.up()
    assert result.created
    assert lab.status()["drift"] == []
    lab.down()


# The teardown of hello unpins 5 nodes' mount namespaces (1..5), then deletes 5 namespaces.
@pytest.mark.parametrize("n", [1, 6, 8, 10])
def test_refusal_during_down_then_down_again(
    n: int, fresh_lab: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(HELLO, name=fresh_lab)
    lab.up()
    monkeypatch.setenv("NETLAB_FAIL_AT", str(n))
    code = main(["down", "-l", fresh_lab])
    stderr = capsys.readouterr().err
    assert code == 1, stderr
    line = _one_error_line(stderr)
    what = "mount and uts namespaces" if n <= 5 else "delete namespace"
    assert "teardown of lab" in line and "incomplete" in line and what in line
    assert lab.is_up()  # the journal still knows what is left
    monkeypatch.delenv("NETLAB_FAIL_AT")
    assert main(["down", "-l", fresh_lab]) == 0
    assert Host.of(fresh_lab) == before


# --- the process is killed --------------------------------------------------------------

# Points of `up` of a 60-host star (61 namespaces, ~490 ops, ~980 journal lines): right
# after the first journal line, while namespaces are made, among the cables, per node.
KILL_POINTS = [1, 40, 130, 300, 600, 850]


@pytest.mark.parametrize("lines", KILL_POINTS)
def test_sigkill_during_up_then_down(lines: int, fresh_lab: str, tmp_path: Path) -> None:
    topo = star(tmp_path, held=True)
    before = Host.of(fresh_lab)
    proc = start("up", str(topo), "--name", fresh_lab)
    try:
        reached = wait_for(lambda: len(journal(fresh_lab)) >= lines, proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert reached and proc.returncode == -signal.SIGKILL, "up ended before the kill point"
    down = netlab("down", "-l", fresh_lab)
    assert f"lab {fresh_lab} is down" in down.stdout
    assert Host.of(fresh_lab) == before


def test_sigkill_during_up_then_up_again(fresh_lab: str, tmp_path: Path) -> None:
    """After a crash, `up` of the same lab does not take the remains for a finished lab."""
    # Big enough that the kill lands well before the end: a 30-host `up` now finishes in
    # the moment between the 60th done line being seen and the kill (CI saw it complete).
    topo = star(tmp_path, hosts=300)
    proc = start("up", str(topo), "--name", fresh_lab)
    try:
        reached = wait_for(lambda: count(fresh_lab, "done") >= 60, proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert reached and proc.returncode == -signal.SIGKILL
    again = netlab("up", str(topo), "--name", fresh_lab)
    assert "is up" in again.stdout and "nothing to do" not in again.stdout
    assert Lab.attach(fresh_lab).status()["drift"] == []
    netlab("down", "-l", fresh_lab)


def _with_stubborn_services(topo: Path) -> Path:
    """Three services on h1 that ignore SIGTERM: stopping each takes netlab's grace (3 s)."""
    stubborn = "{run: \"trap '' TERM; while :; do sleep 0.1; done\"}"
    text = topo.read_text().replace(
        "  h1: {", f"  h1: {{services: {{s1: {stubborn}, s2: {stubborn}, s3: {stubborn}}}, "
    )
    topo.write_text(text)
    return topo


def test_sigkill_during_rollback_then_down(fresh_lab: str, tmp_path: Path) -> None:
    """The rollback is made slow on purpose: two services that ignore SIGTERM each hold it
    for netlab's stop grace (3 s) before SIGKILL, so the kill lands inside it for sure."""
    topo = _with_stubborn_services(star(tmp_path, hosts=10))
    ops = len(Lab.from_file(topo).plan.ops)
    before = Host.of(fresh_lab)
    # The last op (starting s3) is refused: the rollback stops s3 (never started: at once),
    # then s2 (3 s), then s1 (3 s), then removes the namespaces.
    proc = start("up", str(topo), "--name", fresh_lab, env={"NETLAB_FAIL_AT": str(ops)})
    try:
        reached = wait_for(lambda: count(fresh_lab, "undone") >= 2, proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert reached and proc.returncode == -signal.SIGKILL, "the rollback ended first"
    netlab("down", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_sigkill_during_down_then_down(fresh_lab: str, tmp_path: Path) -> None:
    """`down` is made slow on purpose, as the rollback above: services that ignore SIGTERM
    hold it 3 s each, so the kill lands inside it for sure (a plain star of 60 is down in
    under 0.1 s, which a poll of the journal can miss)."""
    topo = _with_stubborn_services(star(tmp_path, hosts=10))
    before = Host.of(fresh_lab)
    netlab("up", str(topo), "--name", fresh_lab)
    proc = start("down", "-l", fresh_lab)
    try:
        reached = wait_for(lambda: count(fresh_lab, "undone") >= 1, proc)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    assert reached and proc.returncode == -signal.SIGKILL
    netlab("down", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_an_unexpected_error_rolls_back_too(fresh_lab: str, tmp_path: Path) -> None:
    """Not a refusal the kernel code foresaw (an OSError from deep in writing `files:`,
    because a regular file stands where a directory must go): rolled back all the same,
    and said in one line that names the op, exit 1."""
    topo = tmp_path / "files.yaml"
    topo.write_text(
        "name: files\n"
        "nodes:\n"
        "  a: {files: {conf/a.txt: hello}, interfaces: {eth0: {addresses: [10.65.0.1/24]}}}\n"
        "  b: {interfaces: {eth0: {addresses: [10.65.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = Host.of(fresh_lab)
    folder = LabState(fresh_lab).dir / "nodes" / "a"  # the node's folder (naming.node_dir)
    folder.mkdir(parents=True)
    (folder / "conf").write_text("in the way\n")
    result = netlab("up", str(topo), "--name", fresh_lab, check=1)
    error = _one_error_line(result.stderr)
    assert error.startswith(f"error: could not write conf/a.txt into {folder}: unexpected "
                            "error: NotADirectoryError"), result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.splitlines()[-1] == "hint: rolled back: the host is as it was"
    assert Host.of(fresh_lab) == before
    assert not LabState(fresh_lab).dir.exists()


# --- signals ----------------------------------------------------------------------------


def _interrupted_and_rolled_back(returncode: int, stderr: str) -> None:
    """Stopped by a signal, `up` says so as every command does (exit 130, one line), and
    says that it rolled back."""
    assert returncode == 130, stderr
    assert stderr.splitlines() == ["error: interrupted",
                                   "hint: rolled back: the host is as it was"], stderr


def test_signal_before_up_builds_says_the_same(fresh_lab: str) -> None:
    """A signal while `up` waits for the lab's lock (nothing built yet) ends it with the
    same line and exit code as one during the build."""
    state = LabState(fresh_lab)
    before = Host.of(fresh_lab)
    with state.locked(what="test"):
        proc = start("up", str(HELLO), "--name", fresh_lab)
        try:
            assert wait_for(lambda: _opened(proc.pid, state.lock_path), proc, timeout=60)
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr.splitlines() == ["error: interrupted"], stderr
    assert Host.of(fresh_lab) == before


def _opened(pid: int, path: Path) -> bool:
    """Whether process pid has `path` open (here: `up` trying to take a lab's lock)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("lines", [1, 130, 450])
def test_signal_during_up_rolls_back(sig: int, lines: int, fresh_lab: str,
                                     tmp_path: Path) -> None:
    """At the first journal line the 61 namespaces are being made by worker threads (a
    signal there used to leave some behind); at 130 the cables and addresses are on their
    way; at 450 the last batch may be in flight, and a signal that comes after the last
    op may find the lab finished: then it is up, whole, and exit 0 says so."""
    topo = star(tmp_path)
    before = Host.of(fresh_lab)
    proc = start("up", str(topo), "--name", fresh_lab)
    try:
        reached = wait_for(lambda: len(journal(fresh_lab)) >= lines, proc)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert reached, "up ended before the signal"
    assert "Traceback" not in stderr
    # A signal after the last op finds the lab whole and recorded complete: it stays up
    # (the signal may still end the process while it prints: exit 0, 130 or -sig).
    finished = LabState(fresh_lab).read_meta().get("complete") is True
    if lines < 450 or not finished:
        _interrupted_and_rolled_back(proc.returncode, stderr)
        assert Host.of(fresh_lab) == before
    else:
        assert proc.returncode in (0, 130, -sig), stderr
        assert Lab.attach(fresh_lab).status()["drift"] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_during_down_lets_the_teardown_finish(sig: int, fresh_lab: str,
                                                     tmp_path: Path) -> None:
    """A process in a node that ignores SIGTERM holds the teardown for its grace period
    (2 s, then SIGKILL): the signal lands in the middle of the teardown for sure."""
    topo = tmp_path / "stubborn.yaml"
    topo.write_text(
        "name: stubborn\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.68.0.1/24]}}\n"
        "    exec: [\"sh -c 'trap \\\"\\\" TERM; sleep 60' >/dev/null 2>&1 &\"]\n"
        "  b: {interfaces: {eth0: {addresses: [10.68.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = Host.of(fresh_lab)
    netlab("up", str(topo), "--name", fresh_lab)
    lock = LabState(fresh_lab).lock_path
    proc = start("down", "-l", fresh_lab)
    try:
        assert wait_for(lambda: lock.exists() and lock.read_text().endswith(" down"), proc)
        time.sleep(0.5)  # inside the teardown, waiting for the stubborn process
        assert proc.poll() is None
        proc.send_signal(sig)
        out, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert f"lab {fresh_lab} is down" in out
    assert Host.of(fresh_lab) == before


def test_interrupt_in_process_leaves_the_test_process_whole(
    fresh_lab: str, tmp_path: Path
) -> None:
    """Ctrl-C while the API builds a lab (in the caller's own process): rolled back, and
    the caller is still in its own namespace, holding no socket of the lab."""
    topo = star(tmp_path, hosts=20)
    lab = Lab.from_file(topo, name=fresh_lab)
    before, netns, fds = Host.of(fresh_lab), own_netns(), open_fds()
    sent = 0

    def progress(finished: int) -> None:
        nonlocal sent
        if finished == 40 and not sent:
            sent += 1
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KernelError, match="interrupted") as info:
        lab.up(progress=progress)
    assert "rolled back" in (info.value.hint or "")
    assert sent == 1
    assert Host.of(fresh_lab) == before
    assert own_netns() == netns and open_fds() == fds


def test_down_of_a_lab_that_is_not_up_is_fine(fresh_lab: str) -> None:
    result = netlab("down", "-l", fresh_lab)
    assert "not up" in result.stdout
    assert Host.of(fresh_lab) == Host(frozenset(), frozenset(), Host.of(fresh_lab).links, False,
                                      False)


def test_state_without_a_journal_is_removed_by_down(fresh_lab: str) -> None:
    """A crash after the lab's record was written and before its first op: `down` clears
    the record (there is nothing else)."""
    from netlab.state.store import LabState

    state = LabState(fresh_lab)
    state.write_meta({"lab": fresh_lab, "topology": {}, "complete": False})
    result = netlab("down", "-l", fresh_lab)
    assert "not up" in result.stdout
    assert not state.dir.exists()


def test_unreadable_lab_record_does_not_stop_down(fresh_lab: str) -> None:
    lab = Lab.from_file(HELLO, name=fresh_lab)
    before = Host.of(fresh_lab)
    lab.up()
    (lab.state.dir / "lab.json").write_text("{ torn")
    status = netlab("status", "-l", fresh_lab, check=1)
    assert "Traceback" not in status.stderr and "internal error" not in status.stderr
    netlab("down", "-l", fresh_lab)
    assert Host.of(fresh_lab) == before


def test_lab_error_names_the_lab(fresh_lab: str) -> None:
    with pytest.raises(LabStateError, match=f"lab '{fresh_lab}' is not up"):
        Lab.attach(fresh_lab)


def test_signal_stops_a_long_exec_command_at_once(fresh_lab: str, tmp_path: Path) -> None:
    """`exec:` commands may run for long; a signal stops them now, not when they end."""
    topo = tmp_path / "slow.yaml"
    topo.write_text(
        "name: slow\n"
        "nodes:\n"
        "  a: {interfaces: {eth0: {addresses: [10.67.0.1/24]}}, exec: ['sleep 60']}\n"
        "  b: {interfaces: {eth0: {addresses: [10.67.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = Host.of(fresh_lab)
    proc = start("up", str(topo), "--name", fresh_lab)
    try:
        started = wait_for(lambda: '"run-command"' in _journal_text(fresh_lab), proc)
        assert started
        wait_for(lambda: False, timeout=0.3)  # the sleep is running
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _interrupted_and_rolled_back(proc.returncode, stderr)
    assert took < 10, f"the signal waited {took:.1f} s for the command"
    assert Host.of(fresh_lab) == before


def _journal_text(lab: str) -> str:
    from netlab.state.store import LabState

    try:
        return LabState(lab).journal_path.read_text()
    except FileNotFoundError:
        return ""


def test_up_does_not_wait_for_a_background_exec_command(fresh_lab: str,
                                                        tmp_path: Path) -> None:
    topo = tmp_path / "daemon.yaml"
    topo.write_text(
        "name: daemon\n"
        "nodes:\n"
        "  a: {interfaces: {eth0: {addresses: [10.69.0.1/24]}}, exec: ['sleep 4 &']}\n"
        "  b: {interfaces: {eth0: {addresses: [10.69.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    started = time.monotonic()
    netlab("up", str(topo), "--name", fresh_lab)
    took = time.monotonic() - started
    netlab("down", "-l", fresh_lab)
    assert took < 3, f"up took {took:.1f} s: it waited for the background sleep"
