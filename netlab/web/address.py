"""Where `netlab web` listens, and the URL it prints. Pure (name resolution aside)."""

from __future__ import annotations

import ipaddress
import socket

from netlab.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8040
PORTS_TRIED = 10  # without --port: 8040, or the next free one up to 8049


def resolve(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """The address family and numeric address of --bind."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise InputError(f"--bind {host}: not an address of this machine ({error.strerror})",
                         hint="the default, 127.0.0.1, serves this machine only") from None
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, str(sockaddr[0])


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_loopback


def url(address: str, port: int, token: str) -> str:
    """The URL to open; on every address (0.0.0.0, ::) it names this machine."""
    shown = socket.gethostname() if address in ("0.0.0.0", "::") else address
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"
