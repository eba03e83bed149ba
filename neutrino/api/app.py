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
from sqlalchemy import bindparam, exists, select

from neutrino import exceptions as exc
from neutrino.api import errors
from neutrino.api.auth import KeystoneContextMiddleware, NoAuthMiddleware, wrap_keystone
from neutrino.api.controller import (
    NUL_MESSAGE,
    TOO_LARGE,
    ResourceController,
    has_nul,
    read_json,
    send,
)
from neutrino.api.extensions import ExtensionsResource
from neutrino.api.policy import Policy
from neutrino.api.tags import TagsResource
from neutrino.apidef import attributes
from neutrino.context import Context
from neutrino.db.api import Database
from neutrino.db.models import Network, NetworkRBAC, Port, Subnet
from neutrino.db.rbac import ACCESS_EXTERNAL, ACCESS_SHARED, WILDCARD
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
                {"href": f"{req.prefix}/v2.0/{r.url}", "rel": "self"}]}
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


class _Action:
    """``PUT /v2.0/<collection>/<id>/<action>``: a plugin's member action."""

    def __init__(self, controller: ResourceController, action: str) -> None:
        self.c = controller
        self.action = action

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.neutron
        body = read_json(req)
        if not isinstance(body, dict):
            raise exc.HTTPBadRequest(msg="Request body must be a JSON object")
        item = self.c.fetch_visible(ctx, resource_id)
        self.c.policy.enforce(ctx, f"{self.action}_{self.c.rule}", self.c.target(ctx, item))
        send(resp, 200, getattr(self.c.plugin, self.action)(ctx, resource_id, body))


class _SubPlugin:
    """A sub-resource's plugin methods with the parent id bound, in the shape
    ResourceController calls (``create_<member>_bulk``, ``get_<member>`` …)."""

    def __init__(self, plugin: Any, parent: str, resource: attributes.Resource,
                 parent_id: str) -> None:
        self._plugin = plugin
        self._parent = parent
        self._parent_id = parent_id
        self._member = resource.member
        self._collection = resource.collection

    def _method(self, verb: str, noun: str) -> Any:
        """The plugin's ``<verb>_<parent>_<noun>`` (``create_floatingip_port_forwarding``)."""
        return getattr(self._plugin, f"{verb}_{self._parent}_{noun}")

    def __getattr__(self, name: str) -> Any:
        pid, member = self._parent_id, self._member
        if name == f"create_{member}_bulk":
            bulk = getattr(self._plugin, f"create_{self._parent}_{member}_bulk", None)
            if bulk is not None:
                return lambda ctx, items: bulk(ctx, pid, items)
            create = self._method("create", member)

            def one_by_one(ctx: Context, items: list[dict[str, Any]]) -> list[Any]:
                # Without the plugin's bulk method a bulk create could not be atomic.
                if len(items) != 1:
                    raise exc.HTTPBadRequest(msg="Bulk operation not supported")
                return [create(ctx, pid, items[0])]

            return one_by_one
        if name == f"get_{self._collection}":
            return lambda ctx, filters, page=None: self._method("get", self._collection)(
                ctx, pid, filters, page)
        verb = name.split("_", 1)[0]
        if name in (f"get_{member}", f"delete_{member}"):
            return lambda ctx, rid: self._method(verb, member)(ctx, rid, pid)
        if name == f"update_{member}":
            return lambda ctx, rid, changes: self._method(verb, member)(ctx, rid, pid, changes)
        raise AttributeError(name)


