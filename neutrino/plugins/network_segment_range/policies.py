"""Neutron's default policy rules for network segment ranges: the admin's alone."""

from __future__ import annotations

_ADMIN = "rule:admin_only"

POLICY_RULES: dict[str, str] = {
    f"{op}_network_segment_range": _ADMIN for op in ("create", "get", "update", "delete")}
