"""Neutron's default policy rules for subnet pools, address scopes, the networks'
``is_default`` (the auto-allocated topology's rules are that plugin's).

``shared`` and ``is_default`` are admin's to set; a project sees its own pools and
scopes and the shared ones. A member action's rule is ``<action>_subnetpool`` (the
API layer's naming), deferring to Neutron's own name.
"""

from __future__ import annotations

_ADMIN = "rule:admin_only"
_OWNER = "rule:admin_or_owner"

POLICY_RULES: dict[str, str] = {
    "shared_subnetpools": "field:subnetpools:shared=True",
    "create_subnetpool": "",
    "create_subnetpool:shared": _ADMIN,
    "create_subnetpool:is_default": _ADMIN,
    "get_subnetpool": f"{_OWNER} or rule:shared_subnetpools",
    "update_subnetpool": _OWNER,
    "update_subnetpool:is_default": _ADMIN,
    "delete_subnetpool": _OWNER,
    "add_prefixes": _OWNER,
    "remove_prefixes": _OWNER,
    "add_prefixes_subnetpool": "rule:add_prefixes",
    "remove_prefixes_subnetpool": "rule:remove_prefixes",
    "shared_address_scopes": "field:address_scopes:shared=True",
    "create_address_scope": "",
    "create_address_scope:shared": _ADMIN,
    "get_address_scope": f"{_OWNER} or rule:shared_address_scopes",
    "update_address_scope": _OWNER,
    "update_address_scope:shared": _ADMIN,
    "delete_address_scope": _OWNER,
    "create_network:is_default": _ADMIN,
    "update_network:is_default": _ADMIN,
}
