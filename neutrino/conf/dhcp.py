"""dhcp_agent.ini options and the DHCP options of neutron.conf, in Neutron's names.

``make_dhcp_agent_conf()`` builds the DHCP agent's configuration from
``--config-file neutron.conf --config-file dhcp_agent.ini``: these options, the [ovs] and
[agent] sections the OVS agent shares (``ovsdb_connection``, ``integration_bridge``,
``report_interval``) and the server's [DEFAULT] options, so the same files load unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from neutrino.conf import (
    ConfigError,
    _file_setting,
    agent,
    make_conf,
    metadata,
    register_missing,
)

# What neutron.conf says about DHCP (read by the server too).
NEUTRON_OPTS = [
    cfg.IntOpt("dhcp_lease_duration", default=86400,
               help="DHCP lease duration in seconds; -1 means infinite."),
    cfg.StrOpt("dns_domain", default="openstacklocal",
               help="Domain of the host names dnsmasq gives ports."),
]

DHCP_AGENT_OPTS = [
    cfg.StrOpt("interface_driver", default="openvswitch",
               help="How DHCP devices are plugged: 'openvswitch' (or Neutron's "
                    "neutron.agent.linux.interface.OVSInterfaceDriver)."),
    cfg.StrOpt("dhcp_driver", default="neutron.agent.linux.dhcp.Dnsmasq",
               help="The DHCP server driver; only dnsmasq (Neutron's class path names it)."),
    cfg.StrOpt("dhcp_confs", help="Where each network's dnsmasq files live "
                                  "(default: $state_path/dhcp)."),
    cfg.IntOpt("num_sync_threads", default=4, min=1,
               help="Networks synchronised in parallel."),
    cfg.IntOpt("resync_interval", default=5, min=1,
               help="Seconds before a network whose sync failed is synchronised again; "
                    "networks that did not fail are never polled."),
    cfg.BoolOpt("enable_isolated_metadata", default=False,
                help="Serve metadata from the DHCP namespace on subnets without a router "
                     "(a 169.254.169.254 route through the DHCP port)."),
    cfg.BoolOpt("force_metadata", default=False,
                help="Serve metadata from the DHCP namespace on every IPv4 subnet."),
    cfg.BoolOpt("enable_metadata_network", default=False,
                help="Serve metadata on networks with a 169.254.169.254/16 subnet; "
                     "needs enable_isolated_metadata."),
    cfg.ListOpt("dnsmasq_dns_servers", default=[],
                help="Upstream DNS servers dnsmasq forwards to (--server)."),
    cfg.IntOpt("dnsmasq_lease_max", default=2 ** 24,
               help="Most leases one dnsmasq holds (--dhcp-lease-max)."),
    cfg.StrOpt("dnsmasq_config_file", default="",
               help="A dnsmasq configuration file to add (--conf-file)."),
    cfg.BoolOpt("dnsmasq_local_resolv", default=False,
                help="Let dnsmasq use the host's resolv.conf (else --no-resolv)."),
    cfg.IntOpt("dhcp_renewal_time", default=0, help="DHCP option T1 in seconds; 0: unset."),
    cfg.IntOpt("dhcp_rebinding_time", default=0, help="DHCP option T2 in seconds; 0: unset."),
    cfg.BoolOpt("dhcp_broadcast_reply", default=False,
                help="Broadcast DHCP replies (--dhcp-broadcast)."),
]

REPORT_OPTS = [
    cfg.BoolOpt("log_agent_heartbeats", default=False, help="Log every heartbeat."),
    # Neutron's [AGENT] availability_zone, "nova" as Nova's and Cinder's default zone.
    cfg.StrOpt("availability_zone", default="nova",
               help="Availability zone of this node, reported with the heartbeat."),
]

INTERFACE_DRIVERS = frozenset({
    "openvswitch", "neutron.agent.linux.interface.OVSInterfaceDriver",
})
DHCP_DRIVERS = frozenset({"dnsmasq", "neutron.agent.linux.dhcp.Dnsmasq"})


def register(conf: cfg.ConfigOpts) -> None:
    """Register the DHCP agent's options (and the OVS agent's [ovs]/[agent]) on ``conf``."""
    agent.register(conf)
    register_missing(conf, NEUTRON_OPTS)
    register_missing(conf, DHCP_AGENT_OPTS)
    register_missing(conf, REPORT_OPTS, group="agent")
    metadata.register_shared(conf)  # metadata_proxy_socket, for the namespaces' proxies


def make_dhcp_agent_conf(args: Sequence[str] = (), *, prog: str = "neutrino-dhcp-agent",
                         overrides: dict[str, dict[str, object]] | None = None
                         ) -> cfg.ConfigOpts:
    """Parse the DHCP agent's ``--config-file`` arguments into a validated ConfigOpts."""
    conf = make_conf(args, prog=prog, overrides=overrides, extra=register)
    check_dhcp_agent_conf(conf)
    return conf


def check_dhcp_agent_conf(conf: cfg.ConfigOpts) -> None:
    """Refuse drivers Neutrino does not have, naming the file that chose them."""
    for name, allowed in (("interface_driver", INTERFACE_DRIVERS),
                          ("dhcp_driver", DHCP_DRIVERS)):
        value = (getattr(conf, name) or "").strip().replace(":", ".")
        if value not in allowed:
            raise ConfigError(f"{_file_setting(conf, 'DEFAULT', name)}: {name} = {value} is "
                              f"not supported; use {' or '.join(sorted(allowed))}")
