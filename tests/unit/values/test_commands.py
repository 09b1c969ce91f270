"""The program a node's command runs, and where to get it."""

from __future__ import annotations

import pytest

from netlab.values.commands import first_program, install_hint


@pytest.mark.parametrize(("command", "program"), [
    ("dnsmasq --keep-in-foreground --log-facility=-", "dnsmasq"),
    ("dhclient -d -v eth0", "dhclient"),
    ("FOO=1 BAR='a b' exec iperf3 -s", "iperf3"),
    ("nc -l 5000 | cat", "nc"),
    ("sleep 30 &", "sleep"),
    ("a;b", "a"),
    ('vtysh -c "show ip route"', "vtysh"),
])
def test_the_first_word_of_a_command_is_its_program(command: str, program: str) -> None:
    assert first_program(command) == program


@pytest.mark.parametrize("command", [
    "echo hi", "cd /tmp && ls", "for i in 1 2; do x; done", "(cd /; ls)", "{ a; }",
    "/usr/sbin/sshd -D", "./run.sh", "$DAEMON -d", "# a comment", "FOO=1",
    'unterminated "quote', "exec", "",
])
def test_no_program_is_looked_for_where_the_shell_or_the_node_decides(command: str) -> None:
    # A shell word, a path (the node's own files may make it), a variable, broken text.
    assert first_program(command) is None


def test_the_hint_names_debian_packages_and_the_rest_by_name() -> None:
    assert install_hint(["ping"]) == ("apt-get install iputils-ping (a node runs this "
                                      "machine's programs)")
    assert install_hint(["dhclient", "dnsmasq", "dhclient", "frobnicate"]) == (
        "apt-get install dnsmasq-base isc-dhcp-client and install frobnicate on this "
        "machine (a node runs this machine's programs)")
