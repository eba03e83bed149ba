"""The one interface every service plugin implements (routers, security groups, agents …).

A service plugin is found by entry point (``neutrino.service_plugins``) and named in
``[DEFAULT] service_plugins`` as in Neutron; the core plugin may bring some along
(``implicit_service_plugins``). It declares, as class attributes:

- ``resources``: the collections it serves (``neutrino.apidef`` ``Resource`` maps). For a
  collection ``<collection>`` of members ``<member>`` the plugin has Neutron's methods:
  ``create_<member>_bulk(ctx, items) -> list[dict]`` (atomic: all or none),
  ``get_<member>(ctx, id) -> dict`` (``NotFound`` if absent),
  ``get_<collection>(ctx, filters, page) -> list[dict]``,
  ``update_<member>(ctx, id, changes) -> dict`` and ``delete_<member>(ctx, id)``.
  Items carry ``project_id``/``tenant_id``; the API layer applies policy, ``fields``
  and visibility. A plugin that runs ``ctx.write_guard`` on the row it reads inside
  its own transaction (see ``ml2.base.check_write``) sets ``checks_write_guard``.
- ``member_actions``: ``{collection: (action, …)}`` served as
  ``PUT /v2.0/<collection>/<id>/<action>`` by ``<action>(ctx, id, body) -> dict``
  (``add_router_interface``); the caller must see the resource (404) and pass the
  ``<action>_<member>`` policy rule (403). The body is handed over as sent.
- ``sub_resources``: ``SubResource(parent collection, resource)`` served under
  ``/v2.0/<parent collection>/<parent id>/<collection>[/<id>]`` by
  ``create_<parent>_<member>(ctx, parent_id, item)``,
  ``get_<parent>_<member>(ctx, id, parent_id)``,
  ``get_<parent>_<collection>(ctx, parent_id, filters, page)``,
  ``update_<parent>_<member>(ctx, id, parent_id, changes)`` and
  ``delete_<parent>_<member>(ctx, id, parent_id)`` — Neutron's signatures
  (``create_floatingip_port_forwarding``). The parent must be visible to the caller.
- ``supported_extension_aliases``: what ``/v2.0/extensions`` lists for it — only what
  works.
- ``policy_rules``: default rules, overridable by the policy file.
- ``tag_models``: ``{collection: model}`` for the tags sub-resource.
- ``routes(policy)``: URLs that fit no collection, served by the plugin's own handlers
  (``/v2.0/quotas/{project_id}/details``); see ``Route``.

Plugins observe and refuse each other's changes through ``core_plugin.events``
(``neutrino.plugins.events``), never by importing each other's internals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from neutrino.apidef.attributes import Resource
from neutrino.db.api import Database


@dataclasses.dataclass(frozen=True)
class SubResource:
    """A collection that lives under a member of another (``floatingips/{id}/port_forwardings``)."""

    parent: str
    resource: Resource
    # POST takes the item itself, not ``{member: item}``, and answers the plugin's
    # reply as it is: Neutron's scheduler extensions (``POST …/dhcp-networks``
    # ``{"network_id": …}``) are shaped so.
    plain_create: bool = False


# handler(ctx, body, **url fields) -> (HTTP status, payload or None)
Handler = Callable[..., tuple[int, Any]]


@dataclasses.dataclass(frozen=True)
class Route:
    """A URL under ``/v2.0/`` that a plugin serves itself, for what is no collection.

    ``path`` is a Falcon template (``quotas/{project_id}/default``); ``handlers`` maps
    an HTTP method to ``handler(ctx, body, **fields)``, ``body`` being the parsed JSON
    of a PUT or POST (``None`` otherwise). The handler authorises with the policy
    given to ``routes`` and raises ``NeutronException``s; the API layer reads the body,
    sends the reply and turns errors into NeutronError bodies as for any resource.
    """

    path: str
    handlers: Mapping[str, Handler]
    # The handlers also take ``query=`` (the query string's parameters, as Falcon
    # parsed them): ``GET …/auto-allocated-topology/{project_id}?fields=dry-run``.
    with_query: bool = False


class ServicePlugin:
    """Base of service plugins: the declarations above, empty by default."""

    resources: ClassVar[list[Resource]] = []
    member_actions: ClassVar[dict[str, tuple[str, ...]]] = {}
    sub_resources: ClassVar[list[SubResource]] = []
    supported_extension_aliases: ClassVar[list[str]] = []
    policy_rules: ClassVar[dict[str, str]] = {}
    tag_models: ClassVar[dict[str, Any]] = {}
    checks_write_guard: ClassVar[bool] = False

    def __init__(self, conf: Any, db: Database, core_plugin: Any) -> None:
        self.conf = conf
        self.db = db
        self.core_plugin = core_plugin

    def routes(self, policy: Any) -> list[Route]:
        """Extra URLs with their handlers; ``policy.enforce(ctx, rule, target)`` raises
        ``PolicyNotAuthorized``. None by default."""
        return []

    def stop(self) -> None:
        """Stop whatever the plugin runs in the background; nothing by default."""
