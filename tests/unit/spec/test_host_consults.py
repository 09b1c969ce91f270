"""The plan cache (netlab/lab/plancache.py) keeps what loading, checking and planning a
plain file made, keyed by what they consult: the file, its path, --name/--host, the state
root, netlab's and its libraries' files, and the user database (spec/userdb.py, whose
answers are recorded and asked again). Anything else on the host that netlab/spec or
netlab/plan consults would make a cached plan stale without a miss. So every use of a
module or call that can reach the host there is listed below with why it is harmless to
the cache; a new one fails this test until it is classified (and, if it matters, put in
the key or made uncacheable)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "netlab"

# Modules whose import can reach the host (files, environment, users, clock, kernel...).
HOST_MODULES = {
    "os", "pwd", "grp", "socket", "time", "random", "subprocess", "shutil", "glob",
    "pathlib", "platform", "getpass", "tempfile", "uuid", "datetime", "secrets", "ctypes",
    "fcntl", "io", "sys", "importlib", "locale", "resource", "signal", "select", "mmap",
    "urllib", "http", "ssl", "netlab.kernel", "netlab.state", "pyroute2",
}
# Calls and attributes that read the host whatever module they come from.
BUILTINS = {"open", "input", "__import__", "exec", "eval", "compile", "breakpoint"}
HOST_NAMES = {
    "open", "read_text", "read_bytes", "exists", "is_file",
    "is_dir", "stat", "lstat", "resolve", "iterdir", "glob", "rglob", "expanduser",
    "home", "cwd", "getcwd", "environ", "getenv", "getpwnam", "getgrnam", "getpwuid",
    "getgrgid", "gethostname", "monotonic", "time", "now", "today", "urandom",
    "getpid", "getuid", "geteuid", "listdir", "scandir", "walk", "readlink",
}

# (module, what) -> why the cache may ignore it.
ALLOWED = {
    # The user database: every lookup goes through userdb, whose answers the cache
    # records on a miss and asks again on a hit.
    ("spec/userdb.py", "import grp"): "recorded: the cache's key",
    ("spec/userdb.py", "import pwd"): "recorded: the cache's key",
    ("spec/userdb.py", "getpwnam"): "recorded: the cache's key",
    ("spec/userdb.py", "getgrnam"): "recorded: the cache's key",
    ("spec/userdb.py", "getpwuid"): "recorded: the cache's key",
    # Reading the topology file itself: the cache reads the bytes and hashes them, and a
    # miss loads that very text (load_text); a directory or unreadable file is not cached.
    ("spec/load.py", "import os"): "os.PathLike / os.fspath of the path given",
    ("spec/load.py", "import pathlib"): "the path given, read by source.read_source",
    ("spec/source.py", "import pathlib"): "the file itself: its bytes are in the key",
    ("spec/source.py", "open"): "the file itself: its bytes are in the key",
    ("spec/source.py", "exists"): "a directory given as FILE: never cached",
    ("spec/source.py", "is_file"): "a directory given as FILE: never cached",
    # Jinja2 templates: never cached (a file with {{ {% {# or \r, or any --set).
    ("spec/template.py", "import time"): "its render deadline; templates are not cached",
    ("spec/template.py", "monotonic"): "its render deadline; templates are not cached",
    # Importers and generators: `netlab import`, --topo; neither is cached.
    ("spec/from_clab.py", "import pathlib"): "netlab import: not up",
    ("spec/from_clab.py", "is_file"): "netlab import: not up",
    ("spec/from_clab.py", "stat"): "netlab import: not up",
    ("spec/from_clab.py", "read_text"): "netlab import: not up",
    ("spec/from_kathara.py", "import pathlib"): "netlab import: not up",
    ("spec/from_kathara.py", "read_text"): "netlab import: not up",
    ("spec/from_kathara.py", "resolve"): "netlab import: not up",
    ("spec/from_kathara.py", "exists"): "netlab import: not up",
    ("spec/from_kathara.py", "is_dir"): "netlab import: not up",
    ("spec/from_kathara.py", "rglob"): "netlab import: not up",
    ("spec/from_kathara.py", "is_file"): "netlab import: not up",
    ("spec/from_kathara.py", "stat"): "netlab import: not up",
    # The builder (Python API): names the caller's file in messages; never cached.
    ("spec/builder.py", "import os"): "the calling script's path, for messages",
    ("spec/builder.py", "import sys"): "the caller's frame, for messages",
    # netlab save's hand-in (--restore): never cached.
    ("spec/restore.py", "import os"): "--restore's folder: not cached",
    # Pure uses of modules from the list.
    ("spec/__init__.py", "import importlib"): "its lazy attributes import netlab's modules",
    ("spec/messages.py", "import datetime"): "a YAML date's type, in a message (no clock)",
    ("plan/ops.py", "exec"): "compiles the op classes' __init__ from their own fields",
}


def _findings(path: Path, package: Path = PACKAGE) -> set[tuple[str, str]]:
    where = str(path.relative_to(package))
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            top = name if name.startswith(("netlab.kernel", "netlab.state")) else \
                name.split(".")[0]
            if top.startswith("netlab.kernel"):
                top = "netlab.kernel"
            if top.startswith("netlab.state"):
                top = "netlab.state"
            if top in HOST_MODULES:
                found.add((where, f"import {top}"))
        if isinstance(node, ast.Call):
            # open(...), Path(...).exists(), os.getenv(...): a call (a field named cwd
            # or a function of netlab's own named resolve is no host's)
            func = node.func
            if isinstance(func, ast.Name) and func.id in BUILTINS:
                found.add((where, func.id))
            if isinstance(func, ast.Attribute) and func.attr in HOST_NAMES:
                found.add((where, func.attr))
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            found.add((where, "environ"))
    return found


def test_every_way_spec_and_plan_reach_the_host_is_classified_for_the_plan_cache() -> None:
    found: set[tuple[str, str]] = set()
    for folder in ("spec", "plan"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            found |= _findings(path)
    unclassified = sorted(found - set(ALLOWED))
    assert not unclassified, (
        "netlab/spec or netlab/plan consults the host in a way the plan cache does not "
        f"know (lab/plancache.py): {unclassified}; put its answer in the key, make the "
        "input uncacheable, or say here why it does not matter")
    assert not set(ALLOWED) - found, f"no longer there: {sorted(set(ALLOWED) - found)}"


def test_the_scan_sees_what_it_must(tmp_path: Path) -> None:
    probe = tmp_path / "spec" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("import os\nfrom pathlib import Path\nPath('x').read_text()\n"
                     "os.environ['A']\nopen('/etc/passwd')\nservice.cwd\n")
    assert _findings(probe, tmp_path) == {
        ("spec/probe.py", what) for what in ("import os", "import pathlib", "read_text",
                                             "environ", "open")}
