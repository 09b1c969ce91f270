"""A userspace tunnel: the OpenVPN/WireGuard data path, without their complexity.

    python -m netlab.programs.tunnel --dev tun0 --listen 0.0.0.0:5000 --peer 198.51.100.2:5000
    NETLAB_TUNNEL_KEY=64-hex-digits python -m netlab.programs.tunnel ...   # ChaCha20-Poly1305

Reads IP packets from the TUN device and sends each in one UDP datagram to the peer; writes
what arrives from the peer into the TUN device. With a key (NETLAB_TUNNEL_KEY, or --key,
which shows it to anyone who lists processes) every datagram is sealed with
ChaCha20-Poly1305 (a random 12-byte nonce in front), so a capture of the underlay shows no
plaintext. A datagram from anyone but the peer, or one that fails authentication, is
rejected: the first of each kind is logged, and a summary of the counters every --report
seconds while they change. Like a real VPN it outlives its underlay: a packet that cannot be
sent (no route, ICMP unreachable, no buffer) is dropped and logged, at most once per 10 s.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import selectors
import socket
import sys
import time
from dataclasses import astuple, dataclass

from netlab.kernel.tunfd import open_device
from netlab.programs import RateLimit, say, stop_on_signals

PROG = "netlab-tunnel"
NONCE = 12
TAG = 16
KEY_ENV = "NETLAB_TUNNEL_KEY"
# Errors that say the fd itself is unusable: anything else on a send or receive is the
# network's weather (no route now, an ICMP error, full buffers) and passes.
FATAL = {errno.EBADF, errno.EBADFD}


class Refused(Exception):
    """A mistake in how the program was started: one line for the user, then exit."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _endpoint(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise Refused(f"{what} {text!r} is not ADDRESS:PORT")
    return host.strip("[]"), int(port)


def parse_key(text: str | None) -> bytes | None:
    """The 32-byte key from its 64 hex digits; None for no key (absent or empty). The
    message never repeats the text: it is a secret, and logs are not."""
    if not text or not text.strip():
        return None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise Refused(f"the key (--key or {KEY_ENV}) must be 64 hex digits (32 bytes); "
                      f"this one has {len(text.strip())} characters")
    return key


@dataclass
class Counters:
    to_peer: int = 0
    from_peer: int = 0
    rejected: int = 0
    dropped: int = 0  # could not be sent, or not written into the TUN

    def line(self) -> str:
        return (f"{self.to_peer} packets sent, {self.from_peer} received, "
                f"{self.rejected} rejected, {self.dropped} dropped")


class Sealer:
    """AEAD sealing with a pre-shared key, or none at all."""

    def __init__(self, key: bytes | None) -> None:
        self.aead = None
        if key is not None:
            from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

            self.aead = ChaCha20Poly1305(key)

    @property
    def sealed(self) -> bool:
        return self.aead is not None

    def seal(self, packet: bytes) -> bytes:
        if self.aead is None:
            return packet
        nonce = os.urandom(NONCE)
        return nonce + self.aead.encrypt(nonce, packet, None)

    def open(self, datagram: bytes) -> bytes | None:
        if self.aead is None:
            return datagram
        from cryptography.exceptions import InvalidTag

        try:
            return self.aead.decrypt(datagram[:NONCE], datagram[NONCE:], None)
        except (InvalidTag, ValueError):
            return None


def looks_like_ip(data: bytes) -> bool:
    """Whether data is an IPv4 or IPv6 packet whose header gives its own length."""
    if len(data) >= 20 and data[0] >> 4 == 4:
        return int.from_bytes(data[2:4], "big") == len(data)
    if len(data) >= 40 and data[0] >> 4 == 6:
        return 40 + int.from_bytes(data[4:6], "big") == len(data)
    return False


def rejection(sealer: Sealer, datagram: bytes) -> tuple[str, str]:
    """Why a datagram from the peer could not be opened: (kind, words for the log)."""
    if not sealer.sealed:
        return "not-ip", "not an IP packet (does the peer seal? this end has no key)"
    if looks_like_ip(datagram):
        return "plain", "not sealed, a plain IP packet (has the peer no key?)"
    if len(datagram) < NONCE + TAG:
        return "short", "too short to be sealed"
    return "key", "fails authentication (a different key at the peer?)"


