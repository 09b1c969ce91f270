"""Work whose cost is mostly waiting on the kernel (an unmount waits for an RCU grace
period), done by a few threads side by side: `down` unpins nodes and removes namespaces
so. concurrent.futures would do it too, but importing it (and logging, which it imports)
costs ~4 ms of every `down`, more than the pool saves on a small lab."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def threads_for(count: int, per_thread: int, most: int) -> int:
    """How many threads for `count` items: one per `per_thread` of them, at most `most`
    (a thread costs more to start than a few unmounts cost to wait)."""
    return max(1, min(most, count // per_thread))


def map_side_by_side(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """fn(item) for every item, in up to `threads` threads; the results in the items'
    order. An exception in fn is raised here once every item has been tried (as
    concurrent.futures's map does: one failure does not leave the others undone)."""
    if threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException] = []
    next_index = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as error:  # handed to the caller's thread
                errors.append(error)

    workers = [threading.Thread(target=work, daemon=True)
               for _ in range(min(threads, len(items)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]  # every index was filled
