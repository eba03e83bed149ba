"""The DHCP agent's settings, as one immutable value built from dhcp_agent.ini and neutron.conf."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neutrino.agent.dhcp.dnsmasq import Settings


@dataclass(frozen=True)
class DhcpAgentConfig:
    """Everything the DHCP agent reads from its configuration files."""

    host: str
    confs_dir: Path  # <state_path>/dhcp: one directory per network
    dnsmasq: Settings = field(default_factory=Settings)
    integration_bridge: str = "br-int"
    num_sync_threads: int = 4
    resync_interval: float = 5.0
    report_interval: float = 30.0
    check_interval: float = 1.0  # how often dead dnsmasq processes are looked for
    dhcp_driver: str = "neutron.agent.linux.dhcp.Dnsmasq"
    log_agent_heartbeats: bool = False
    availability_zone: str = "nova"
    # the metadata agent's socket, where the namespaces' metadata proxies forward to
    metadata_proxy_socket: Path | None = None

    @classmethod
    def from_conf(cls, conf: Any) -> DhcpAgentConfig:
        """Build from an oslo.config object made by ``neutrino.conf.dhcp``."""
        settings = Settings(
            lease_duration=conf.dhcp_lease_duration, dns_domain=conf.dns_domain or "",
            dns_servers=tuple(conf.dnsmasq_dns_servers), lease_max=conf.dnsmasq_lease_max,
            enable_isolated_metadata=conf.enable_isolated_metadata,
            force_metadata=conf.force_metadata, local_resolv=conf.dnsmasq_local_resolv,
            config_file=conf.dnsmasq_config_file, renewal_time=conf.dhcp_renewal_time,
            rebinding_time=conf.dhcp_rebinding_time,
            broadcast_reply=conf.dhcp_broadcast_reply)
        confs = conf.dhcp_confs or str(Path(conf.state_path) / "dhcp")
        return cls(host=conf.host, confs_dir=Path(confs).absolute(), dnsmasq=settings,
                   integration_bridge=conf.ovs.integration_bridge,
                   num_sync_threads=conf.num_sync_threads,
                   resync_interval=float(conf.resync_interval),
                   report_interval=float(conf.agent.report_interval),
                   dhcp_driver=conf.dhcp_driver,
                   log_agent_heartbeats=conf.agent.log_agent_heartbeats,
                   availability_zone=conf.agent.availability_zone,
                   metadata_proxy_socket=Path(conf.metadata_proxy_socket).absolute())
