"""The service-plugin seams: a third-party plugin's collection, member action,
sub-resource, policy rules, extensions and callbacks, all through the real API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.exceptions import Conflict
from neutrino.plugins.events import Events
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, start_api_server
from tests.unit.api.helpers import assert_error, ok

TOY = "tests.unit.plugins.toy:Plugin"
USER = {"X-Project-Id": "p1", "X-Roles": "member"}
OTHER = {"X-Project-Id": "p2", "X-Roles": "member"}


@pytest.fixture
def server(sqlite_url: str) -> Iterator[ApiServer]:
    srv = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "service_plugins": [TOY]},
        "database": {"connection": sqlite_url}}))
    yield srv
    srv.stop()


@pytest.fixture
def http(server: ApiServer) -> Iterator[Any]:
    with server.http() as client:
        yield client


def _toy(server: ApiServer) -> Any:
    return next(p for p in server.server.service_plugins if type(p).__name__ == "Plugin"
                and hasattr(p, "widgets"))


def test_collection_and_extension(http: Any) -> None:
    made = ok(http.post("/v2.0/widgets", json={"widget": {"name": "w", "shine": "3"}},
                        headers=USER), 201)["widget"]
    assert made["shine"] == 3 and made["project_id"] == "p1"
    assert ok(http.get(f"/v2.0/widgets/{made['id']}", headers=USER))["widget"]["name"] == "w"
    assert_error(http.get(f"/v2.0/widgets/{made['id']}", headers=OTHER), 404)
    aliases = {e["alias"] for e in ok(http.get("/v2.0/extensions"))["extensions"]}
    assert "toy-widgets" in aliases
    assert "widgets" in {r["collection"] for r in ok(http.get("/v2.0"))["resources"]}


def test_member_action_checks_visibility_and_its_own_rule(http: Any) -> None:
    wid = ok(http.post("/v2.0/widgets", json={"widget": {"name": "w"}}, headers=USER),
             201)["widget"]["id"]
    # polish_widget is admin only: the owner sees it (403), another project does not (404).
    assert_error(http.put(f"/v2.0/widgets/{wid}/polish", json={"by": 2}, headers=USER), 403)
    assert_error(http.put(f"/v2.0/widgets/{wid}/polish", json={"by": 2}, headers=OTHER), 404)
    assert ok(http.put(f"/v2.0/widgets/{wid}/polish", json={"by": 2})) == \
        {"id": wid, "shine": 2}
    assert_error(http.put(f"/v2.0/widgets/{wid}/polish", json=[1]), 400)
    assert_error(http.put("/v2.0/widgets/nope/polish", json={}), 404)


def test_sub_resource_lifecycle(http: Any) -> None:
    wid = ok(http.post("/v2.0/widgets", json={"widget": {"name": "w"}}, headers=USER),
             201)["widget"]["id"]
    base = f"/v2.0/widgets/{wid}/parts"
    part = ok(http.post(base, json={"part": {"name": "cog"}}, headers=USER), 201)["part"]
    assert part["project_id"] == "p1"
    assert [p["id"] for p in ok(http.get(base, headers=USER))["parts"]] == [part["id"]]
    renamed = ok(http.put(f"{base}/{part['id']}", json={"part": {"name": "gear"}},
                          headers=USER))["part"]
    assert renamed["name"] == "gear"
    assert ok(http.get(f"{base}/{part['id']}", headers=USER))["part"]["name"] == "gear"
    # The parent must be visible: another project gets 404 for the whole subtree.
    assert_error(http.get(base, headers=OTHER), 404)
    assert_error(http.post(base, json={"part": {"name": "x"}}, headers=OTHER), 404)
    assert_error(http.get("/v2.0/widgets/nope/parts", headers=USER), 404)
    # No create_widget_part_bulk on the plugin: a bulk create could not be atomic.
    assert_error(http.post(base, json={"parts": [{"name": "a"}, {"name": "b"}]},
                           headers=USER), 400)
    assert len(ok(http.get(base, headers=USER))["parts"]) == 1
    assert http.delete(f"{base}/{part['id']}", headers=USER).status_code == 204
    assert_error(http.get(f"{base}/{part['id']}", headers=USER), 404)
    assert_error(http.post(base, json={"part": {"bogus": 1}}, headers=USER), 400)


def test_precommit_callback_refuses_and_rolls_back(http: Any, server: ApiServer) -> None:
    toy = _toy(server)
    assert_error(http.post("/v2.0/networks", json={"network": {"name": "refused-by-widget"}}),
                 409)
    names = {n["name"] for n in ok(http.get("/v2.0/networks"))["networks"]}
    assert "refused-by-widget" not in names
    ok(http.post("/v2.0/networks", json={"network": {"name": "fine"}}), 201)
    assert ("precommit_create", "fine") in toy.seen and ("after_create", "fine") in toy.seen
    assert ("after_create", "refused-by-widget") not in toy.seen


def test_events_phases() -> None:
    events = Events()
    calls: list[str] = []

    def refuse(*args: Any, **kw: Any) -> None:
        calls.append("refuse")
        raise Conflict()

    def after(*args: Any, **kw: Any) -> None:
        calls.append("after")
        raise RuntimeError("observer bug")

    events.subscribe("port", "before_delete", refuse)
    events.subscribe("port", "after_delete", after)
    events.subscribe("port", "after_delete", lambda *a, **k: calls.append("after2"))
    with pytest.raises(Conflict):
        events.publish("port", "before_delete", None, {"id": "x"})  # type: ignore[arg-type]
    events.publish("port", "after_delete", None, {"id": "x"})  # type: ignore[arg-type]
    assert calls == ["refuse", "after", "after2"]
    with pytest.raises(ValueError):
        events.subscribe("port", "deleted", after)
