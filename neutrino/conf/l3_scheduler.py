"""[DEFAULT] options of the server's L3 agent scheduling (Neutron's names and defaults)."""

from __future__ import annotations

from oslo_config import cfg

LEAST_ROUTERS = "neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler"
CHANCE = "neutron.scheduler.l3_agent_scheduler.ChanceScheduler"
AZ_LEAST_ROUTERS = "neutron.scheduler.l3_agent_scheduler.AZLeastRoutersScheduler"

OPTS = [
    cfg.StrOpt("router_scheduler_driver", default=LEAST_ROUTERS,
               choices=[LEAST_ROUTERS, CHANCE, AZ_LEAST_ROUTERS],
               help="How a router's L3 agent is chosen among the candidates: the one "
                    "hosting the fewest routers (least-routers, also the "
                    "availability-zone-aware variant: hints always steer) or at random "
                    "(chance)."),
    cfg.BoolOpt("router_auto_schedule", default=True,
                help="Schedule routers that have no L3 agent: when they are created or "
                     "get a gateway or an interface, and when an L3 agent asks for its "
                     "routers."),
    cfg.BoolOpt("allow_automatic_l3agent_failover", default=False,
                help="Move routers away from L3 agents that stopped reporting for "
                     "agent_down_time."),
    cfg.ListOpt("default_availability_zones", default=[],
                help="Availability zones of a network or router created without "
                     "availability_zone_hints (none: any zone)."),
]


def register(conf: cfg.ConfigOpts) -> None:
    for opt in OPTS:
        try:
            conf.register_opt(opt)
        except cfg.DuplicateOptError:
            # default_availability_zones serves networks as well: whoever registers it
            # first (with other help text) owns it.
            if opt.dest != "default_availability_zones":
                raise
