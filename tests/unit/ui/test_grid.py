"""The plain-lines table drawn for large labs looks like rich's Table, cell for cell."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, RenderableType
from rich.text import Text

from netlab.ui import grid
from netlab.ui.grid import Column


def _printed(renderable: RenderableType) -> list[str]:
    console = Console(file=io.StringIO(), width=200, highlight=False, emoji=False,
                      soft_wrap=True)
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in text.splitlines()]


COLUMNS = [Column("node", style="bold"), Column("addresses", wrap=True),
           Column("mtu", "right"), Column("state"), Column("µs", "right")]
ROWS: list[list[grid.Cell]] = [
    ["h1", "10.0.0.1/24\nfd00::1/64\nfe80::1/64", "1500", Text("up", "green"), "3"],
    ["", "", "9000", Text("no carrier", "red"), ""],
    ["router-with-a-long-name", "192.168.100.200/24", "", Text("admin\ndown", "red"), "12345"],
    ["h2", "", "68", "missing", "0"],
]


@pytest.mark.parametrize("pad_edge", [True, False])
@pytest.mark.parametrize("title", [None, "lab x"])
def test_lines_look_like_rich(pad_edge: bool, title: str | None) -> None:
    rich = _printed(grid._rich(COLUMNS, ROWS, title, pad_edge))
    lines = _printed(grid._lines(COLUMNS, ROWS, title, pad_edge))
    assert lines == rich


def test_large_tables_are_drawn_as_lines_with_every_row() -> None:
    rows: list[list[grid.Cell]] = [[f"h{i}", f"10.0.{i // 250}.{i % 250}/16", "1500",
                                    Text("up", "green"), str(i)]
                                   for i in range(grid.RICH_ROWS + 1)]
    drawn = grid.grid_table(COLUMNS, rows, "big")
    assert isinstance(drawn, Text)
    printed = _printed(drawn)
    assert len(printed) == 3 + len(rows)  # title, header, rule, one line per row
    assert printed[-1].split() == ["h150", "│", "10.0.0.150/16", "│", "1500", "│", "up", "│",
                                   "150"]
    assert not isinstance(grid.grid_table(COLUMNS, rows[:-1], "big"), Text)
