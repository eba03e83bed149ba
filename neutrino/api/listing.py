"""List requests: filters, fields, sorting and pagination parameters, and page links."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

import falcon

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Resource
from neutrino.db.query import TAG_FILTERS, Page

_LIMIT_CAP = 2**31 - 1
_CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}


@dataclasses.dataclass
class ListRequest:
    filters: dict[str, list[Any]]
    fields: list[str] | None
    page: Page


def _filter_values(resource: Resource, name: str, values: list[str]) -> list[Any]:
    attr = resource.attrs[name]
    convert = attr.convert_filter
    out = []
    for value in values:
        if value == "":
            # empty-string-filtering: an empty value matches an empty attribute.
            out.append("" if convert is None else None)
            continue
        try:
            out.append(convert(value) if convert is not None else value)
        except ValueError as e:
            raise exc.HTTPBadRequest(msg=f"Invalid input for {name}. Reason: {e}.") from None
    return out


def parse_list_request(req: falcon.Request, resource: Resource, conf: Any) -> ListRequest:
    filters: dict[str, list[Any]] = {}
    for name in req.params:
        if name in _CONTROL:
            continue
        values = req.get_param_as_list(name) or [""]
        if name in TAG_FILTERS:
            filters[name] = values
            continue
        attr = resource.attrs.get(name)
        if attr is None or not attr.is_filter:
            raise exc.HTTPBadRequest(msg=f"[{name}] is invalid attribute for filtering")
        filters[name] = _filter_values(resource, name, values)
    fields = req.get_param_as_list("fields") or None
    return ListRequest(filters, fields, _parse_page(req, resource, conf))


def _parse_page(req: falcon.Request, resource: Resource, conf: Any) -> Page:
    keys = req.get_param_as_list("sort_key") or []
    dirs = req.get_param_as_list("sort_dir") or []
    if dirs and len(dirs) != len(keys):
        raise exc.HTTPBadRequest(msg="The number of sort_keys and sort_dirs must be same")
    sorts = []
    for i, key in enumerate(keys):
        attr = resource.attrs.get(key)
        if attr is None or not attr.is_sort_key:
            raise exc.HTTPBadRequest(msg=f"{key} is invalid attribute for sort_key")
        direction = dirs[i] if dirs else "asc"
        if direction not in ("asc", "desc"):
            raise exc.HTTPBadRequest(msg=f"{direction} is invalid value for sort_dir, valid "
                                     "values are 'asc' and 'desc'")
        sorts.append((key, direction == "asc"))
    limit = _limit(req.get_param("limit"), conf)
    reverse_raw = req.get_param("page_reverse")
    try:
        page_reverse = v.to_boolean(reverse_raw) if reverse_raw else False
    except ValueError as e:
        raise exc.HTTPBadRequest(msg=str(e)) from None
    return Page(sorts=sorts, limit=limit, marker=req.get_param("marker"),
                page_reverse=page_reverse)


def _limit(raw: str | None, conf: Any) -> int | None:
    max_limit = int(conf.pagination_max_limit) if conf.pagination_max_limit != "-1" else 0
    if raw is None:
        return max_limit or None
    try:
        limit = int(raw)
    except ValueError:
        raise exc.HTTPBadRequest(msg=f"'{raw}' is not an integer") from None
    if limit < 0:
        raise exc.HTTPBadRequest(msg=f"'{raw}' should be non-negative")
    if max_limit and (limit == 0 or limit > max_limit):
        return max_limit
    # Beyond any table's size; keeps the SQL LIMIT within what every backend accepts.
    return min(limit, _LIMIT_CAP) or None


def page_links(req: falcon.Request, listing: ListRequest, items: list[dict[str, Any]],
               visible: list[dict[str, Any]] | None = None) -> list[dict[str, str]] | None:
    """``<collection>_links`` with Neutron's rules (``api_common.get_pagination_links``).

    ``next`` unless a forward page came back short; ``previous`` unless a reverse
    page came back short. Neutron offers ``previous`` on the first page too.
    Whether the page is short counts the database's rows (``items``); the markers
    come from what the caller may see (``visible``), never a hidden resource's id.
    """
    shown = items if visible is None else visible
    page = listing.page
    if not page.limit or any("id" not in item for item in shown):
        return None  # resources without ids (availability zones …) are not paged
    base = f"{req.prefix}{req.path}"
    params = [(k, v) for k in req.params for v in req.get_param_as_list(k) or []
              if k not in ("marker", "page_reverse")]

    def href(item: dict[str, Any] | None, reverse: bool) -> str:
        extra = [("marker", item["id"])] if item is not None else []
        extra += [("page_reverse", "True")] if reverse else []
        return f"{base}?{urlencode(params + extra)}"

    short = len(items) < page.limit
    links = []
    if not (short and not page.page_reverse):
        links.append({"href": href(shown[-1] if shown else None, False), "rel": "next"})
    if not (short and page.page_reverse):
        links.append({"href": href(shown[0] if shown else None, True), "rel": "previous"})
    return links
