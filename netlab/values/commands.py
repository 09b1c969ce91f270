"""The program a command names, and the Debian package that has it (a leaf: pure, imports
nothing of netlab). A node runs the host's programs: one that is not installed is said
before anything is made (lab/preflight.py) or before `netlab exec` runs, with the package
to install, not as a shell's "not found" from deep inside a node."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

# What sh (dash) runs itself: never a program to look for.
SHELL_WORDS = frozenset({
    "!", "{", "}", "(", ")", "[", "[[", "]]", ".", ":", "alias", "bg", "break", "case",
    "cd", "command", "continue", "do", "done", "echo", "elif", "else", "esac", "eval",
    "exec", "exit", "export", "false", "fc", "fg", "fi", "for", "function", "getopts",
    "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd", "read", "readonly",
    "return", "select", "set", "shift", "source", "test", "then", "time", "times", "trap",
    "true", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
})
# A plain program name, looked for on PATH; anything else (a path, $VAR, a glob) is not
# looked for: the node's own files, folders and variables may make it.
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

# Programs labs run, and their Debian package (where its name is not the program's).
PACKAGES = {
    "arping": "iputils-arping", "bird": "bird2", "birdc": "bird2", "bridge": "iproute2",
    "dhclient": "isc-dhcp-client", "dhcpd": "isc-dhcp-server", "dig": "bind9-dnsutils",
    "dnsmasq": "dnsmasq-base", "host": "bind9-dnsutils", "ip": "iproute2",
    "ip6tables": "iptables", "iperf": "iperf", "iperf3": "iperf3", "nc": "netcat-openbsd",
    "nft": "nftables", "nslookup": "bind9-dnsutils", "ping": "iputils-ping",
    "ping6": "iputils-ping", "mtr": "mtr-tiny", "radvd": "radvd", "ss": "iproute2",
    "ssh": "openssh-client", "sshd": "openssh-server", "tc": "iproute2",
    "tracepath": "iputils-tracepath", "vtysh": "frr", "wg": "wireguard-tools",
    "python3": "python3", "tshark": "tshark", "zebra": "frr",
}


def first_program(command: str) -> str | None:
    """The program a shell command starts with, when it is a plain name (`dnsmasq -d`,
    `FOO=1 exec iperf3 -s`): None for a shell word (`for`, `cd`, `echo`), a path, a
    variable, or text that does not parse."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True  # words as sh splits them; `;`, `|`, `(` apart
    try:
        words = list(lexer)
    except ValueError:  # an open quote
        return None
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    if words and words[0] == "exec":
        words = words[1:]
    if not words:
        return None
    word = words[0]
    if word in SHELL_WORDS or not _PLAIN.fullmatch(word):
        return None
    return word


def install_hint(programs: Iterable[str]) -> str:
    """How to get these programs on a Debian machine (the nodes run the host's programs):
    `apt-get install` of the packages known to have them, and the others by name."""
    wanted = sorted(set(programs))
    packages = sorted({PACKAGES[p] for p in wanted if p in PACKAGES})
    others = [p for p in wanted if p not in PACKAGES]
    ways = [f"apt-get install {' '.join(packages)}"] if packages else []
    if others:
        ways.append(f"install {', '.join(others)} on this machine")
    return f"{' and '.join(ways)} (a node runs this machine's programs)"
