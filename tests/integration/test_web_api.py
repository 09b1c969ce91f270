"""`netlab web`'s API and token rules, with a real server on loopback and a real lab: the
status document, links taken down and up (as the kernel has them), logs, a pcap capture,
the checks, a node's terminal (and its shell gone when the terminal closes), Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from netlab.kernel.processes import pids_in
from netlab.pytest_plugin import LabFactory, LabHandle
from netlab.web.auth import COOKIE

from .webserver import Server, web_server

TOPOLOGY = """\
name: webapi
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.70.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.70.0.2/24]}
    services:
      talker: {run: "sh -c 'echo talker says hello; exec sleep 100000'"}
links:
  - [a:eth0, b:eth0]
checks:
  - {name: b answers, from: a, to: b}
"""


@pytest.fixture(scope="module")
def lab(netlab_lab_module: LabFactory, tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    path = tmp_path_factory.mktemp("web") / "webapi.yaml"
    path.write_text(TOPOLOGY)
    return netlab_lab_module(path)


@pytest.fixture(scope="module")
def server(lab: LabHandle) -> Iterator[Server]:
    with web_server("-l", lab.name) as running:
        yield running


def call(method: str, url: str, headers: dict[str, str] | None = None,
         cookies: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any, Any]:
    """(status, body as JSON or bytes, cookies set) of one request."""
    async def go() -> tuple[int, Any, Any]:
        async with aiohttp.ClientSession(cookies=cookies) as session, session.request(
            method, url, headers=headers, json=body
        ) as response:
            data = await response.read()
            is_json = response.content_type == "application/json"
            return response.status, json.loads(data) if is_json else data, response.cookies
    return asyncio.run(go())


def auth(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def admin_state(lab: LabHandle, node: str, ifname: str) -> str:
    """'UP' or 'DOWN', as the kernel has the link's admin flag (ip -j link)."""
    out = subprocess.run(["ip", "-n", lab.namespace(node), "-j", "link", "show", ifname],
                         capture_output=True, text=True, check=True).stdout
    return "UP" if "UP" in json.loads(out)[0]["flags"] else "DOWN"


def test_nothing_answers_without_the_token(lab: LabHandle, server: Server) -> None:
    paths = ["/", "/static/app.js", "/static/vendor/xterm/xterm.js", "/api/labs",
             "/api/status", "/api/nodes/b/logs/talker", "/api/capture/a:eth0?count=1"]
    for path in paths:
        status, _body, _ = call("GET", server.base + path)
        assert status == 401, path
        status, _body, _ = call("GET", server.base + path, {"X-Netlab-Token": "wrong"})
        assert status == 403, path
    status, body, _ = call("POST", server.base + "/api/links/a:eth0/down")
    assert status == 401 and "token" in body["error"]
    assert admin_state(lab, "a", "eth0") == "UP"  # refused: nothing was done

    async def websocket(path: str, headers: dict[str, str]) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(server.base + path, headers=headers):
                    return 101
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
    for path in ("/api/events", "/api/nodes/a/terminal"):
        assert asyncio.run(websocket(path, {})) == 401
        assert asyncio.run(websocket(path, {"X-Netlab-Token": "wrong"})) == 403
        # The right token from another site's page (cross-site websocket hijacking).
        assert asyncio.run(websocket(path, {**auth(server), "Origin": "http://evil.test"})) == 403


def test_the_token_in_the_url_sets_a_cookie(server: Server) -> None:
    status, body, cookies = call("GET", server.url)
    assert status == 200 and b"netlab" in body
    cookie = cookies[COOKIE]
    assert cookie.value == server.token and cookie["httponly"] and cookie["samesite"] == "Strict"
    status, _body, _ = call("GET", server.base + "/api/labs", cookies={COOKIE: server.token})
    assert status == 200


def test_status_is_the_status_document(lab: LabHandle, server: Server) -> None:
    status, doc, _ = call("GET", server.base + "/api/status", auth(server))
    assert status == 200
    assert doc["schema"] == "netlab.status/1" and doc["lab"] == lab.name
    assert doc.keys() == lab.status().keys()
    assert [n["name"] for n in doc["nodes"]] == ["a", "b"]
    status, labs, _ = call("GET", server.base + "/api/labs", auth(server))
    assert labs == {"labs": [{"lab": lab.name, "state": "up"}], "only": lab.name}
    # Only the lab of -l: another is not shown.
    status, body, _ = call("GET", server.base + "/api/status?lab=other", auth(server))
    assert status == 404 and "only" in body["error"]


def test_events_stream_status_documents(lab: LabHandle, server: Server) -> None:
    async def two() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(
            server.base + "/api/events", headers=auth(server)
        ) as ws:
            return [await ws.receive_json(timeout=10) for _ in range(2)]
    docs = asyncio.run(two())
    assert all(d["schema"] == "netlab.status/1" and d["lab"] == lab.name for d in docs)


