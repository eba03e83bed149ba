"""The generic resource controller: one instance per collection, driven by its Resource.

Request → parse → validate against the attribute map → authorise (resource-level
and attribute-level policy) → call the plugin → shape the response (policy-hidden
attributes removed, ``fields`` applied). A resource the caller may not see is a 404,
as in Neutron, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
import orjson

from neutrino import exceptions as exc
from neutrino.api.listing import ListRequest, page_links, parse_list_request
from neutrino.api.policy import Policy
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource
from neutrino.context import Context


def HTTPBadRequest(msg: str) -> exc.HTTPBadRequest:  # noqa: N802 - reads as the type
    return exc.HTTPBadRequest(msg=msg)


TOO_LARGE = "Request is too large."


def read_json(req: falcon.Request) -> Any:
    limit = getattr(req.context, "body_limit", 0)
    stream: Any = req.bounded_stream
    if req.content_length is None and "chunked" in (req.get_header("Transfer-Encoding")
                                                    or "").lower():
        stream = req.stream  # the server de-chunks it; bounded_stream would read nothing
    # A chunked body has no Content-Length to refuse early: read one byte past the limit.
    raw = stream.read(limit + 1) if limit else stream.read()
    if limit and len(raw) > limit:
        raise falcon.HTTPContentTooLarge(description=TOO_LARGE)
    if not raw:
        raise HTTPBadRequest("Resource body required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPBadRequest("Malformed request body") from None
    if b"\\u0000" in raw and has_nul(body):
        raise HTTPBadRequest(NUL_MESSAGE)
    return body


NUL_MESSAGE = "Null characters are not allowed in requests"


def has_nul(value: Any) -> bool:
    """True if a string anywhere in ``value`` holds NUL, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


def send(resp: falcon.Response, status: int, payload: Any) -> None:
    resp.status = falcon.code_to_http_status(status)
    if payload is None:
        return
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(payload)


def convert_value(attr: Attr, value: Any) -> Any:
    """Convert then validate one attribute value, Neutron's message on failure."""
    try:
        if attr.convert is not None:
            value = attr.convert(value)
    except ValueError as e:
        raise exc.InvalidInput(error_message=f"Invalid input for {attr.name}. "
                                             f"Reason: {e}.") from None
    if attr.validate is not None:
        msg = attr.validate(value)
        if msg:
            raise exc.InvalidInput(error_message=f"Invalid input for {attr.name}. "
                                                 f"Reason: {msg}.")
    return value


class PolicyTarget(dict[str, Any]):
    """A policy target: the item, plus its network's ``network:<attr>`` values on demand.

    The parent network is read the first time a rule or check looks up a
    ``network:`` key (or lists the keys), never when no rule needs it.
    """

    __slots__ = ("_load",)

    def __init__(self, item: dict[str, Any],
                 load: Callable[[], dict[str, Any]] | None) -> None:
        super().__init__(item)
        self._load = load

    def _resolve(self) -> None:
        load, self._load = self._load, None
        if load is not None:
            for key, value in load().items():
                self.setdefault(key, value)

    def _wants(self, key: Any) -> bool:
        return self._load is not None and isinstance(key, str) and key.startswith("network:")

    def __missing__(self, key: str) -> Any:
        if self._wants(key):
            self._resolve()
            if dict.__contains__(self, key):
                return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if not dict.__contains__(self, key) and self._wants(key):
            self._resolve()
        return dict.__contains__(self, key)

    def __iter__(self) -> Any:
        self._resolve()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._resolve()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._resolve()
        return dict.keys(self)

    def items(self) -> Any:
        self._resolve()
        return dict.items(self)

    def values(self) -> Any:
        self._resolve()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        self._resolve()
        return dict(dict.items(self))


