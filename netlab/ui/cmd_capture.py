"""`netlab capture`: watch one interface of a node, or write what crosses it to a pcap file."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from netlab.errors import EXIT_KERNEL, EXIT_OK, InputError
from netlab.ui.common import err, long_running, with_lab

if TYPE_CHECKING:
    from netlab.kernel.capture import Packet

Handler = Any  # what signal.signal returns: a callable, SIG_IGN/SIG_DFL, or None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "capture", help="capture packets on a node's interface (pcap file, or one line each)",
        description="Capture the packets one interface of a node sends and receives, with no "
        "tcpdump needed: one line per packet, or a pcap file for Wireshark or tcpdump -r. "
        "Stops after -c packets, --timeout seconds or Ctrl-C (exit status 0), or when the "
        "interface goes down or the lab is taken down (exit status 1; the packets seen so "
        "far are kept).",
    )
    with_lab(p, file=False)
    p.add_argument("where", metavar="NODE:IFACE",
                   help="the node and interface, e.g. h1:eth0; a node alone: its only one")
    p.add_argument("iface", metavar="IFACE", nargs="?",
                   help="the interface as a word of its own, as in 'capture h1 eth0'")
    p.add_argument("-w", "--write", metavar="FILE",
                   help="write a pcap file ('-' for stdout, e.g. into wireshark -k -i -)")
    p.add_argument("-c", "--count", type=_positive_int, metavar="N",
                   help="stop after N packets")
    p.add_argument("--timeout", type=_positive_float, metavar="S",
                   help="stop after S seconds")
    p.set_defaults(func=cmd_capture)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds above 0")
    return value


def split_where(where: str, iface: str | None = None,
                interfaces: Mapping[str, Sequence[str]] | None = None) -> tuple[str, str]:
    """The node and interface a capture names: h1:eth0, h1 eth0, or h1 alone when
    `interfaces` (node -> its interfaces but lo) gives it just one."""
    from netlab.spec.endpoints import split_endpoint  # the model: not for every command

    if iface is not None:
        if ":" in where:
            raise InputError(f"'{where} {iface}': name the interface once, e.g. h1:eth0")
        where = f"{where}:{iface}"
    node, ifname = split_endpoint(where)
    if node and not ifname and ":" not in where:
        names = list((interfaces or {}).get(node) or [])
        if len(names) == 1:
            return node, names[0]
        if names:
            raise InputError(f"'{node}' has {len(names)} interfaces ({', '.join(names)}): "
                             f"name one, e.g. {node}:{names[0]}")
    if not node or not ifname:
        raise InputError(f"'{where}': name a node and an interface, e.g. h1:eth0")
    return node, ifname


def cmd_capture(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab
    from netlab.kernel.capture import CaptureCut
    from netlab.values.pcap import LINKTYPE_ETHERNET, PcapWriter, summary

    lab = resolve_lab(args.lab, None, {})
    # The lab's plan (its interfaces) only for a node named alone: not for every capture.
    alone = args.iface is None and ":" not in args.where
    interfaces = {name: [i.name for i in ifaces if i.name != "lo"]
                  for name, ifaces in lab.plan.interfaces.items()} if alone else None
    node, ifname = split_where(args.where, args.iface, interfaces)
    capture = lab.capture(node, ifname)
    with capture, _output(args.write) as stream:
        writer = PcapWriter(stream, capture.linktype) if stream is not None else None
        kind = "Ethernet" if capture.linktype == LINKTYPE_ETHERNET else "raw IP"
        into = f" into {'stdout' if args.write == '-' else args.write}" if args.write else ""
        seen = 0
        stopped = "done"

        def record(packet: Packet) -> None:
            nonlocal seen
            seen += 1
            if writer is not None:
                writer.write(packet.time, packet.data, packet.length)
            else:
                clock = time.strftime("%H:%M:%S", time.localtime(packet.time))
                micros = int((packet.time % 1) * 1_000_000)
                line = summary(packet.data, capture.linktype, packet.length)
                print(f"{clock}.{micros:06d} {line}", flush=True)

        with _stop_on_signals() as stop:
            long_running()
            try:
                err.print(f"capturing on {node}:{ifname} of lab {lab.name} ({kind}){into}; "
                          "Ctrl-C stops")
                try:
                    for packet in capture.packets(args.count, args.timeout, stop.fd):
                        record(packet)
                except CaptureCut as cut:
                    stopped = f"stopped: {cut}"
                    left = None if args.count is None else args.count - seen
                    for packet in itertools.islice(capture.pending(), left):
                        record(packet)
                if stop.asked and stopped == "done":
                    stopped = "interrupted"
                    # What the kernel queued before the Ctrl-C still belongs to the capture.
                    left = None if args.count is None else args.count - seen
                    for packet in itertools.islice(capture.pending(), left):
                        record(packet)
            except BrokenPipeError:
                stopped = "output closed"  # `| head`: the reader has seen enough
                # Whatever is still buffered for stdout would fail again at exit.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        dropped = capture.dropped()
    noun = "packet" if seen == 1 else "packets"
    where = f" written to {args.write}" if args.write and args.write != "-" else " captured"
    extra = f", {dropped} dropped by the kernel (buffer full)" if dropped else ""
    note = "" if stopped == "done" else f" ({stopped})"
    err.print(f"{seen} {noun}{where}{extra}{note}")
    return EXIT_KERNEL if stopped.startswith("stopped:") else EXIT_OK


class _Stop:
    """Ctrl-C (SIGINT) and SIGTERM asked the capture to end. The handler only notes it and
    wakes the capture's select() through `fd` (signal.set_wakeup_fd): raising from the
    handler could land between receiving a packet and writing it, and lose it."""

    def __init__(self) -> None:
        self.asked = False
        self.fd, self.wake = os.pipe()
        os.set_blocking(self.wake, False)

    def __call__(self, _signum: int, _frame: object) -> None:
        self.asked = True


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """SIGINT even when the shell that started us in the background set it to be ignored."""
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    old_wakeup = signal.set_wakeup_fd(stop.wake)
    try:
        yield stop
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(stop.fd)
        os.close(stop.wake)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
    elif path == "-":
        yield sys.stdout.buffer
    else:
        try:
            stream = open(path, "wb")  # noqa: SIM115  # closed below
        except OSError as error:
            raise InputError(f"cannot write {path}: {error.strerror}") from None
        try:
            yield stream
        finally:
            stream.close()
