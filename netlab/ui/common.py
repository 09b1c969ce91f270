"""What every command shares: consoles, --set parsing, FILE/-l options, progress bars."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from netlab.errors import EXIT_DRIFTED, EXIT_OK, InputError, NetlabError
from netlab.values.words import count

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: importing rich costs ~20 ms, more than all of
    `netlab exec`'s own work, and most commands that succeed print little or nothing."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _made(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # soft_wrap: never break an error line in two; scripts and graders read them
            # whole. Piped output is not squeezed into 80 columns: a table read by a script
            # or a log stays whole.
            console = Console(stderr=self._stderr, highlight=False, emoji=False,
                              soft_wrap=True)
            if not self._stderr and not console.is_terminal:
                console = Console(highlight=False, emoji=False, soft_wrap=True, width=160)
            self._console = console
        return self._console

    @property
    def is_terminal(self) -> bool:
        # Rich says no for a stream that is no tty unless told otherwise: say so unmade.
        stream = sys.stderr if self._stderr else sys.stdout
        if self._console is None and not _styled(stream):
            return False
        return self._made().is_terminal

    def print(self, *objects: Any, **options: Any) -> None:
        # One line of text (no options) is written here when rich would write the same
        # characters: text without markup, or with markup on a stream that shows no styles
        # (a pipe, a file: the tags dropped). Importing rich costs ~15 ms: more than a
        # short command's own work (`down` prints just its last line).
        text = objects[0] if len(objects) == 1 else None
        if self._console is None and not options and isinstance(text, str):
            stream = sys.stderr if self._stderr else sys.stdout
            plain = _as_rich_writes(text, stream)
            if plain is not None:
                stream.write(plain + "\n")
                stream.flush()
                return
        self._made().print(*objects, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)


def _styled(stream: Any) -> bool:
    """Whether rich would style what it writes to `stream`: a terminal, or told so by the
    variables rich obeys (FORCE_COLOR, TTY_COMPATIBLE)."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    return bool(stream.isatty())


def _as_rich_writes(text: str, stream: Any) -> str | None:
    """The characters rich would write for `text` on `stream`, when that needs no rich."""
    if "[" not in text:
        return None if _NOT_PLAIN.search(text) else text
    return None if _styled(stream) else plain_markup(text)


# rich.markup's tag (RE_TAGS), after the backslashes that may escape it.
_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
# What rich's Text changes in the characters themselves: tabs (expanded), and the control
# codes it strips (rich.control.STRIP_CONTROL_CODES).
_NOT_PLAIN = re.compile("[\t\a\b\v\f\r]")


def plain_markup(text: str) -> str | None:
    """The characters rich prints for markup `text` where it shows no styles: its tags
    dropped, escaped ones (\\[bold]) kept as text, as rich.markup.render reads them. None
    when rich would do more (expand a tab, strip a control code) or could refuse the
    markup (a closing tag that closes no open tag, a meta tag [@...]): rich then prints it
    itself. (tests/unit/ui/test_plain_markup.py holds it to rich's own output.)"""
    if _NOT_PLAIN.search(text):
        return None
    parts: list[str] = []
    opened: list[str] = []
    position = 0
    for match in _TAG.finditer(text):
        whole, escapes, tag = match.groups()
        start, end = match.span()
        if start > position:
            parts.append(text[position:start].replace("\\[", "["))
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            parts.append("\\" * backslashes)
            if escaped:
                parts.append(whole[len(escapes):])
                continue
        name = tag.partition("=")[0]
        if name.startswith("@"):
            return None
        if not name.startswith("/"):
            opened.append(name)
        elif opened and name[1:].strip() in ("", opened[-1]):
            opened.pop()
        else:
            return None  # rich's MarkupError, or a match rich finds by normalising names
    if position < len(text):
        parts.append(text[position:].replace("\\[", "["))
    return "".join(parts)


def _real(console: Console) -> Console:
    """The rich Console behind one of ours (rich's live displays want the Console itself)."""
    return console._made() if isinstance(console, _LazyConsole) else console


# A write that found no room: the device's answer, not netlab's bug.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def no_room(error: OSError) -> NetlabError | None:
    """The error to report for a write that found its device full (`> /dev/full`, a full
    disk, a quota); None for any other OSError."""
    if error.errno not in _NO_ROOM:
        return None
    what = f" {error.filename}" if error.filename else ""
    return NetlabError(f"could not write{what}: {error.strerror}",
                       hint="the output (or a file netlab writes) is on a full device")


