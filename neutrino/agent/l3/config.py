"""The L3 agent's settings, as one immutable value built from l3_agent.ini and neutron.conf."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neutrino.agent.l3.state import Settings


@dataclass(frozen=True)
class L3AgentConfig:
    """Everything the L3 agent reads from its configuration files."""

    host: str
    state_dir: Path  # <state_path>/l3: one directory per router set up here
    integration_bridge: str = "br-int"
    enable_metadata_proxy: bool = True
    metadata_port: int = 9697
    # the metadata agent's socket, where the routers' metadata proxies forward to
    metadata_proxy_socket: Path | None = None
    handle_internal_only_routers: bool = True
    metadata_access_mark: int = 0x1
    external_ingress_mark: int = 0x2
    periodic_interval: float = 40.0  # retry of a router that failed
    send_arp_for_ha: int = 3
    report_interval: float = 30.0
    check_interval: float = 1.0  # how often dead metadata proxies are looked for
    sync_workers: int = 4  # routers applied in parallel
    availability_zone: str = "nova"
    agent_mode: str = "legacy"
    interface_driver: str = "openvswitch"
    log_agent_heartbeats: bool = False

    @property
    def settings(self) -> Settings:
        return Settings(metadata=self.enable_metadata_proxy
                        and self.metadata_proxy_socket is not None,
                        metadata_port=self.metadata_port,
                        metadata_access_mark=self.metadata_access_mark,
                        external_ingress_mark=self.external_ingress_mark)

    @classmethod
    def from_conf(cls, conf: Any) -> L3AgentConfig:
        """Build from an oslo.config object made by ``neutrino.conf.l3_agent``."""
        from neutrino.conf.l3_agent import parse_mark

        return cls(
            host=conf.host, state_dir=(Path(conf.state_path) / "l3").absolute(),
            integration_bridge=conf.ovs_integration_bridge or conf.ovs.integration_bridge,
            enable_metadata_proxy=conf.enable_metadata_proxy,
            metadata_port=conf.metadata_port,
            metadata_proxy_socket=Path(conf.metadata_proxy_socket).absolute(),
            handle_internal_only_routers=conf.handle_internal_only_routers,
            metadata_access_mark=parse_mark(conf.metadata_access_mark,
                                            "metadata_access_mark"),
            external_ingress_mark=parse_mark(conf.external_ingress_mark,
                                             "external_ingress_mark"),
            periodic_interval=float(conf.periodic_interval),
            send_arp_for_ha=conf.send_arp_for_ha,
            report_interval=float(conf.agent.report_interval),
            availability_zone=conf.agent.availability_zone,
            agent_mode=conf.agent_mode, interface_driver=conf.interface_driver,
            log_agent_heartbeats=conf.agent.log_agent_heartbeats)
