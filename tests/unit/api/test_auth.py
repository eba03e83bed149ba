"""The request context from noauth headers, and from the headers auth_token confirmed."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.testing
import pytest

from neutrino.api.auth import KeystoneContextMiddleware, NoAuthMiddleware
from neutrino.context import Context


class Whoami:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = vars(req.context.neutron)


def client(middleware: Any) -> falcon.testing.TestClient:
    app = falcon.App(middleware=[middleware])
    app.add_route("/", Whoami())
    app.add_route("/v2.0/networks", Whoami())
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize("headers, expected", [
    ({}, {"project_id": None, "roles": ["admin"], "is_admin": True}),
    ({"X-Project-Id": ""}, {"project_id": None, "roles": ["admin"], "is_admin": True}),
    ({"X-Roles": "reader"}, {"project_id": None, "roles": ["reader"], "is_admin": True}),
    ({"X-Project-Id": "p1", "X-Roles": "member, reader"},
     {"project_id": "p1", "roles": ["member", "reader"], "is_admin": False}),
    ({"X-Tenant-Id": "t1", "X-Role": "admin"},
     {"project_id": "t1", "roles": ["admin"], "is_admin": True}),
    ({"X-Project-Id": "p1", "X-Roles": "advsvc", "X-User-Id": "u1"},
     {"project_id": "p1", "user_id": "u1", "is_advsvc": True, "is_admin": False}),
])
def test_noauth_context(headers: dict[str, str], expected: dict[str, Any]) -> None:
    seen = client(NoAuthMiddleware()).simulate_get("/v2.0/networks", headers=headers).json
    assert {k: seen[k] for k in expected} == expected
    assert seen["request_id"].startswith("req-")


def test_request_id_is_taken_from_the_caller_or_made_per_request() -> None:
    http = client(NoAuthMiddleware())
    given = http.simulate_get("/", headers={"X-Openstack-Request-Id": "req-given"}).json
    assert given["request_id"] == "req-given"
    ids = {http.simulate_get("/").json["request_id"] for _ in range(3)}
    assert len(ids) == 3


def test_keystone_context_needs_a_confirmed_identity() -> None:
    http = client(KeystoneContextMiddleware())
    refused = http.simulate_get("/v2.0/networks", headers={"X-Project-Id": "p1"})
    assert refused.status_code == 401
    assert refused.json["description"] == "Authentication required"
    public = http.simulate_get("/").json  # the version document needs no identity
    assert public == vars(Context(request_id=public["request_id"]))
    seen = http.simulate_get("/v2.0/networks", headers={
        "X-Identity-Status": "Confirmed", "X-Project-Id": "p1", "X-Roles": "member"}).json
    assert (seen["project_id"], seen["roles"], seen["is_admin"]) == ("p1", ["member"], False)
