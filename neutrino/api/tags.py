"""The tags sub-resource: ``/v2.0/<collection>/<id>/tags[/<tag>]``."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import delete, select

from neutrino import exceptions as exc
from neutrino.api.controller import HTTPBadRequest, ResourceController, read_json, send
from neutrino.apidef import validators as v
from neutrino.db.models import Tag
from neutrino.plugins.ml2.base import Ml2Base


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

    def _write(self, collection: str, rid: str, add: list[str], remove_all: bool = False,
               remove: list[str] | None = None) -> None:
        def attempt() -> None:
            with self.db.transaction() as session:
                if remove_all:
                    session.execute(delete(Tag).where(Tag.resource_id == rid))
                for tag in remove or []:
                    session.execute(delete(Tag).where(Tag.resource_id == rid, Tag.tag == tag))
                have = set(session.execute(select(Tag.tag).where(
                    Tag.resource_id == rid)).scalars())
                Ml2Base.set_tags(session, collection, rid, [t for t in add if t not in have])
                Ml2Base.bump(session, self.models[collection], rid)
        self.db.retrying(attempt)

    def on_get(self, req: falcon.Request, resp: falcon.Response, collection: str,
               resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=False)
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_put(self, req: falcon.Request, resp: falcon.Response, collection: str,
               resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        tags = self._valid_tags(read_json(req))
        self._write(collection, resource_id, tags, remove_all=True)
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, collection: str,
                resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        tags = self._valid_tags(read_json(req))
        self._write(collection, resource_id, tags)
        send(resp, 200, {"tags": self._tags(resource_id)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, collection: str,
                  resource_id: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        self._write(collection, resource_id, [], remove_all=True)
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
        self._write(collection, resource_id, [tag])
        send(resp, 201, None)

    def on_delete_tag(self, req: falcon.Request, resp: falcon.Response, collection: str,
                      resource_id: str, tag: str) -> None:
        self._authorize(req, collection, resource_id, write=True)
        if tag not in self._tags(resource_id):
            raise exc.TagNotFound(tag=tag, resource=collection[:-1], resource_id=resource_id)
        self._write(collection, resource_id, [], remove=[tag])
        send(resp, 204, None)
