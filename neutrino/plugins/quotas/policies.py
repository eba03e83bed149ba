"""Neutron's default policy rules for quotas: a project reads its own, only admins write."""

from __future__ import annotations

POLICY_RULES: dict[str, str] = {
    "get_quota": "rule:admin_or_owner",
    "update_quota": "rule:admin_only",
    "delete_quota": "rule:admin_only",
}
