"""Subnet pools: the attribute map, prefix rules and errors (Neutron's).

The ``subnetpools`` collection (extensions ``subnet_allocation``,
``subnetpool-prefix-ops``, ``default-subnetpools``), its ``add_prefixes`` and
``remove_prefixes`` member actions, and the exception types whose names and messages
are part of the wire format (``NeutronError.type``).
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource, standard_attrs

ALIASES = ["subnet_allocation", "subnetpool-prefix-ops", "default-subnetpools"]
PREFIX_ACTIONS = ("add_prefixes", "remove_prefixes")
# Bounds by IP version: (default min_prefixlen, default max_prefixlen).
PREFIX_BOUNDS = {4: (8, 32), 6: (64, 128)}
# An IPv6 pool's default_quota counts /64 networks, an IPv4 one's addresses.
QUOTA_UNIT_PREFIXLEN = {4: 32, 6: 64}


# --- errors (neutron_lib.exceptions) -------------------------------------------------

class SubnetPoolNotFound(exc.NotFound):
    message = "Subnet pool %(subnetpool_id)s could not be found."


class EmptySubnetPoolPrefixList(exc.BadRequest):
    message = "Empty subnet pool prefix list."


class PrefixVersionMismatch(exc.BadRequest):
    message = "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."


class IllegalSubnetPoolPrefixBounds(exc.BadRequest):
    message = ("Illegal prefix bounds: %(prefix_type)s=%(prefixlen)s, "
               "%(base_prefix_type)s=%(base_prefixlen)s.")


class IllegalSubnetPoolPrefixUpdate(exc.BadRequest):
    message = "Illegal update to prefixes: %(msg)s."


class IllegalSubnetPoolUpdate(exc.BadRequest):
    message = "Illegal subnetpool update : %(reason)s."


class SubnetPoolDeleteError(exc.BadRequest):
    message = "Unable to delete subnet pool: %(reason)s."


class SubnetAllocationError(exc.Conflict):
    message = "Failed to allocate subnet: %(reason)s."


class MinPrefixSubnetAllocationError(exc.BadRequest):
    message = ("Unable to allocate subnet with prefix length %(prefixlen)s, minimum "
               "allowed prefix is %(min_prefixlen)s.")


class MaxPrefixSubnetAllocationError(exc.BadRequest):
    message = ("Unable to allocate subnet with prefix length %(prefixlen)s, maximum "
               "allowed prefix is %(max_prefixlen)s.")


class SubnetPoolQuotaExceeded(exc.Conflict):
    message = "Per-tenant subnet pool prefix quota exceeded."


class NetworkSubnetPoolAffinityError(exc.BadRequest):
    message = ("Subnets hosted on the same network must be allocated from the same "
               "subnet pool.")


class AddressScopePrefixConflict(exc.Conflict):
    message = ("Failed to associate address scope: subnetpools within an address scope "
               "must have unique prefixes.")


class IllegalSubnetPoolIpVersionAssociationToAddressScope(exc.BadRequest):
    message = ("Illegal subnetpool association: subnetpool %(subnetpool_id)s cannot "
               "associate with address scope %(address_scope_id)s because subnetpool "
               "ip_version is not %(ip_version)s.")


exc.register_not_found("subnetpool", SubnetPoolNotFound, "subnetpool_id")


def default_exists() -> exc.InvalidInput:
    return exc.InvalidInput(error_message=(
        "A default subnetpool for this IP family has already been set. Only one "
        "default may exist per IP family"))


def bad_subnet(msg: str) -> exc.BadRequest:
    return exc.BadRequest(resource="subnets", msg=msg)


# --- validators ---------------------------------------------------------------------

def _non_negative(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return f"'{value}' should be non-negative"
    return None


def _quota(value: Any) -> str | None:
    return None if value is None else _non_negative(value)


def _to_int_or_none(value: Any) -> Any:
    return None if value is None else v.to_int(value)


def _prefix_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"'{value}' is not a list"
    for item in value:
        problem = v.subnet_cidr(item)
        if problem:
            return problem
    return None


def parse_prefix_body(body: Any) -> list[str]:
    """The ``prefixes`` of an ``add_prefixes``/``remove_prefixes`` body, validated."""
    prefixes = body.get("prefixes") if isinstance(body, dict) else None
    if not prefixes or not isinstance(prefixes, list):
        raise exc.HTTPBadRequest(msg="Request body contains invalid data")
    problem = _prefix_list(prefixes)
    if problem:
        raise exc.InvalidInput(error_message=f"Invalid input for prefixes. Reason: "
                                             f"{problem}.")
    return [str(p) for p in prefixes]


def _prefixlen(name: str) -> Attr:
    return Attr(name, allow_post=True, allow_put=True, default=ATTR_NOT_SPECIFIED,
                convert=v.to_int, validate=_non_negative, is_filter=True, is_sort_key=True,
                convert_filter=v.to_int_filter)


def _attrs() -> dict[str, Attr]:
    attrs = {a.name: a for a in standard_attrs()}
    attrs.update({a.name: a for a in (
        Attr("prefixes", allow_post=True, allow_put=True, validate=_prefix_list),
        Attr("default_quota", allow_post=True, allow_put=True, default=None,
             convert=_to_int_or_none, validate=_quota, is_filter=True,
             convert_filter=v.to_int_filter),
        Attr("ip_version", is_filter=True, is_sort_key=True, convert_filter=v.to_int_filter),
        _prefixlen("default_prefixlen"), _prefixlen("min_prefixlen"),
        _prefixlen("max_prefixlen"),
        Attr("is_default", allow_post=True, allow_put=True, default=False,
             convert=v.to_boolean, validate=v.boolean, is_filter=True, is_sort_key=True,
             enforce_policy=True, convert_filter=v.to_boolean),
        Attr("shared", allow_post=True, default=False, convert=v.to_boolean,
             validate=v.boolean, is_filter=True, is_sort_key=True, enforce_policy=True,
             convert_filter=v.to_boolean),
        Attr("address_scope_id", allow_post=True, allow_put=True, default=None,
             validate=v.uuid_or_none, is_filter=True),
    )})
    return attrs


SUBNETPOOLS = Resource("subnetpools", "subnetpool", _attrs())
