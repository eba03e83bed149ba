"""The ``service-type`` extension: ``GET /v2.0/service-providers`` (read only).

Providers come from configuration (``[service_providers] service_provider``); they
have no id, so the collection is listed (with filters and ``fields``), not shown,
created, changed or paged.
"""

from __future__ import annotations

from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource

ALIAS = "service-type"

POLICY_RULES: dict[str, str] = {"get_service_provider": ""}

SERVICE_PROVIDERS = Resource("service_providers", "service_provider", {a.name: a for a in (
    Attr("service_type", is_filter=True),
    Attr("name", is_filter=True),
    Attr("default", is_filter=True, convert_filter=v.to_boolean),
)}, allow_bulk=False, has_tags=False, path="service-providers")
