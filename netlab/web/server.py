"""The aiohttp application of `netlab web`: the page, the API under /api, its websockets.

Everything that reads or changes a lab is the library's (Lab.status, Lab.link, Lab.capture,
Lab.service_logs, Lab.shell_command, the checks), run in a worker thread so that the event
loop keeps serving. docs/web.md documents the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import os
import signal
import socket
import stat
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from netlab.errors import InputError, LabStateConflict, LabStateError, NetlabError
from netlab.web import auth
from netlab.web.terminal import Terminal

if TYPE_CHECKING:
    from netlab.api import Lab

STATIC = Path(__file__).parent / "static"
INTERVAL = 0.4  # seconds between two status documents on /api/events
CAPTURE_COUNT = 100  # packets, unless ?count= says otherwise
CAPTURE_TIMEOUT = 10.0  # seconds, unless ?timeout= says otherwise
CAPTURE_MAX_TIMEOUT = 60.0
CAPTURE_MAX_COUNT = 100_000
# The page runs only its own scripts, talks only to this server, and is framed by no one.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN: web.AppKey[str] = web.AppKey("token", str)
LABS: web.AppKey[Labs] = web.AppKey("labs")
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")


class NoSuchLab(LabStateConflict):
    """A lab this server does not show (not up, or not the one of -l LAB): 404."""


class Labs:
    """The labs the server shows: one (-l LAB), or every lab that is up. Lab objects are
    kept while their lab stays the same (a lab brought up anew is read anew)."""

    def __init__(self, only: str | None) -> None:
        self.only = only
        self._cache: dict[str, tuple[object, Lab]] = {}

    def names(self) -> list[str]:
        from netlab.api import up_labs

        return [self.only] if self.only else up_labs()

    def get(self, name: str | None) -> Lab:
        from netlab.api import Lab
        from netlab.state.store import LabState

        if not name:
            names = self.names()
            if len(names) != 1:
                raise InputError("name the lab: ?lab=NAME (labs up: "
                                 f"{', '.join(names) or 'none'})")
            name = names[0]
        if self.only and name != self.only:
            raise NoSuchLab(f"this server shows lab '{self.only}' only")
        meta = LabState(name).read_meta()  # InputError for a name that is no lab's
        if not meta:
            raise NoSuchLab(f"lab '{name}' is not up")
        built = meta.get("created")
        cached = self._cache.get(name)
        if cached is not None and cached[0] == built:
            return cached[1]
        lab = Lab.attach(name)
        self._cache[name] = (built, lab)
        return lab


def _error(status: int, message: str, hint: str | None = None) -> web.Response:
    return web.json_response({"error": message, "hint": hint}, status=status)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Nothing answers without the token; a NetlabError is a JSON answer, not a 500."""
    token = request.app[TOKEN]
    given = auth.presented(request.query, request.cookies, request.headers)
    code = auth.verdict(token, given)
    if code != auth.OK:
        what = "no token" if code == auth.UNAUTHORIZED else "wrong token"
        return _error(code, f"{what}: open the URL that 'netlab web' printed")
    if not auth.same_origin(request.headers.get("Origin"), request.host):
        return _error(auth.FORBIDDEN, "a request from another site's page")
    try:
        response = await handler(request)
    except NetlabError as error:
        status = 404 if isinstance(error, NoSuchLab) else (
            400 if isinstance(error, InputError) else 409)
        return _error(status, error.message, error.hint)
    if not response.prepared:  # a websocket's answer is on its way already
        response.headers.update(SECURITY_HEADERS)
        if request.cookies.get(auth.COOKIE) != token:
            response.set_cookie(auth.COOKIE, token, httponly=True, samesite="Strict",
                                path="/")
    return response


def make_app(token: str, only: str | None) -> web.Application:
    app = web.Application(middlewares=[_guard])
    app[TOKEN] = token
    app[LABS] = Labs(only)
    app[SOCKETS] = weakref.WeakSet()
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    app.router.add_get("/api/labs", _labs)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/events", _events)
    app.router.add_post("/api/links/{endpoint}/{action}", _link)
    app.router.add_get("/api/nodes/{node}/logs/{service}", _logs)
    app.router.add_get("/api/nodes/{node}/terminal", _terminal)
    app.router.add_get("/api/capture/{endpoint}", _capture)
    app.router.add_post("/api/checks", _checks)
    app.on_shutdown.append(_close_sockets)
    return app


