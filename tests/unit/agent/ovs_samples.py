"""Sample agent states shared by the unit tests and the functional golden-file test."""

from __future__ import annotations

from neutrino.agent.ovs.state import (
    AddressPair,
    AgentState,
    BridgeMapping,
    LocalPort,
    LocalVlan,
    TunnelPort,
    add_fdb_entries,
)

COOKIE = 0x5EED
NET_VXLAN = "3c1a8f3e-0000-4000-8000-000000000001"
NET_VLAN = "3c1a8f3e-0000-4000-8000-000000000002"
NET_FLAT = "3c1a8f3e-0000-4000-8000-000000000003"
NET_GRE = "3c1a8f3e-0000-4000-8000-000000000004"
LOCAL_IP = "192.0.2.1"
REMOTE_A = "192.0.2.2"
REMOTE_B = "192.0.2.3"

ADD_FDB = {
    NET_VXLAN: {
        "segment_id": 5001, "network_type": "vxlan",
        "ports": {
            REMOTE_A: [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:aa:00:01", "198.51.100.11"]],
            REMOTE_B: [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:bb:00:01", "198.51.100.21"],
                       ["fa:16:3e:bb:00:02", "198.51.100.22"]],
            LOCAL_IP: [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:00:00:01", "198.51.100.5"]],
        },
    },
    NET_GRE: {
        "segment_id": 77, "network_type": "gre",
        "ports": {REMOTE_A: [["00:00:00:00:00:00", "0.0.0.0"],
                             ["fa:16:3e:aa:00:07", "203.0.113.7"]]},
    },
}


def sample_state(arp_responder: bool = True) -> AgentState:
    """A host with VXLAN, GRE, VLAN and flat networks, two VIFs and two remote endpoints."""
    return AgentState(
        cookie=COOKIE, local_ip=LOCAL_IP, arp_responder=arp_responder,
        patch_int_ofport=1, patch_tun_ofport=1,
        local_vlans={
            NET_VXLAN: LocalVlan(NET_VXLAN, "vxlan", lvid=1, segmentation_id=5001),
            NET_VLAN: LocalVlan(NET_VLAN, "vlan", lvid=2, segmentation_id=100,
                                physical_network="physnet1"),
            NET_FLAT: LocalVlan(NET_FLAT, "flat", lvid=3, physical_network="physnet1"),
            NET_GRE: LocalVlan(NET_GRE, "gre", lvid=4, segmentation_id=77),
        },
        ports=(
            LocalPort("port-1", ofport=5, mac_address="FA:16:3E:00:00:01", lvid=1,
                      fixed_ips=("198.51.100.5", "2001:db8::5"),
                      allowed_address_pairs=(AddressPair("198.51.100.128/25"),
                                             AddressPair("198.51.100.200",
                                                         "fa:16:3e:00:00:99"))),
            LocalPort("port-2", ofport=6, mac_address="fa:16:3e:00:00:02", lvid=2,
                      fixed_ips=("203.0.113.5",), port_security_enabled=False),
        ),
        fdb=add_fdb_entries({}, ADD_FDB, local_ip=LOCAL_IP),
        tunnels=(TunnelPort(REMOTE_A, "vxlan", 2), TunnelPort(REMOTE_B, "vxlan", 3),
                 TunnelPort(REMOTE_A, "gre", 4)),
        bridge_mappings=(BridgeMapping("physnet1", "br-physnet1", int_ofport=7,
                                       phys_ofport=2),),
    )
