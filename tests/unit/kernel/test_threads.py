"""kernel/threads: work side by side in a few threads, results in order, a failure raised
once every item was tried; how many threads a number of items gets."""

from __future__ import annotations

import threading

import pytest

from netlab.kernel.threads import map_side_by_side, threads_for


def test_results_come_in_the_items_order_from_several_threads() -> None:
    seen: set[int] = set()
    barrier = threading.Barrier(4)

    def square(n: int) -> int:
        if n < 4:
            barrier.wait(timeout=10)  # four threads at once, or this never passes
        seen.add(threading.get_ident())
        return n * n

    assert map_side_by_side(square, range(40), 4) == [n * n for n in range(40)]
    assert len(seen) == 4


def test_one_thread_runs_in_the_callers() -> None:
    assert map_side_by_side(lambda n: threading.get_ident(), [1, 2], 1) == [
        threading.get_ident()] * 2
    assert map_side_by_side(lambda n: n, [], 8) == []


def test_a_failure_is_raised_after_every_item_was_tried() -> None:
    tried: list[int] = []

    def fail_on_three(n: int) -> int:
        tried.append(n)
        if n == 3:
            raise OSError(16, "busy")
        return n

    with pytest.raises(OSError, match="busy"):
        map_side_by_side(fail_on_three, range(20), 4)
    assert sorted(tried) == list(range(20))


def test_threads_for_a_number_of_items() -> None:
    assert threads_for(0, 12, 64) == 1
    assert threads_for(101, 12, 64) == 8
    assert threads_for(1001, 12, 64) == 64
    assert threads_for(101, 25, 16) == 4
    assert threads_for(5000, 25, 16) == 16