def _lab(request: web.Request) -> Lab:
    return request.app[LABS].get(request.query.get("lab"))


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _labs(request: web.Request) -> web.StreamResponse:
    from netlab.api import condition

    labs = request.app[LABS]

    def read() -> list[dict[str, str]]:
        return [{"lab": name, "state": condition(name).state} for name in labs.names()]

    return web.json_response({"labs": await asyncio.to_thread(read), "only": labs.only})


async def _status(request: web.Request) -> web.StreamResponse:
    lab = _lab(request)
    return web.json_response(await asyncio.to_thread(lab.status))


async def _events(request: web.Request) -> web.StreamResponse:
    """The status document every INTERVAL seconds (as /api/status has it), or what keeps
    it from being read ({"error": ...}), until the page goes."""
    labs = request.app[LABS]
    name = request.query.get("lab")
    ws = await _open_socket(request)
    while not ws.closed:
        try:
            doc: dict[str, Any] = await asyncio.to_thread(lambda: labs.get(name).status())
        except NetlabError as error:
            doc = {"error": error.message, "hint": error.hint}
        with contextlib.suppress(ConnectionError):
            await ws.send_json(doc)
        with contextlib.suppress(asyncio.TimeoutError):
            message = await ws.receive(timeout=INTERVAL)
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                WSMsgType.ERROR):
                break
    return ws


async def _link(request: web.Request) -> web.StreamResponse:
    """down, up, clear, or set (a JSON object of shaping keys such as {"rate": "1mbit"})."""
    from netlab.lab.link_control import parse_assignments

    lab = _lab(request)
    action = request.match_info["action"]
    link = lab.link(request.match_info["endpoint"])
    if action == "down":
        await asyncio.to_thread(link.down)
    elif action == "up":
        await asyncio.to_thread(link.up)
    elif action == "clear":
        await asyncio.to_thread(link.clear)
    elif action == "set":
        try:
            body = await request.json()
        except ValueError:
            raise InputError('set takes a JSON object, such as {"rate": "1mbit"}') from None
        if not isinstance(body, dict) or not body:
            raise InputError('set takes a JSON object, such as {"rate": "1mbit"}')
        values = parse_assignments([f"{key}={value}" for key, value in body.items()])
        await asyncio.to_thread(lambda: link.set(values))
    else:
        raise web.HTTPNotFound(text="actions: down, up, set, clear")
    return web.json_response(await asyncio.to_thread(link.describe))


async def _logs(request: web.Request) -> web.StreamResponse:
    lab = _lab(request)
    node, service = request.match_info["node"], request.match_info["service"]
    logs = lab.service_logs(node)
    if service not in logs:
        raise InputError(f"node '{node}' has no service '{service}' "
                         f"(services: {', '.join(logs) or 'none'})")
    text = await asyncio.to_thread(_read_log, logs[service])
    return web.Response(text=text, content_type="text/plain")


