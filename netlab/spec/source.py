"""Reading a topology file into text, refusing what cannot be one before parsing anything."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Protocol

from netlab.errors import Problem, TopologyError
from netlab.spec.foreign import import_hint

MAX_BYTES = 1_000_000  # a topology is a page or two; a megabyte is surely a mistake


class _Fail(Protocol):
    def __call__(self, message: str, line: int | None = None) -> TopologyError: ...


def read_source(path: Path, shown: str) -> str:
    """The text of `path` (UTF-8), or a TopologyError saying in words why it cannot be read."""

    def fail(message: str, line: int | None = None) -> TopologyError:
        return TopologyError(problems=[Problem(shown, line, "", message)])

    try:
        # Read one byte past the limit rather than trusting stat(): pipes and
        # /dev files have no size.
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        if (path / "lab.conf").exists():
            raise fail(import_hint("Kathará", shown)) from None
        raise fail(_in_directory(path, shown)) from None
    except PermissionError:
        raise fail("permission denied; the file cannot be read") from None
    except OSError as e:
        raise fail(f"cannot read the file: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise fail(f"the file is too large (over {MAX_BYTES // 1_000_000} MB); not parsing it")
    return decode(data, fail)


def _in_directory(path: Path, shown: str) -> str:
    """A directory given for a file: the topology file in it, if it has one by name."""
    for name in ("topology.yaml", "topology.yml"):
        if (path / name).is_file():
            return f"this is a directory; did you mean {Path(shown) / name}?"
    return "this is a directory; give the path of a topology file (.yaml)"


def decode(data: bytes, fail: _Fail) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise fail("the file is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise fail("this is not a text file (it holds NUL bytes); a topology is YAML text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise fail(f"not UTF-8 text (byte 0x{data[e.start]:02x}); save it as UTF-8", line) from None
