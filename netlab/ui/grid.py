"""Tables: rich's Table for the sizes a person reads at a glance, plain aligned lines of the
same look beyond that.

rich measures, pads and wraps every cell on its own (~50 us a cell): the status of 500
nodes (1,000 interface rows, 10 columns) took 1.2 s to print, the plan of a 1000-router
chain (15,000 ops) much longer. Past RICH_ROWS rows the same columns are drawn as lines of
text: no squeezing to the terminal's width (a long line wraps), which a table that size
could not do readably anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

RICH_ROWS = 150

Cell = str | Text


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    style: str = ""  # of every cell of the column
    wrap: bool = False  # rich may wrap this column's cells to fit the terminal


def grid_table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], title: str | None = None,
          pad_edge: bool = True) -> RenderableType:
    if len(rows) <= RICH_ROWS:
        return _rich(columns, rows, title, pad_edge)
    return _lines(columns, rows, title, pad_edge)


def _rich(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], title: str | None,
          pad_edge: bool) -> Table:
    grid = Table(title=title, title_justify="left", show_edge=False, pad_edge=pad_edge)
    for col in columns:
        grid.add_column(col.header, justify=col.justify, style=col.style or None,
                        no_wrap=not col.wrap)
    for row in rows:
        grid.add_row(*row)
    return grid


def _lines(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], title: str | None,
           pad_edge: bool) -> Text:
    """What rich draws for a Table without edges (heavy head), as one Text."""
    # Each cell as its lines (an address list is one line per address).
    cells = [[_cell_lines(cell) for cell in row] for row in rows]
    widths = [cell_len(col.header) for col in columns]
    for row_lines in cells:
        for k, lines in enumerate(row_lines):
            for line in lines:
                width = line.cell_len if isinstance(line, Text) else cell_len(line)
                if width > widths[k]:
                    widths[k] = width
    edge = " " if pad_edge else ""
    out = Text(no_wrap=True, overflow="ignore")
    if title:
        out.append(title, "table.title")
        out.append("\n")
    last = len(columns) - 1
    for k, col in enumerate(columns):
        out.append(edge if k == 0 else " ")
        out.append(_pad(col.header, widths[k], col.justify), "table.header")
        out.append(edge if k == last else " ┃")
    out.append("\n")
    out.append("━" * (widths[0] + len(edge) + 1))
    for k in range(1, len(columns)):
        out.append("╇" + "━" * (widths[k] + 1 + (len(edge) if k == last else 1)))
    out.append("\n")
    for row_lines in cells:
        height = max((len(lines) for lines in row_lines), default=1)
        for n in range(height):
            for k, col in enumerate(columns):
                lines = row_lines[k]
                piece: Cell = lines[n] if n < len(lines) else ""
                out.append(edge if k == 0 else " ")
                if isinstance(piece, Text):
                    gap = widths[k] - piece.cell_len
                    if col.justify == "right":
                        out.append(" " * gap)
                    out.append_text(piece)
                    if col.justify == "left":
                        out.append(" " * gap)
                else:
                    out.append(_pad(piece, widths[k], col.justify), col.style or None)
                out.append(edge if k == last else " │")
            out.append("\n")
    out.rstrip()
    return out


def _cell_lines(cell: Cell) -> list[Cell]:
    if isinstance(cell, Text):
        return list(cell.split("\n")) if "\n" in cell.plain else [cell]
    return list(cell.split("\n")) if "\n" in cell else [cell]


def _pad(text: str, width: int, justify: str) -> str:
    gap = width - cell_len(text)
    return " " * gap + text if justify == "right" else text + " " * gap
