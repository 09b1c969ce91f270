"""The checked-plan cache: `netlab up FILE` of a file it has built before, unchanged, runs
from what that `up` checked and planned, without YAML, pydantic, the model or the checks
(~60 ms of a 100-node `up`: importing them is most of it).

An entry is the plain data `up` needs (Checked): the topology as the record stores it,
the record's status skeleton, the plan's ops and namespaces, and what the preflight asks
the kernel (lab/preflight.py needs(): it still runs, on every `up`). It is found by a key
that holds every input of load + check + plan:

- the file's bytes (sha256), its path as given (messages name it) and resolved (the
  record's "file"), --set (none: a --set file is rendered, never cached), --name, --host;
- the state root (NETLAB_STATE_DIR: the plan's paths), the only variable they read (and
  every NETLAB_* and PYDANTIC_* variable: at most a miss);
- netlab's own source: (path, size, mtime_ns) of every file of the package;
- Python's version, executable, flags, sys.path and its standard library's files (sizes and
  times at the top of its folder), and the libraries the load runs (pydantic,
  pydantic_core, PyYAML with its libyaml, jinja2...): where import finds them, their
  files' sizes and times, and the names of the dist-info folders on the path (versions,
  pydantic's plugins), found without importing anything;
- the answers of the user and group lookups the checks and plan made (spec/userdb.py):
  kept in the entry and asked again on a hit.

Only a plain file is cached, one Jinja2 would leave alone (a template may use `random`),
read once: the bytes hashed are the bytes loaded. The store is <state root>/.plans/
(a name no lab can have: lab names begin with a letter or digit), root's alone: 0700,
entries 0600, each opened without following links and refused (a miss, and removed) when
not a regular file of ours with one name; written whole under a temporary name and
renamed; the newest KEEP kept. An entry holds its key, compared on a hit. The cache never
fails a command: anything amiss in it is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.plan.ops import OP_TYPES, Op
from netlab.state.store import state_root

FORMAT = 1  # of an entry; another one is a miss
FOLDER = ".plans"  # under the state root
KEEP = 16  # entries kept: the newest
MAX_ENTRY = 64 << 20  # bytes; a bigger one is not read
MAX_FILE = 1_000_000  # a topology file's size limit (spec/source.py MAX_BYTES)
LIBRARIES = ("pydantic", "pydantic_core", "yaml", "jinja2", "markupsafe", "annotated_types",
             "typing_extensions", "typing_inspection")
# The environment in the key: netlab's own (NETLAB_STATE_DIR is the only one the load and
# plan read; the others cost a miss at most), and pydantic's (PYDANTIC_DISABLE_PLUGINS).
ENV_PREFIXES = ("NETLAB_", "PYDANTIC_")
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
NEEDS = ("frr", "kinds", "programs", "qdiscs", "vlans")  # lists of preflight.needs(), sorted
PACKAGE = Path(__file__).resolve().parents[1]  # netlab/

Lookups = list[tuple[str, str | int, int | None]]


@dataclass(frozen=True)
class Checked:
    """What `up` takes from a checked topology and its plan, as plain data."""

    topology: dict[str, Any]  # as the record keeps it (the model dumped as JSON)
    skeleton: dict[str, Any]  # the record's "status" (lab/status_skeleton.py)
    ops: list[Op]
    namespaces: dict[str, str]  # node -> namespace, of the nodes built on this host
    needs: dict[str, Any]  # lab/preflight.py needs()
    links: int
    services: dict[str, list[str]]  # node -> the names of its services

    @property
    def name(self) -> str:
        return str(self.topology["name"])

    def to_json(self) -> dict[str, Any]:
        return {"topology": self.topology, "skeleton": self.skeleton,
                "ops": [op.to_json() for op in self.ops], "namespaces": self.namespaces,
                "needs": self.needs, "links": self.links, "services": self.services}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checked:
        """The entry's data, or ValueError/KeyError/TypeError when it is not one."""
        checked = cls(data["topology"], data["skeleton"], [_op(o) for o in data["ops"]],
                      data["namespaces"], data["needs"], data["links"], data["services"])
        kinds = (dict, dict, list, dict, dict, int, dict)
        values = (checked.topology, checked.skeleton, checked.ops, checked.namespaces,
                  checked.needs, checked.links, checked.services)
        needs = checked.needs
        if not all(type(v) is k for v, k in zip(values, kinds, strict=True)) \
                or not isinstance(checked.topology.get("name"), str) \
                or sorted(needs) != ["file", *NEEDS] \
                or not all(type(needs[k]) is list for k in NEEDS):
            raise ValueError("not an entry")
        return checked


