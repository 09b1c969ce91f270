"""The per-lab lock (no root needed): mutual exclusion, even though each holder removes the
lock file as it leaves; the timeout and who holds it; NETLAB_LOCK_TIMEOUT; the journal
read back after a torn line or damage."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import pytest

from netlab.errors import LabStateError
from netlab.plan import ops as o
from netlab.state import store
from netlab.state.store import LabState, dirs_without_journal, labs_with_state, lock_timeout


def test_holders_never_overlap_and_leave_no_file(tmp_path: Path) -> None:
    inside = 0
    most = 0
    entries = 0
    guard = threading.Lock()

    def worker() -> None:
        nonlocal inside, most, entries
        for _ in range(40):
            with LabState("lab", tmp_path).locked(timeout=30):
                with guard:
                    inside += 1
                    entries += 1
                    most = max(most, inside)
                time.sleep(0.0005)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert entries == 8 * 40
    assert most == 1
    assert list(tmp_path.iterdir()) == []  # no lock file, no lab directory


def test_timeout_names_the_holder(tmp_path: Path) -> None:
    with LabState("lab", tmp_path).locked(what="up"):
        started = time.monotonic()
        with pytest.raises(LabStateError) as busy, LabState("lab", tmp_path).locked(0.2):
            pass
        assert time.monotonic() - started >= 0.2
    assert str(busy.value) == f"lab 'lab' is busy: netlab up (pid {os.getpid()}) is working on it"
    assert "\n" not in str(busy.value)
    with LabState("lab", tmp_path).try_locked():  # free again
        pass


def test_other_labs_are_not_blocked(tmp_path: Path) -> None:
    with LabState("a", tmp_path).locked(), LabState("b", tmp_path).try_locked():
        pass


@pytest.mark.parametrize(("value", "expected"), [
    ("", 30.0), ("2.5", 2.5), ("0", 0.0), ("-1", 30.0), ("nan", 30.0), ("inf", 30.0),
    ("soon", 30.0),
])
def test_lock_timeout_from_the_environment(
    value: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETLAB_LOCK_TIMEOUT", value)
    assert lock_timeout() == expected


def test_a_torn_line_does_not_swallow_the_next(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, [o.CreateNamespace("netlab-t-a"), o.CreateNamespace("netlab-t-b")])
    state.done(0)
    state.close()
    with open(state.journal_path, "a") as f:
        f.write('{"i": 1, "s": "do')  # the crash
    later = LabState("t", tmp_path)
    later.undone(0)  # a down in a new process
    later.close()
    assert [e.op.ns for e in LabState("t", tmp_path).entries()] == ["netlab-t-b"]


@pytest.mark.parametrize("line", [
    {"i": 0, "s": "begin"}, {"i": "0", "s": "done"}, {"i": 0, "s": "maybe"},
    {"i": 0, "s": "begin", "op": {"op": "format-disk", "ns": "x"}}, [1, 2],
    # A run of ops (one line for a batch): its ops not a list, one unknown, a bad count.
    {"i": 0, "s": "begin", "ops": {"op": "create-namespace", "ns": "netlab-t-a"}},
    {"i": 0, "s": "begin", "ops": [{"op": "format-disk", "ns": "x"}]},
    {"i": 0, "s": "done", "n": 0},
    {"i": 0, "s": "done", "n": "3"},
    {"i": 0, "s": "done", "n": 1 << 40},
])
def test_a_damaged_journal_is_one_clear_error(tmp_path: Path, line: object) -> None:
    state = LabState("t", tmp_path)
    state.dir.mkdir(parents=True)
    state.journal_path.write_text(json.dumps(line) + "\n")
    with pytest.raises(LabStateError, match=r"journal of lab 't' is damaged at line 1"):
        state.entries()


def test_an_unreadable_record_is_one_clear_error(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.write_meta({"lab": "t"})
    (state.dir / "lab.json").write_text("[1, 2")
    with pytest.raises(LabStateError, match="state of lab 't' is unreadable"):
        state.read_meta()
    (state.dir / "lab.json").write_text("[1, 2]")
    with pytest.raises(LabStateError, match="not a JSON object"):
        state.read_meta()


def test_state_listings_ignore_what_is_not_a_lab(tmp_path: Path) -> None:
    for name in ("good", "Bad Name", "..hidden"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "journal.jsonl").write_text("")
    (tmp_path / "record-only").mkdir()
    assert labs_with_state(tmp_path) == ["good"]
    assert dirs_without_journal(tmp_path) == ["record-only"]


def _read(state: LabState) -> list[tuple[int, o.Op, bool]] | str:
    try:
        return [(e.index, e.op, e.done) for e in state.entries()]
    except LabStateError as error:
        return str(error)


def test_the_journal_read_in_one_go_reads_as_line_by_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """entries() parses the whole journal at once when it is whole lines (store.
    _parsed_whole): whatever a journal holds - torn lines anywhere, blank ones, lines
    that are no object - it reads the same as a parse per line."""
    ops = [o.CreateNamespace(f"netlab-t-n{k}", alias="netlab:t") for k in range(6)]
    whole = [json.dumps({"i": k, "s": "begin", "op": op.to_json()}) for k, op in
             enumerate(ops)] + [json.dumps({"i": k, "s": s}) for k, s in
                                ((0, "done"), (1, "done"), (2, "undone"), (3, "done"))]
    # ... and lines no crash leaves, that only a whole parse would read together
    odd = ["", "[1, 2]", "7", '{"i": 9, "s": "maybe"}', "{", "}", "1, 2",
           '{"i": 5, "s": "done"}, {"i": 4, "s": "done"}', '{"i": 4, "s": "done", "x": [{}\n{}]}']
    rng = random.Random(14)
    state = LabState("t", tmp_path)
    state.dir.mkdir(parents=True)
    for _ in range(300):
        lines = []
        for line in whole:
            roll = rng.random()
            if roll < 0.1:
                lines.append(line[:rng.randrange(1, len(line))])  # torn by a crash
            elif roll < 0.13:
                lines.append(rng.choice(odd))
            lines.append(line)
        state.journal_path.write_text("\n".join(lines) + "\n")
        in_one_go = _read(state)
        with monkeypatch.context() as m:
            m.setattr(store, "_parsed_whole", lambda lines: None)
            assert _read(state) == in_one_go, lines
    state.journal_path.write_text("\n".join(whole) + "\n")
    assert store._parsed_whole(whole) is not None  # the usual journal: in one go
    read = _read(state)
    assert not isinstance(read, str) and [i for i, _, _ in read] == [0, 1, 3, 4, 5]


def test_test_runs_share_or_exclude_and_the_last_leaves_no_file(tmp_path: Path) -> None:
    """`netlab test` runs on a lab that is up share it; one that brings it up holds it
    alone (the others are refused at once); whoever leaves last removes the file."""
    sharing = 0
    alone = 0
    overlaps = 0
    runs = 0
    guard = threading.Lock()

    def worker(n: int) -> None:
        nonlocal sharing, alone, overlaps, runs
        for i in range(60):
            brings_up = (n + i) % 7 == 0
            try:
                with LabState("lab", tmp_path).testing(brings_up):
                    with guard:
                        runs += 1
                        if brings_up:
                            alone += 1
                            overlaps += sharing + alone - 1
                        else:
                            sharing += 1
                            overlaps += alone
                    time.sleep(0.0003)
                    with guard:
                        if brings_up:
                            alone -= 1
                        else:
                            sharing -= 1
            except LabStateError:
                pass  # refused at once: another run holds it in a way this one cannot share

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs > 60
    assert overlaps == 0
    assert list(tmp_path.iterdir()) == []  # the last to leave removed it


def test_a_test_file_no_run_holds_is_a_leftover(tmp_path: Path) -> None:
    (tmp_path / ".stale.test").write_text("")
    (tmp_path / ".not a lab.test").write_text("")
    with LabState("busy", tmp_path).testing(False):
        assert store.unheld_test_files(tmp_path) == ["stale"]
        with LabState("stale", tmp_path).testing(True, "cleanup"):
            pass
        assert not (tmp_path / ".stale.test").exists()
    assert store.unheld_test_files(tmp_path) == []
