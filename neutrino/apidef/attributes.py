"""Resource attribute maps: what each attribute accepts, defaults to and shows.

One ``Resource`` per collection. The controller drives validation, defaults,
attribute-level policy, filters, sorting and field selection from these maps, so a
service plugin adds a collection by declaring a ``Resource`` and nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from neutrino.apidef import validators as v


class _NotSpecified:
    """Marks an attribute the request did not give (distinct from an explicit None)."""

    _instance: _NotSpecified | None = None

    def __new__(cls) -> _NotSpecified:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ATTR_NOT_SPECIFIED"

    def __bool__(self) -> bool:
        return False


ATTR_NOT_SPECIFIED: Any = _NotSpecified()
REQUIRED: Any = object()


@dataclasses.dataclass(frozen=True)
class Attr:
    """How one attribute behaves on POST, PUT, GET, in filters and in policy."""

    name: str
    allow_post: bool = False
    allow_put: bool = False
    default: Any = REQUIRED
    convert: Callable[[Any], Any] | None = None
    validate: v.Validator | None = None
    is_visible: bool = True
    is_filter: bool = False
    is_sort_key: bool = False
    enforce_policy: bool = False
    convert_filter: Callable[[str], Any] | None = None

    @property
    def required_on_post(self) -> bool:
        return self.allow_post and self.default is REQUIRED


@dataclasses.dataclass(frozen=True)
class Resource:
    """A collection of the API: its names, attributes and sub-resources."""

    collection: str
    member: str
    attrs: dict[str, Attr]
    allow_bulk: bool = True
    has_tags: bool = True
    # The name policy rules use when it is not ``member`` (a sub-resource's rules are
    # ``<op>_<parent member>_<member>``).
    policy_member: str | None = None
    # The URL segment when it is not the collection: ``/v2.0/security-groups`` serves
    # the ``security_groups`` collection (its JSON key and method names), as in Neutron.
    path: str | None = None

    @property
    def url(self) -> str:
        return self.path or self.collection

    def visible(self) -> list[str]:
        return [name for name, attr in self.attrs.items() if attr.is_visible]


def _attrs(*items: Attr) -> dict[str, Attr]:
    return {a.name: a for a in items}


def standard_attrs(name_len: int = 255) -> list[Attr]:
    """The attributes every standard resource carries."""
    return [
        Attr("id", is_filter=True, is_sort_key=True),
        Attr("name", allow_post=True, allow_put=True, default="",
             validate=v.string(name_len), is_filter=True, is_sort_key=True),
        Attr("description", allow_post=True, allow_put=True, default="",
             validate=v.string(255), is_filter=True, is_sort_key=True),
        Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_filter=True, is_sort_key=True),
        Attr("tenant_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_filter=True, is_sort_key=True),
        Attr("created_at", is_filter=True, is_sort_key=True),
        Attr("updated_at", is_filter=True, is_sort_key=True),
        Attr("revision_number", is_filter=True, is_sort_key=True,
             convert_filter=v.to_int_filter),
        Attr("tags"),
    ]


def _bool(name: str, default: Any = True, put: bool = True, policy: bool = False) -> Attr:
    return Attr(name, allow_post=True, allow_put=put, default=default, convert=v.to_boolean,
                validate=v.boolean, is_filter=True, is_sort_key=True, enforce_policy=policy,
                convert_filter=v.to_boolean)


_SEGMENT_KEYS = {
    "provider:network_type": (False, v.string(255)),
    "provider:physical_network": (False, v.string_or_none(64)),
    "provider:segmentation_id": (False, v.int_or_none),
}


def _convert_segments(value: Any) -> Any:
    """Each multi-provider segment's segmentation_id to an int, as Neutron converts it."""
    if not isinstance(value, list):
        return value
    return [{**s, "provider:segmentation_id": v.to_int_or_none(
        s["provider:segmentation_id"])} if isinstance(s, dict)
        and "provider:segmentation_id" in s else s for s in value]


NETWORKS = Resource("networks", "network", _attrs(
    *standard_attrs(),
    _bool("admin_state_up"),
    Attr("status", is_filter=True, is_sort_key=True),
    _bool("shared", default=False, policy=True),
    _bool("router:external", default=False, policy=True),
    Attr("mtu", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         convert=v.to_int, validate=v.int_range(68, 65535), is_filter=True,
         is_sort_key=True, convert_filter=v.to_int_filter),
    Attr("subnets", default=[], is_filter=True),
    _bool("port_security_enabled", default=True),
    Attr("provider:network_type", allow_post=True, default=ATTR_NOT_SPECIFIED,
         validate=v.string(255), is_filter=True, enforce_policy=True),
    Attr("provider:physical_network", allow_post=True, default=ATTR_NOT_SPECIFIED,
         validate=v.string_or_none(64), is_filter=True, enforce_policy=True),
    Attr("provider:segmentation_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
         convert=v.to_int_or_none, is_filter=True, enforce_policy=True,
         convert_filter=v.to_int_filter),
    Attr("segments", allow_post=True, default=ATTR_NOT_SPECIFIED, convert=_convert_segments,
         validate=v.list_of(v.dict_with(_SEGMENT_KEYS)), enforce_policy=True),
    # network_availability_zone: hints on create only, zones of the network's DHCP agents.
    Attr("availability_zone_hints", allow_post=True, default=[],
         validate=v.availability_zone_hints),
    Attr("availability_zones"),
    # The default external network (auto-allocated-topology) and the address scopes
    # of the network's subnet pools (address-scope): the subnetpools plugin's.
    Attr("is_default", allow_post=True, allow_put=True, default=False, convert=v.to_boolean,
         validate=v.boolean, is_filter=True, enforce_policy=True,
         convert_filter=v.to_boolean),
    Attr("ipv4_address_scope"),
    Attr("ipv6_address_scope"),
))

