"""Small helpers for API tests: create resources over HTTP, check NeutronError bodies."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(resp: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    """``resp`` is a NeutronError with ``status`` (and ``type_``); return the error."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"NeutronError"}, body
    error = body["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in resp.text
    if type_ is not None:
        assert error["type"] == type_, error
    return error


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def create(client: httpx.Client, member: str, **attrs: Any) -> dict[str, Any]:
    resp = client.post(f"/v2.0/{member}s", json={member: attrs})
    return ok(resp, 201)[member]


def network(client: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return create(client, "network", **attrs)


def subnet(client: httpx.Client, net_id: str, cidr: str, **attrs: Any) -> dict[str, Any]:
    version = 6 if ":" in cidr else 4
    attrs.setdefault("ip_version", version)
    return create(client, "subnet", network_id=net_id, cidr=cidr, **attrs)


def port(client: httpx.Client, net_id: str, **attrs: Any) -> dict[str, Any]:
    return create(client, "port", network_id=net_id, **attrs)


def show(client: httpx.Client, collection: str, rid: str) -> dict[str, Any]:
    return ok(client.get(f"/v2.0/{collection}/{rid}"))[collection[:-1]]


def update(client: httpx.Client, collection: str, rid: str, **attrs: Any) -> dict[str, Any]:
    return ok(client.put(f"/v2.0/{collection}/{rid}", json={collection[:-1]: attrs}))[
        collection[:-1]]


def listing(client: httpx.Client, collection: str, params: Any = None) -> list[dict[str, Any]]:
    return ok(client.get(f"/v2.0/{collection}", params=params))[collection]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]
