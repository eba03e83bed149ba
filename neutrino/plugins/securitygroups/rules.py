"""Security-group rules as Neutron checks them: pure validation and identity.

``validate(rule)`` raises Neutron's error for a rule that cannot exist (ports on a
protocol without ports, an ethertype that contradicts the prefix …); ``rule_key``
is what makes two rules the same rule (``SecurityGroupRuleExists``) whatever way
they spell it (``tcp`` and ``6``, ``1-65535`` and no range, ``/0`` and no prefix).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import netaddr

from neutrino.apidef import securitygroup as sg


def _check_remote(rule: dict[str, Any]) -> None:
    if rule.get("remote_ip_prefix") and rule.get("remote_group_id"):
        raise sg.SecurityGroupRemoteGroupAndRemoteIpPrefix()


def _check_prefix(rule: dict[str, Any]) -> None:
    prefix = rule.get("remote_ip_prefix")
    if not prefix:
        return
    version = netaddr.IPNetwork(prefix).version
    if f"IPv{version}" != rule["ethertype"]:
        raise sg.SecurityGroupRuleParameterConflict(ethertype=rule["ethertype"], cidr=prefix)


def _check_ethertype_protocol(rule: dict[str, Any]) -> None:
    protocol = rule.get("protocol")
    if rule["ethertype"] == sg.IPV4 and protocol in sg.IPV6_ONLY_PROTOCOLS:
        raise sg.SecurityGroupEthertypeConflictWithProtocol(
            ethertype=rule["ethertype"], protocol=protocol)


def _check_ports(rule: dict[str, Any]) -> None:
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if low is None and high is None:
        return
    if not rule.get("protocol"):
        raise sg.SecurityGroupProtocolRequiredWithPorts()
    number = sg.protocol_number(rule["protocol"])
    if number in sg.PORT_PROTOCOL_NUMBERS:
        if low == 0 or high == 0:
            raise sg.SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise sg.SecurityGroupInvalidPortRange()
        return
    if number in sg.ICMP_NUMBERS:
        for attr, field, value in (("port_range_min", "type", low),
                                   ("port_range_max", "code", high)):
            if value is not None and not 0 <= value <= 255:
                raise sg.SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=value)
        if low is None:
            raise sg.SecurityGroupMissingIcmpType(value=high)
        return
    raise sg.SecurityGroupInvalidProtocolForPortRange(
        protocol=rule["protocol"],
        valid_port_protocols=", ".join(p.upper() for p in sg.PORT_PROTOCOLS))


def validate(rule: dict[str, Any]) -> None:
    """Raise Neutron's error if ``rule`` (converted API values) is not a valid rule."""
    _check_remote(rule)
    _check_prefix(rule)
    _check_ethertype_protocol(rule)
    _check_ports(rule)


def _canonical_ports(rule: dict[str, Any]) -> tuple[Any, Any]:
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if (low, high) == (1, 65535) and \
            sg.protocol_number(rule.get("protocol")) in sg.PORT_PROTOCOL_NUMBERS:
        return None, None  # the whole range is no range
    return low, high


def _canonical_prefix(prefix: str | None) -> str | None:
    if not prefix:
        return None
    net = netaddr.IPNetwork(prefix)
    return None if net.prefixlen == 0 else str(net.cidr)


def rule_key(rule: dict[str, Any]) -> Hashable:
    """What two rules must share to be one rule (description and ids aside)."""
    return (rule["security_group_id"], rule["direction"], rule["ethertype"],
            sg.protocol_number(rule.get("protocol")), *_canonical_ports(rule),
            _canonical_prefix(rule.get("remote_ip_prefix")), rule.get("remote_group_id"))

