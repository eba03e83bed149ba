"""[ovs], [agent] and [securitygroup] options of openvswitch_agent.ini, in Neutron's names.

``make_agent_conf()`` builds the agent's configuration: the [DEFAULT] options it shares
with the server (``host``, ``transport_url``) plus these sections, parsed from
``--config-file neutron.conf --config-file openvswitch_agent.ini`` and validated.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from neutrino.conf import ConfigError, _file_setting, make_conf

OVS_OPTS = [
    cfg.StrOpt("integration_bridge", default="br-int",
               help="The integration bridge every VIF is plugged into."),
    cfg.StrOpt("tunnel_bridge", default="br-tun", help="The tunnel bridge."),
    cfg.StrOpt("int_peer_patch_port", default="patch-tun",
               help="Patch port on the integration bridge towards the tunnel bridge."),
    cfg.StrOpt("tun_peer_patch_port", default="patch-int",
               help="Patch port on the tunnel bridge towards the integration bridge."),
    cfg.IPOpt("local_ip",
              help="This host's tunnel endpoint address (required with tunnel_types)."),
    cfg.ListOpt("bridge_mappings", default=[],
                help="physnet:bridge pairs: the OVS bridge of each physical network."),
    cfg.StrOpt("datapath_type", default="system", choices=["system", "netdev"],
               help="OVS datapath of the bridges the agent creates (netdev = userspace)."),
    cfg.StrOpt("ovsdb_connection", default="unix:/var/run/openvswitch/db.sock",
               help="OVSDB server to manage (unix:<path>, tcp:<ip>:<port>)."),
    cfg.IntOpt("ovsdb_timeout", default=10, min=1,
               help="Seconds to wait for an OVSDB transaction."),
]

AGENT_OPTS = [
    cfg.ListOpt("tunnel_types", default=[], item_type=cfg.types.String(
        choices=["vxlan", "gre", "geneve"]),
        help="Tunnel types this agent serves (vxlan, gre, geneve)."),
    cfg.BoolOpt("l2_population", default=False,
                help="Use the l2population driver's FDB entries for tunnels and flooding."),
    cfg.BoolOpt("arp_responder", default=False,
                help="Answer ARP requests for known remote ports inside br-tun; "
                     "ignored (as Neutron does) without l2_population."),
    cfg.FloatOpt("report_interval", default=30.0, min=0.1,
                 help="Seconds between heartbeats; at most half of the server's "
                      "agent_down_time."),
    cfg.IntOpt("polling_interval", default=2, min=1,
               help="Seconds between OVS health (canary) checks. VIFs are not polled: "
                    "an OVSDB monitor reports them. Kept for compatibility."),
    cfg.PortOpt("vxlan_udp_port", default=4789, help="UDP port of VXLAN tunnels."),
]

# Every spelling of a firewall driver Neutron's OVS agent accepts, by what it means here.
# The ``openvswitch``/``noop`` entry-point names and the class paths they stand for.
FIREWALL_DRIVERS = {
    "openvswitch": "openvswitch",
    "neutron.agent.linux.openvswitch_firewall.OVSFirewallDriver": "openvswitch",
    "neutron.agent.linux.openvswitch_firewall.firewall.OVSFirewallDriver": "openvswitch",
    "noop": "noop",
    "neutron.agent.firewall.NoopFirewallDriver": "noop",
    "neutron.agent.linux.firewall.NoopFirewallDriver": "noop",
}
# Drivers that need iptables and the hybrid (linux bridge per port) plugging: refused.
UNSUPPORTED_FIREWALL_DRIVERS = frozenset({
    "iptables_hybrid", "iptables",
    "neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver",
    "neutron.agent.linux.iptables_firewall.IptablesFirewallDriver",
})

SECURITYGROUP_OPTS = [
    cfg.StrOpt("firewall_driver", default="noop",
               help="How this agent enforces security groups: 'openvswitch' (OpenFlow "
                    "rules with conntrack on br-int) or 'noop' (no filtering). Neutron's "
                    "class paths and entry-point names for these two are accepted; "
                    "iptables_hybrid and iptables are refused at start-up. The default "
                    "is noop, as in Neutron's OVS agent when the option is unset, so an "
                    "existing openvswitch_agent.ini keeps its behaviour; deployments "
                    "(like devstack) set openvswitch."),
    cfg.BoolOpt("enable_security_group", default=True,
                help="False turns the firewall off whatever firewall_driver says "
                     "(same as noop)."),
    cfg.BoolOpt("enable_ipset", default=True,
                help="Accepted for compatibility; no effect here: the openvswitch "
                     "firewall matches remote-group members with conjunctive flows, "
                     "never ipsets."),
    cfg.ListOpt("permitted_ethertypes", default=[],
                help="Ethertypes (hex, like 0x4008) the OVS firewall lets every filtered "
                     "port send and receive besides IP, ARP and ND, as Neutron's."),
]


def register(conf: cfg.ConfigOpts) -> None:
    """Register [ovs], [agent] and [securitygroup] on ``conf``."""
    conf.register_opts(OVS_OPTS, group="ovs")
    conf.register_opts(AGENT_OPTS, group="agent")
    conf.register_opts(SECURITYGROUP_OPTS, group="securitygroup")


def make_agent_conf(args: Sequence[str] = (), *, prog: str = "neutrino-ovs-agent",
                    overrides: dict[str, dict[str, object]] | None = None
                    ) -> cfg.ConfigOpts:
    """Parse the agent's ``--config-file`` arguments into a new, validated ConfigOpts.

    The server's sections are registered too, so the same ``neutron.conf`` is accepted.
    ``overrides`` maps group (``"DEFAULT"`` for the default group) to option -> value.
    """
    conf = make_conf(args, prog=prog, overrides=overrides, extra=register)
    check_agent_conf(conf)
    return conf


def parse_bridge_mappings(mappings: Sequence[str]) -> dict[str, str]:
    """``["physnet1:br-eth1", …]`` -> ``{"physnet1": "br-eth1"}``; ConfigError if malformed."""
    result: dict[str, str] = {}
    for item in mappings:
        physnet, sep, bridge = item.strip().partition(":")
        if not sep or not physnet or not bridge:
            raise ConfigError(f"[ovs] bridge_mappings: {item!r} is not physnet:bridge")
        if physnet in result:
            raise ConfigError(f"[ovs] bridge_mappings: physnet {physnet} mapped twice")
        result[physnet] = bridge
    return result


def firewall_driver(conf: cfg.ConfigOpts) -> str:
    """``[securitygroup] firewall_driver`` as ``openvswitch`` or ``noop``; ConfigError else."""
    value = (conf.securitygroup.firewall_driver or "noop").strip()
    # setup.cfg's entry points spell a class path module:Class
    if value.replace(":", ".") in FIREWALL_DRIVERS:
        return FIREWALL_DRIVERS[value.replace(":", ".")]
    where = _file_setting(conf, "securitygroup", "firewall_driver")
    supported = "openvswitch or noop (or Neutron's class paths for them)"
    if value.replace(":", ".") in UNSUPPORTED_FIREWALL_DRIVERS:
        raise ConfigError(f"{where}: [securitygroup] firewall_driver = {value} is not "
                          f"supported (it needs iptables and hybrid plugging); use "
                          f"{supported}")
    raise ConfigError(f"{where}: [securitygroup] firewall_driver = {value} is unknown; "
                      f"use {supported}")


def effective_firewall_driver(conf: cfg.ConfigOpts) -> str:
    """The driver the agent runs: ``noop`` when ``enable_security_group`` is False.

    Then ``firewall_driver`` is not even checked: old files that disable security groups
    often still name iptables_hybrid, and nothing of it would be used.
    """
    if not conf.securitygroup.enable_security_group:
        return "noop"
    return firewall_driver(conf)


def parse_ethertypes(values: Sequence[str]) -> tuple[int, ...]:
    """``["0x4008", …]`` -> ``(0x4008, …)``; ConfigError if not a hex ethertype."""
    result = []
    for value in values:
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else -1
        except ValueError:
            number = -1
        if not 0 <= number <= 0xFFFF:
            raise ConfigError(f"[securitygroup] permitted_ethertypes: {value!r} is not a "
                              f"hexadecimal ethertype like 0x4008")
        result.append(number)
    return tuple(result)


def check_agent_conf(conf: cfg.ConfigOpts) -> None:
    """Cross-option checks Neutron's agent makes at start-up."""
    parse_bridge_mappings(conf.ovs.bridge_mappings)
    effective_firewall_driver(conf)
    parse_ethertypes(conf.securitygroup.permitted_ethertypes)
    if conf.agent.tunnel_types and not conf.ovs.local_ip:
        raise ConfigError("[ovs] local_ip is required when [agent] tunnel_types is set")
