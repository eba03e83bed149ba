"""Security groups and their rules: attribute maps, converters and errors (Neutron's).

The ``security-groups`` and ``security-group-rules`` collections, the protocol and
port conversions Neutron applies before validation, and the exception types whose
names and messages are part of the wire format (``NeutronError.type``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import netaddr

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource, standard_attrs

INGRESS = "ingress"
EGRESS = "egress"
IPV4 = "IPv4"
IPV6 = "IPv6"
ETHERTYPES = (IPV4, IPV6)
DEFAULT_NAME = "default"

# Protocol names Neutron accepts (neutron_lib.constants.IP_PROTOCOL_MAP) and their numbers.
IP_PROTOCOL_MAP: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58,
    "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113,
    "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
PROTO_ANY = "any"
# Protocols whose rules take port ranges (Neutron's SG_PORT_PROTO_NAMES).
PORT_PROTOCOLS = ("dccp", "sctp", "tcp", "udp", "udplite")
PORT_PROTOCOL_NUMBERS = frozenset(IP_PROTOCOL_MAP[p] for p in PORT_PROTOCOLS)
ICMP_NUMBERS = frozenset((1, 58))
# Protocols that exist only over IPv6: an IPv4 rule for them is refused.
IPV6_ONLY_PROTOCOLS = frozenset(("ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6",
                                 "ipv6-nonxt", "ipv6-opts", "ipv6-route"))
_SUPPORTED = [None, PROTO_ANY, *IP_PROTOCOL_MAP]


# --- errors (neutron_lib.exceptions.securitygroup and .port_security) ---------------

class SecurityGroupNotFound(exc.NotFound):
    message = "Security group %(id)s does not exist"


class SecurityGroupRuleNotFound(exc.NotFound):
    message = "Security group rule %(id)s does not exist"


class SecurityGroupInUse(exc.InUse):
    message = "Security Group %(id)s %(reason)s."

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("reason", "in use")
        super().__init__(**kwargs)


class SecurityGroupCannotRemoveDefault(exc.InUse):
    message = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(exc.InUse):
    message = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(exc.InUse):
    message = "Default security group already exists."


class SecurityGroupRuleExists(exc.InUse):
    message = "Security group rule already exists. Rule id is %(rule_id)s."


class DuplicateSecurityGroupRuleInPost(exc.InUse):
    message = "Duplicate Security Group Rule in POST."


class SecurityGroupRulesNotSingleTenant(exc.InvalidInput):
    message = "Multiple tenant_ids in bulk security group rule create not allowed"


class SecurityGroupRuleInvalidProtocol(exc.InvalidInput):
    message = ("Security group rule protocol %(protocol)s not supported. Only protocol "
               "values %(values)s and integer representations [0 to 255] are supported.")


class SecurityGroupRuleInvalidEtherType(exc.InvalidInput):
    message = ("Security group rule for ethertype '%(ethertype)s' not supported. "
               "Allowed values are %(values)s.")


class SecurityGroupInvalidPortValue(exc.InvalidInput):
    message = "Invalid value for port %(port)s"


class SecurityGroupInvalidPortRange(exc.InvalidInput):
    message = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidProtocolForPortRange(exc.InvalidInput):
    message = ("Invalid protocol %(protocol)s for port range, only supported for "
               "%(valid_port_protocols)s.")


class SecurityGroupInvalidIcmpValue(exc.InvalidInput):
    message = ("Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to "
               "255.")


class SecurityGroupMissingIcmpType(exc.InvalidInput):
    message = ("ICMP code (port-range-max) %(value)s is provided but ICMP type "
               "(port-range-min) is missing.")


class SecurityGroupProtocolRequiredWithPorts(exc.InvalidInput):
    message = "Must also specify protocol if port range is given."


class SecurityGroupRemoteGroupAndRemoteIpPrefix(exc.InvalidInput):
    message = "Only remote_ip_prefix or remote_group_id may be provided."


class SecurityGroupRuleParameterConflict(exc.InvalidInput):
    message = "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"


class SecurityGroupEthertypeConflictWithProtocol(exc.InvalidInput):
    message = "Invalid ethertype %(ethertype)s for protocol %(protocol)s."


class PortSecurityAndIPRequiredForSecurityGroups(exc.InvalidInput):
    message = ("Port security must be enabled and port must have an IP address in order "
               "to use security groups.")


class PortSecurityPortHasSecurityGroup(exc.InUse):
    message = ("Port has security group associated. Cannot disable port security or IP "
               "address until security group is removed.")


exc.register_not_found("security_group", SecurityGroupNotFound, "id")
exc.register_not_found("security_group_rule", SecurityGroupRuleNotFound, "id")


# --- converters ---------------------------------------------------------------------

def convert_protocol(value: Any) -> str | None:
    """A name (lower-cased) or a number 0–255 as a string; ``any`` is no protocol."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=_SUPPORTED)
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in _SUPPORTED:
            name = value.lower()
            return None if name == PROTO_ANY else name
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=_SUPPORTED) from None
    if 0 <= number <= 255:
        # Stored as a string, as Neutron does, so one column holds names and numbers.
        return str(number)
    raise SecurityGroupRuleInvalidProtocol(protocol=value, values=_SUPPORTED)


