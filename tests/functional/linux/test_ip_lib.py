"""ip_lib against real namespaces: idempotent namespaces, links, addresses, routes, sysctls."""

from __future__ import annotations

import os

import pytest

from neutrino.agent.linux import ip_lib
from tests.fixtures import hosts

pytestmark = [pytest.mark.functional,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")]


def test_namespace_veth_addresses_route_sysctl() -> None:
    with hosts.Cleanup() as cleanup:
        ns = hosts.rand_name("nl-")
        cleanup.add(ip_lib.delete_namespace, ns)
        ip_lib.ensure_namespace(ns)
        ip_lib.ensure_namespace(ns)  # twice: still one, loopback up
        assert ns in ip_lib.list_namespaces()
        a, b = hosts.rand_name("la"), hosts.rand_name("lb")
        cleanup.add(ip_lib.delete_link, a)
        ip_lib.add_veth(a, b, peer_ns=ns)
        assert ip_lib.link_exists(b, ns) and not ip_lib.link_exists(b)
        ip_lib.set_link(b, ns, mac="fa:16:3e:aa:bb:cc", mtu=1400)
        ip_lib.set_link(a)
        assert ip_lib.sync_addresses(b, ["10.77.0.2/24", "2001:db8::2/64"], ns)
        assert not ip_lib.sync_addresses(b, ["10.77.0.2/24", "2001:db8::2/64"], ns)
        assert ip_lib.sync_addresses(b, ["10.77.0.3/24"], ns)
        assert ip_lib.get_addresses(b, ns) == {"10.77.0.3/24"}
        ip_lib.set_default_gateway("10.77.0.1", b, ns)
        ip_lib.set_default_gateway("10.77.0.1", b, ns)
        assert ip_lib.get_default_gateway(ns) == "10.77.0.1"
        ip_lib.set_default_gateway(None, b, ns)
        assert ip_lib.get_default_gateway(ns) is None
        ip_lib.set_sysctl("net.ipv4.ip_forward", 1, ns)
        assert hosts.run(["sysctl", "-n", "net.ipv4.ip_forward"], netns=ns).strip() == "1"
        ip_lib.delete_namespace(ns)
        ip_lib.delete_namespace(ns)
        assert not ip_lib.namespace_exists(ns)
