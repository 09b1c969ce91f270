"""What making each node a small host costs: its mount and UTS namespaces.

    sudo .venv/bin/python bench/nodehost.py            # 500 nodes, 3 rounds
    sudo .venv/bin/python bench/nodehost.py --nodes 100 --rounds 5
    sudo .venv/bin/python bench/nodehost.py --lazy      # made on first entry instead

Makes N marked network namespaces, then times kernel/nodehost.create() over all of them
(one helper process: fork, unshare, mounts, pins per node) and their removal, and prints
the medians and the cost per node. `up` of the whole lab before and after is measured with
bench/run.py (`--shape star --sizes 500`) on the two commits. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netlab.kernel import nodehost, nsfs


def one_round(n: int, workers: int) -> tuple[float, float]:
    names = [f"netlab-nhbench-h{i}" for i in range(n)]
    folder = "/run/netlab/nhbench"
    made = [name for name, result in zip(names, nsfs.create_many(names), strict=True)
            if not isinstance(result, BaseException)]
    try:
        hosts = []
        for name in made:
            node_dir = f"{folder}/nodes/{name}"
            os.makedirs(node_dir, exist_ok=True)
            hosts.append(nodehost.NodeHost(name, name.rsplit("-", 1)[1], node_dir,
                                           "127.0.0.1\tlocalhost\n"))
        started = time.perf_counter()
        failed = nodehost.create(hosts, workers)
        made_in = time.perf_counter() - started
        if failed:
            raise SystemExit(f"not made: {failed}")
        started = time.perf_counter()
        for name in made:
            nodehost.remove(name)
        removed_in = time.perf_counter() - started
    finally:
        for name in made:
            nodehost.remove(name)
            nsfs.remove(name)
        shutil.rmtree(folder, ignore_errors=True)
    return made_in, removed_in


def lazy_round(n: int) -> tuple[float, float, float]:
    """A lazy node's costs (CPU seconds of this process and its children, for all `n`):
    its promise written at `up`, its first entry (kernel/nodehost.ensure, forked from this
    single-threaded process as `netlab exec` does), its removal at `down`."""
    names = [f"netlab-nhbench-h{i}" for i in range(n)]
    folder = "/run/netlab/nhbench"
    made = [name for name, result in zip(names, nsfs.create_many(names), strict=True)
            if not isinstance(result, BaseException)]
    try:
        os.makedirs(folder, mode=0o711, exist_ok=True)
        with open(f"{folder}/hosts", "w") as f:
            f.write("127.0.0.1\tlocalhost\n")
        for name in made:
            os.makedirs(f"{folder}/nodes/{name}", exist_ok=True)
        costs = []
        for step in (
            lambda name: nodehost.promise(name, name.rsplit("-", 1)[1],
                                          f"{folder}/nodes/{name}", f"{folder}/hosts", "",
                                          "", False),
            nodehost.ensure,
            nodehost.remove,
        ):
            before = os.times()
            for name in made:
                step(name)
            after = os.times()
            costs.append(sum(after[k] - before[k] for k in range(4)))
        return costs[0], costs[1], costs[2]
    finally:
        for name in made:
            nodehost.remove(name)
            nsfs.remove(name)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="helper processes")
    parser.add_argument("--lazy", action="store_true",
                        help="nodes made on first entry: promise, first entry, removal")
    args = parser.parse_args()
    if args.lazy:
        lazy = [lazy_round(args.nodes) for _ in range(args.rounds)]
        per = [statistics.median(r[k] for r in lazy) / args.nodes * 1000 for k in range(3)]
        print(f"{args.nodes} lazy nodes, median of {args.rounds}, CPU ms/node: promise at up "
              f"{per[0]:.3f}, first entry {per[1]:.2f}, removal at down {per[2]:.3f}")
        return
    rounds = [one_round(args.nodes, args.workers) for _ in range(args.rounds)]
    make = statistics.median(r[0] for r in rounds)
    remove = statistics.median(r[1] for r in rounds)
    print(f"{args.nodes} nodes, median of {args.rounds}: mount+uts namespaces made in "
          f"{make:.2f} s ({make / args.nodes * 1000:.2f} ms/node), unpinned in {remove:.3f} s "
          f"({remove / args.nodes * 1000:.3f} ms/node)")


if __name__ == "__main__":
    main()
