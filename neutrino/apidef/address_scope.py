"""Address scopes: the attribute map and errors (Neutron's ``address-scope`` extension).

An address scope groups subnet pools of one IP version whose prefixes never overlap;
networks show the scope of their subnets' pools as ``ipv4_address_scope`` and
``ipv6_address_scope``.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource, standard_attrs

ALIASES = ["address-scope"]


class AddressScopeNotFound(exc.NotFound):
    message = "Address scope %(address_scope_id)s could not be found."


class AddressScopeInUse(exc.InUse):
    message = ("Unable to complete operation on address scope %(address_scope_id)s. There "
               "are one or more subnet pools in use on the address scope.")


class AddressScopeUpdateError(exc.BadRequest):
    message = "Unable to update address scope %(address_scope_id)s : %(reason)s."


exc.register_not_found("address_scope", AddressScopeNotFound, "address_scope_id")


def _attrs() -> dict[str, Attr]:
    attrs = {a.name: a for a in standard_attrs()}
    attrs.update({a.name: a for a in (
        Attr("shared", allow_post=True, allow_put=True, default=False, convert=v.to_boolean,
             validate=v.boolean, is_filter=True, is_sort_key=True, enforce_policy=True,
             convert_filter=v.to_boolean),
        Attr("ip_version", allow_post=True, convert=v.to_int, validate=v.in_values(4, 6),
             is_filter=True, is_sort_key=True, convert_filter=v.to_int_filter),
    )})
    return attrs


ADDRESS_SCOPES = Resource("address_scopes", "address_scope", _attrs(), path="address-scopes")