def _read_log(path: Path) -> str:
    """A log file as its service left it; what the lab's processes could have put in its
    place (a symlink, a pipe) is not followed or read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return ""
    except OSError as error:
        raise LabStateError(f"{path}: {error.strerror} (not a log file: not read)") from None
    with os.fdopen(fd, "rb") as log:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LabStateError(f"{path} is not a file (not read)")
        return log.read().decode(errors="replace")


def _number(request: web.Request, key: str, default: float, largest: float) -> float:
    text = request.query.get(key)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 < value <= largest:
        raise InputError(f"{key}={text}: give a number above 0, at most {largest:g}")
    return value


async def _capture(request: web.Request) -> web.StreamResponse:
    """?count=N packets (100), or what ?timeout=S seconds (10) bring, as a pcap file."""
    from netlab.kernel.capture import CaptureCut
    from netlab.values.pcap import PcapWriter

    lab = _lab(request)
    endpoint = request.match_info["endpoint"]
    node, _, ifname = endpoint.partition(":")
    if not node or not ifname:
        raise InputError(f"'{endpoint}': name a node and an interface, e.g. h1:eth0")
    count = int(_number(request, "count", CAPTURE_COUNT, CAPTURE_MAX_COUNT))
    timeout = _number(request, "timeout", CAPTURE_TIMEOUT, CAPTURE_MAX_TIMEOUT)

    def capture() -> bytes:
        stream = io.BytesIO()
        with lab.capture(node, ifname) as cap:
            writer = PcapWriter(stream, cap.linktype)
            with contextlib.suppress(CaptureCut):  # the link went down: what came is kept
                for packet in cap.packets(count, timeout):
                    writer.write(packet.time, packet.data, packet.length)
        return stream.getvalue()

    data = await asyncio.to_thread(capture)
    name = f"{lab.name}-{node}-{ifname}.pcap"
    return web.Response(body=data, content_type="application/vnd.tcpdump.pcap",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _checks(request: web.Request) -> web.StreamResponse:
    """The lab's checks, or with ?pingall=1 a ping between every pair of nodes (as
    `netlab test --pingall`)."""
    from netlab.checks import every_pair, resolve
    from netlab.checks.run import run_checks

    lab = _lab(request)
    if request.query.get("pingall") == "1":
        probes = every_pair(lab.topology)
        if not probes:
            raise InputError(f"lab '{lab.name}' has no two nodes with an address to ping "
                             "between")
    else:
        probes = resolve(lab.topology)
    if not probes:
        raise InputError(f"lab '{lab.name}' has no checks (a checks: section in its "
                         "topology); 'ping all' pings between every pair of nodes")
    report = await asyncio.to_thread(lambda: run_checks(lab, probes))
    return web.json_response(report.to_json())


async def _terminal(request: web.Request) -> web.StreamResponse:
    """The node's shell: the page sends {"input": TEXT} and {"cols": C, "rows": R}; the
    shell's output comes back as binary messages. Closing the page ends the shell."""
    lab = _lab(request)
    # In a thread: a node made on first entry (kernel/nodehost.ensure) is made meanwhile.
    argv, env = await asyncio.to_thread(lab.shell_command, request.match_info["node"])
    cols = int(_number(request, "cols", 80, 1000))
    rows = int(_number(request, "rows", 24, 1000))
    ws = await _open_socket(request)
    term = Terminal(argv, env, cols, rows)
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes | None] = asyncio.Queue()

    def readable() -> None:
        data = term.read()
        if data is None:
            loop.remove_reader(term.fd)
        if data != b"":
            output.put_nowait(data)

    async def pump() -> None:
        while (data := await output.get()) is not None:
            await ws.send_bytes(data)
        await ws.close(message=b"the shell ended")

    def drain() -> None:
        if term.flush():
            loop.remove_writer(term.fd)

    loop.add_reader(term.fd, readable)
    sender = asyncio.create_task(pump())
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                command = json.loads(message.data)
                if "input" in command and not term.write(str(command["input"]).encode()):
                    loop.add_writer(term.fd, drain)
                if "cols" in command and "rows" in command:
                    term.resize(int(command["cols"]), int(command["rows"]))
    finally:
        loop.remove_reader(term.fd)
        loop.remove_writer(term.fd)
        sender.cancel()
        await asyncio.to_thread(term.close)
    return ws


async def _open_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    return ws


async def _close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"netlab web stopped")


async def serve(app: web.Application, sock: socket.socket,
                ready: Callable[[], None]) -> None:
    """Serve on the listening socket until SIGINT or SIGTERM; ready() once serving."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.SockSite(runner, sock).start()
        ready()
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def listen(family: socket.AddressFamily, address: str, ports: list[int]) -> socket.socket:
    """A listening socket on the first free port of `ports`."""
    last: OSError | None = None
    for port in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
            sock.listen(128)
            return sock
        except OSError as error:
            sock.close()
            if error.errno == errno.EADDRNOTAVAIL:  # the address, not the port: stop here
                raise InputError(f"cannot listen on {address}: no interface of this machine "
                                 "has that address",
                                 hint="--bind takes one of this machine's addresses; the "
                                 "default, 127.0.0.1, serves this machine only") from None
            last = error
    shown = f"port {ports[0]}" if len(ports) == 1 else f"ports {ports[0]}-{ports[-1]}"
    raise InputError(f"cannot listen on {address}, {shown}: "
                     f"{last.strerror if last else 'no port'}",
                     hint="--port P picks another port (--port 0: any free one)")
