"""Run one netlab command on every host of a lab across hosts, at once (docs/multi-host.md).

netlab runs no daemon: whatever runs a command on a host is the fan-out, given as a
template (`ssh root@{address}` by default). Each host's command gets the resolved topology
on its standard input, so the file need not be on the hosts.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from netlab.errors import InputError

DEFAULT_VIA = "ssh root@{address}"
REMOTE_NETLAB = "netlab"  # the program on each host (on its PATH)


@dataclass(frozen=True)
class HostResult:
    host: str
    code: int
    stdout: str
    stderr: str

    def error(self) -> str:
        """The host's own words for what went wrong: its first 'error:' line, or its last."""
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        said = next((ln for ln in lines if "error" in ln), lines[-1] if lines else "")
        return said or f"exit status {self.code}"


def command_for(template: str, host: str, address: str, argv: Sequence[str]) -> list[str]:
    """The command that runs argv (a netlab command: `netlab ...`) on `host`. {host} and
    {address} are filled in; a word that is exactly {cmd} becomes argv's words
    (`nsenter ... -- {cmd}`: run as they are); {cmd} inside a word, or no {cmd} at all
    (`ssh root@{address}`: appended), is argv as one shell-quoted text, for the remote shell
    that reads it. A template with no {cmd} whose last word is the netlab program (a path
    ending in /netlab: `ssh root@{address} /opt/netlab/bin/netlab`) runs that program:
    the command's words follow it, as over ssh no PATH of a login shell finds netlab."""
    try:
        words = shlex.split(template)
    except ValueError as err:
        raise InputError(f"--via '{template}': {err}") from None
    if not words:
        raise InputError("--via is empty; give a command that runs a command on a host, "
                         "such as 'ssh root@{address}'")
    if "{cmd}" not in template and os.path.basename(words[-1]) == REMOTE_NETLAB:
        argv = argv[1:]  # the template names the program itself
    text = shlex.join(argv)
    filled: list[str] = []
    for word in words:
        word = word.replace("{host}", host).replace("{address}", address)
        if word == "{cmd}":
            filled.extend(argv)
        else:
            filled.append(word.replace("{cmd}", text))
    if "{cmd}" not in template:
        filled.append(text)
    return filled


def run_all(
    hosts: Mapping[str, str], template: str, argv_of: Callable[[str], Sequence[str]],
    stdin: str | None = None, done: Callable[[HostResult], None] | None = None,
    timeout: float | None = None,
) -> dict[str, HostResult]:
    """argv_of(host) on every host (name -> address) at once; done(result) as each ends."""
    commands = {h: command_for(template, h, a, argv_of(h)) for h, a in hosts.items()}
    results: dict[str, HostResult] = {}

    def one(host: str) -> HostResult:
        try:
            proc = subprocess.run(commands[host], input=stdin, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except FileNotFoundError:
            return HostResult(host, 127, "", f"error: no program {commands[host][0]!r} here")
        except subprocess.TimeoutExpired:
            return HostResult(host, 124, "", f"error: no answer in {timeout} s")
        return HostResult(host, proc.returncode, proc.stdout, proc.stderr)

    with ThreadPoolExecutor(max_workers=min(32, max(1, len(hosts)))) as pool:
        futures = [pool.submit(one, h) for h in hosts]
        for future in as_completed(futures):
            result = future.result()
            results[result.host] = result
            if done is not None:
                done(result)
    return {h: results[h] for h in hosts}
