"""Authorisation with oslo.policy: Neutron-compatible default rules, overridable by file.

Targets carry the resource's own attributes plus ``network:<attr>`` of the parent
network for subnets and ports (``network:tenant_id``, ``network:shared``), which is
what Neutron's rules such as ``admin_or_network_owner`` and
``field:networks:shared=True`` look at.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_policy import _checks, policy

from neutrino import exceptions as exc
from neutrino.context import Context

ADMIN = "rule:admin_only"
_BASE = {
    "context_is_admin": "role:admin",
    "context_is_advsvc": "role:advsvc",
    "owner": "project_id:%(project_id)s",
    "admin_or_owner": "rule:context_is_admin or rule:owner",
    "admin_or_network_owner": "rule:context_is_admin or project_id:%(network:tenant_id)s",
    "admin_owner_or_network_owner": "rule:owner or rule:admin_or_network_owner",
    "network_device": "field:port:device_owner=~^network:",
    "admin_only": "rule:context_is_admin",
    "regular_user": "",
    "shared": "field:networks:shared=True",
    "external": "field:networks:router:external=True",
    "default": "rule:admin_or_owner",
}

_NETWORK_ADMIN_ATTRS = ("shared", "router:external", "provider:network_type",
                        "provider:physical_network", "provider:segmentation_id", "segments")
_PORT_ADMIN_ATTRS = ("binding:host_id", "binding:profile")
_PORT_READ_ADMIN = ("binding:host_id", "binding:profile", "binding:vif_type",
                    "binding:vif_details")
_NET_OWNER = "rule:context_is_advsvc or rule:admin_or_network_owner"


def _network_rules() -> dict[str, str]:
    rules = {
        "create_network": "",
        "get_network": "rule:admin_or_owner or rule:shared or rule:external "
                       "or rule:context_is_advsvc",
        "update_network": "rule:admin_or_owner",
        "delete_network": "rule:admin_or_owner",
        "get_network:router:external": "rule:regular_user",
        "get_network:shared": "rule:regular_user",
    }
    for attr in _NETWORK_ADMIN_ATTRS:
        rules[f"create_network:{attr}"] = ADMIN
        rules[f"update_network:{attr}"] = ADMIN
        if attr.startswith(("provider:", "segments")):
            rules[f"get_network:{attr}"] = ADMIN
    return rules


def _subnet_rules() -> dict[str, str]:
    return {
        "create_subnet": "rule:admin_or_network_owner",
        "get_subnet": "rule:admin_or_owner or rule:shared",
        "update_subnet": "rule:admin_or_network_owner",
        "delete_subnet": "rule:admin_or_network_owner",
    }


def _port_rules() -> dict[str, str]:
    rules = {
        "create_port": "",
        "create_port:device_owner": f"not rule:network_device or {_NET_OWNER}",
        "create_port:mac_address": _NET_OWNER,
        "create_port:fixed_ips:ip_address": _NET_OWNER,
        "create_port:fixed_ips:subnet_id": f"{_NET_OWNER} or rule:shared",
        "create_port:port_security_enabled": _NET_OWNER,
        "create_port:allowed_address_pairs": "rule:admin_or_network_owner",
        "create_port:binding:vnic_type": "rule:admin_or_owner",
        "get_port": "rule:context_is_advsvc or rule:admin_owner_or_network_owner",
        "get_port:binding:vnic_type": "rule:admin_or_owner",
        "update_port": "rule:admin_or_owner or rule:context_is_advsvc",
        "update_port:device_owner": f"not rule:network_device or {_NET_OWNER}",
        "update_port:mac_address": "rule:admin_only or rule:context_is_advsvc",
        "update_port:fixed_ips:ip_address": _NET_OWNER,
        "update_port:fixed_ips:subnet_id": f"{_NET_OWNER} or rule:shared",
        "update_port:port_security_enabled": _NET_OWNER,
        "update_port:allowed_address_pairs": "rule:admin_or_network_owner",
        "update_port:binding:vnic_type": "rule:admin_or_owner or rule:context_is_advsvc",
        "delete_port": "rule:context_is_advsvc or rule:admin_owner_or_network_owner",
    }
    for attr in _PORT_ADMIN_ATTRS:
        rules[f"create_port:{attr}"] = ADMIN
        rules[f"update_port:{attr}"] = ADMIN
    for attr in _PORT_READ_ADMIN:
        rules[f"get_port:{attr}"] = ADMIN
    return rules


def default_rules() -> dict[str, str]:
    """Every default rule, by name."""
    return {**_BASE, **_network_rules(), **_subnet_rules(), **_port_rules()}


@policy.register("field")
class FieldCheck(policy.Check):
    """``field:<collection>:<attr>=<value>`` — Neutron's check on a resource's field.

    The value is looked up as ``<member>:<attr>`` in the target first (the parent
    network's copy on a subnet or port), then as ``<attr>`` (the resource itself).
    A value starting with ``~`` is a regular expression.
    """

    def __init__(self, kind: str, match: str) -> None:
        super().__init__(kind, match)
        resource, _, rest = match.partition(":")
        self.attr, _, self.value = rest.partition("=")
        self.member = resource[:-1] if resource.endswith("s") else resource

    def __call__(self, target: Mapping[str, Any], creds: Any, enforcer: Any,
                 current_rule: str | None = None) -> bool:
        key = f"{self.member}:{self.attr}"
        actual = target.get(key, target.get(self.attr))
        if self.value.startswith("~"):
            import re
            return isinstance(actual, str) and re.search(self.value[1:], actual) is not None
        if isinstance(actual, bool):
            return actual == (self.value.lower() == "true")
        return str(actual) == self.value


_TAKES_CURRENT_RULE: dict[type, bool] = {}


def _wants_current_rule(check_type: type) -> bool:
    """What oslo.policy decides per call: does __call__ take (…, current_rule)?"""
    if check_type not in _TAKES_CURRENT_RULE:
        args = inspect.getfullargspec(check_type.__call__).args
        _TAKES_CURRENT_RULE[check_type] = len(args) > 4
    return _TAKES_CURRENT_RULE[check_type]


def _check(rule: Any, target: Any, creds: Any, enforcer: Any,
           current_rule: str | None) -> bool:
    """oslo.policy's rule evaluation, with the call signature looked up once per type.

    The library inspects each check's signature on every evaluation, nested rules
    included; that was over a millisecond per API request.
    """
    if _wants_current_rule(type(rule)):
        return bool(rule(target, creds, enforcer, current_rule))
    return bool(rule(target, creds, enforcer))


# Nested checks (and/or/not/rule:) evaluate through the module-level function.
_checks._check = _check


class Policy:
    """Neutron's policy semantics over an oslo.policy Enforcer."""

    def __init__(self, conf: cfg.ConfigOpts, policy_file: str | None = None) -> None:
        self.enforcer = policy.Enforcer(conf, policy_file=policy_file, use_conf=True)
        self.enforcer.register_defaults(
            [policy.RuleDefault(name, check) for name, check in default_rules().items()])
        self.enforcer.load_rules()
        self._next_reload = time.monotonic() + 1.0

    def add_defaults(self, rules: Mapping[str, str]) -> None:
        """Register a plugin's default rules; a policy file still overrides them."""
        self.enforcer.register_defaults(
            [policy.RuleDefault(name, check) for name, check in rules.items()])
        self.enforcer.load_rules(force_reload=True)

    def _rules(self) -> Any:
        # Enforcer.enforce() re-reads the policy file's state on every call, which
        # dominated request time; a changed file is picked up within a second instead.
        now = time.monotonic()
        if now >= self._next_reload:
            self.enforcer.load_rules()
            self._next_reload = now + 1.0
        return self.enforcer.rules

    def has_rule(self, action: str) -> bool:
        return action in self._rules()

    def check(self, ctx: Context, action: str, target: Mapping[str, Any]) -> bool:
        rules = self._rules()
        rule = rules.get(action)
        if rule is None:
            if ":" in action:
                return True  # no attribute-level rule: the resource-level one decides
            rule = rules.get(self.enforcer.default_rule)
            if rule is None:
                return False
        # A dict is passed as is: a controller's PolicyTarget reads the parent network
        # only if the rule asks for it, and copying would read it now.
        return bool(_checks._check(rule, target if isinstance(target, dict) else dict(target),
                                   ctx.to_policy_values(), self.enforcer, action))

    def enforce(self, ctx: Context, action: str, target: Mapping[str, Any]) -> None:
        if not self.check(ctx, action, target):
            raise exc.PolicyNotAuthorized(action=action)
