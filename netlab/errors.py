"""Errors are values with a message for a person; exit codes come from one table."""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_KERNEL = 1  # the kernel or a process refused; state was rolled back
EXIT_INPUT = 2  # bad input or usage; nothing was touched
EXIT_STATE = 3  # the lab is not as the command needs it (not up, taken, busy); nothing done
EXIT_DRIFTED = 4  # `status --check`: the lab is up but differs from its topology
EXIT_UNSUPPORTED = 5  # this machine lacks what the input needs (a kernel feature, FRR)
EXIT_NO_COMMAND = 127  # `exec`: no such program (as a shell says "command not found")
EXIT_INTERRUPTED = 130  # stopped by a signal, as a shell reports SIGINT (128 + 2)
EXIT_SIGPIPE = 141  # the reader of stdout went away (as a shell reports SIGPIPE: 128 + 13)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and what is wrong."""

    file: str
    line: int | None
    path: str  # data path such as "links[2]" or "nodes.h1.interfaces.eth0.mtu"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return _one_line(text)


def _one_line(text: str) -> str:
    """The text with any control character (a newline in a key, a NUL) written as an escape,
    so that a problem is always one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class NetlabError(Exception):
    """An error meant for a person: one line of what went wrong, an optional hint."""

    exit_code = EXIT_KERNEL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(NetlabError):
    """Bad input or usage; nothing on the host was touched."""

    exit_code = EXIT_INPUT


@dataclass
class TopologyError(InputError):
    """A topology file with one or more problems (all of them are collected)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        lines = [str(p) for p in self.problems]
        InputError.__init__(self, "\n".join(lines) if lines else "invalid topology")


class Unsupported(InputError):
    """This machine lacks what the input needs (a kernel feature, a program it runs), and
    nothing was touched. Exit 5, so that a script (a CI job on another runner) tells "this
    machine cannot" from "the file is wrong" (2)."""

    exit_code = EXIT_UNSUPPORTED


class ProgramMissing(Unsupported):
    """The program `netlab exec` is to run is not installed (not on the node's PATH):
    exit 127, as a shell's "command not found" (exec's status is its command's)."""

    exit_code = EXIT_NO_COMMAND


@dataclass
class TopologyUnsupported(TopologyError):
    """Lines of a topology file that need what this machine's kernel lacks (exit 5)."""

    exit_code = EXIT_UNSUPPORTED


class PrivilegeError(InputError):
    """netlab needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root) to make namespaces."""


class KernelError(NetlabError):
    """The kernel refused an operation; what was done before it has been rolled back."""

    exit_code = EXIT_KERNEL


class LabStateError(NetlabError):
    """The lab's state (journal, lock, ownership) does not allow the command."""

    exit_code = EXIT_KERNEL


class NodeMissing(LabStateError):
    """A node's network namespace is not there (the lab taken down, a deleted netns):
    nothing is entered, nothing made for it (its cgroup), and no retry brings it back."""


class LabStateConflict(LabStateError):
    """The lab is not as the command needs it, and nothing was done: it is not up (or a
    node's namespace is gone), it is up already with another topology, a namespace it
    needs is another's, or another netlab command is at work on it. Exit 3, so that a
    script tells "not up" from "the kernel refused" (1)."""

    exit_code = EXIT_STATE
