"""Security groups and rules reach the SDN controller, and come back after a full sync."""

from __future__ import annotations

from typing import Any

import pytest

from neutrino.journal.full_sync import CANARY_ID
from tests.functional.journal.conftest import (
    fast_journal,
    journal_counts,
    journal_server,
    wait_until,
)

pytestmark = pytest.mark.functional


def _ok(resp: Any, status: int = 201) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def _held(store: Any, object_type: str) -> set[str]:
    return {i["id"] for i in store.list(object_type)}


def test_groups_and_rules_are_synced_and_restored(backend_url, controller, ctl):
    with journal_server(backend_url, fast_journal(controller.northbound_url)) as server:
        db = server.plugin.mechanism_manager.drivers[0].db
        store = controller.controller.store
        wait_until(lambda: store.list("network"), 30, "the canary")
        with server.http() as http:
            web = _ok(http.post("/v2.0/security-groups", json={
                "security_group": {"name": "web"}}))["security_group"]
            ssh = _ok(http.post("/v2.0/security-group-rules", json={"security_group_rule": {
                "security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
                "port_range_min": 22, "port_range_max": 22,
                "remote_group_id": web["id"]}}))["security_group_rule"]
            rules = {r["id"] for r in web["security_group_rules"]} | {ssh["id"]}
            wait_until(lambda: rules <= _held(store, "security_group_rule"), 30,
                       "the group's rules in the controller")
            assert store.get("security_group", web["id"])["name"] == "web"
            assert store.get("security_group_rule", ssh["id"])["port_range_min"] == 22
            # The project's default group, made implicitly by the first request, is
            # journaled like any group, with its rules (no full sync needed).
            member = {"X-Project-Id": "p-journal", "X-Roles": "member"}
            default = next(g for g in _ok(http.get("/v2.0/security-groups", headers=member),
                                          200)["security_groups"] if g["name"] == "default")
            default_rules = {r["id"] for r in default["security_group_rules"]}
            wait_until(lambda: default_rules <= _held(store, "security_group_rule"), 30,
                       "the default group's rules in the controller")
            assert store.get("security_group", default["id"])["name"] == "default"

            # A wiped controller gets every group and rule back from the full sync,
            # the project's default group (made implicitly) included.
            groups = {g["id"] for g in _ok(http.get("/v2.0/security-groups"), 200)[
                "security_groups"]}
            all_rules = {r["id"] for r in _ok(http.get("/v2.0/security-group-rules"), 200)[
                "security_group_rules"]}
            ctl.wipe()
            wait_until(lambda: store.list("network") and journal_counts(db).get(
                "pending", 0) == 0, 60, "the full sync")
            assert _held(store, "security_group") == groups
            assert _held(store, "security_group_rule") == all_rules
            assert CANARY_ID in _held(store, "network")

            _ok(http.delete(f"/v2.0/security-groups/{web['id']}"), 204)
            wait_until(lambda: web["id"] not in _held(store, "security_group"), 30,
                       "the group's delete")
            assert not rules & _held(store, "security_group_rule")
