"""Small pieces of English shared by messages (a leaf: imports nothing of netlab)."""

from __future__ import annotations

from collections.abc import Sized


def count(items: Sized | int, noun: str) -> str:
    """'1 node', '3 nodes' (of so many items, or of a number)."""
    n = items if isinstance(items, int) else len(items)
    return f"{n} {noun}" + ("" if n == 1 else "s")