def _same_endpoint(a: tuple[str, int], b: tuple[str, int]) -> bool:
    try:
        return ipaddress.ip_address(a[0]) == ipaddress.ip_address(b[0]) and a[1] == b[1]
    except ValueError:
        return a == b


class Tunnel:
    """The data path between a TUN fd and a UDP socket, and its account in the log."""

    def __init__(self, tun_fd: int, sock: socket.socket, peer: tuple[str, int],
                 sealer: Sealer, verbose: bool = False, report: float = 10.0) -> None:
        self.tun_fd, self.sock, self.peer, self.sealer = tun_fd, sock, peer, sealer
        self.verbose = verbose
        self.report = report
        self.counters = Counters()
        self.limit = RateLimit()
        self.failing: dict[str, int] = {}  # a failing direction: packets dropped so far
        self.reported = astuple(self.counters)
        self.last_report = 0.0  # monotonic seconds of the last summary

    def from_tun(self, now: float) -> None:
        packet = os.read(self.tun_fd, 65535)
        try:
            self.sock.sendto(self.sealer.seal(packet), self.peer)
        except OSError as error:
            self._failed("send", f"send to {self.peer[0]}:{self.peer[1]}", error, now)
            return
        self._works("send", f"send to {self.peer[0]}:{self.peer[1]}")
        self.counters.to_peer += 1
        if self.verbose:
            say(PROG, f"tun -> {self.peer[0]}:{self.peer[1]} {len(packet)} bytes")

    def from_peer(self, now: float) -> None:
        try:
            datagram, source = self.sock.recvfrom(65535)
        except OSError as error:  # an ICMP error for an earlier datagram, mostly
            self._failed("receive", "receive", error, now, count=False)
            return
        source = (source[0], source[1])
        if not _same_endpoint(source, self.peer):
            self._reject("stranger", f"from {source[0]}:{source[1]}, not the peer "
                         f"{self.peer[0]}:{self.peer[1]}", len(datagram), now)
            return
        opened = self.sealer.open(datagram)
        if opened is None or not (self.sealer.sealed or looks_like_ip(opened)):
            kind, why = rejection(self.sealer, datagram)
            self._reject(kind, why, len(datagram), now)
            return
        try:
            os.write(self.tun_fd, opened)
        except OSError as error:  # EIO: the TUN device is down
            self._failed("tun", "write into the TUN device", error, now)
            return
        self._works("tun", "write into the TUN device")
        self.counters.from_peer += 1
        if self.verbose:
            say(PROG, f"{source[0]}:{source[1]} -> tun {len(opened)} bytes")

    def _reject(self, kind: str, why: str, size: int, now: float) -> None:
        self.counters.rejected += 1
        held = self.limit.allow(f"reject-{kind}", now)
        if held is not None or self.verbose:
            more = f" ({held} more since the last such line)" if held else ""
            say(PROG, f"rejected a datagram of {size} bytes: {why}{more}")

    def _failed(self, direction: str, what: str, error: OSError, now: float,
                count: bool = True) -> None:
        if error.errno in FATAL:
            raise error
        if count:
            self.counters.dropped += 1
        self.failing[direction] = self.failing.get(direction, 0) + 1
        held = self.limit.allow(f"{direction}-{error.errno}", now)
        if held is not None:
            more = f" ({held} more since the last such line)" if held else ""
            dropped = ", packet dropped" if count else ""
            say(PROG, f"{what} failed: {error.strerror}{dropped}{more}")

    def _works(self, direction: str, what: str) -> None:
        failed = self.failing.pop(direction, 0)
        if failed:
            say(PROG, f"{what} works again (after {failed} failures)")
            self.limit.forget(f"{direction}-")  # the next failure is news again

    def tick(self, now: float) -> None:
        """The summary line, every `report` seconds while the counters change."""
        if now - self.last_report < self.report:
            return
        current = astuple(self.counters)
        if current != self.reported:
            say(PROG, self.counters.line())
            self.reported = current
        self.last_report = now

    def run(self) -> Counters:
        selector = selectors.DefaultSelector()
        selector.register(self.tun_fd, selectors.EVENT_READ, self.from_tun)
        selector.register(self.sock, selectors.EVENT_READ, self.from_peer)
        stop = stop_on_signals()
        while not stop.is_set():
            for key, _ in selector.select(timeout=0.5):
                key.data(time.monotonic())
            self.tick(time.monotonic())
        return self.counters


