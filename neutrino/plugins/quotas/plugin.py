"""The quotas service plugin: ``/v2.0/quotas`` and enforcement on every tracked resource.

ML2 always brings it (``implicit_service_plugins``), as Neutron's quota extension is
always on. It tracks ML2's networks, subnets and ports and the security-group
plugin's groups and rules; other plugins track theirs with one
``registry.track(core_plugin.events, name, model)`` call. ``[quotas] quota_driver =
…DbQuotaDriverNull`` turns enforcement off: nothing is subscribed, no query is made.

The API is not a collection (its ids are project ids, with ``…/default`` and
``…/details`` below them), so it is served through ``routes``:

- ``GET /v2.0/quotas``: every project with a limit of its own (admin);
- ``GET/PUT/DELETE /v2.0/quotas/{project_id}``: the project's limits; PUT sets some
  (admin), DELETE returns them all to the defaults (admin, 204);
- ``GET /v2.0/quotas/{project_id}/default``: the configured defaults;
- ``GET /v2.0/quotas/{project_id}/details``: ``{resource: {used, limit, reserved}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from neutrino.apidef import quota as quota_api
from neutrino.apidef.securitygroup import DEFAULT_NAME
from neutrino.conf import quotas as quota_conf
from neutrino.context import Context
from neutrino.db.models import Network, Port, SecurityGroup, SecurityGroupRule, Subnet
from neutrino.plugins.base import Route, ServicePlugin
from neutrino.plugins.quotas import registry, store
from neutrino.plugins.quotas.enforcement import Enforcer
from neutrino.plugins.quotas.policies import POLICY_RULES
from neutrino.plugins.quotas.registry import Tracked


def _system_port(port: dict[str, Any]) -> bool:
    """DHCP and router ports (``network:…`` owners) are made by the system, not asked
    for by the project; Neutron checks quotas only on the API's creates."""
    return registry.projectless(port) or \
        str(port.get("device_owner") or "").startswith("network:")


def _default_group(group: dict[str, Any]) -> bool:
    """The project's ``default`` group is made for it (no API create may use that name)."""
    return registry.projectless(group) or group.get("name") == DEFAULT_NAME


# (resource, model, exempt) of the resources that exist whatever the other plugins.
_CORE_TRACKED: tuple[tuple[str, Any, registry.Exempt], ...] = (
    ("network", Network, registry.projectless),
    ("subnet", Subnet, registry.projectless),
    ("port", Port, _system_port),
    ("security_group", SecurityGroup, _default_group),
    ("security_group_rule", SecurityGroupRule, registry.projectless),
)


class Plugin(ServicePlugin):
    """Quotas (always loaded with ML2)."""

    supported_extension_aliases = list(quota_api.ALIASES)
    policy_rules = POLICY_RULES

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        for name, model, exempt in _CORE_TRACKED:
            registry.track(self.events, name, model, exempt)
        self._subscribed: dict[str, Tracked] = {}
        self.enforcer = Enforcer(self._subscribed, self.default_limit)
        if quota_conf.enabled(conf):
            registry.set_enforcer(self.events, self.enforcer)
            registry.listen(self.events, self._subscribe)

    def _subscribe(self, tracked: Tracked) -> None:
        self._subscribed[tracked.name] = tracked
        self.events.subscribe(tracked.name, "precommit_create", self.enforcer)

    # --- limits ----------------------------------------------------------------------

    def quota_resources(self) -> list[str]:
        """Names of the resources with a quota (sorted)."""
        return sorted(registry.tracked(self.events))

    def default_limit(self, resource: str) -> int:
        return quota_conf.default_limit(self.conf, resource)

    def defaults(self) -> dict[str, int]:
        return {name: self.default_limit(name) for name in self.quota_resources()}

    def _limits(self, own: dict[str, int]) -> dict[str, int]:
        return {name: own.get(name, limit) for name, limit in self.defaults().items()}

    def get_quotas(self) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            found = store.all_overrides(session)
        return [{**self._limits(own), "project_id": project, "tenant_id": project}
                for project, own in found.items()]

    def get_quota(self, project: str) -> dict[str, int]:
        with self.db.reader() as session:
            return self._limits(store.overrides(session, project))

    def update_quota(self, project: str, limits: dict[str, int]) -> dict[str, int]:
        def attempt() -> None:
            with self.db.transaction() as session:
                store.set_limits(session, project, limits)
        self.db.retrying(attempt)
        return self.get_quota(project)

    def delete_quota(self, project: str) -> None:
        def attempt() -> None:
            with self.db.transaction() as session:
                store.clear_limits(session, project)
        self.db.retrying(attempt)

    def get_quota_details(self, project: str) -> dict[str, dict[str, int]]:
        tracked = registry.tracked(self.events)
        with self.db.reader() as session:
            limits = self._limits(store.overrides(session, project))
            return {name: {"used": self._used(session, tracked[name], project),
                           "limit": limits[name], "reserved": 0} for name in limits}

    @staticmethod
    def _used(session: Session, tracked: Tracked, project: str) -> int:
        return store.count(session, tracked.model, project)

    # --- the API ---------------------------------------------------------------------

    def routes(self, policy: Any) -> list[Route]:
        def allowed(rule: str, ctx: Context, project: str | None = None) -> None:
            target = {} if project is None else {"project_id": project, "tenant_id": project}
            policy.enforce(ctx, rule, target)

        def reply(rule: str, fn: Callable[[str], Any]) -> Any:
            def handler(ctx: Context, body: Any, project_id: str) -> tuple[int, Any]:
                allowed(rule, ctx, project_id)
                return 200, {quota_api.MEMBER: fn(project_id)}
            return handler

        def index(ctx: Context, body: Any) -> tuple[int, Any]:
            allowed("get_quota", ctx)
            return 200, {quota_api.COLLECTION: self.get_quotas()}

        def update(ctx: Context, body: Any, project_id: str) -> tuple[int, Any]:
            allowed("update_quota", ctx, project_id)
            limits = quota_api.parse_update(body, self.quota_resources())
            return 200, {quota_api.MEMBER: self.update_quota(project_id, limits)}

        def delete(ctx: Context, body: Any, project_id: str) -> tuple[int, Any]:
            allowed("delete_quota", ctx, project_id)
            self.delete_quota(project_id)
            return 204, None

        base = f"{quota_api.COLLECTION}/{{project_id}}"
        return [
            Route(quota_api.COLLECTION, {"GET": index}),
            Route(base, {"GET": reply("get_quota", self.get_quota), "PUT": update,
                         "DELETE": delete}),
            Route(f"{base}/default", {"GET": reply("get_quota", lambda _: self.defaults())}),
            Route(f"{base}/details", {"GET": reply("get_quota", self.get_quota_details)}),
        ]
