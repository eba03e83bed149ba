"""The tags sub-resource: ``/v2.0/<collection>/<id>/tags[/<tag>]``.

Every change goes to the plugin that owns the collection (``update_tags``, see
``neutrino.plugins.tags``), so it is an update of the resource for that plugin's
drivers and observers; a plugin without it gets the direct database write.
"""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import select

from neutrino import exceptions as exc
from neutrino.api.controller import HTTPBadRequest, ResourceController, read_json, send
from neutrino.apidef import validators as v
from neutrino.db.models import Tag
from neutrino.plugins.tags import TagChange, write_tags_directly


class TagsResource:
    """Serves the tags of every collection whose Resource has ``has_tags``."""

    def __init__(self, controllers: dict[str, ResourceController], db: Any,
                 models: dict[str, Any]) -> None:
        self.controllers = controllers
        self.db = db
        self.models = models

    def _authorize(self, req: falcon.Request, collection: str, rid: str,
                   write: bool) -> ResourceController:
        controller = self.controllers.get(collection)
        if controller is None or not controller.resource.has_tags \
                or collection not in self.models:
            raise falcon.HTTPNotFound()
        ctx = req.context.neutron
        item = controller.fetch_visible(ctx, rid)
        if write:
            controller.policy.enforce(ctx, f"update_{controller.member}",
                                      controller.target(ctx, item))
        return controller

    @staticmethod
    def _valid_tags(body: Any) -> list[str]:
        if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
            raise HTTPBadRequest("Invalid tags body: expected {\"tags\": [...]}")
        msg = v.list_of(v.tag, unique=False)(body["tags"])
        if msg:
            raise exc.InvalidInput(error_message=msg)
        return list(dict.fromkeys(body["tags"]))

    def _tags(self, rid: str) -> list[str]:
        with self.db.reader() as session:
            return sorted(session.execute(select(Tag.tag).where(
                Tag.resource_id == rid)).scalars())

    def _write(self, req: falcon.Request, collection: str, rid: str,
               change: TagChange) -> None:
        plugin = self.controllers[collection].plugin
        update_tags = getattr(plugin, "update_tags", None)
        if update_tags is not None:
            update_tags(req.context.neutron, collection, rid, change)
        else:
            write_tags_directly(self.db, self.models[collection], collection, rid, change)

    def on_get(self, req: falcon.Request, resp: falcon.Response, collection: str,
               resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=False)
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, collection: str,
               resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        tags = self._valid_tags(read_json(req))
        self._write(req, collection, resource_id, TagChange(replace=tuple(tags)))
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, collection: str,
                resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        tags = self._valid_tags(read_json(req))
        self._write(req, collection, resource_id, TagChange(add=tuple(tags)))
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, collection: str,
                  resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        self._write(req, collection, resource_id, TagChange(replace=()))
        send(resp, 204, None)

    def on_get_tag(self, req: falcon.Request, resp: falcon.Response, collection: str,
                   resource_id: str, tag: str) -> None:
        self._authorize(req, collection, resource_id, write=False)
        if tag not in self._tags(resource_id):
            raise exc.TagNotFound(tag=tag, resource=collection[:-1], resource_id=resource_id)
        send(resp, 204, None)

    def on_put_tag(self, req: falcon.Request, resp: falcon.Response, collection: str,
                   resource_id: str, tag: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        msg = v.tag(tag)
        if msg:
            raise exc.InvalidInput(error_message=msg)
        self._write(req, collection, resource_id, TagChange(add=(tag,)))
        send(resp, 201, None)

    def on_delete_tag(self, req: falcon.Request, resp: falcon.Response, collection: str,
                      resource_id: str, tag: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        if tag not in self._tags(resource_id):
            raise exc.TagNotFound(tag=tag, resource=collection[:-1], resource_id=resource_id)
        self._write(req, collection, resource_id, TagChange(remove=(tag,)))
        send(resp, 204, None)