def _socket(listen: tuple[str, int], peer: tuple[str, int]) -> tuple[socket.socket,
                                                                      tuple[str, int]]:
    """The bound UDP socket, and the peer's address as the socket family writes it."""
    family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
    try:
        infos = socket.getaddrinfo(peer[0], peer[1], family, socket.SOCK_DGRAM)
    except socket.gaierror as error:
        raise Refused(f"--peer {peer[0]}: {error.strerror}") from None
    resolved = infos[0][4]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(listen)
    except OSError as error:
        sock.close()
        hint = " (another program, or another tunnel, has it)" \
            if error.errno == errno.EADDRINUSE else ""
        raise Refused(f"cannot listen on {listen[0]}:{listen[1]}: {error.strerror}{hint}",
                      1) from None
    return sock, (str(resolved[0]), int(resolved[1]))


def _open_tun(dev: str, user: int | None, group: int | None) -> int:
    try:
        return open_device(dev, "tun", user, group)
    except PermissionError:
        raise Refused(f"not allowed to attach to {dev} as uid {os.geteuid()}; "
                      "only its owner (or root) may", 1) from None
    except FileNotFoundError:
        raise Refused(f"no device {dev} in this node (the program attaches to an existing "
                      "TUN; it does not create one)", 1) from None
    except OSError as error:
        reasons = {errno.EINVAL: "it is not a TUN device", errno.EBUSY: "another program holds it"}
        why = reasons.get(error.errno or 0, error.strerror or str(error))
        raise Refused(f"cannot attach to {dev}: {why}", 1) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", required=True, help="the TUN device (it must exist)")
    parser.add_argument("--listen", required=True, help="local ADDRESS:PORT for UDP")
    parser.add_argument("--peer", required=True, help="the other end's ADDRESS:PORT")
    parser.add_argument("--key", help=f"64 hex digits: seal with ChaCha20-Poly1305 (better: "
                        f"${KEY_ENV}, which the process list does not show)")
    parser.add_argument("--user", type=int, help="attach to the TUN as this uid (its owner)")
    parser.add_argument("--group", type=int, help="and this gid")
    parser.add_argument("--report", type=float, default=10.0, metavar="SECONDS",
                        help="log the counters this often while they change (default 10)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    try:
        key = parse_key(args.key if args.key is not None else os.environ.get(KEY_ENV))
        listen = _endpoint(args.listen, "--listen")
        sock, peer = _socket(listen, _endpoint(args.peer, "--peer"))
        # Load the cipher before dropping privileges too: after it, the Python installation
        # may not be readable (a root-only pyenv, say), and imports would fail.
        sealer = Sealer(key)
        tun_fd = _open_tun(args.dev, args.user, args.group)
    except Refused as error:
        print(f"{PROG}: {error}", file=sys.stderr, flush=True)
        return error.code
    say(PROG, f"{args.dev} <-> udp {listen[0]}:{listen[1]} <-> {peer[0]}:{peer[1]}"
        f"{' (sealed)' if key else ''}, uid {os.geteuid()}")
    tunnel = Tunnel(tun_fd, sock, peer, sealer, args.verbose, args.report)
    try:
        tunnel.run()
    except OSError as error:  # the TUN device itself went away: nothing left to carry
        say(PROG, f"stopped: {args.dev}: {error.strerror}; {tunnel.counters.line()}")
        return 1
    say(PROG, tunnel.counters.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
