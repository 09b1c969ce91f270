"""Small pieces of English shared by messages (a leaf: imports nothing of netlab)."""

from __future__ import annotations

from collections.abc import Sized


def count(items: Sized, noun: str) -> str:
    """'1 node', '3 nodes'."""
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")
