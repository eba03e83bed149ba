"""Network-owned ports (DHCP, router) are trusted as in Neutron: no anti-spoofing and no
firewall, since they answer from addresses that are not their fixed IPs."""

from __future__ import annotations

from neutrino.agent.ovs import flows
from neutrino.agent.ovs.binding import local_port
from neutrino.agent.ovs.bridge import VifPort
from neutrino.agent.ovs.firewall import FirewallState
from neutrino.agent.ovs.state import AgentState, LocalVlan

DETAILS = {"mac_address": "fa:16:3e:00:00:01", "port_security_enabled": True,
           "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.2"}]}


def _flows_on(ofport: int, owner: str) -> set[str]:
    port = local_port("p", VifPort("tapp", "p", ofport), {**DETAILS, "device_owner": owner}, 1)
    state = AgentState(cookie=1, local_vlans={"n": LocalVlan("n", "vxlan", 1, 100)},
                       ports=(port,), firewall=FirewallState())
    return {f.to_dump() for f in flows.int_flows(state) if f"in_port={ofport}" in f.match}


def test_dhcp_and_router_ports_are_trusted_compute_ports_are_not() -> None:
    compute = _flows_on(7, "compute:nova")
    assert any("arp_spa=10.0.0.2" in f for f in compute)  # anti-spoofing
    for owner in ("network:dhcp", "network:router_interface"):
        trusted = _flows_on(7, owner)
        assert not any("arp_spa" in f or "dl_src" in f for f in trusted), trusted
