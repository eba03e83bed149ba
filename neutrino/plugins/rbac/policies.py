"""Neutron's default policy rules for RBAC policies.

The owner of a policy (or an admin) reads, changes and deletes it; the projects it
targets do not see it. Only an admin shares with every project (``*``).
"""

from __future__ import annotations

POLICY_RULES: dict[str, str] = {
    "restrict_wildcard": "(not field:rbac_policy:target_tenant=*) or rule:admin_only",
    "create_rbac_policy": "rule:admin_or_owner",
    "create_rbac_policy:target_tenant": "rule:restrict_wildcard",
    "update_rbac_policy": "rule:admin_or_owner",
    "update_rbac_policy:target_tenant": "rule:restrict_wildcard and rule:admin_or_owner",
    "get_rbac_policy": "rule:admin_or_owner",
    "delete_rbac_policy": "rule:admin_or_owner",
}