class _SubCollection:
    """``/v2.0/<parent>/<parent id>/<collection>[/<id>]``: a controller per request,
    over the plugin with the parent id bound, once the parent is known visible."""

    def __init__(self, parent: ResourceController, resource: attributes.Resource,
                 plugin: Any, policy: Policy, conf: Any, lookup: Any,
                 plain_create: bool = False) -> None:
        self.parent = parent
        self.resource = resource
        self.plain_create = plain_create
        self.plugin = plugin
        self.policy, self.conf, self.lookup = policy, conf, lookup

    def _controller(self, req: falcon.Request, parent_id: str) -> ResourceController:
        self.parent.fetch_visible(req.context.neutron, parent_id)
        return self._bound(parent_id)

    def _bound(self, parent_id: str) -> ResourceController:
        bound = _SubPlugin(self.plugin, self.parent.member, self.resource, parent_id)
        return ResourceController(self.resource, bound, self.policy, self.conf, self.lookup)

    # Falcon needs one field name per path level: the parent's id is ``resource_id``
    # as on the parent's own member route, the sub-resource's is ``sub_id``.
    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.neutron
        parent = self.parent.fetch_visible(ctx, resource_id)
        # A collection with its own rule (``get_dhcp-agents``, ``get_l3-agents``) is
        # refused as a whole, 403, as Neutron's scheduler controllers do: an empty list
        # would tell a project owner its network or router is hosted nowhere.
        rule = f"get_{self.resource.url}"
        if self.policy.has_rule(rule):
            self.policy.enforce(ctx, rule, self.parent.target(ctx, parent))
        self._bound(resource_id).on_get_collection(req, resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        if self.plain_create:
            self._post_plain(req, resp, resource_id)
            return
        self._controller(req, resource_id).on_post_collection(req, resp)

    def _post_plain(self, req: falcon.Request, resp: falcon.Response,
                    resource_id: str) -> None:
        ctx: Context = req.context.neutron
        self.parent.fetch_visible(ctx, resource_id)
        body = read_json(req)
        if not isinstance(body, dict):
            raise exc.HTTPBadRequest(msg="Request body must be a JSON object")
        rule = self.resource.policy_member or self.resource.member
        self.policy.enforce(ctx, f"create_{rule}", body)
        create = getattr(self.plugin, f"create_{self.parent.member}_{self.resource.member}")
        result = create(ctx, resource_id, body)
        send(resp, 201, result)
        if result is None:  # Neutron answers a JSON null; clients parse the body
            resp.content_type = falcon.MEDIA_JSON
            resp.data = b"null"

    def on_get_member(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                      sub_id: str) -> None:
        self._controller(req, resource_id).on_get(req, resp, sub_id)

    def on_put_member(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                      sub_id: str) -> None:
        self._controller(req, resource_id).on_put(req, resp, sub_id)

    def on_delete_member(self, req: falcon.Request, resp: falcon.Response, resource_id: str,
                         sub_id: str) -> None:
        self._controller(req, resource_id).on_delete(req, resp, sub_id)


class _PluginRoute:
    """A plugin's own ``Route``: its handlers behind Falcon's ``on_<method>`` responders."""

    def __init__(self, route: Any) -> None:
        for method, handler in route.handlers.items():
            setattr(self, f"on_{method.lower()}",
                    self._responder(method, handler, getattr(route, "with_query", False)))

    @staticmethod
    def _responder(method: str, handler: Any, with_query: bool) -> Callable[..., None]:
        def respond(req: falcon.Request, resp: falcon.Response, **fields: Any) -> None:
            body = read_json(req) if method in ("PUT", "POST") else None
            if with_query:
                fields["query"] = req.params
            status, payload = handler(req.context.neutron, body, **fields)
            send(resp, status, payload)
        return respond


def _add_service_routes(app: falcon.App, service: Any,
                        controllers: dict[str, ResourceController], policy: Policy,
                        conf: Any, lookup: Any) -> None:
    """Routes of a service plugin's member actions, sub-resources and own ``routes``."""
    for collection, actions in getattr(service, "member_actions", {}).items():
        for action in actions:
            app.add_route(f"/v2.0/{collection}/{{resource_id}}/{action}",
                          _Action(controllers[collection], action))
    for sub in getattr(service, "sub_resources", ()):
        route = _SubCollection(controllers[sub.parent], sub.resource, service, policy,
                               conf, lookup, sub.plain_create)
        base = f"/v2.0/{sub.parent}/{{resource_id}}/{sub.resource.url}"
        app.add_route(base, route)
        app.add_route(f"{base}/{{sub_id}}", route, suffix="member")
    routes = getattr(service, "routes", None)
    for extra in routes(policy) if routes is not None else ():
        app.add_route(f"/v2.0/{extra.path}", _PluginRoute(extra))


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
    # Built once (composing the clauses per request cost more than the read): whether
    # RBAC policies share the network with the caller, and let it use it as external.
    def granted(action: str) -> Any:
        return exists().where(NetworkRBAC.object_id == Network.id,
                              NetworkRBAC.target_project.in_(
                                  bindparam("targets", expanding=True)),
                              NetworkRBAC.action == action)

    query = select(Network.project_id, granted(ACCESS_SHARED), granted(ACCESS_EXTERNAL),
                   Network.router_external).where(Network.id == bindparam("net_id"))

    def lookup(ctx: Context, item: dict[str, Any]) -> Callable[[], dict[str, Any]] | None:
        net_id = item.get("network_id")
        if not net_id or "network:tenant_id" in item:
            return None

        def load() -> dict[str, Any]:
            cache = ctx.__dict__.setdefault("_network_cache", {})
            if net_id not in cache:
                with db.read_engine.connect() as conn:
                    row = conn.execute(query, {"net_id": net_id,
                                               "targets": [WILDCARD, ctx.project_id or WILDCARD]}
                                       ).first()
                project, shared, usable, external = row if row is not None \
                    else (None, False, False, False)
                # External to this caller only if a policy lets it use it so (RBAC).
                external = external and (usable or project == ctx.project_id
                                         or ctx.is_admin)
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
        controllers[resource.url] = controller
        app.add_route(f"/v2.0/{resource.url}", _Collection(controller))
        app.add_route(f"/v2.0/{resource.url}/{{resource_id}}", _Member(controller))
    for service in services:
        _add_service_routes(app, service, controllers, policy, conf, lookup)

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
