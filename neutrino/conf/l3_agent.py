"""l3_agent.ini options, in Neutron's names.

``make_l3_agent_conf()`` builds the L3 agent's configuration from ``--config-file
neutron.conf --config-file l3_agent.ini``: these options, the [ovs] and [agent] sections
the other agents share (``ovsdb_connection``, ``integration_bridge``, ``report_interval``),
the metadata proxy socket and the server's [DEFAULT] options, so the same files load
unchanged. Options of Neutron's agent that Neutrino has no use for (HA, DVR, radvd,
prefix delegation) are reported once each at start-up and ignored.
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

L3_AGENT_MODE_LEGACY = "legacy"

L3_AGENT_OPTS = [
    cfg.StrOpt("interface_driver", default="openvswitch",
               help="How router devices are plugged: 'openvswitch' (or Neutron's "
                    "neutron.agent.linux.interface.OVSInterfaceDriver)."),
    cfg.StrOpt("agent_mode", default=L3_AGENT_MODE_LEGACY,
               choices=["legacy", "dvr", "dvr_snat", "dvr_no_external"],
               help="The agent's mode; Neutrino implements 'legacy' (centralised routers "
                    "with SNAT and floating IPs in qrouter namespaces) only."),
    cfg.StrOpt("ovs_integration_bridge",
               help="Deprecated spelling of [ovs] integration_bridge; wins when set."),
    cfg.PortOpt("metadata_port", default=9697,
                help="Port the metadata proxy of each router listens on; guests' "
                     "169.254.169.254:80 is redirected there."),
    cfg.BoolOpt("enable_metadata_proxy", default=True,
                help="Run a metadata proxy in each router namespace."),
    cfg.BoolOpt("handle_internal_only_routers", default=True,
                help="Also host routers without an external gateway."),
    cfg.StrOpt("metadata_access_mark", default="0x1",
               help="Mangle mark of valid metadata requests (masked with 0xffff)."),
    cfg.StrOpt("external_ingress_mark", default="0x2",
               help="Mangle mark of packets coming in from the external network "
                    "(masked with 0xffff)."),
    cfg.IntOpt("periodic_interval", default=40, min=1,
               help="Seconds before a router whose processing failed is tried again "
                    "(routers that did not fail are never polled)."),
    cfg.IntOpt("send_arp_for_ha", default=3, min=0,
               help="Gratuitous ARPs sent for a new gateway or floating address; "
                    "0 sends none."),
]

L3_AGENT_SECTION_OPTS = [
    cfg.StrOpt("availability_zone", default="nova",
               help="Availability zone of this node, reported with the heartbeat."),
    cfg.ListOpt("extensions", default=[],
                help="Accepted for compatibility: port forwardings (Neutron's "
                     "'port_forwarding' extension) are always applied."),
    cfg.BoolOpt("log_agent_heartbeats", default=False, help="Log every heartbeat."),
]

INTERFACE_DRIVERS = frozenset({
    "openvswitch", "neutron.agent.linux.interface.OVSInterfaceDriver",
})


def register(conf: cfg.ConfigOpts) -> None:
    """Register the L3 agent's options (and the shared [ovs]/[agent]) on ``conf``."""
    agent.register(conf)
    register_missing(conf, L3_AGENT_OPTS)
    register_missing(conf, L3_AGENT_SECTION_OPTS, group="agent")
    metadata.register_shared(conf)  # metadata_proxy_socket, for the routers' proxies


def make_l3_agent_conf(args: Sequence[str] = (), *, prog: str = "neutrino-l3-agent",
                       overrides: dict[str, dict[str, object]] | None = None
                       ) -> cfg.ConfigOpts:
    """Parse the L3 agent's ``--config-file`` arguments into a validated ConfigOpts."""
    conf = make_conf(args, prog=prog, overrides=overrides, extra=register)
    check_l3_agent_conf(conf)
    return conf


def parse_mark(value: str, name: str) -> int:
    """``0x2`` -> 2, masked to the lower 16 bits as Neutron does; ConfigError if not a number."""
    try:
        return int(str(value).strip(), 0) & 0xFFFF
    except ValueError:
        raise ConfigError(f"{name} = {value!r} is not a number like 0x2") from None


def check_l3_agent_conf(conf: cfg.ConfigOpts) -> None:
    """Refuse what Neutrino cannot do, naming the file that asked for it."""
    driver = (conf.interface_driver or "").strip().replace(":", ".")
    if driver not in INTERFACE_DRIVERS:
        raise ConfigError(f"{_file_setting(conf, 'DEFAULT', 'interface_driver')}: "
                          f"interface_driver = {driver} is not supported; use "
                          f"{' or '.join(sorted(INTERFACE_DRIVERS))}")
    if conf.agent_mode != L3_AGENT_MODE_LEGACY:
        raise ConfigError(f"{_file_setting(conf, 'DEFAULT', 'agent_mode')}: agent_mode = "
                          f"{conf.agent_mode} is not supported (no DVR); use legacy")
    for name in ("metadata_access_mark", "external_ingress_mark"):
        mark = parse_mark(getattr(conf, name), name)
        if mark == 0:
            raise ConfigError(f"{_file_setting(conf, 'DEFAULT', name)}: {name} must not "
                              f"be 0 once masked with 0xffff")