class ResourceController:
    """Serves ``/v2.0/<collection>`` and ``/v2.0/<collection>/<id>`` for one Resource."""

    def __init__(self, resource: Resource, plugin: Any, policy: Policy, conf: Any,
                 parent_lookup: Callable[[Context, dict[str, Any]],
                                         Callable[[], dict[str, Any]] | None]) -> None:
        self.resource = resource
        self.plugin = plugin
        self.policy = policy
        self.conf = conf
        self.member = resource.member
        # Policy rules are named for the member, or for parent and member on a
        # sub-resource (``create_floatingip_port_forwarding``), as in Neutron.
        self.rule = resource.policy_member or resource.member
        self._visible = frozenset(resource.visible())
        self._policy_attrs = tuple(n for n, a in resource.attrs.items() if a.enforce_policy)
        self._parent_lookup = parent_lookup

    # --- request preparation --------------------------------------------------------

    def _check_keys(self, item: dict[str, Any], op: str) -> None:
        unknown = [k for k in item if k not in self.resource.attrs]
        if unknown:
            raise HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        for key in item:
            attr = self.resource.attrs[key]
            if op == "create" and not attr.allow_post:
                raise HTTPBadRequest(f"Attribute '{key}' not allowed in POST")
            if op == "update" and not attr.allow_put:
                raise HTTPBadRequest(f"Cannot update read-only attribute {key}")

    def prepare_create(self, ctx: Context, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise HTTPBadRequest(f"Unable to find '{self.member}' in request body")
        self._check_keys(item, "create")
        result: dict[str, Any] = {}
        for name, attr in self.resource.attrs.items():
            if not attr.allow_post:
                continue
            if name in item:
                result[name] = convert_value(attr, item[name])
            elif attr.required_on_post:
                raise HTTPBadRequest(f"Failed to parse request. Required attribute "
                                     f"'{name}' not specified")
            else:
                result[name] = attr.default
        self._fill_project(ctx, result)
        return result

    @staticmethod
    def _fill_project(ctx: Context, item: dict[str, Any]) -> None:
        project = item.get("project_id", ATTR_NOT_SPECIFIED)
        tenant = item.get("tenant_id", ATTR_NOT_SPECIFIED)
        if project is not ATTR_NOT_SPECIFIED and tenant is not ATTR_NOT_SPECIFIED \
                and project != tenant:
            raise HTTPBadRequest("'project_id' and 'tenant_id' do not match")
        given = project if project is not ATTR_NOT_SPECIFIED else tenant
        if given is ATTR_NOT_SPECIFIED:
            given = ctx.project_id or ""
        elif not ctx.is_admin and given != ctx.project_id:
            raise HTTPBadRequest("Specifying 'project_id' or 'tenant_id' other than the "
                                 "authenticated project in request requires admin "
                                 "privileges")
        item["project_id"] = item["tenant_id"] = given

    def prepare_update(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise HTTPBadRequest(f"Unable to find '{self.member}' in request body")
        self._check_keys(item, "update")
        return {name: convert_value(self.resource.attrs[name], value)
                for name, value in item.items()}

    # --- policy ---------------------------------------------------------------------

    def target(self, ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
        return PolicyTarget(item, self._parent_lookup(ctx, item))

    def _enforce_attrs(self, ctx: Context, op: str, target: dict[str, Any],
                       given: dict[str, Any]) -> None:
        for name in given:
            attr = self.resource.attrs.get(name)
            if attr is None or not attr.enforce_policy:
                continue
            if given[name] is ATTR_NOT_SPECIFIED:
                continue
            if name == "fixed_ips" and isinstance(given[name], list):
                for sub in ("ip_address", "subnet_id"):
                    if any(sub in f for f in given[name]):
                        self.policy.enforce(ctx, f"{op}_{self.rule}:fixed_ips:{sub}", target)
                continue
            self.policy.enforce(ctx, f"{op}_{self.rule}:{name}", target)
            if isinstance(given[name], dict) and name == "external_gateway_info":
                # Neutron's rules on keys of the gateway (``…:enable_snat`` is admin's).
                for sub in given[name]:
                    self.policy.enforce(ctx, f"{op}_{self.rule}:{name}:{sub}", target)

    def authorize_create(self, ctx: Context, item: dict[str, Any],
                         raw: dict[str, Any]) -> None:
        target = self.target(ctx, item)
        self._check_network_ownership(ctx, target)
        self.policy.enforce(ctx, f"create_{self.rule}", target)
        self._enforce_attrs(ctx, "create", target, {k: item[k] for k in raw if k in item})

    def _check_network_ownership(self, ctx: Context, target: dict[str, Any]) -> None:
        """Ports and subnets go on the project's own network or a shared one.

        Another project's private network is a 404, as in Neutron
        (``_validate_network_tenant_ownership``): its existence must not leak.
        """
        if ctx.is_admin or ctx.is_advsvc or self.member not in ("port", "subnet"):
            return
        if target.get("network:shared") \
                or target.get("network:tenant_id") == target.get("project_id"):
            return
        raise exc.not_found("network", target.get("network_id", ""))

    def fetch_visible(self, ctx: Context, resource_id: str) -> dict[str, Any]:
        """The item if it exists and the caller may see it; else 404."""
        item = getattr(self.plugin, f"get_{self.member}")(ctx, resource_id)
        self._require_visible(ctx, item, resource_id)
        return item

    def _require_visible(self, ctx: Context, item: dict[str, Any],
                         resource_id: str) -> dict[str, Any]:
        """``item``'s policy target; 404 if the caller may not see it."""
        target = self.target(ctx, item)
        if not self.policy.check(ctx, f"get_{self.rule}", target):
            raise exc.not_found(self.member, resource_id)
        return target

    def view(self, ctx: Context, item: dict[str, Any], fields: list[str] | None,
             memo: dict[Any, frozenset[str]] | None = None) -> dict[str, Any]:
        """Drop invisible and policy-hidden attributes; keep only ``fields`` if asked."""
        hidden = self._hidden(ctx, item, memo)
        if not hidden and not fields and self._visible.issuperset(item):
            return item  # the common admin case: nothing to drop
        keep = self._visible if not fields else self._visible.intersection(fields)
        return {k: v for k, v in item.items() if k in keep and k not in hidden}

    def _hidden(self, ctx: Context, item: dict[str, Any],
                memo: dict[Any, frozenset[str]] | None) -> frozenset[str]:
        """Attributes that ``get_<member>:<attr>`` rules hide from this caller.

        A list asks once per owner and network, not once per item: the rules' targets
        differ only in those (the item's project and its network's).
        """
        key = (item.get("project_id"), item.get("network_id"))
        if memo is not None and key in memo:
            return memo[key]
        target = self.target(ctx, item)
        hidden = frozenset(
            name for name in self._policy_attrs if name in item
            and not self.policy.check(ctx, f"get_{self.rule}:{name}", target))
        if memo is not None:
            memo[key] = hidden
        return hidden

    # --- HTTP verbs -------------------------------------------------------------------

    def on_get_collection(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.neutron
        listing = parse_list_request(req, self.resource, self.conf)
        items = getattr(self.plugin, f"get_{self.resource.collection}")(
            ctx, listing.filters, listing.page)
        visible = items if ctx.is_admin else self._may_see(ctx, items)
        body: dict[str, Any] = {self.resource.collection: self._views(
            ctx, visible, listing.fields)}
        links = page_links(req, listing, items, visible)
        if links is not None:
            body[f"{self.resource.collection}_links"] = links
        send(resp, 200, body)

    def _may_see(self, ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items ``get_<member>`` lets the caller see, in order.

        Items that agree on the memo's key (the network: values follow from
        network_id) get the same answer; the target, and any read of its network,
        only on a miss.
        """
        memo: dict[tuple[Any, ...], bool] = {}
        action = f"get_{self.rule}"
        visible = []
        for item in items:
            get = item.get
            key = (get("project_id"), get("shared"), get("router:external"),
                   get("network_id"))
            seen = memo.get(key)
            if seen is None:
                seen = memo[key] = self.policy.check(ctx, action, self.target(ctx, item))
            if seen:
                visible.append(item)
        return visible

    def _views(self, ctx: Context, items: list[dict[str, Any]],
               fields: list[str] | None) -> list[dict[str, Any]]:
        """``view`` of each item, each policy check and key test made once per kind.

        Which keys go depends on the caller's hidden attributes (asked once per
        owner and network, as ``_hidden``) and on the item's keys: items with the
        same keys as the last one of their kind drop the same ones, so each costs
        a copy and a few deletions rather than a test per attribute.
        """
        keep = self._visible if not fields else self._visible.intersection(fields)
        hidden_memo: dict[Any, frozenset[str]] = {}
        drops: dict[frozenset[str], tuple[Any, tuple[str, ...]]] = {}
        shown = []
        for item in items:
            hidden = hidden_memo.get((item.get("project_id"), item.get("network_id")))
            if hidden is None:
                hidden = self._hidden(ctx, item, hidden_memo)
            last = drops.get(hidden)
            if last is None or last[0] != item.keys():
                last = drops[hidden] = (item.keys(), tuple(
                    k for k in item if k not in keep or k in hidden))
            if not last[1]:
                shown.append(item)
                continue
            view = dict(item)
            for key in last[1]:
                del view[key]
            shown.append(view)
        return shown

    def on_post_collection(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx: Context = req.context.neutron
        body = read_json(req)
        coll, member = self.resource.collection, self.member
        if isinstance(body, dict) and coll in body and member not in body:
            if not self.conf.allow_bulk or not self.resource.allow_bulk:
                raise HTTPBadRequest("Bulk operation not supported")
            raws = body[coll]
            if not isinstance(raws, list) or not raws:
                raise HTTPBadRequest(f"Resources required: '{coll}' must be a non-empty "
                                     "list")
            bulk = True
        elif isinstance(body, dict) and member in body:
            raws, bulk = [body[member]], False
        else:
            raise HTTPBadRequest(f"Unable to find '{member}' in request body")
        items = [self.prepare_create(ctx, raw) for raw in raws]
        for item, raw in zip(items, raws, strict=True):
            self.authorize_create(ctx, item, raw)
        created = getattr(self.plugin, f"create_{member}_bulk")(ctx, items)
        shaped = [self.view(ctx, c, None) for c in created]
        send(resp, 201, {coll: shaped} if bulk else {member: shaped[0]})

    def on_get(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.neutron
        item = self.fetch_visible(ctx, resource_id)
        fields = req.get_param_as_list("fields") or None
        send(resp, 200, {self.member: self.view(ctx, item, fields)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, resource_id: str) -> None:
        ctx: Context = req.context.neutron
        body = read_json(req)
        if not isinstance(body, dict) or self.member not in body:
            raise HTTPBadRequest(f"Unable to find '{self.member}' in request body")
        changes = self.prepare_update(body[self.member])
        ctx.if_match_revision = revision_constraint(req)  # type: ignore[attr-defined]

        def check(original: dict[str, Any]) -> None:
            """404 if the caller may not see it, 403 if it may not make these changes."""
            self._require_visible(ctx, original, resource_id)
            target = self.target(ctx, {**original, **changes})
            self.policy.enforce(ctx, f"update_{self.rule}", target)
            self._enforce_attrs(ctx, "update", target, changes)

        self._guard_write(ctx, resource_id, check)
        updated = getattr(self.plugin, f"update_{self.member}")(ctx, resource_id, changes)
        send(resp, 200, {self.member: self.view(ctx, updated, None)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  resource_id: str) -> None:
        ctx: Context = req.context.neutron

        def check(item: dict[str, Any]) -> None:
            self._authorize_delete(ctx, req, resource_id, item)

        self._guard_write(ctx, resource_id, check)
        getattr(self.plugin, f"delete_{self.member}")(ctx, resource_id)
        send(resp, 204, None)

    def _guard_write(self, ctx: Context, resource_id: str,
                     check: Callable[[dict[str, Any]], None]) -> None:
        """Have ``check`` run on the resource before it is updated or deleted.

        A plugin that honours ``ctx.write_guard`` runs it on the row it reads in its
        own transaction (ml2.base.check_write): reading it here first would double
        the queries and leave a window between the check and the write. Otherwise
        the resource is read and checked here.
        """
        if getattr(self.plugin, "checks_write_guard", False):
            ctx.write_guard = (self.member, resource_id, check)  # type: ignore[attr-defined]
        else:
            check(getattr(self.plugin, f"get_{self.member}")(ctx, resource_id))

    def _authorize_delete(self, ctx: Context, req: falcon.Request, resource_id: str,
                          item: dict[str, Any]) -> None:
        """404 if the caller may not see ``item``, 403 if it may not delete it."""
        target = self._require_visible(ctx, item, resource_id)
        self.policy.enforce(ctx, f"delete_{self.rule}", target)
        ctx.if_match_revision = revision_constraint(req)  # type: ignore[attr-defined]


def revision_constraint(req: falcon.Request) -> int | None:
    """``If-Match: revision_number=N`` → N (Neutron's revision-if-match extension)."""
    header = req.get_header("If-Match")
    if not header:
        return None
    constraints = [c.strip() for c in header.split(",") if c.strip()]
    revisions = [c for c in constraints if c.startswith("revision_number=")]
    if len(revisions) > 1:
        raise exc.InvalidRevisionNumberHeader(
            msg="Multiple revision_number etags are not supported.")
    if not revisions:
        return None
    try:
        return int(revisions[0].split("=", 1)[1])
    except ValueError:
        raise exc.InvalidRevisionNumberHeader(
            msg="Revision number must be an integer, got "
                f"'{revisions[0].split('=', 1)[1]}'") from None


__all__ = ["ListRequest", "ResourceController", "revision_constraint"]