def protocol_number(protocol: str | None) -> int | None:
    """``tcp`` or ``"6"`` → 6; None for any protocol."""
    if protocol is None:
        return None
    if protocol in IP_PROTOCOL_MAP:
        return IP_PROTOCOL_MAP[protocol]
    return int(protocol)


def convert_port(value: Any) -> int | None:
    """A port (or ICMP type/code) 0–65535, or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SecurityGroupInvalidPortValue(port=value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SecurityGroupInvalidPortValue(port=value) from None
    if not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(port=value)
    return number


def convert_ethertype(value: Any) -> str:
    """``ipv4`` → ``IPv4``: Neutron accepts any case."""
    for ethertype in ETHERTYPES:
        if isinstance(value, str) and value.lower() == ethertype.lower():
            return ethertype
    raise SecurityGroupRuleInvalidEtherType(ethertype=value, values=list(ETHERTYPES))


def convert_ip_prefix(value: Any) -> Any:
    """A bare address gets its full-length prefix (``10.0.0.1`` → ``10.0.0.1/32``)."""
    if isinstance(value, str) and value and "/" not in value:
        try:
            address = netaddr.IPAddress(value)
        except (netaddr.AddrFormatError, ValueError):
            return value
        return f"{address}/{address.netmask_bits()}"
    return value


def normalized_cidr(prefix: str | None) -> str | None:
    """The network a prefix names (``10.0.0.1/24`` → ``10.0.0.0/24``)."""
    return None if prefix is None else str(netaddr.IPNetwork(prefix).cidr)


def _direction(value: Any) -> str | None:
    return v.in_values(INGRESS, EGRESS)(value)


def _convert(attr: str, fn: Any) -> Any:
    """A converter that raises the Neutron type of its error, not a generic 400."""
    def convert(value: Any) -> Any:
        try:
            return fn(value)
        except exc.NeutronException:
            raise
        except ValueError as e:
            raise exc.InvalidInput(error_message=f"Invalid input for {attr}. Reason: {e}.") \
                from None
    return convert


# --- attribute maps -----------------------------------------------------------------

def _filter(name: str, **kw: Any) -> Attr:
    return Attr(name, is_filter=True, is_sort_key=True, **kw)


def _name_not_default(value: Any) -> str | None:
    """Only the project's own default group is called ``default`` (409, as Neutron)."""
    msg = v.string(255)(value)
    if msg:
        return msg
    if value.lower() == DEFAULT_NAME:
        raise SecurityGroupDefaultAlreadyExists()
    return None


def _group_attrs() -> dict[str, Attr]:
    attrs = {a.name: a for a in standard_attrs()}
    attrs["name"] = dataclasses.replace(attrs["name"], validate=_name_not_default)
    attrs["tags"] = Attr("tags")
    attrs["stateful"] = Attr(
        "stateful", allow_post=True, allow_put=True, default=True, convert=v.to_boolean,
        validate=v.boolean, is_filter=True, is_sort_key=True, convert_filter=v.to_boolean)
    attrs["shared"] = Attr("shared", is_filter=True, convert_filter=v.to_boolean)
    attrs["security_group_rules"] = Attr("security_group_rules")
    return attrs


SECURITY_GROUPS = Resource("security_groups", "security_group", _group_attrs(),
                           path="security-groups")


def _rule_attrs() -> dict[str, Attr]:
    std = {a.name: a for a in standard_attrs()}
    return {a.name: a for a in (
        std["id"],
        _filter("security_group_id", allow_post=True, validate=v.is_uuid),
        _filter("direction", allow_post=True, validate=_direction),
        _filter("ethertype", allow_post=True, default=IPV4,
                convert=_convert("ethertype", convert_ethertype)),
        Attr("protocol", allow_post=True, default=None, is_filter=True,
             convert=_convert("protocol", convert_protocol)),
        Attr("port_range_min", allow_post=True, default=None, is_filter=True,
             convert=_convert("port_range_min", convert_port),
             convert_filter=v.to_int_filter),
        Attr("port_range_max", allow_post=True, default=None, is_filter=True,
             convert=_convert("port_range_max", convert_port),
             convert_filter=v.to_int_filter),
        Attr("remote_ip_prefix", allow_post=True, default=None, is_filter=True,
             convert=convert_ip_prefix,
             validate=lambda x: None if x is None else v.ip_or_subnet_cidr(x)),
        Attr("remote_group_id", allow_post=True, default=None, is_filter=True,
             validate=v.uuid_or_none),
        Attr("remote_address_group_id", allow_post=True, default=None, is_filter=True,
             validate=lambda x: None if x is None else "remote address groups are not "
             "supported"),
        Attr("normalized_cidr"),
        Attr("belongs_to_default_sg", is_filter=True, convert_filter=v.to_boolean),
        Attr("description", allow_post=True, default="", validate=v.string(255),
             is_filter=True, is_sort_key=True),
        std["project_id"], std["tenant_id"], std["created_at"], std["updated_at"],
        std["revision_number"],
    )}


SECURITY_GROUP_RULES = Resource("security_group_rules", "security_group_rule",
                                _rule_attrs(), has_tags=False, path="security-group-rules")
