"""Userspace programs that sit in a lab's packet path on TUN/TAP devices.

They run inside a node (a service, or `netlab exec NODE -- python -m netlab.programs.X`),
and show what TUN and TAP exist for: a VPN daemon reading IP packets from a TUN fd, a
hypervisor-side switch reading Ethernet frames from TAP fds.
"""
