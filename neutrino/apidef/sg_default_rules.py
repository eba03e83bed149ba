"""The ``security-groups-default-rules`` extension: the rule template of new groups.

``/v2.0/default-security-group-rules`` lists the rules every new security group
starts with (Neutron 2023.2+): ``used_in_default_sg`` rules go into a project's
``default`` group, ``used_in_non_default_sg`` rules into every other new group, and
``remote_group_id = PARENT`` stands for the group being made. Admins create and
delete template rules (there is no update, as in Neutron); everyone reads them.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import securitygroup as sg
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource

ALIAS = "security-groups-default-rules"
PARENT = "PARENT"


class DefaultSecurityGroupRuleNotFound(exc.NotFound):
    message = "Default Security Group rule %(id)s does not exist"


class DefaultSecurityGroupRuleExists(exc.InUse):
    message = "Default Security group rule already exists. Rule id is %(rule_id)s."


class DuplicateDefaultSgRuleInPost(exc.InUse):
    message = "Duplicate Default Security Group Rule in POST."


exc.register_not_found("default_security_group_rule", DefaultSecurityGroupRuleNotFound,
                       "id")

POLICY_RULES: dict[str, str] = {
    "create_default_security_group_rule": "rule:admin_only",
    "get_default_security_group_rule": "",
    "update_default_security_group_rule": "rule:admin_only",
    "delete_default_security_group_rule": "rule:admin_only",
}


def _remote_group(value: Any) -> str | None:
    """None, ``PARENT`` (the new group itself) or a group's UUID."""
    if value is None or value == PARENT:
        return None
    return v.is_uuid(value)


def _no_address_group(value: Any) -> str | None:
    return None if value is None else "remote address groups are not supported"


def _filter(name: str, **kw: Any) -> Attr:
    return Attr(name, allow_post=True, is_filter=True, **kw)


def _flag(name: str) -> Attr:
    # No default: Neutron requires both flags on POST.
    return _filter(name, convert=v.to_boolean, validate=v.boolean, is_sort_key=True,
                   convert_filter=v.to_boolean)


DEFAULT_SG_RULES = Resource("default_security_group_rules", "default_security_group_rule", {
    a.name: a for a in (
        Attr("id", is_filter=True, is_sort_key=True),
        Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_visible=False),
        Attr("tenant_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
             validate=v.string(255), is_visible=False),
        _filter("direction", validate=v.in_values(sg.INGRESS, sg.EGRESS),
                is_sort_key=True),
        _filter("ethertype", default=sg.IPV4, convert=sg.convert_ethertype,
                is_sort_key=True),
        _filter("protocol", default=None, convert=sg.convert_protocol),
        _filter("port_range_min", default=None, convert=sg.convert_port,
                convert_filter=v.to_int_filter),
        _filter("port_range_max", default=None, convert=sg.convert_port,
                convert_filter=v.to_int_filter),
        _filter("remote_ip_prefix", default=None, convert=sg.convert_ip_prefix,
                validate=lambda x: None if x is None else v.ip_or_subnet_cidr(x)),
        _filter("remote_group_id", default=None, validate=_remote_group),
        _filter("remote_address_group_id", default=None, validate=_no_address_group),
        _filter("description", default="", validate=v.string(255)),
        _flag("used_in_default_sg"),
        _flag("used_in_non_default_sg"),
    )}, has_tags=False, path="default-security-group-rules")
