"""The WSGI application: routes, middleware and the plugins behind them.

``build(conf)`` loads the core plugin and service plugins, and returns a
``Server`` holding the WSGI app (wrapped by keystonemiddleware when
``auth_strategy = keystone``) and the plugins, for embedding in tests or the
all-in-one process.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, cast

import falcon
from sqlalchemy import select

from neutrino import exceptions as exc
from neutrino.api import errors
from neutrino.api.auth import KeystoneContextMiddleware, NoAuthMiddleware, wrap_keystone
from neutrino.api.controller import NUL_MESSAGE, TOO_LARGE, ResourceController, has_nul
from neutrino.api.extensions import ExtensionsResource
from neutrino.api.policy import Policy
from neutrino.api.tags import TagsResource
from neutrino.apidef import attributes
from neutrino.context import Context
from neutrino.db.api import Database
from neutrino.db.models import Network, Port, Subnet
from neutrino.plugins.registry import load_core_plugin, load_service_plugins

LOG = logging.getLogger(__name__)


class JsonSuffixMiddleware:
    """``/v2.0/networks.json`` is ``/v2.0/networks`` (Neutron accepts both)."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path.endswith(".json"):
            req.path = req.path[: -len(".json")]
        if len(req.path) > 1 and req.path.endswith("/"):
            req.path = req.path.rstrip("/")


class NulMiddleware:
    """A NUL in the path or query is a 400, not a database error (PostgreSQL refuses it)."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if has_nul(req.path) or has_nul(list(req.params.items())):
            raise exc.HTTPBadRequest(msg=NUL_MESSAGE)


class BodySizeLimitMiddleware:
    """A body over ``[oslo_middleware] max_request_body_size`` is a 413, as in Neutron."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.body_limit = self.limit
        length = req.content_length
        if self.limit and length is not None and length > self.limit:
            raise falcon.HTTPContentTooLarge(description=TOO_LARGE)


class VersionsResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"href": f"{req.prefix}/v2.0/", "rel": "self"}]}]}


class V2Resource:
    def __init__(self, resources: list[attributes.Resource]) -> None:
        self.resources = resources

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"resources": [
            {"name": r.member, "collection": r.collection, "links": [
                {"href": f"{req.prefix}/v2.0/{r.collection}", "rel": "self"}]}
            for r in self.resources]}


class _Collection:
    """Falcon responder pair for one ResourceController (collection and member URLs)."""

    def __init__(self, controller: ResourceController) -> None:
        self.c = controller

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.c.on_get_collection(req, resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.c.on_post_collection(req, resp)


class _Member:
    def __init__(self, controller: ResourceController) -> None:
        self.c = controller

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self.c.on_get(req, resp, resource_id)

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self.c.on_put(req, resp, resource_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        self.c.on_delete(req, resp, resource_id)


@dataclasses.dataclass
class Server:
    """Everything a running API process holds."""

    conf: Any
    db: Database
    core_plugin: Any
    service_plugins: list[Any]
    falcon_app: falcon.App
    wsgi_app: Any
    policy: Policy
    rpc: Any = None

    def stop(self) -> None:
        """Stop the RPC servers and background workers; close the database pool."""
        from neutrino.rpc import service as rpc_service

        rpc_service.detach(self)
        for plugin in [self.core_plugin, *self.service_plugins]:
            stop = getattr(plugin, "stop", None)
            if stop is not None:
                stop()
        self.db.dispose()


def parent_lookup(db: Database) -> Any:
    """``network:<attr>`` policy values of a subnet's or port's network (one query).

    Returns a loader, not the values: the read happens only when a rule or check asks
    for a ``network:`` value (``PolicyTarget``), as Neutron's OwnerCheck fetches the
    parent only when a rule names it. An admin creating a port never needs it.
    """

    def lookup(ctx: Context, item: dict[str, Any]) -> Callable[[], dict[str, Any]] | None:
        net_id = item.get("network_id")
        if not net_id or "network:tenant_id" in item:
            return None

        def load() -> dict[str, Any]:
            cache = ctx.__dict__.setdefault("_network_cache", {})
            if net_id not in cache:
                with db.reader() as session:
                    row = session.execute(select(
                        Network.project_id, Network.shared, Network.router_external
                    ).where(Network.id == net_id)).first()
                project, shared, external = row if row is not None else (None, False, False)
                cache[net_id] = {"network:tenant_id": project, "network:project_id": project,
                                 "network:shared": shared, "network:router:external": external}
            return cast(dict[str, Any], cache[net_id])

        return load

    return lookup


def build(conf: Any, db: Database | None = None, with_rpc: bool = True) -> Server:
    """Load the plugins named by ``conf`` and build the application around them.

    With ``with_rpc`` the server also serves the agents' RPC (``[DEFAULT]
    rpc_workers`` servers on ``transport_url``) and notifies them.
    """
    db = db or Database(conf.database.connection, max_retries=conf.database.max_retries,
                        pool_size=conf.database.max_pool_size,
                        max_overflow=conf.database.max_overflow,
                        pool_timeout=conf.database.pool_timeout)
    core = load_core_plugin(conf, db)
    services = load_service_plugins(conf, db, core)
    policy = Policy(conf)
    for service in services:
        policy.add_defaults(getattr(service, "policy_rules", {}))
    auth_mw = NoAuthMiddleware() if conf.auth_strategy == "noauth" \
        else KeystoneContextMiddleware()
    app = falcon.App(middleware=[
        BodySizeLimitMiddleware(conf.oslo_middleware.max_request_body_size),
        NulMiddleware(), JsonSuffixMiddleware(), auth_mw])
    # Neutron never splits a query value on commas (``?name=a,b`` is one name); only
    # the tag filters take comma-separated lists, and they split them themselves.
    app.req_options.auto_parse_qs_csv = False
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)

    lookup = parent_lookup(db)
    resources: list[attributes.Resource] = list(attributes.CORE_RESOURCES)
    plugin_for: dict[str, Any] = {r.collection: core for r in attributes.CORE_RESOURCES}
    aliases = list(core.supported_extension_aliases)
    for service in services:
        for resource in service.resources:
            resources.append(resource)
            plugin_for[resource.collection] = service
        aliases.extend(service.supported_extension_aliases)

    controllers = {}
    for resource in resources:
        controller = ResourceController(resource, plugin_for[resource.collection], policy,
                                        conf, lookup)
        controllers[resource.collection] = controller
        app.add_route(f"/v2.0/{resource.collection}", _Collection(controller))
        app.add_route(f"/v2.0/{resource.collection}/{{resource_id}}", _Member(controller))

    tag_models = {"networks": Network, "subnets": Subnet, "ports": Port}
    for service in services:
        tag_models.update(getattr(service, "tag_models", {}))
    tags = TagsResource(controllers, db, tag_models)
    app.add_route("/v2.0/{collection}/{resource_id}/tags", tags)
    app.add_route("/v2.0/{collection}/{resource_id}/tags/{tag}", tags, suffix="tag")
    extensions = ExtensionsResource(aliases)
    app.add_route("/v2.0/extensions", extensions)
    app.add_route("/v2.0/extensions/{alias}", extensions, suffix="alias")
    app.add_route("/", VersionsResource())
    app.add_route("/v2.0", V2Resource(resources))

    wsgi = wrap_keystone(app, conf) if conf.auth_strategy == "keystone" else app
    server = Server(conf, db, core, services, app, wsgi, policy)
    if with_rpc:
        from neutrino.rpc import service as rpc_service

        rpc_service.attach(server)
    return server
