"""Routers, floating IPs and port forwardings: attribute maps and errors (Neutron's).

The ``routers`` and ``floatingips`` collections (extensions ``router``,
``ext-gw-mode``, ``extraroute``, ``fip-port-details``), the
``floatingips/{id}/port_forwardings`` sub-resource, the device owners of the ports
a router owns, and the exception types whose names are part of the wire format.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource, standard_attrs

DEVICE_OWNER_ROUTER_INTF = "network:router_interface"
DEVICE_OWNER_ROUTER_GW = "network:router_gateway"
DEVICE_OWNER_FLOATINGIP = "network:floatingip"
L3_OWNERS = (DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_ROUTER_GW, DEVICE_OWNER_FLOATINGIP)
PROTOCOLS = ("tcp", "udp")


# --- errors (neutron_lib.exceptions.l3, extraroute, port_forwarding) ------------------

class RouterNotFound(exc.NotFound):
    message = "Router %(router_id)s could not be found"


class RouterInUse(exc.InUse):
    message = "Router %(router_id)s %(reason)s"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("reason", "still has ports")
        super().__init__(**kwargs)


class RouterInterfaceNotFound(exc.NotFound):
    message = "Router %(router_id)s does not have an interface with id %(port_id)s"


class RouterInterfaceNotFoundForSubnet(exc.NotFound):
    message = "Router %(router_id)s has no interface on subnet %(subnet_id)s"


class RouterInterfaceInUseByFloatingIP(exc.InUse):
    message = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be "
               "deleted, as it is required by one or more floating IPs.")


class RouterExternalGatewayInUseByFloatingIp(exc.InUse):
    message = ("Gateway cannot be updated for router %(router_id)s, since a gateway to "
               "external network %(net_id)s is required by one or more floating IPs.")


class FloatingIPNotFound(exc.NotFound):
    message = "Floating IP %(floatingip_id)s could not be found"


class ExternalGatewayForFloatingIPNotFound(exc.NotFound):
    message = ("External network %(external_network_id)s is not reachable from subnet "
               "%(subnet_id)s.  Therefore, cannot associate Port %(port_id)s with a "
               "Floating IP.")


class FloatingIPPortAlreadyAssociated(exc.InUse):
    message = ("Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with port "
               "%(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP already has a "
               "floating IP on external network %(net_id)s.")


class L3PortInUse(exc.InUse):
    message = ("Port %(port_id)s has owner %(device_owner)s and therefore cannot be deleted "
               "directly via the port API.")


class RouterInterfaceInUseByRoute(exc.InUse):
    message = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be "
               "deleted, as it is required by one or more routes.")


class PortInUse(exc.InUse):
    message = ("Unable to complete operation on port %(port_id)s for network %(net_id)s. "
               "Port already has an attached device %(device_id)s.")


class InvalidRoutes(exc.InvalidInput):
    message = "Invalid format for routes: %(routes)s, %(reason)s"


class PortForwardingNotFound(exc.NotFound):
    message = "Port Forwarding %(id)s could not be found."


class PortHasBindingFloatingIP(exc.InUse):
    message = ("Cannot create port forwarding to floating IP %(floating_ip_address)s "
               "(%(fip_id)s) with port %(port_id)s using fixed IP %(fixed_ip)s, as that "
               "floating IP already has a port forwarding or is bound to a port.")


class FipInUseByPortForwarding(exc.InUse):
    message = "Floating IP %(id)s in use by Port Forwarding resources."


class PortForwardingExists(exc.Conflict):
    message = ("A port forwarding of floating IP %(fip_id)s with external port "
               "%(external_port)s/%(protocol)s, or one from the same internal socket, "
               "already exists.")


exc.register_not_found("router", RouterNotFound, "router_id")
exc.register_not_found("floatingip", FloatingIPNotFound, "floatingip_id")
exc.register_not_found("port_forwarding", PortForwardingNotFound, "id")


# --- validators ---------------------------------------------------------------------

_FIXED_IP = v.dict_with({"subnet_id": (False, v.is_uuid), "ip_address": (False, v.ip_address)})
_GATEWAY = v.dict_with({"network_id": (True, v.is_uuid),
                        "enable_snat": (False, v.boolean),
                        "external_fixed_ips": (False, v.list_of(_FIXED_IP, unique=False))})
ROUTE = v.dict_with({"destination": (True, v.ip_or_subnet_cidr),
                     "nexthop": (True, v.ip_address)})


def _gateway_or_none(value: Any) -> str | None:
    return None if value is None else _GATEWAY(value)


def _convert_gateway(value: Any) -> Any:
    """``enable_snat`` as a boolean, ``external_fixed_ips`` as a list (Neutron converts)."""
    if not isinstance(value, dict):
        return value
    value = dict(value)
    if "enable_snat" in value:
        value["enable_snat"] = v.to_boolean(value["enable_snat"])
    if "external_fixed_ips" in value and value["external_fixed_ips"] is None:
        value["external_fixed_ips"] = []
    return value


ROUTE_LIST = v.list_of(ROUTE)


def _routes(value: Any) -> str | None:
    return ROUTE_LIST(value)


def _protocol(value: Any) -> str | None:
    return v.in_values(*PROTOCOLS)(value)


def _port_number(value: Any) -> str | None:
    return v.int_range(1, 65535)(value)


# --- attribute maps -----------------------------------------------------------------

def _std() -> dict[str, Attr]:
    return {a.name: a for a in standard_attrs()}


def _router_attrs() -> dict[str, Attr]:
    attrs = _std()
    attrs.update({a.name: a for a in (
        Attr("admin_state_up", allow_post=True, allow_put=True, default=True,
             convert=v.to_boolean, validate=v.boolean, is_filter=True, is_sort_key=True,
             convert_filter=v.to_boolean),
        Attr("status", is_filter=True, is_sort_key=True),
        Attr("external_gateway_info", allow_post=True, allow_put=True, default=None,
             convert=_convert_gateway, validate=_gateway_or_none, enforce_policy=True),
        # extraroute: set by PUT only, as in Neutron.
        Attr("routes", allow_put=True, default=ATTR_NOT_SPECIFIED, convert=v.to_list,
             validate=_routes),
        Attr("distributed", is_filter=True),
        Attr("ha", is_filter=True),
        # router_availability_zone: set on create only, as in Neutron.
        Attr("availability_zone_hints", allow_post=True, default=[],
             validate=v.availability_zone_hints),
        Attr("availability_zones"),
        Attr("flavor_id", is_filter=True),
    )})
    return attrs


ROUTERS = Resource("routers", "router", _router_attrs())


def _floatingip_attrs() -> dict[str, Attr]:
    std = _std()
    return {a.name: a for a in (
        std["id"],
        Attr("floating_ip_address", allow_post=True, default=None,
             validate=v.ip_address_or_none, is_filter=True, is_sort_key=True,
             enforce_policy=True),
        # Neutron takes it on POST but never shows it.
        Attr("subnet_id", allow_post=True, default=None, validate=v.uuid_or_none,
             is_visible=False),
        Attr("floating_network_id", allow_post=True, validate=v.is_uuid, is_filter=True,
             is_sort_key=True),
        Attr("router_id", is_filter=True),
        Attr("port_id", allow_post=True, allow_put=True, default=None,
             validate=v.uuid_or_none, is_filter=True),
        Attr("fixed_ip_address", allow_post=True, allow_put=True, default=None,
             validate=v.ip_address_or_none, is_filter=True),
        Attr("status", is_filter=True, is_sort_key=True),
        std["description"], std["project_id"], std["tenant_id"], std["created_at"],
        std["updated_at"], std["revision_number"], std["tags"],
        Attr("port_details"),
        Attr("port_forwardings"),
    )}


FLOATINGIPS = Resource("floatingips", "floatingip", _floatingip_attrs())


def _port_forwarding_attrs() -> dict[str, Attr]:
    std = _std()
    return {a.name: a for a in (
        std["id"],
        Attr("external_port", allow_post=True, allow_put=True, convert=v.to_int,
             validate=_port_number, is_filter=True, is_sort_key=True,
             convert_filter=v.to_int_filter),
        Attr("internal_port_id", allow_post=True, allow_put=True, validate=v.is_uuid,
             is_filter=True),
        Attr("internal_ip_address", allow_post=True, allow_put=True,
             validate=v.ip_address, is_filter=True),
        Attr("internal_port", allow_post=True, allow_put=True, convert=v.to_int,
             validate=_port_number, is_filter=True, convert_filter=v.to_int_filter),
        Attr("protocol", allow_post=True, allow_put=True, validate=_protocol,
             is_filter=True),
        Attr("description", allow_post=True, allow_put=True, default="",
             validate=v.string(255), is_filter=True),
        # The floating IP's owner, for policy; Neutron does not show it.
        Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_visible=False),
        Attr("tenant_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_visible=False),
    )}


PORT_FORWARDINGS = Resource("port_forwardings", "port_forwarding", _port_forwarding_attrs(),
                            has_tags=False, policy_member="floatingip_port_forwarding")
