#!/usr/bin/env bash
# Set up netlab on a fresh Debian machine, as root: system tools, a virtualenv in .venv,
# netlab installed into it (editable) with its web page and test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# procps gives sysctl/ps inside nodes; both are handy for learners and used by tests.
command -v sysctl >/dev/null 2>&1 || need_apt+=(procps)
# The tests of `netlab web` drive Debian's chromium (headless, through playwright).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# The stock-kernel VM of the test suite (tests/stockvm.py): Debian's own kernel, booted under
# QEMU by virtme-ng, for the tests that need what a slimmer kernel lacks (netem, VLANs, bonds).
# Installing a kernel package boots nothing: only the VM uses it. NETLAB_SETUP_VM=0 leaves
# them out (netlab itself needs none of them; the suite then says it skips those tests).
need_vm=()
if [ "${NETLAB_SETUP_VM:-1}" != 0 ]; then
    ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need_vm+=(linux-image-amd64)
    command -v qemu-system-x86_64 >/dev/null 2>&1 || need_vm+=(qemu-system-x86)
    command -v busybox >/dev/null 2>&1 || need_vm+=(busybox-static)
fi
if [ "${#need_apt[@]}" -gt 0 ] || [ "${#need_vm[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ "${#need_vm[@]}" -gt 0 ]; then
    # Without recommends: no firmware or GUI pieces a headless VM never uses.
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${need_vm[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
# pip's own chatter goes to a log, shown only if the install fails.
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[web,test]' >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
echo "netlab is set up: .venv/bin/netlab" >&2
