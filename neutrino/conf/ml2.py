"""[ml2] and [ml2_type_*] options of ml2_conf.ini."""

from __future__ import annotations

from oslo_config import cfg

ML2_OPTS = [
    cfg.ListOpt("type_drivers", default=["local", "flat", "vlan", "gre", "vxlan", "geneve"],
                help="Network type drivers to load."),
    cfg.ListOpt("tenant_network_types", default=["local"],
                deprecated_name="project_network_types",
                help="Ordered network types to allocate project networks from."),
    cfg.ListOpt("mechanism_drivers", default=[],
                help="Ordered mechanism drivers (entry points or module:Class)."),
    cfg.ListOpt("extension_drivers", default=[], help="Extension drivers (unused)."),
    cfg.IntOpt("path_mtu", default=0,
               help="Maximum MTU of the overlay underlay; 0 uses global_physnet_mtu."),
    cfg.ListOpt("physical_network_mtus", default=[],
                help="physnet:mtu pairs for physical networks."),
    cfg.IntOpt("overlay_ip_version", default=4, choices=[4, 6],
               help="IP version of tunnel endpoints."),
]

FLAT_OPTS = [
    cfg.ListOpt("flat_networks", default=["*"],
                help="Physical networks allowed for flat networks; '*' allows any."),
]
VLAN_OPTS = [
    cfg.ListOpt("network_vlan_ranges", default=[],
                help="physnet[:vlan_min:vlan_max] entries for VLAN networks."),
]
GRE_OPTS = [
    cfg.ListOpt("tunnel_id_ranges", default=[], help="tun_min:tun_max ranges of GRE ids."),
]
VXLAN_OPTS = [
    cfg.ListOpt("vni_ranges", default=[], help="vni_min:vni_max ranges of VXLAN VNIs."),
    cfg.StrOpt("vxlan_group", help="Multicast group for VXLAN (unused by l2pop)."),
]
GENEVE_OPTS = [
    cfg.ListOpt("vni_ranges", default=[], help="vni_min:vni_max ranges of Geneve VNIs."),
    cfg.IntOpt("max_header_size", default=30, help="Geneve encapsulation header size."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(ML2_OPTS, group="ml2")
    conf.register_opts(FLAT_OPTS, group="ml2_type_flat")
    conf.register_opts(VLAN_OPTS, group="ml2_type_vlan")
    conf.register_opts(GRE_OPTS, group="ml2_type_gre")
    conf.register_opts(VXLAN_OPTS, group="ml2_type_vxlan")
    conf.register_opts(GENEVE_OPTS, group="ml2_type_geneve")
