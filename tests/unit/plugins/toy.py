"""A toy service plugin, loaded by ``module:Class`` like any third-party plugin.

It uses every seam of ``neutrino.plugins.base``: a collection (``widgets``), a member
action (``PUT /widgets/{id}/polish``), a sub-resource (``/widgets/{id}/parts``), its
own policy rules, and ``before_``/``precommit_`` callbacks on the core's ports.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource, standard_attrs
from neutrino.plugins.base import ServicePlugin, SubResource

WIDGETS = Resource("widgets", "widget", {a.name: a for a in (
    *standard_attrs(),
    Attr("shine", allow_post=True, allow_put=True, default=0, convert=v.to_int,
         is_filter=True, is_sort_key=True),
)}, has_tags=False)

PARTS = Resource("parts", "part", {a.name: a for a in (
    Attr("id", is_filter=True, is_sort_key=True),
    Attr("name", allow_post=True, allow_put=True, default="", validate=v.string(64),
         is_filter=True, is_sort_key=True),
    Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED, is_filter=True),
    Attr("tenant_id", allow_post=True, default=ATTR_NOT_SPECIFIED, is_filter=True),
)}, has_tags=False, policy_member="widget_part")

OWNER = "rule:admin_or_owner"


class WidgetNotFound(exc.NotFound):
    message = "Widget %(id)s could not be found."


class PortGuarded(exc.Conflict):
    message = "Port %(port_id)s is guarded by a widget."


class Plugin(ServicePlugin):
    resources = [WIDGETS]
    member_actions = {"widgets": ("polish",)}
    sub_resources = [SubResource("widgets", PARTS)]
    supported_extension_aliases = ["toy-widgets"]
    policy_rules = {
        "create_widget": "", "get_widget": OWNER, "update_widget": OWNER,
        "delete_widget": OWNER, "polish_widget": "rule:admin_only",
        "create_widget_part": OWNER, "get_widget_part": OWNER,
        "update_widget_part": OWNER, "delete_widget_part": OWNER,
    }

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.widgets: dict[str, dict[str, Any]] = {}
        self.parts: dict[str, dict[str, dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []
        core_plugin.events.subscribe("network", "precommit_create", self._on_network)
        core_plugin.events.subscribe("network", "after_create", self._on_network)

    def _on_network(self, resource: str, event: str, ctx: Any, current: dict[str, Any],
                    original: Any, **details: Any) -> None:
        self.seen.append((event, current["name"]))
        if event == "precommit_create" and current["name"] == "refused-by-widget":
            assert details["session"] is not None
            raise PortGuarded(port_id=current["id"])

    def create_widget_bulk(self, ctx: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        made = [{**item, "id": str(uuid.uuid4()), "revision_number": 0} for item in items]
        with self.lock:
            for widget in made:
                self.widgets[widget["id"]] = widget
                self.parts[widget["id"]] = {}
        return made

    def get_widget(self, ctx: Any, widget_id: str) -> dict[str, Any]:
        try:
            return dict(self.widgets[widget_id])
        except KeyError:
            raise WidgetNotFound(id=widget_id) from None

    def get_widgets(self, ctx: Any, filters: dict[str, list[Any]],
                    page: Any = None) -> list[dict[str, Any]]:
        return [dict(w) for w in self.widgets.values()
                if all(w.get(k) in vals for k, vals in filters.items())]

    def update_widget(self, ctx: Any, widget_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        self.get_widget(ctx, widget_id)
        self.widgets[widget_id].update(changes)
        return self.get_widget(ctx, widget_id)

    def delete_widget(self, ctx: Any, widget_id: str) -> None:
        self.get_widget(ctx, widget_id)
        del self.widgets[widget_id]

    def polish(self, ctx: Any, widget_id: str, body: dict[str, Any]) -> dict[str, Any]:
        widget = self.widgets[widget_id]
        widget["shine"] += int(body.get("by", 1))
        return {"id": widget_id, "shine": widget["shine"]}

    def create_widget_part(self, ctx: Any, widget_id: str,
                           item: dict[str, Any]) -> dict[str, Any]:
        part = {**item, "id": str(uuid.uuid4())}
        self.parts[widget_id][part["id"]] = part
        return part

    def get_widget_part(self, ctx: Any, part_id: str, widget_id: str) -> dict[str, Any]:
        try:
            return dict(self.parts[widget_id][part_id])
        except KeyError:
            raise exc.NotFound() from None

    def get_widget_parts(self, ctx: Any, widget_id: str, filters: dict[str, list[Any]],
                         page: Any = None) -> list[dict[str, Any]]:
        return [dict(p) for p in self.parts[widget_id].values()]

    def update_widget_part(self, ctx: Any, part_id: str, widget_id: str,
                           changes: dict[str, Any]) -> dict[str, Any]:
        self.get_widget_part(ctx, part_id, widget_id)
        self.parts[widget_id][part_id].update(changes)
        return self.get_widget_part(ctx, part_id, widget_id)

    def delete_widget_part(self, ctx: Any, part_id: str, widget_id: str) -> None:
        self.get_widget_part(ctx, part_id, widget_id)
        del self.parts[widget_id][part_id]
