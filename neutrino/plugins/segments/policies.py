"""Neutron's default policy rules for segments: the admin's alone."""

from __future__ import annotations

_ADMIN = "rule:admin_only"

POLICY_RULES: dict[str, str] = {
    f"{op}_segment": _ADMIN for op in ("create", "get", "update", "delete")}
