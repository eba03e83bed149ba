"""keystonemiddleware's ``auth_token`` validates real Keystone tokens.

The configuration that works against ``tests/fixtures/keystone.py`` (passed as
the paste-style local config dict, i.e. ``AuthProtocol(app, conf)``; the same
keys go in ``[keystone_authtoken]`` of ``neutron.conf``)::

    www_authenticate_uri = http://127.0.0.1:<port>/v3
    auth_url             = http://127.0.0.1:<port>/v3
    auth_type            = password
    username             = admin
    password             = <admin password>
    project_name         = admin
    user_domain_id       = default      # user_domain_name = Default also works
    project_domain_id    = default      # project_domain_name = Default also works
    region_name          = RegionOne
    delay_auth_decision  = false         # false: bogus token -> 401 from the middleware
    include_service_catalog = true       # X-Service-Catalog reaches the app

The service user needs the ``admin`` role (or ``service``) on its project for
Keystone to let it call ``GET /v3/auth/tokens`` on someone else's token. The
middleware finds Keystone's identity endpoint through the catalog (interface
``internal`` by default), so the bootstrapped identity endpoints must carry the
server's real port — the fixture rewrites them at start.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.fixtures.keystone import ADMIN_PASSWORD, ADMIN_PROJECT, ADMIN_USER, KeystoneServer

pytestmark = [pytest.mark.functional, pytest.mark.keystone, pytest.mark.slow]

webob = pytest.importorskip("webob")
auth_token = pytest.importorskip("keystonemiddleware.auth_token")

SEEN_HEADERS = ("X-Identity-Status", "X-Project-Id", "X-Project-Name", "X-User-Id",
                "X-Roles", "X-Service-Catalog")


def _echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer with the identity headers the middleware put into the WSGI environ."""
    seen = {h: environ.get("HTTP_" + h.upper().replace("-", "_")) for h in SEEN_HEADERS}
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def auth_token_conf(keystone: KeystoneServer) -> dict[str, str]:
    """The ``auth_token`` options that work against the fixture."""
    return {
        "www_authenticate_uri": keystone.auth_url,
        "auth_url": keystone.auth_url,
        "auth_type": "password",
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "project_name": ADMIN_PROJECT,
        "user_domain_id": "default",
        "project_domain_id": "default",
        "region_name": "RegionOne",
        "delay_auth_decision": "false",
        "include_service_catalog": "true",
    }


@pytest.fixture(scope="module")
def protected_app(keystone: KeystoneServer) -> Any:
    return auth_token.AuthProtocol(_echo_app, auth_token_conf(keystone))


def test_valid_token_reaches_app_with_identity_headers(
    keystone: KeystoneServer, protected_app: Any
) -> None:
    keystone.register_network_endpoint("http://127.0.0.1:9696")
    suffix = uuid.uuid4().hex[:8]
    project, user, creds = keystone.create_project_user(
        f"mw-proj-{suffix}", f"mw-user-{suffix}", "mw-pw", roles=("member", "reader"))
    token = keystone.get_token(creds.username, creds.password, creds.project_name)

    req = webob.Request.blank("/v2.0/networks", headers={"X-Auth-Token": token})
    resp = req.get_response(protected_app)

    assert resp.status_int == 200, resp.text
    seen = resp.json
    assert seen["X-Identity-Status"] == "Confirmed"
    assert seen["X-Project-Id"] == project["id"]
    assert seen["X-Project-Name"] == creds.project_name
    assert seen["X-User-Id"] == user["id"]
    assert set(seen["X-Roles"].split(",")) == {"member", "reader"}
    catalog = json.loads(seen["X-Service-Catalog"])
    assert "network" in {entry["type"] for entry in catalog}


def test_bogus_token_is_rejected(keystone: KeystoneServer, protected_app: Any) -> None:
    req = webob.Request.blank("/v2.0/networks", headers={"X-Auth-Token": "bogus-token"})
    resp = req.get_response(protected_app)
    assert resp.status_int == 401
    assert keystone.auth_url in resp.headers.get("WWW-Authenticate", "")


def test_missing_token_is_rejected(protected_app: Any) -> None:
    resp = webob.Request.blank("/v2.0/networks").get_response(protected_app)
    assert resp.status_int == 401