_POOL = v.dict_with({"start": (True, v.ip_address), "end": (True, v.ip_address)})
_ROUTE = v.dict_with({"destination": (True, v.ip_or_subnet_cidr),
                      "nexthop": (True, v.ip_address)})
_IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")

SUBNETS = Resource("subnets", "subnet", _attrs(
    *standard_attrs(),
    Attr("network_id", allow_post=True, validate=v.is_uuid, is_filter=True,
         is_sort_key=True),
    Attr("ip_version", allow_post=True, convert=v.to_int, validate=v.in_values(4, 6),
         is_filter=True, is_sort_key=True, convert_filter=v.to_int_filter),
    # Not required: a subnet from a pool gets its CIDR from the pool.
    Attr("cidr", allow_post=True, default=ATTR_NOT_SPECIFIED, validate=v.subnet_cidr,
         is_filter=True, is_sort_key=True),
    Attr("prefixlen", allow_post=True, default=ATTR_NOT_SPECIFIED, convert=v.to_int,
         validate=v.int_range(0, 128), is_visible=False),
    Attr("use_default_subnetpool", allow_post=True, default=False, convert=v.to_boolean,
         validate=v.boolean, is_visible=False),
    # Nullable attributes are not sort keys: keyset pagination over NULLs differs
    # between backends (NULLs first or last) and cannot use a NULL marker value.
    Attr("gateway_ip", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         validate=v.ip_address_or_none, is_filter=True),
    Attr("allocation_pools", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         validate=v.list_of(_POOL)),
    Attr("dns_nameservers", allow_post=True, allow_put=True, default=[],
         convert=v.to_list, validate=v.list_of(v.ip_address), is_filter=True),
    Attr("host_routes", allow_post=True, allow_put=True, default=[],
         convert=v.to_list, validate=v.list_of(_ROUTE)),
    _bool("enable_dhcp"),
    Attr("ipv6_ra_mode", allow_post=True, default=None,
         validate=lambda x: None if x is None else v.in_values(*_IPV6_MODES)(x),
         is_filter=True),
    Attr("ipv6_address_mode", allow_post=True, default=None,
         validate=lambda x: None if x is None else v.in_values(*_IPV6_MODES)(x),
         is_filter=True),
    Attr("subnetpool_id", allow_post=True, default=None, validate=v.uuid_or_none,
         is_filter=True),
    # Create-time only (routed provider networks; the segments plugin's segments).
    Attr("segment_id", allow_post=True, default=None, validate=v.uuid_or_none,
         is_filter=True),
))

_FIXED_IP = v.dict_with({"subnet_id": (False, v.is_uuid), "ip_address": (False, v.ip_address)})
_PAIR = v.dict_with({"ip_address": (True, v.ip_or_subnet_cidr),
                     "mac_address": (False, v.mac_address)})
_DHCP_OPT = v.dict_with({"opt_name": (True, v.string(64)),
                         "opt_value": (True, v.string_or_none(255)),
                         "ip_version": (False, v.in_values(4, 6))})
VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical",
              "virtio-forwarder", "smart-nic", "vdpa", "remote-managed")

PORTS = Resource("ports", "port", _attrs(
    *standard_attrs(),
    Attr("tags", allow_post=True, default=ATTR_NOT_SPECIFIED, validate=v.list_of(v.tag)),
    Attr("network_id", allow_post=True, validate=v.is_uuid, is_filter=True,
         is_sort_key=True),
    _bool("admin_state_up"),
    Attr("mac_address", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         convert=v.to_lower_mac, validate=v.mac_address, is_filter=True,
         is_sort_key=True, enforce_policy=True, convert_filter=v.to_lower_mac),
    Attr("fixed_ips", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         convert=v.to_list, validate=v.list_of(_FIXED_IP, unique=False), is_filter=True,
         enforce_policy=True),
    Attr("device_id", allow_post=True, allow_put=True, default="", validate=v.string(255),
         is_filter=True, is_sort_key=True),
    Attr("device_owner", allow_post=True, allow_put=True, default="",
         validate=v.string(255), is_filter=True, is_sort_key=True, enforce_policy=True),
    Attr("status", is_filter=True, is_sort_key=True),
    _bool("port_security_enabled", default=ATTR_NOT_SPECIFIED, policy=True),
    Attr("allowed_address_pairs", allow_post=True, allow_put=True,
         default=ATTR_NOT_SPECIFIED, convert=v.to_list, validate=v.list_of(_PAIR),
         enforce_policy=True),
    Attr("extra_dhcp_opts", allow_post=True, allow_put=True, default=[],
         convert=v.to_list, validate=v.list_of(_DHCP_OPT)),
    # Ids of groups the port's project may use (Neutron's securitygroup extension).
    Attr("security_groups", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         convert=v.to_list, validate=v.list_of(v.is_uuid), is_filter=True),
    Attr("binding:host_id", allow_post=True, allow_put=True, default="",
         validate=v.string(255), is_filter=True, enforce_policy=True),
    Attr("binding:vnic_type", allow_post=True, allow_put=True, default="normal",
         validate=v.in_values(*VNIC_TYPES), is_filter=True, enforce_policy=True),
    Attr("binding:profile", allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
         validate=v.dict_or_none, enforce_policy=True),
    Attr("binding:vif_type", is_filter=True, enforce_policy=True),
    Attr("binding:vif_details", enforce_policy=True),
    # Shown when the segments plugin is loaded (the ip_allocation extension).
    Attr("ip_allocation"),
))

CORE_RESOURCES = (NETWORKS, SUBNETS, PORTS)
