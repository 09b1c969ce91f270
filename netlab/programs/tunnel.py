"""A userspace tunnel: the OpenVPN/WireGuard data path, without their complexity.

    python -m netlab.programs.tunnel --dev tun0 --listen 0.0.0.0:5000 --peer 198.51.100.2:5000
    python -m netlab.programs.tunnel ... --key 32-byte-hex      # ChaCha20-Poly1305

Reads IP packets from the TUN device and sends each in one UDP datagram to the peer; writes
what arrives from the peer into the TUN device. With --key every datagram is sealed with
ChaCha20-Poly1305 (a random 12-byte nonce in front), so a capture of the underlay shows no
plaintext, and a datagram that fails authentication is dropped and counted.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
from dataclasses import dataclass

from netlab.kernel.tunfd import open_device
from netlab.programs import stop_on_signals

NONCE = 12


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class Counters:
    to_peer: int = 0
    from_peer: int = 0
    rejected: int = 0


class Sealer:
    """AEAD sealing with a pre-shared key, or none at all."""

    def __init__(self, key: bytes | None) -> None:
        self.aead = None
        if key is not None:
            from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

            self.aead = ChaCha20Poly1305(key)

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


def run(tun_fd: int, sock: socket.socket, peer: tuple[str, int], sealer: Sealer,
        verbose: bool) -> Counters:
    counters = Counters()
    selector = selectors.DefaultSelector()
    selector.register(tun_fd, selectors.EVENT_READ, "tun")
    selector.register(sock, selectors.EVENT_READ, "udp")
    stop = stop_on_signals()
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.5):
            if key.data == "tun":
                packet = os.read(tun_fd, 65535)
                sock.sendto(sealer.seal(packet), peer)
                counters.to_peer += 1
                if verbose:
                    print(f"tun -> {peer[0]}:{peer[1]} {len(packet)} bytes", flush=True)
            else:
                datagram, source = sock.recvfrom(65535)
                opened = sealer.open(datagram)
                if opened is None:
                    counters.rejected += 1
                    if verbose:
                        print(f"rejected {len(datagram)} bytes from {source[0]}", flush=True)
                    continue
                os.write(tun_fd, opened)
                counters.from_peer += 1
                if verbose:
                    print(f"{source[0]}:{source[1]} -> tun {len(opened)} bytes", flush=True)
    return counters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab-tunnel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", required=True, help="the TUN device (it must exist)")
    parser.add_argument("--listen", required=True, help="local ADDRESS:PORT for UDP")
    parser.add_argument("--peer", required=True, help="the other end's ADDRESS:PORT")
    parser.add_argument("--key", help="64 hex digits: seal with ChaCha20-Poly1305")
    parser.add_argument("--user", type=int, help="attach to the TUN as this uid (its owner)")
    parser.add_argument("--group", type=int, help="and this gid")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    key = bytes.fromhex(args.key) if args.key else None
    if key is not None and len(key) != 32:
        parser.error("--key takes 32 bytes, written as 64 hex digits")
    listen, peer = _endpoint(args.listen), _endpoint(args.peer)
    family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind(listen)  # before dropping privileges: a low port may need root
    # Load the cipher before dropping privileges too: after it, the Python installation
    # may not be readable (a root-only pyenv, say), and imports would fail.
    sealer = Sealer(key)
    try:
        tun_fd = open_device(args.dev, "tun", args.user, args.group)
    except PermissionError:
        print(f"netlab-tunnel: not allowed to attach to {args.dev} as uid {os.geteuid()}; "
              "only its owner (or root) may", file=sys.stderr)
        return 1
    print(f"netlab-tunnel: {args.dev} <-> udp {listen[0]}:{listen[1]} <-> "
          f"{peer[0]}:{peer[1]}{' (sealed)' if key else ''}, uid {os.geteuid()}", flush=True)
    counters = run(tun_fd, sock, peer, sealer, args.verbose)
    print(f"netlab-tunnel: {counters.to_peer} packets sent, {counters.from_peer} received, "
          f"{counters.rejected} rejected", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
