"""The service-type plugin: ``GET /v2.0/service-providers`` from configuration.

Neutron reads ``[service_providers] service_provider`` entries
(``<type>:<name>:<driver>[:default]``); a bad entry stops the server at start-up
rather than hiding a provider. The list shows ``service_type``, ``name`` and
``default`` (never the driver), with filters on each and ``fields``.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import servicetype as ext
from neutrino.conf import ConfigError
from neutrino.conf import service_providers as conf_sp
from neutrino.context import Context
from neutrino.db.api import Database
from neutrino.db.query import Page
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.readonly import ReadOnlyCollection


class ServiceProviderNotFound(exc.NotFound):
    message = "Service provider %(id)s could not be found."


class Plugin(ReadOnlyCollection, ServicePlugin):
    """``service_plugins = service_providers``; ML2 brings it along."""

    resources = [ext.SERVICE_PROVIDERS]
    supported_extension_aliases = [ext.ALIAS]
    policy_rules = ext.POLICY_RULES
    read_only = ("service_providers", "service_provider")

    def __init__(self, conf: Any, db: Database, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        try:
            providers = conf_sp.parse(conf.service_providers.service_provider)
        except ValueError as e:
            raise ConfigError(f"[service_providers] service_provider: {e}") from None
        self.providers = [{"service_type": p.service_type, "name": p.name,
                           "default": p.default} for p in providers]

    def get_service_providers(self, ctx: Context, filters: dict[str, list[Any]],
                              page: Page | None = None) -> list[dict[str, Any]]:
        return [dict(p) for p in self.providers
                if all(p[k] in values for k, values in filters.items())]

    def get_service_provider(self, ctx: Context, provider_id: str) -> dict[str, Any]:
        raise ServiceProviderNotFound(id=provider_id)