def test_a_link_down_and_up(lab: LabHandle, server: Server) -> None:
    try:
        status, view, _ = call("POST", server.base + "/api/links/a:eth0/down", auth(server))
        assert status == 200 and view["admin"] == "down" and view["peer"] == "b:eth0"
        assert admin_state(lab, "a", "eth0") == "DOWN"
        assert not lab.ping("a", "b", timeout=1)
        status, view, _ = call("POST", server.base + "/api/links/a:eth0/up", auth(server))
        assert status == 200 and view["admin"] == "up"
        assert admin_state(lab, "a", "eth0") == "UP"
        assert lab.ping("a", "b")
        status, view, _ = call("POST", server.base + "/api/links/a:eth0/set", auth(server),
                               body={"rate": "1mbit"})
        assert status == 200 and "rate 1mbit" in view["shaping"], view
        status, view, _ = call("POST", server.base + "/api/links/a:eth0/clear", auth(server))
        assert status == 200 and view["shaping"] is None
    finally:
        lab.link("a:eth0").up()
    status, body, _ = call("POST", server.base + "/api/links/a:eth9/down", auth(server))
    assert status == 400 and "eth9" in body["error"]
    status, body, _ = call("POST", server.base + "/api/links/a:eth0/set", auth(server),
                           body={"speed": "fast"})
    assert status == 400 and "not a shaping key" in body["error"]


def test_a_service_log(server: Server) -> None:
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = call("GET", server.base + "/api/nodes/b/logs/talker", auth(server))
        if b"talker says hello" in body or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200 and b"talker says hello" in body
    status, body, _ = call("GET", server.base + "/api/nodes/b/logs/nope", auth(server))
    assert status == 400 and body["error"] == "node 'b' has no service 'nope' (services: talker)"


def test_a_log_that_the_lab_made_a_symlink_is_not_followed(lab: LabHandle, server: Server,
                                                           tmp_path: Path) -> None:
    """The node's folder is the lab's to write: a log replaced by a link to a file only
    root may read must not be served."""
    secret = tmp_path / "secret"
    secret.write_text("root's secret\n")
    log = lab.lab.service_logs("b")["talker"]
    kept = log.with_name("kept.log")
    log.rename(kept)
    log.symlink_to(secret)
    try:
        status, body, _ = call("GET", server.base + "/api/nodes/b/logs/talker", auth(server))
    finally:
        log.unlink()
        kept.rename(log)
    assert status == 409 and "not read" in body["error"]


def test_a_capture_as_pcap(lab: LabHandle, server: Server) -> None:
    async def capture_while_pinging() -> tuple[int, bytes, str]:
        async with aiohttp.ClientSession(headers=auth(server)) as session:
            request = asyncio.ensure_future(
                session.get(server.base + "/api/capture/a:eth0?count=2&timeout=20"))
            await asyncio.sleep(0.5)  # the capture is open by then; the ping repeats anyway
            ping = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", lab.namespace("a"), "ping", "-c", "5", "-i", "0.2",
                "10.70.0.2", stdout=asyncio.subprocess.DEVNULL)
            response = await request
            data = await response.read()
            await ping.wait()
            return response.status, data, response.content_type
    status, data, content_type = asyncio.run(capture_while_pinging())
    assert status == 200 and content_type == "application/vnd.tcpdump.pcap"
    magic, _major, _minor, _zone, _figs, _snap, linktype = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4 and linktype == 1
    records, offset = 0, 24
    while offset < len(data):
        included = struct.unpack("<IIII", data[offset:offset + 16])[2]
        offset += 16 + included
        records += 1
    assert records == 2 and offset == len(data)
    status, body, _ = call("GET", server.base + "/api/capture/a:eth0?count=0", auth(server))
    assert status == 400 and "count=0" in body["error"]


def test_the_checks(lab: LabHandle, server: Server) -> None:
    status, report, _ = call("POST", server.base + "/api/checks", auth(server))
    assert status == 200 and report["schema"] == "netlab.checks/1"
    assert report["ok"] and [c["name"] for c in report["checks"]] == ["b answers"]
    status, report, _ = call("POST", server.base + "/api/checks?pingall=1", auth(server))
    assert status == 200 and report["ok"]
    assert [c["name"] for c in report["checks"]] == ["a reaches b (10.70.0.2)"]


