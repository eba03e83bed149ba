"""The real-Keystone fixture: projects, users, roles, tokens and the network catalog."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.keystone import KeystoneServer, find_endpoint

pytestmark = [pytest.mark.functional, pytest.mark.keystone, pytest.mark.slow]

NEUTRINO_URL = "http://127.0.0.1:9696"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_two_projects_tokens_and_network_catalog(keystone: KeystoneServer) -> None:
    keystone.register_network_endpoint(NEUTRINO_URL)
    made = []
    for role in ("member", "reader"):
        project, user, creds = keystone.create_project_user(
            _name("proj"), _name("user"), "pw-" + role, roles=(role,))
        made.append((project, user, creds, role))
    assert made[0][0]["id"] != made[1][0]["id"]

    for project, user, creds, role in made:
        token, body = keystone.issue_token(creds.username, creds.password, creds.project_name)
        assert body["project"]["id"] == project["id"]
        assert body["user"]["id"] == user["id"]

        validated = keystone.validate_token(token)
        assert validated is not None
        assert validated["project"]["id"] == project["id"]
        assert role in {r["name"] for r in validated["roles"]}
        assert find_endpoint(validated["catalog"], "network") == NEUTRINO_URL
        assert find_endpoint(validated["catalog"], "identity") == keystone.auth_url + "/"

    assert keystone.validate_token("not-a-token") is None


def test_admin_token_and_reregistered_endpoint(keystone: KeystoneServer) -> None:
    other = "http://127.0.0.1:19696"
    keystone.register_network_endpoint(other)
    try:
        creds = keystone.admin_credentials
        _token, body = keystone.issue_token(creds.username, creds.password, creds.project_name)
        assert "admin" in {r["name"] for r in body["roles"]}
        assert find_endpoint(body["catalog"], "network") == other
        for interface in ("internal", "admin"):
            assert find_endpoint(body["catalog"], "network", interface) == other
    finally:
        keystone.register_network_endpoint(NEUTRINO_URL)


def test_openstacksdk_finds_network_endpoint(keystone: KeystoneServer) -> None:
    openstack = pytest.importorskip("openstack")
    keystone.register_network_endpoint(NEUTRINO_URL)
    project, _user, creds = keystone.create_project_user(_name("sdk"), _name("sdk"), "sdk-pw")
    conn = openstack.connect(**creds.as_sdk_kwargs())
    try:
        assert conn.endpoint_for("network") == NEUTRINO_URL
        assert conn.current_project_id == project["id"]
    finally:
        conn.close()
