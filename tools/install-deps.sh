#!/usr/bin/env bash
# Install everything Neutrino and its test suite need on a fresh Debian machine:
# system packages (Open vSwitch, dnsmasq, iproute2, ping) and the Python virtualenv.
#   tools/install-deps.sh           python only (enough for `make run`)
#   tools/install-deps.sh --system  system packages too (needs root; what `make test` uses)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [[ "${1:-}" == "--system" ]]; then
    need=()
    command -v ovs-vsctl >/dev/null || need+=(openvswitch-switch)
    command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
    command -v dhcp_release >/dev/null || need+=(dnsmasq-utils)  # DHCP agent: lease release
    command -v busybox >/dev/null || need+=(busybox)  # udhcpc: the DHCP client of test VMs
    command -v ping >/dev/null || need+=(iputils-ping)
    command -v ip >/dev/null || need+=(iproute2)
    command -v iptables-restore >/dev/null || need+=(iptables)  # L3 agent: NAT
    command -v conntrack >/dev/null || need+=(conntrack)  # L3 agent: a removed FIP's flows
    command -v arping >/dev/null || need+=(iputils-arping)  # L3 agent: gratuitous ARP
    if (( ${#need[@]} )); then
        if [[ $(id -u) -ne 0 ]]; then
            echo "install-deps: need root to apt-get install ${need[*]}" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [[ ! -e "$stamp" ]]; then
    "$VENV/bin/pip" install -q --upgrade pip wheel
    "$VENV/bin/pip" install -q -e '.[test]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