def test_a_terminal_runs_the_nodes_shell_and_ends_with_it(lab: LabHandle,
                                                          server: Server) -> None:
    ns = lab.namespace("a")
    before = set(pids_in(ns))

    async def session() -> tuple[str, set[int]]:
        async with aiohttp.ClientSession() as client, client.ws_connect(
            server.base + "/api/nodes/a/terminal?cols=100&rows=30", headers=auth(server)
        ) as ws:
            await ws.send_str(json.dumps({"input": "echo $NETLAB_NODE; ip -br a show eth0\r"}))
            seen = ""
            deadline = time.monotonic() + 15
            while "10.70.0.1/24" not in seen and time.monotonic() < deadline:
                message = await ws.receive(timeout=15)
                if message.type != aiohttp.WSMsgType.BINARY:
                    break
                seen += message.data.decode(errors="replace")
            return seen, set(pids_in(ns)) - before
    seen, shells = asyncio.run(session())
    assert "10.70.0.1/24" in seen and f"{lab.name}:a" in seen, seen
    assert shells, "no shell ran in the node"
    deadline = time.monotonic() + 10
    while set(pids_in(ns)) & shells and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(pids_in(ns)) & shells, "the shell outlived its terminal"


def test_a_shell_that_does_not_read_stalls_nothing(lab: LabHandle, server: Server) -> None:
    """A paste larger than the terminal's buffer into a shell busy with a command: the
    server still answers, and closing the terminal ends the shell and its command."""
    ns = lab.namespace("b")
    before = set(pids_in(ns))

    async def session() -> tuple[int, set[int]]:
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(server.base + "/api/nodes/b/terminal",
                                         headers=auth(server)) as ws:
                await ws.send_str(json.dumps({"input": "sleep 600\r"}))
                deadline = time.monotonic() + 15
                while len(set(pids_in(ns)) - before) < 2:  # the shell and its sleep
                    assert time.monotonic() < deadline, "the shell never ran its command"
                    await asyncio.sleep(0.05)
                await ws.send_str(json.dumps({"input": "x" * 300_000}))
                async with client.get(server.base + "/api/status", headers=auth(server),
                                      timeout=aiohttp.ClientTimeout(total=20)) as response:
                    answered = response.status
                started = set(pids_in(ns)) - before
            return answered, started
    answered, started = asyncio.run(session())
    assert answered == 200
    deadline = time.monotonic() + 10
    while set(pids_in(ns)) & started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(pids_in(ns)) & started, "the shell or its command outlived the terminal"


def test_a_shell_that_exits_closes_its_terminal(server: Server) -> None:
    async def session() -> tuple[aiohttp.WSMsgType, str]:
        async with aiohttp.ClientSession() as client, client.ws_connect(
            server.base + "/api/nodes/b/terminal", headers=auth(server)
        ) as ws:
            await ws.send_str(json.dumps({"input": "exit\r"}))
            while True:
                message = await ws.receive(timeout=15)
                if message.type != aiohttp.WSMsgType.BINARY:
                    return message.type, str(message.extra)
    kind, reason = asyncio.run(session())
    assert kind == aiohttp.WSMsgType.CLOSE and reason == "the shell ended"


def test_ctrl_c_ends_it_with_one_line_and_its_shells(lab: LabHandle) -> None:
    ns = lab.namespace("a")
    before = set(pids_in(ns))
    with web_server("-l", lab.name) as running:
        assert running.line.startswith(f"netlab web: lab {lab.name} at http://127.0.0.1:")

        async def open_terminal_and_stop() -> set[int]:
            async with aiohttp.ClientSession() as client, client.ws_connect(
                running.base + "/api/nodes/a/terminal", headers=auth(running)
            ) as ws:
                # The shell's answer, not the terminal's echo of the line typed.
                await ws.send_str(json.dumps({"input": "echo re''ady\r"}))
                seen = ""
                while "ready\r\n" not in seen:
                    seen += (await ws.receive_bytes(timeout=15)).decode(errors="replace")
                shells = set(pids_in(ns)) - before
                code, err = await asyncio.to_thread(running.stop)
                assert code == 130
                assert err.splitlines() == ["netlab web stopped"]
                return shells
        shells = asyncio.run(open_terminal_and_stop())
    assert shells and not set(pids_in(ns)) & shells, "a shell outlived the server"


def test_every_lab_with_a_chooser(lab: LabHandle) -> None:
    with web_server() as running:
        assert "every lab that is up" in running.line
        status, labs, _ = call("GET", running.base + "/api/labs", auth(running))
        assert status == 200 and labs["only"] is None
        assert {"lab": lab.name, "state": "up"} in labs["labs"]
        status, doc, _ = call("GET", running.base + f"/api/status?lab={lab.name}",
                              auth(running))
        assert status == 200 and doc["lab"] == lab.name
        status, body, _ = call("GET", running.base + "/api/status?lab=not-up-here",
                               auth(running))
        assert status == 404 and body["error"] == "lab 'not-up-here' is not up"


def test_a_lab_that_is_not_up() -> None:
    done = subprocess.run([sys.executable, "-m", "netlab", "web", "-l", "no-such-lab-x",
                           "--port", "0"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines()[0] == "error: lab 'no-such-lab-x' is not up"
