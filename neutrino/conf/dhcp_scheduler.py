"""[DEFAULT] options of the server's DHCP agent scheduling (Neutron's names and defaults)."""

from __future__ import annotations

from oslo_config import cfg

OPTS = [
    cfg.IntOpt("dhcp_agents_per_network", default=1, min=1,
               help="DHCP agents that serve each network with a DHCP-enabled subnet."),
    cfg.BoolOpt("network_auto_schedule", default=True,
                help="Schedule networks that have no DHCP agent yet to a DHCP agent "
                     "when it asks for its networks."),
    cfg.BoolOpt("allow_automatic_dhcp_failover", default=True,
                help="Move networks away from DHCP agents that stopped reporting."),
    cfg.BoolOpt("enable_services_on_agents_with_admin_state_down", default=False,
                help="Keep serving networks on agents set admin_state_up=False (they "
                     "still get no new networks by scheduling)."),
    cfg.StrOpt("network_scheduler_driver",
               default="neutron.scheduler.dhcp_agent_scheduler.WeightScheduler",
               help="Accepted for compatibility; Neutrino always schedules to the "
                    "alive agent hosting the fewest networks."),
    cfg.StrOpt("dhcp_load_type", default="networks",
               choices=["networks", "subnets", "ports"],
               help="Accepted for compatibility; load is the count of hosted networks."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
