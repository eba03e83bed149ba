"""The auto-allocate service plugin: ``/v2.0/auto-allocated-topology/{project_id}``.

``service_plugins = auto_allocate`` (or Neutron's class path), beside ``router``:
a GET makes the project's topology once — a network, a subnet from each default
subnet pool, a router with its gateway on the default external network and an
interface on each subnet — and answers the network's id; ``?fields=dry-run`` only
checks that it could; DELETE takes it apart. The resources are made through the
core and L3 plugins' own methods, each in its own transactions, as Neutron does;
a failure takes the partial topology apart again.

One topology per project: builds for one project queue on a lock in this process,
and across processes the key of ``auto_allocated_topologies`` keeps the first one
saved — a later builder takes its own resources apart and answers the saved one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from neutrino import exceptions as exc
from neutrino.apidef import auto_allocated_topology as aat
from neutrino.apidef.attributes import NETWORKS, REQUIRED, SUBNETS, Resource
from neutrino.apidef.l3 import ROUTERS
from neutrino.context import Context, admin_context
from neutrino.db.base import table_of
from neutrino.db.models import AutoAllocatedTopology, Subnet
from neutrino.plugins.base import Route, ServicePlugin
from neutrino.plugins.subnetpools.networks import default_external_network

LOG = logging.getLogger(__name__)

POLICY_RULES = {
    "get_auto_allocated_topology": "rule:admin_or_owner",
    "delete_auto_allocated_topology": "rule:admin_or_owner",
}


def with_defaults(resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every other attribute as the API would default it on POST."""
    values = {name: attr.default for name, attr in resource.attrs.items()
              if attr.allow_post and attr.default is not REQUIRED}
    values.update(body)
    return values