out: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
err: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def escape(text: str) -> str:
    """rich's markup escaped (imported on use: the command is printing with rich anyway)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def status_exit(doc: dict[str, Any], check: bool) -> int:
    """`status`'s exit status: with --check, EXIT_DRIFTED when the lab is not as its
    topology says (a node, interface, address or service missing or changed), said in one
    line after the drift was listed (in the table, or in the JSON document's "drift")."""
    if not check or (not doc["drift"] and doc["state"] == "up"):
        return EXIT_OK
    err.print(f"[bold red]error:[/] lab {escape(doc['lab'])} is {doc['state']} but not as its "
              f"topology says: {count(doc['drift'], 'difference')}")
    return EXIT_DRIFTED


def overrides(pairs: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set takes KEY=VALUE, got '{pair}'")
        result[key.strip()] = value
    return result


def long_running() -> None:
    """For a command that runs until stopped: the garbage collector back on (cli.main turns
    it off for the short commands)."""
    gc.enable()


def json_doc(command: str, body: dict[str, Any]) -> dict[str, Any]:
    """A command's --json document: first the name and version of its shape (as
    netlab.status/1 and netlab.error/1), for a script to check before it reads on."""
    return {"schema": f"netlab.{command}/1", **body}


def print_json(doc: Any) -> None:
    """A JSON document on stdout: indented for a person at a terminal, compact for a script
    (json's C encoder does compact only: 0.1 s less for the status of 500 nodes)."""
    if sys.stdout.isatty():
        print(json.dumps(doc, indent=1))
    else:
        print(json.dumps(doc, separators=(",", ":")))


PROGRESS_AFTER = 1.0  # seconds: work that ends sooner shows no bar at all
_REDRAW = 0.05  # seconds between two updates of the bar (rich redraws at 10 Hz anyway)


@contextmanager
def progress(
    total: int, label: str, enabled: bool, after: float = PROGRESS_AFTER,
) -> Iterator[Callable[..., None] | None]:
    """A transient bar on stderr, for a terminal only (none when `enabled` is false, e.g.
    with --json). Yields advance(done_so_far, total=None), or None when there is no bar to
    show; a total of 0 is one that advance() will tell. The bar appears once the work has
    lasted `after` seconds: a short command does not flicker, and does not pay for importing
    rich.progress."""
    if not enabled or not err.is_terminal:
        yield None
        return
    bar = _LazyBar(total, label, after)
    try:
        yield bar.advance
    finally:
        bar.close()


class _LazyBar:
    def __init__(self, total: int, label: str, after: float) -> None:
        self.total = total
        self.label = label
        self.started = time.monotonic()
        self.due = self.started + after  # when the next advance() does anything
        self.bar: Any = None  # rich.progress.Progress, once shown
        self.task: Any = None

    def advance(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now < self.due:
            return  # cheap: called once per op, thousands of times
        self.due = now + _REDRAW
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.bar = Progress(
                "[progress.description]{task.description}", BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), console=_real(err), transient=True,
            )
            self.task = self.bar.add_task(self.label, total=self.total or None, completed=done)
            for task in self.bar.tasks:
                task.start_time = self.started  # the elapsed time is the command's
            self.bar.start()
            return
        self.bar.update(self.task, completed=done, total=self.total or None)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


JSON_HELP = "print JSON (for scripts) instead of tables"


def with_file(p: argparse.ArgumentParser, required: bool = True, printable: bool = True
              ) -> None:
    """FILE (or --topo) and --set; printable: --print, for a command that would use the
    topology (not one that names a lab by it: status, down)."""
    if required:
        p.add_argument("file", metavar="FILE", nargs="?",
                       help="topology file (YAML), or --topo")
        p.set_defaults(file_required=True)
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a variable of the file's vars (repeatable)",
    )
    p.add_argument(
        "--topo", metavar="NAME,ARGS",
        help="a topology made as Mininet makes them, instead of FILE: single,N  linear,K "
        "tree,depth=D,fanout=F  ring,N  grid,R,C",
    )
    if printable:
        p.add_argument("--print", dest="print_topo", action="store_true",
                       help="with --topo: print its YAML (to edit and keep), do nothing else")


def with_host(p: argparse.ArgumentParser, all_hosts: bool = False, one: bool = True) -> None:
    """--host NAME (this host's part of a lab across hosts) and --all-hosts [--via]."""
    if one:
        p.add_argument("--host", metavar="NAME",
                       help="a lab across hosts: this host's part only (docs/multi-host.md)")
    if all_hosts:
        p.add_argument("--all-hosts", action="store_true",
                       help="every host's part at once, each run through --via")
        p.add_argument("--via", metavar="TEMPLATE", default="ssh root@{address}",
                       help="how to run a command on a host: {host} and {address} are "
                       "filled in, {cmd} is the command (appended if absent, after a last "
                       "word that names the program: ssh root@{address} /opt/venv/bin/netlab); "
                       "default: ssh root@{address}")


def with_lab(p: argparse.ArgumentParser, file: bool = True, printable: bool = True) -> None:
    p.add_argument("-l", "--lab", help="the lab's name (default: the only lab that is up)")
    if file:
        p.add_argument("file", metavar="FILE", nargs="?",
                       help="or the topology file (or the lab's name, as with -l)")
        with_file(p, required=False, printable=printable)
        p.set_defaults(lab_or_file=True)


def lab_or_file(args: argparse.Namespace) -> None:
    """`netlab down hello`: a FILE that is no file but a lab's name is taken for -l."""
    from netlab.state.store import LAB_RE

    file = getattr(args, "file", None)
    if getattr(args, "lab_or_file", False) and file and not args.lab \
            and LAB_RE.match(file) and not os.path.exists(file):
        args.lab, args.file = file, None
    topo = getattr(args, "topo", None)
    if topo is not None:
        from netlab.spec.generate import Generated

        if args.file:
            raise InputError(f"give a topology FILE or --topo, not both ({args.file}, "
                             f"--topo {topo})")
        args.file = Generated(topo)
    elif getattr(args, "print_topo", False):
        raise InputError("--print prints the topology that --topo makes; give --topo")
    elif getattr(args, "file_required", False) and not args.file:
        raise InputError("give a topology FILE (or --topo NAME,ARGS, e.g. --topo linear,3)")


WHAT_IT_DOES = {"netlab down": "takes it down", "netlab status": "shows it",
                "netlab test": "tests it"}


def note_built_from(file: object, lab: str, command: str) -> None:
    """Notes on the labs up built from `file` under another name than `lab` (--name,
    --set), each with `command -l LAB`: `down FILE`, `status FILE` and `test FILE` look
    for the file's own lab, and the user likely meant the one they built."""
    if not isinstance(file, str):
        return
    from netlab.lab.record import built_from

    for other in built_from(file):
        if other != lab:
            err.print(f"note: lab {escape(other)} is up, built from {escape(file)}: "
                      f"'{command} -l {escape(other)}' {WHAT_IT_DOES.get(command, 'uses it')}")
