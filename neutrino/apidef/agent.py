"""The ``agent`` extension's resource: ``/v2.0/agents`` (read-mostly, admin only)."""

from __future__ import annotations

from typing import Any

from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource


def _ro(name: str, **kw: Any) -> Attr:
    return Attr(name, is_filter=True, is_sort_key=True, **kw)


AGENTS = Resource("agents", "agent", {a.name: a for a in (
    _ro("id"),
    _ro("agent_type"),
    _ro("binary"),
    _ro("topic"),
    _ro("host"),
    _ro("availability_zone"),
    Attr("admin_state_up", allow_put=True, convert=v.to_boolean, validate=v.boolean,
         is_filter=True, is_sort_key=True, convert_filter=v.to_boolean),
    Attr("alive", is_filter=True, convert_filter=v.to_boolean),
    Attr("configurations"),
    Attr("resource_versions"),
    _ro("heartbeat_timestamp"),
    _ro("started_at"),
    _ro("created_at"),
    Attr("description", allow_put=True, validate=v.string_or_none(255), is_filter=True,
         is_sort_key=True),
    Attr("load"),
    Attr("resources_synced"),
)}, allow_bulk=False, has_tags=False)
