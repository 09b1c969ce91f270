#!/usr/bin/env bash
# Set up netlab on a fresh Debian machine, as root: system tools, a virtualenv in .venv,
# netlab installed into it (editable) with its web page. Safe to run again.
#   bash scripts/setup.sh          what netlab itself needs (light)
#   bash scripts/setup.sh --test   also the test tools and the Debian software the tests run
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
[ "${1:-}" = "--test" ] && for_tests=1

# "package:command" (the command tells whether the package is there already)
base_apt=(
    "iproute2:ip"
    "procps:sysctl"         # sysctl/ps inside nodes: handy for learners, used by tests
)
test_apt=(
    "chromium:chromium"     # netlab web's page tests (headless, driven by playwright)
    "zsh:zsh"               # the completion tests source `netlab completion zsh`
    "openssh-server:sshd"   # the multi-host tests run an sshd in each simulated host
    # The stock-kernel VM (tests/stockvm.py): QEMU boots Debian's own kernel through
    # virtme-ng, for the tests that need what a slimmer kernel lacks (netem, VLANs, bonds).
    "qemu-system-x86:qemu-system-x86_64"
    "busybox-static:busybox"
    "frr:vtysh"             # the `frr:` tests run zebra and ospfd in nodes
    # DHCP, DNS, firewall and NAT labs (topologies/dhcp-dns.yaml, nat.yaml, exercises).
    # dnsmasq-base is the program alone: Debian's `dnsmasq` package adds a host service.
    "dnsmasq-base:dnsmasq"
    "isc-dhcp-client:dhclient"
    "nftables:nft"
    "tcpdump:tcpdump"       # for learners inside nodes (netlab's own capture and ping
    "iputils-ping:ping"     # need neither)
    # The VPN and web examples run real daemons in nodes (docs/software/)
    "openvpn:openvpn"
    "wireguard-go:wireguard-go"
    "wireguard-tools:wg"
    "nginx:nginx"
    "curl:curl"
)

need_apt=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
wanted=("${base_apt[@]}")
[ "$for_tests" = 1 ] && wanted+=("${test_apt[@]}")
for entry in "${wanted[@]}"; do
    command -v "${entry#*:}" >/dev/null 2>&1 || need_apt+=("${entry%%:*}")
done
# ... and the kernel it boots (a file, not a command). Installing it boots nothing here.
if [ "$for_tests" = 1 ] && ! ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1; then
    need_apt+=(linux-image-amd64)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Debian's packages must not start their own daemons on the host (frr, dnsmasq…):
    # a lab starts them in its nodes.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${need_apt[@]}" >/dev/null
    [ "$made_policy" = 1 ] && rm -f "$policy"
    # ... nor at the host's next boot: the daemons this run installed were enabled by
    # their packages; disable them again (an admin's own install is left as it was).
    if command -v systemctl >/dev/null 2>&1; then
        for unit in frr nginx; do
            if printf '%s\n' "${need_apt[@]}" | grep -qx "$unit"; then
                systemctl disable "$unit" >/dev/null 2>&1 || true
            fi
        done
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
extras='.[web]'
[ "$for_tests" = 1 ] && extras='.[web,test]'
# pip's own chatter goes to a log, shown only if the install fails.
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
echo "netlab is set up: .venv/bin/netlab" >&2
