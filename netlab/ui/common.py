"""What every command shares: consoles, --set parsing, FILE/-l options, progress bars."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console

from netlab.errors import InputError

# soft_wrap: never break an error line in two; scripts and graders read them whole.
# Piped output is not squeezed into 80 columns: a table read by a script or a log stays whole.
out = Console(highlight=False, emoji=False, soft_wrap=True)
if not out.is_terminal:
    out = Console(highlight=False, emoji=False, soft_wrap=True, width=160)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def overrides(pairs: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set takes KEY=VALUE, got '{pair}'")
        result[key.strip()] = value
    return result


@contextmanager
def progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.update(task, completed=n)



def with_file(p: argparse.ArgumentParser, required: bool = True) -> None:
    if required:
        p.add_argument("file", metavar="FILE", help="topology file (YAML)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a variable of the file's vars (repeatable)",
    )


def with_lab(p: argparse.ArgumentParser, file: bool = True) -> None:
    p.add_argument("-l", "--lab", help="the lab's name (default: the only lab that is up)")
    if file:
        p.add_argument("file", metavar="FILE", nargs="?", help="or the topology file")
        with_file(p, required=False)
