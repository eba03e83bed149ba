"""[ovs] and [agent] options of openvswitch_agent.ini, in Neutron's names and defaults.

``make_agent_conf()`` builds the agent's configuration: the [DEFAULT] options it shares
with the server (``host``, ``transport_url``) plus these sections, parsed from
``--config-file neutron.conf --config-file openvswitch_agent.ini`` and validated.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from neutrino.conf import ConfigError, make_conf

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


def register(conf: cfg.ConfigOpts) -> None:
    """Register [ovs] and [agent] on ``conf``."""
    conf.register_opts(OVS_OPTS, group="ovs")
    conf.register_opts(AGENT_OPTS, group="agent")


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


def check_agent_conf(conf: cfg.ConfigOpts) -> None:
    """Cross-option checks Neutron's agent makes at start-up."""
    parse_bridge_mappings(conf.ovs.bridge_mappings)
    if conf.agent.tunnel_types and not conf.ovs.local_ip:
        raise ConfigError("[ovs] local_ip is required when [agent] tunnel_types is set")