def _op(data: dict[str, Any]) -> Op:
    """An op as the plan made it: JSON gives lists for its tuples (there is no list in
    an op; a qdisc reads its own back)."""
    fields = {k: _tupled(v) if type(v) in (list, dict) and k != "qdisc" else v
              for k, v in data.items() if k != "op"}
    return OP_TYPES[data["op"]](**fields)


def _tupled(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    if isinstance(value, dict):
        return {k: _tupled(v) for k, v in value.items()}
    return value


# --- the key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A topology file read once for the cache: its text (what a miss loads) and the key
    of what it makes."""

    shown: str  # as given: messages name it so
    resolved: str  # the record's "file"
    text: str
    key: dict[str, Any]  # as JSON reads it back (lists, not tuples)
    entry: str  # the entry's file name: a hash of the key


def read(file: str, overrides: Mapping[str, str], name: str | None,
         host: str | None) -> Source | None:
    """The file, if its `up` may be cached: a regular file that reads as a topology's
    text and is no template (--set makes any file one). None if not, or if anything
    fails on the way (an unreadable folder on the path...): the cache fails no command."""
    try:
        return _read(file, overrides, name, host)
    except Exception:  # whatever it is, the load without the cache says it, or works
        return None


def _read(file: str, overrides: Mapping[str, str], name: str | None,
          host: str | None) -> Source | None:
    if overrides:
        return None
    try:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a fifo: no wait
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = _read_all(fd, MAX_FILE + 1)
        finally:
            os.close(fd)
        resolved = str(Path(file).resolve())
    except (OSError, RuntimeError):
        return None  # the load says why, as without the cache
    if len(data) > MAX_FILE or b"\x00" in data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    from netlab.spec.rendering import is_template

    if is_template(text, overrides):
        return None
    key = {
        "format": FORMAT,
        "file": file,
        "resolved": resolved,
        "sha256": hashlib.sha256(data).hexdigest(),
        "set": sorted(overrides.items()),
        "name": name,
        "host": host,
        "state_root": str(state_root()),
        "env": {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)},
        "netlab": netlab_fingerprint(),
        "python": [sys.version, sys.executable, sys.implementation.cache_tag, sys.path,
                   list(sys.flags),
                   _listing(os.path.dirname(os.__file__))],
        "libraries": libraries_fingerprint(),
    }
    whole = json.dumps(key, sort_keys=True, separators=(",", ":"))
    entry = hashlib.sha256(whole.encode()).hexdigest()[:40] + ".json"
    return Source(file, resolved, text, json.loads(whole), entry)


def _read_all(fd: int, limit: int) -> bytes:
    parts = []
    size = 0
    while size < limit:
        part = os.read(fd, limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def netlab_fingerprint(root: Path = PACKAGE) -> str:
    """(path, size, mtime_ns) of every file of the netlab package (bytecode aside): an
    edit or another version of netlab is a miss."""
    digest = hashlib.sha256()
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
                digest.update(f"{entry.path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def libraries_fingerprint() -> dict[str, Any]:
    """For each library the load runs, where import finds it and (name, size, mtime_ns)
    of its files at the top of its folder (PyYAML's libyaml is its _yaml extension there),
    and the dist-info folders' names (their versions) beside it. Nothing is imported."""
    found: dict[str, Any] = {}
    sites: set[str] = set()
    for name in LIBRARIES:
        for entry in sys.path:
            folder = os.path.join(entry or ".", name)
            if os.path.isdir(folder):
                found[name] = [folder, _listing(folder)]
                sites.add(entry or ".")
                break
            single = folder + ".py"  # a module of one file (typing_extensions)
            if os.path.isfile(single):
                info = os.stat(single)
                found[name] = [single, info.st_size, info.st_mtime_ns]
                sites.add(entry or ".")
                break
        else:
            found[name] = None
    # The distributions beside them, and on the rest of the path: their versions, and
    # the entry points pydantic reads for its plugins.
    sites |= {entry for entry in sys.path if os.path.isdir(entry)}
    found["dist-info"] = sorted(n for site in sites for n in os.listdir(site)
                                if n.endswith((".dist-info", ".egg-info")))
    return found


def _listing(folder: str) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of what is at the top of a folder. A folder's own time
    changes when a file in it is replaced (pip and dpkg write anew and rename)."""
    with os.scandir(folder) as entries:
        found = [(e.name, e.stat(follow_symlinks=False)) for e in entries
                 if e.name != "__pycache__"]
    return sorted((name, info.st_size, info.st_mtime_ns) for name, info in found)


# --- the store --------------------------------------------------------------------------


def _folder(create: bool) -> int:
    """The store's folder, opened without following a link; OSError when it is missing
    (and not `create`) or not root's alone."""
    root = state_root()
    if create:
        root.mkdir(parents=True, exist_ok=True, mode=0o755)
    parent = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(FOLDER, 0o700, dir_fd=parent)
        fd = os.open(FOLDER, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=parent)
    finally:
        os.close(parent)
    info = os.fstat(fd)
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        os.close(fd)
        raise PermissionError(f"{root / FOLDER} is not root's alone")
    return fd


def _ours(info: os.stat_result) -> bool:
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o077 and info.st_nlink == 1 and info.st_size <= MAX_ENTRY)


def lookup(source: Source) -> Checked | None:
    """The entry of `source`, if there is one, whole, of this key, with the same answers
    to its user and group lookups. Anything else is a miss (and a damaged or stale entry
    is removed)."""
    try:
        folder = _folder(create=False)
    except Exception:  # none yet, or not root's alone
        return None
    try:
        return _lookup(folder, source.entry, source.key)
    finally:
        os.close(folder)


def _lookup(folder: int, name: str, key: dict[str, Any]) -> Checked | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError:
        _remove(folder, name)  # a link, a fifo, ...
        return None
    try:
        if not _ours(os.fstat(fd)):
            raise ValueError("not an entry of ours")
        entry = json.loads(_read_all(fd, MAX_ENTRY + 1))
        if entry["format"] != FORMAT or entry["key"] != key:
            raise ValueError("another key")
        lookups = [(f, a, v) for f, a, v in entry["lookups"]]
        from netlab.spec.userdb import same_answers

        if not same_answers(lookups):
            raise ValueError("the user database changed")
        checked = Checked.from_json(entry["checked"])
        os.utime(fd)  # recently used: kept longer
        return checked
    except Exception:  # whatever is wrong with an entry, it is a miss
        _remove(folder, name)
        return None
    finally:
        os.close(fd)


def _remove(folder: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder)


def save(source: Source, checked: Checked, lookups: Lookups) -> None:
    """Keep `checked` as the entry of `source`; nothing (and no error) when it cannot be."""
    entry = {"format": FORMAT, "key": source.key, "lookups": lookups,
             "checked": checked.to_json()}
    with contextlib.suppress(Exception):
        data = json.dumps(entry, separators=(",", ":")).encode()
        folder = _folder(create=True)
        try:
            _write(folder, source.entry, data)
            _prune(folder)
        finally:
            os.close(folder)


def _write(folder: int, name: str, data: bytes) -> None:
    temporary = f".{name}.{os.getpid()}.tmp"
    _remove(folder, temporary)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600,
                 dir_fd=folder)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        _remove(folder, temporary)
        raise


def _prune(folder: int) -> None:
    """The newest KEEP entries kept; the rest, and anything else in the folder, removed."""
    entries: list[tuple[int, str]] = []
    with os.scandir(folder) as listing:
        for item in listing:
            info = item.stat(follow_symlinks=False)
            if item.name.endswith(".json") and not item.name.startswith(".") and _ours(info):
                entries.append((info.st_mtime_ns, item.name))
            elif not item.name.endswith(".tmp") or time.time() - info.st_mtime > 60:
                _remove(folder, item.name)  # (a .tmp: another up's, being written)
    for _, name in sorted(entries, reverse=True)[KEEP:]:
        _remove(folder, name)
