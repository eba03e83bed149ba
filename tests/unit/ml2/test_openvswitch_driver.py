"""What the openvswitch mechanism driver considers servable by an agent."""

from __future__ import annotations

import pytest

from neutrino.plugins.ml2.mechanisms.openvswitch import can_serve, vif_details

CONF = {"tunnel_types": ["vxlan", "gre"], "bridge_mappings": {"physnet1": "br-eth1"}}


@pytest.mark.parametrize(("segment", "ok"), [
    ({"network_type": "vxlan"}, True),
    ({"network_type": "gre"}, True),
    ({"network_type": "geneve"}, False),
    ({"network_type": "vlan", "physical_network": "physnet1"}, True),
    ({"network_type": "vlan", "physical_network": "physnet2"}, False),
    ({"network_type": "flat", "physical_network": "physnet1"}, True),
    ({"network_type": "flat", "physical_network": None}, False),
    ({"network_type": "local"}, True),
    ({"network_type": "weird"}, False),
])
def test_can_serve(segment: dict[str, object], ok: bool) -> None:
    assert can_serve(CONF, segment) is ok


def test_bridge_mappings_as_strings() -> None:
    conf = {"bridge_mappings": ["physnet1:br-eth1", "physnet2:br-eth2"]}
    assert can_serve(conf, {"network_type": "flat", "physical_network": "physnet2"})
    assert can_serve({"bridge_mappings": "physnet3:br-x"},
                     {"network_type": "vlan", "physical_network": "physnet3"})


def test_vif_details() -> None:
    details = vif_details({"datapath_type": "netdev"})
    assert details == {"port_filter": True, "ovs_hybrid_plug": False,
                       "datapath_type": "netdev", "bridge_name": "br-int",
                       "connectivity": "l2"}
