"""Userspace programs that sit in a lab's packet path on TUN/TAP devices.

They run inside a node (a service, or `netlab exec NODE -- python -m netlab.programs.X`),
and show what TUN and TAP exist for: a VPN daemon reading IP packets from a TUN fd, a
hypervisor-side switch reading Ethernet frames from TAP fds.
"""

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the programs' loops check it between reads, so
    they end cleanly (and print their counters) when netlab stops the service."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
