"""Neutron's default policy rules for security groups and their rules.

A rule is readable and deletable by its own project and by the owner of its group
(``sg_owner``): a project sees every rule of its ``default`` group, including the
ones an admin added for it. Creating a rule needs only ``admin_or_owner`` here: the
new rule's target cannot name its group's owner yet, and the plugin refuses (404) a
group that is not the caller's, which is what Neutron's ``sg_owner`` check enforces.
"""

from __future__ import annotations

POLICY_RULES: dict[str, str] = {
    "sg_owner": "project_id:%(security_group:project_id)s",
    "admin_or_sg_owner": "rule:context_is_admin or rule:sg_owner",
    "admin_owner_or_sg_owner": "rule:owner or rule:admin_or_sg_owner",
    "shared_security_group": "field:security_groups:shared=True",
    "rule_default_sg": "field:security_group_rules:belongs_to_default_sg=True",
    "create_security_group": "rule:admin_or_owner",
    "get_security_group": "rule:admin_or_owner or rule:shared_security_group",
    "update_security_group": "rule:admin_or_owner",
    "delete_security_group": "rule:admin_or_owner",
    "create_security_group_rule": "rule:admin_or_owner",
    "get_security_group_rule": "rule:admin_owner_or_sg_owner",
    "delete_security_group_rule": "rule:admin_owner_or_sg_owner",
}