def _fields(query: Any) -> list[str]:
    value = (query or {}).get("fields")
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Plugin(ServicePlugin):
    """Auto-allocated topologies (``service_plugins = auto_allocate``)."""

    supported_extension_aliases = list(aat.ALIASES)
    policy_rules = POLICY_RULES

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.l3: Any = None
        self.pools: Any = None
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def plugins_loaded(self, plugins: list[Any]) -> None:
        """Find the router and subnet-pool plugins whose methods build the topology."""
        self.l3 = next((p for p in plugins if hasattr(p, "add_router_interface")), None)
        self.pools = next((p for p in plugins if hasattr(p, "get_default_subnetpool")), None)
        if self.l3 is None or self.pools is None:
            raise RuntimeError("service plugin auto_allocate needs the router and "
                               "subnetpools service plugins")

    # --- the API ---------------------------------------------------------------------

    def routes(self, policy: Any) -> list[Route]:
        def allowed(ctx: Context, rule: str, project_id: str) -> str:
            project = self._project(ctx, project_id)
            policy.enforce(ctx, rule, {"project_id": project, "tenant_id": project})
            return project

        def get(ctx: Context, body: Any, project_id: str, query: Any) -> tuple[int, Any]:
            project = allowed(ctx, "get_auto_allocated_topology", project_id)
            fields = _fields(query)
            if aat.DRY_RUN in fields:
                self.check_requirements()
                return 200, self._reply(aat.DRY_RUN_PASS, project)
            if fields:
                raise exc.BadRequest(resource="auto_allocate", msg="Unrecognized field")
            return 200, self._reply(self.get_auto_allocated_topology(project), project)

        def delete(ctx: Context, body: Any, project_id: str, query: Any) -> tuple[int, Any]:
            project = allowed(ctx, "delete_auto_allocated_topology", project_id)
            self.delete_auto_allocated_topology(project)
            return 204, None

        return [Route(f"{aat.PATH}/{{project_id}}", {"GET": get, "DELETE": delete},
                      with_query=True)]

    @staticmethod
    def _project(ctx: Context, project_id: str) -> str:
        # The CLI sends the literal "None" when no project is named: the caller's.
        project = (ctx.project_id or "") if project_id == "None" else project_id
        if not ctx.is_admin and project != ctx.project_id:
            raise exc.NotAuthorized()
        return project

    @staticmethod
    def _reply(network_id: str, project: str) -> dict[str, Any]:
        return {aat.MEMBER: {"id": network_id, "tenant_id": project, "project_id": project}}

    # --- requirements ------------------------------------------------------------------

    def _external_network(self) -> str:
        with self.db.reader() as session:
            found = default_external_network(session)
        if found is None:
            raise aat.AutoAllocationFailure(reason="No default router:external network")
        return found

    def _default_pools(self) -> list[dict[str, Any]]:
        return [p for p in (self.pools.get_default_subnetpool(v) for v in (4, 6)) if p]

    def check_requirements(self) -> None:
        """What a dry run checks: a default external network and a default pool."""
        self._external_network()
        if not self._default_pools():
            raise aat.AutoAllocationFailure(reason="No default subnetpools defined")

    # --- build -------------------------------------------------------------------------

    def _saved(self, project: str) -> str | None:
        with self.db.reader() as session:
            return session.execute(select(AutoAllocatedTopology.network_id).where(
                AutoAllocatedTopology.project_id == project)).scalar()

    def get_auto_allocated_topology(self, project: str) -> str:
        """The project's topology network, built first if the project has none."""
        found = self._saved(project)
        if found:
            return found
        with self._guard:
            lock = self._locks[project]
        with lock:
            found = self._saved(project)
            if found:
                return found
            external = self._external_network()
            try:
                return self._build(project, external)
            except aat.AutoAllocationFailure:
                # Another server may have built it meanwhile, from the same pools.
                found = self._saved(project)
                if found:
                    return found
                raise

    def _build(self, project: str, external: str) -> str:
        ctx = admin_context()
        owner = {"project_id": project, "tenant_id": project}
        network = self.core_plugin.create_network(ctx, with_defaults(NETWORKS, {
            "name": aat.NETWORK_NAME, "admin_state_up": False, "shared": False, **owner}))
        subnets = self._subnets(ctx, network["id"], owner)
        router = self._router(ctx, network["id"], external, subnets, owner)
        try:
            with self.db.transaction() as session:
                session.connection().execute(insert(table_of(AutoAllocatedTopology)), {
                    "project_id": project, "network_id": network["id"],
                    "router_id": router["id"]})
        except IntegrityError:
            LOG.info("project %s got a topology meanwhile; removing network %s",
                      project, network["id"])
            self._cleanup(network["id"], router["id"])
            return self._saved(project) or ""
        self.core_plugin.update_network(ctx, network["id"], {"admin_state_up": True})
        return str(network["id"])

    def _subnets(self, ctx: Context, net_id: str,
                 owner: dict[str, str]) -> list[dict[str, Any]]:
        try:
            pools = self._default_pools()
            if not pools:
                raise exc.NotFound(resource="default subnet pool", id="")
            return [self.core_plugin.create_subnet(ctx, with_defaults(SUBNETS, {
                "name": aat.subnet_name(p["ip_version"]), "network_id": net_id,
                "ip_version": p["ip_version"], "subnetpool_id": p["id"], **owner}))
                for p in pools]
        except (exc.BadRequest, exc.NotFound, exc.Conflict) as e:
            LOG.error("cannot auto-allocate a network for project %s: %s",
                      owner["project_id"], e)
            self._cleanup(net_id, None)
            raise aat.AutoAllocationFailure(
                reason="Unable to provide tenant private network") from None
        except Exception:
            self._cleanup(net_id, None)
            raise

    def _router(self, ctx: Context, net_id: str, external: str,
                subnets: list[dict[str, Any]], owner: dict[str, str]) -> dict[str, Any]:
        router: dict[str, Any] | None = None
        try:
            router = self.l3.create_router(ctx, with_defaults(ROUTERS, {
                "name": aat.ROUTER_NAME, "admin_state_up": True,
                "external_gateway_info": {"network_id": external}, **owner}))
            for subnet in subnets:
                self.l3.add_router_interface(ctx, router["id"], {"subnet_id": subnet["id"]})
            return router
        except (exc.BadRequest, exc.NotFound, exc.Conflict) as e:
            LOG.error("cannot connect project %s's network to %s: %s",
                      owner["project_id"], external, e)
            self._cleanup(net_id, router["id"] if router else None)
            raise aat.AutoAllocationFailure(
                reason="Unable to provide external connectivity") from None
        except Exception:
            self._cleanup(net_id, router["id"] if router else None)
            raise

    # --- delete ------------------------------------------------------------------------

    def delete_auto_allocated_topology(self, project: str) -> None:
        with self.db.reader() as session:
            row = session.execute(select(AutoAllocatedTopology.network_id,
                                         AutoAllocatedTopology.router_id).where(
                AutoAllocatedTopology.project_id == project)).first()
        if row is not None:
            self._cleanup(row[0], row[1])

    def _cleanup(self, net_id: str, router_id: str | None) -> None:
        """Take a topology apart; what is gone already is fine."""
        ctx = admin_context()
        if router_id:
            with self.db.reader() as session:
                subnet_ids = list(session.execute(select(Subnet.id).where(
                    Subnet.network_id == net_id)).scalars())
            for subnet_id in subnet_ids:
                with contextlib.suppress(exc.NotFound):
                    self.l3.remove_router_interface(ctx, router_id, {"subnet_id": subnet_id})
            with contextlib.suppress(exc.NotFound):
                self.l3.delete_router(ctx, router_id)
        with contextlib.suppress(exc.NotFound):
            self.core_plugin.delete_network(ctx, net_id)
