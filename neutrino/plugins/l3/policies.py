"""Neutron's default policy rules for routers, floating IPs and port forwardings.

A member action's rule is named ``<action>_router`` by the API layer; each one
defers to Neutron's own name (``add_router_interface``), so a policy file written
for Neutron applies unchanged.
"""

from __future__ import annotations

_ADMIN = "rule:admin_only"
_OWNER = "rule:admin_or_owner"

POLICY_RULES: dict[str, str] = {
    "create_router": _OWNER,
    "create_router:external_gateway_info": _OWNER,
    "create_router:external_gateway_info:network_id": _OWNER,
    "create_router:external_gateway_info:enable_snat": _ADMIN,
    "create_router:external_gateway_info:external_fixed_ips": _ADMIN,
    "get_router": _OWNER,
    "update_router": _OWNER,
    "update_router:external_gateway_info": _OWNER,
    "update_router:external_gateway_info:network_id": _OWNER,
    "update_router:external_gateway_info:enable_snat": _ADMIN,
    "update_router:external_gateway_info:external_fixed_ips": _ADMIN,
    "delete_router": _OWNER,
    "add_router_interface": _OWNER,
    "remove_router_interface": _OWNER,
    "add_extraroutes": _OWNER,
    "remove_extraroutes": _OWNER,
    "add_router_interface_router": "rule:add_router_interface",
    "remove_router_interface_router": "rule:remove_router_interface",
    "add_extraroutes_router": "rule:add_extraroutes",
    "remove_extraroutes_router": "rule:remove_extraroutes",
    "create_floatingip": _OWNER,
    "create_floatingip:floating_ip_address": _ADMIN,
    "get_floatingip": _OWNER,
    "update_floatingip": _OWNER,
    "delete_floatingip": _OWNER,
    "create_floatingip_port_forwarding": _OWNER,
    "get_floatingip_port_forwarding": _OWNER,
    "update_floatingip_port_forwarding": _OWNER,
    "delete_floatingip_port_forwarding": _OWNER,
}
