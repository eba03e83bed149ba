"""[DEFAULT] options of neutron.conf that the server honours."""

from __future__ import annotations

from oslo_config import cfg

OPTS = [
    cfg.StrOpt("core_plugin", default="ml2",
               help="The core plugin: an entry-point name or a module:Class path."),
    cfg.ListOpt("service_plugins", default=[],
                help="Service plugins to load (entry points in neutrino.service_plugins)."),
    cfg.StrOpt("auth_strategy", default="keystone", choices=["keystone", "noauth"],
               help="How requests are authenticated."),
    cfg.HostAddressOpt("bind_host", default="0.0.0.0", help="Address the API listens on."),
    cfg.PortOpt("bind_port", default=9696, help="Port the API listens on."),
    cfg.IntOpt("api_workers", min=0,
               help="API worker processes; 0 serves in-process threads (all-in-one)."),
    cfg.BoolOpt("allow_bulk", default=True, help="Allow bulk create of resources."),
    cfg.StrOpt("pagination_max_limit", default="-1",
               help="Largest page a list returns; -1 means unlimited."),
    cfg.StrOpt("base_mac", default="fa:16:3e:00:00:00",
               help="Base MAC address; the 4th octet may be non-zero to fix it too."),
    cfg.IntOpt("global_physnet_mtu", default=1500,
               help="MTU of the underlying physical network."),
    cfg.IntOpt("max_dns_nameservers", default=5, help="Maximum DNS nameservers per subnet."),
    cfg.IntOpt("max_subnet_host_routes", default=20, help="Maximum host routes per subnet."),
    cfg.BoolOpt("allow_overlapping_ips", default=True,
                help="Allow overlapping IP ranges across networks."),
    cfg.StrOpt("host", default="localhost", help="This node's host name."),
    cfg.IntOpt("agent_down_time", default=75,
               help="Seconds after the last heartbeat before an agent is down."),
    cfg.StrOpt("state_path", default=".", help="Where Neutrino keeps its state files."),
    cfg.BoolOpt("debug", default=False, help="Log at debug level."),
]


MIDDLEWARE_OPTS = [
    cfg.IntOpt("max_request_body_size", default=114688, min=0,
               help="Largest request body the API accepts, in bytes (413 above it); "
                    "0 means no limit. Neutron's default."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
    conf.register_opts(MIDDLEWARE_OPTS, group="oslo_middleware")
