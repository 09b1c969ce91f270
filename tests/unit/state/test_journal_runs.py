"""The journal holds one line per run of ops (a batch's begin, its done), and still reads
the journals written before, one line per op and event (a lab brought up by that netlab).
A damaged run is one of the cases of test_store_lock's test of damaged journals."""

from __future__ import annotations

import json
from pathlib import Path

from netlab import engine
from netlab.plan import ops as o
from netlab.state.store import LabState

from ..fakekernel import FakeKernel

A, B = "netlab-t-a", "netlab-t-b"
OPS: list[o.Op] = [
    o.CreateNamespace(A),
    o.CreateNamespace(B),
    o.CreateVeth(A, "eth0", B, "eth0"),
    o.AddAddress(A, "eth0", "10.0.0.1/24"),
    o.SetLinkUp(A, "eth0"),
]

# As netlab wrote it before runs: a lab of OPS whose `up` was killed with op 4 in flight.
OLD_JOURNAL = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in [
    {"i": 0, "s": "begin", "op": OPS[0].to_json()},
    {"i": 1, "s": "begin", "op": OPS[1].to_json()},
    {"i": 0, "s": "done"},
    {"i": 1, "s": "done"},
    {"i": 2, "s": "begin", "op": OPS[2].to_json()},
    {"i": 3, "s": "begin", "op": OPS[3].to_json()},
    {"i": 4, "s": "begin", "op": OPS[4].to_json()},
    {"i": 2, "s": "done"},
    {"i": 3, "s": "done"},
])


def _lines(state: LabState) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in state.journal_path.read_text().splitlines()]


def test_a_run_is_one_begin_line_and_one_done_line(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, OPS[:3])
    for i in range(3):
        state.done(i)
    state.begin(3, OPS[3:])
    assert _lines(state) == [
        {"i": 0, "s": "begin", "ops": [op.to_json() for op in OPS[:3]]},
        {"i": 0, "s": "done", "n": 3},  # written with the next begin
        {"i": 3, "s": "begin", "ops": [op.to_json() for op in OPS[3:]]},
    ]
    state.done(3)
    state.flush()
    assert _lines(state)[-1] == {"i": 3, "s": "done"}
    assert [(e.index, e.done) for e in state.entries()] == [
        (0, True), (1, True), (2, True), (3, True), (4, False)]


def test_ops_done_out_of_order_are_said_as_they_came(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, OPS)
    for i in (0, 1, 3, 2, 4):
        state.done(i)
    state.close()
    assert [(line["i"], line.get("n", 1)) for line in _lines(state)[1:]] == [
        (0, 2), (3, 1), (2, 1), (4, 1)]
    assert all(e.done for e in LabState("t", tmp_path).entries())


def test_ops_said_done_count_in_the_same_process_before_they_are_written(
        tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, OPS[:2])
    state.done(0)
    assert len(_lines(state)) == 1  # not yet written...
    assert [e.done for e in state.entries()] == [True, False]  # ...but read back
    state.undone(0)
    assert [e.index for e in state.entries()] == [1]


def test_apply_writes_a_line_per_batch_not_per_op(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    engine.apply(OPS, FakeKernel(batch=4), state)  # two batches: 4 ops and 1
    assert [(line["s"], line["i"], line.get("n", 1)) for line in _lines(state)] == [
        ("begin", 0, 1), ("done", 0, 4), ("begin", 4, 1), ("done", 4, 1)]
    assert [e.done for e in state.entries()] == [True] * len(OPS)


def test_a_journal_of_the_previous_format_is_read_and_torn_down(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.dir.mkdir(parents=True)
    state.journal_path.write_text(OLD_JOURNAL)
    entries = state.entries()
    assert [e.op for e in entries] == OPS
    assert [e.done for e in entries] == [True, True, True, True, False]
    assert state.next_index() == 5
    kernel = FakeKernel()
    for op in OPS:
        kernel._apply(op)
    report = engine.teardown(LabState("t", tmp_path), kernel)
    assert kernel.objects == set() and report.errors == []
    assert not state.exists()


def test_a_journal_of_both_formats_is_read_as_one(tmp_path: Path) -> None:
    """A lab brought up by the previous netlab, then changed by this one (`netlab link`)."""
    state = LabState("t", tmp_path)
    state.dir.mkdir(parents=True)
    state.journal_path.write_text(OLD_JOURNAL)
    base = state.next_index()
    later = [o.SetLinkDown(A, "eth0"), o.SetLinkUp(A, "eth0")]
    state.begin(base, later)
    state.done(base)
    state.done(base + 1)
    state.close()
    assert LabState("t", tmp_path).next_index() == 7
    assert [e.op for e in LabState("t", tmp_path).entries()] == OPS + later


def test_next_index_is_past_every_op_of_a_run(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, OPS)
    state.undone(4)
    assert state.next_index() == 5


def test_a_run_torn_by_a_crash_was_never_sent(tmp_path: Path) -> None:
    state = LabState("t", tmp_path)
    state.begin(0, OPS[:2])
    state.done(0)
    state.done(1)
    state.close()
    whole = json.dumps({"i": 2, "s": "begin", "ops": [op.to_json() for op in OPS[2:]]})
    with open(state.journal_path, "a") as f:
        f.write(whole[: len(whole) // 2])  # the crash
    later = LabState("t", tmp_path)
    assert [e.index for e in later.entries()] == [0, 1]
    later.begin(2, OPS[2:3])  # a torn line does not swallow the next
    assert [e.index for e in later.entries()] == [0, 1, 2]
