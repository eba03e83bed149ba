"""The OVS agent's settings, as one immutable value built from openvswitch_agent.ini."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.ovs.topology import TopologyConfig

FIREWALL_OPENVSWITCH = "openvswitch"
FIREWALL_NOOP = "noop"


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent reads from its configuration files."""

    host: str
    topology: TopologyConfig = field(default_factory=TopologyConfig)
    l2_population: bool = False
    arp_responder: bool = False
    datapath_type: str = "system"
    report_interval: float = 30.0
    polling_interval: float = 2.0
    processing_step: int = 20
    stale_flow_grace: float = 10.0
    retry_interval: float = 1.0
    firewall_driver: str = FIREWALL_NOOP  # canonical name: openvswitch | noop
    permitted_ethertypes: tuple[int, ...] = ()

    @property
    def arp_responder_enabled(self) -> bool:
        # as in Neutron: the responder only knows addresses through l2pop
        return self.arp_responder and self.l2_population

    @property
    def firewall_enabled(self) -> bool:
        """True when security groups are enforced by this agent's OVS firewall."""
        return self.firewall_driver == FIREWALL_OPENVSWITCH

    @classmethod
    def from_conf(cls, conf: Any) -> AgentConfig:
        """Build from an oslo.config object made by ``neutrino.conf.agent``."""
        from neutrino.conf.agent import (
            effective_firewall_driver,
            parse_bridge_mappings,
            parse_ethertypes,
        )

        topology = TopologyConfig(
            integration_bridge=conf.ovs.integration_bridge,
            tunnel_bridge=conf.ovs.tunnel_bridge,
            int_peer_patch_port=conf.ovs.int_peer_patch_port,
            tun_peer_patch_port=conf.ovs.tun_peer_patch_port,
            local_ip=conf.ovs.local_ip, tunnel_types=tuple(conf.agent.tunnel_types),
            bridge_mappings=parse_bridge_mappings(conf.ovs.bridge_mappings),
            vxlan_udp_port=conf.agent.vxlan_udp_port)
        return cls(host=conf.host, topology=topology,
                   l2_population=conf.agent.l2_population,
                   arp_responder=conf.agent.arp_responder,
                   datapath_type=conf.ovs.datapath_type,
                   report_interval=conf.agent.report_interval,
                   polling_interval=float(conf.agent.polling_interval),
                   processing_step=getattr(conf, "rpc_resources_processing_step", 20),
                   firewall_driver=effective_firewall_driver(conf),
                   permitted_ethertypes=parse_ethertypes(
                       conf.securitygroup.permitted_ethertypes))
