"""`netlab web`'s pure parts: the token rules, the printed URL, the refusal without the web
extra, and that no other command pays for importing the server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from netlab.ui import cmd_web
from netlab.ui.cli import main
from netlab.web import address, auth


def test_a_token_is_long_and_new_each_time() -> None:
    tokens = {auth.new_token() for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 32 for t in tokens)


@pytest.mark.parametrize(("query", "cookies", "headers", "found"), [
    ({}, {}, {}, None),
    ({"token": "q"}, {}, {}, "q"),
    ({}, {auth.COOKIE: "c"}, {}, "c"),
    ({}, {}, {"X-Netlab-Token": "h"}, "h"),
    ({}, {}, {"Authorization": "Bearer b"}, "b"),
    ({}, {}, {"Authorization": "Basic b"}, None),
    ({"token": "q"}, {auth.COOKIE: "old"}, {}, "q"),  # a fresh URL beats an old cookie
    ({"token": ""}, {}, {}, None),
])
def test_where_a_token_comes_from(query: dict[str, str], cookies: dict[str, str],
                                  headers: dict[str, str], found: str | None) -> None:
    assert auth.presented(query, cookies, headers) == found


def test_verdicts() -> None:
    assert auth.verdict("secret", "secret") == auth.OK
    assert auth.verdict("secret", None) == auth.UNAUTHORIZED == 401
    assert auth.verdict("secret", "") == auth.UNAUTHORIZED
    assert auth.verdict("secret", "secreT") == auth.FORBIDDEN == 403
    assert auth.verdict("secret", "sécret") == auth.FORBIDDEN  # not ASCII: still a verdict


def test_only_our_own_pages_may_call() -> None:
    assert auth.same_origin(None, "127.0.0.1:8040")  # a script
    assert auth.same_origin("http://127.0.0.1:8040", "127.0.0.1:8040")
    assert not auth.same_origin("http://evil.test", "127.0.0.1:8040")
    assert not auth.same_origin("http://127.0.0.1:8041", "127.0.0.1:8040")
    assert not auth.same_origin("null", "127.0.0.1:8040")


def test_urls_and_loopback() -> None:
    assert address.url("127.0.0.1", 8040, "t") == "http://127.0.0.1:8040/?token=t"
    assert address.url("::1", 8040, "t") == "http://[::1]:8040/?token=t"
    assert address.is_loopback("127.0.0.1") and address.is_loopback("::1")
    assert not address.is_loopback("0.0.0.0") and not address.is_loopback("192.0.2.7")


def test_without_the_web_extra_it_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cmd_web, "web_extra_installed", lambda: False)
    assert main(["web"]) == 5
    err = capsys.readouterr().err
    assert "netlab web needs the web extra (aiohttp)" in err
    assert "pip install 'netlab[web]'" in err


def test_a_bad_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["web", "--port", "70000"]) == 2
    assert "'70000' is not a port number" in capsys.readouterr().err


def test_other_commands_do_not_import_the_server() -> None:
    code = ("import sys; from netlab.ui.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('aiohttp', 'asyncio', 'netlab') and (m.startswith('netlab.web') "
            "or not m.startswith('netlab'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


STATIC = Path(__file__).parents[3] / "netlab" / "web" / "static"


def test_the_page_loads_only_files_that_are_vendored_with_their_licences() -> None:
    page = (STATIC / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="(static/[^"]+)"', page)
    assert len(loaded) == 6
    for path in loaded:
        assert (STATIC.parent / path).is_file(), path
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page), "nothing from the network"
    vendored = [d for d in (STATIC / "vendor").iterdir() if d.is_dir()]
    assert sorted(d.name for d in vendored) == ["cytoscape", "xterm", "xterm-addon-fit"]
    assert all((d / "LICENSE").is_file() for d in vendored)
    pins = (STATIC / "vendor" / "VERSIONS").read_text().splitlines()[1:]
    assert [line.split()[0] for line in pins] == ["cytoscape", "@xterm/xterm",
                                                  "@xterm/addon-fit"]
    script = (Path(__file__).parents[3] / "scripts" / "vendor_web.sh").read_text()
    for line in pins:
        assert f"={line.split()[1]}\n" in script, f"VERSIONS and vendor_web.sh disagree: {line}"


def test_an_address_no_interface_has_is_named_not_the_ports() -> None:
    """--bind 192.0.2.1 (no interface has it): the address is wrong, and another --port
    would not help (the hint said to pick one)."""
    import socket

    from netlab.errors import InputError
    from netlab.web.server import listen

    with pytest.raises(InputError) as info:
        listen(socket.AF_INET, "192.0.2.1", [8040, 8041])
    assert str(info.value) == "cannot listen on 192.0.2.1: no interface of this machine " \
        "has that address"
    assert info.value.hint is not None and "--bind" in info.value.hint
