"""Tag changes and status changes are updates for ML2's mechanism drivers and events.

A recording mechanism driver (``recording_driver``) keeps what each ``update_*``
hook saw; the tests drive the tags sub-resource over HTTP and ``update_port_status``
as the RPC layer does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.context import admin_context
from neutrino.plugins.tags import TagChange, write_tags_directly
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server
from tests.unit.api.helpers import assert_error, network, ok, port, show, subnet
from tests.unit.api.recording_driver import RecordingDriver


@pytest.fixture
def server(tmp_path: Any) -> Iterator[ApiServer]:
    with make_database("sqlite", tmp_path) as url:
        srv = start_api_server(_merge(ML2_TEST_CONFIG, {
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url},
            "ml2": {"mechanism_drivers": ["tests.unit.api.recording_driver:RecordingDriver"]}}))
        yield srv
        srv.stop()


@pytest.fixture
def http(server: ApiServer) -> Iterator[Any]:
    with server.http() as client:
        yield client


@pytest.fixture
def driver(server: ApiServer) -> RecordingDriver:
    found = server.plugin.mechanism_manager.drivers[0]
    assert isinstance(found, RecordingDriver)
    return found


def _after_updates(server: ApiServer, resource: str) -> list[tuple[Any, Any]]:
    seen: list[tuple[Any, Any]] = []
    server.plugin.events.subscribe(
        resource, "after_update",
        lambda _r, _e, _ctx, current, original, **_: seen.append((current, original)))
    return seen


# --- update_port_status ------------------------------------------------------------

def test_status_change_gives_drivers_the_bumped_revision(server, http, driver):
    net = network(http)
    made = port(http, net["id"])
    events = _after_updates(server, "port")
    assert server.plugin.update_port_status(admin_context(), made["id"], "ACTIVE")
    for hook in ("update_port_precommit", "update_port_postcommit"):
        [(current, original)] = driver.seen(hook)
        assert original is not None
        assert original["status"] == "DOWN" and current["status"] == "ACTIVE"
        assert current["revision_number"] == original["revision_number"] + 1
    stored = show(http, "ports", made["id"])
    assert stored["revision_number"] == current["revision_number"]
    assert stored["updated_at"] == current["updated_at"]
    [(event_port, _)] = events
    assert event_port["revision_number"] == stored["revision_number"]
    # The same status again is no change: no hooks, no bump.
    assert not server.plugin.update_port_status(admin_context(), made["id"], "ACTIVE")
    assert len(driver.seen("update_port_postcommit")) == 1
    assert show(http, "ports", made["id"])["revision_number"] == stored["revision_number"]


# --- tags through ML2 ---------------------------------------------------------------

def _resource(http: Any, collection: str) -> dict[str, Any]:
    net = network(http)
    if collection == "networks":
        return net
    sub = subnet(http, net["id"], "10.77.0.0/24")
    return sub if collection == "subnets" else port(http, net["id"])


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_tag_requests_are_updates_for_the_drivers(server, http, driver, collection):
    item = _resource(http, collection)
    member = collection[:-1]
    rid = item["id"]
    base = f"/v2.0/{collection}/{rid}/tags"
    events = _after_updates(server, member)
    before = show(http, collection, rid)["revision_number"]

    assert ok(http.put(base, json={"tags": ["b", "a"]})) == {"tags": ["a", "b"]}
    assert http.put(f"{base}/c").status_code == 201
    assert ok(http.post(base, json={"tags": ["d"]})) == {"tags": ["a", "b", "c", "d"]}
    assert http.delete(f"{base}/a").status_code == 204
    assert http.delete(base).status_code == 204

    hooks = driver.seen(f"update_{member}_postcommit")
    assert [c["tags"] for c, _ in hooks] == [
        ["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d"], ["b", "c", "d"], []]
    assert [c["revision_number"] for c, _ in hooks] == [before + n for n in range(1, 6)]
    for current, original in hooks:
        assert original is not None
        assert current["revision_number"] == original["revision_number"] + 1
    assert len(driver.seen(f"update_{member}_precommit")) == 5
    assert [c["tags"] for c, _ in events] == [c["tags"] for c, _ in hooks]
    assert show(http, collection, rid)["revision_number"] == before + 5


def test_refused_tag_requests_reach_no_driver(http, driver):
    net = network(http)
    base = f"/v2.0/networks/{net['id']}/tags"
    assert_error(http.put(base, json={"tags": [""]}), 400)
    assert_error(http.delete(f"{base}/absent"), 404, "TagNotFound")
    missing = "6d2f8a0e-1111-2222-3333-444444444444"
    assert_error(http.put(f"/v2.0/networks/{missing}/tags/x"), 404)
    assert driver.seen("update_network_precommit") == []
    assert show(http, "networks", net["id"])["revision_number"] == net["revision_number"]


def test_a_failing_precommit_leaves_the_tags_unchanged(server, http, driver, monkeypatch):
    net = network(http)
    base = f"/v2.0/networks/{net['id']}/tags"
    ok(http.put(base, json={"tags": ["kept"]}))

    def refuse(context: Any) -> None:
        raise RuntimeError("driver refuses")

    monkeypatch.setattr(driver, "update_network_precommit", refuse)
    resp = http.put(base, json={"tags": ["lost"]})
    assert resp.status_code == 500, resp.text
    assert ok(http.get(base)) == {"tags": ["kept"]}
    assert show(http, "networks", net["id"])["revision_number"] == net["revision_number"] + 1


def test_concurrent_single_tag_puts_all_land(http, server):
    """Each change is applied to the tags read in its own transaction."""
    net = network(http)
    tags = [f"t{i}" for i in range(8)]

    def put(tag: str) -> None:
        with server.http() as client:
            assert client.put(f"/v2.0/networks/{net['id']}/tags/{tag}").status_code == 201

    threads = [threading.Thread(target=put, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ok(http.get(f"/v2.0/networks/{net['id']}/tags")) == {"tags": sorted(tags)}
    assert show(http, "networks", net["id"])["revision_number"] == net["revision_number"] + 8


# --- the contract's pieces -----------------------------------------------------------

@pytest.mark.parametrize("change,expected", [
    (TagChange(replace=("b", "a", "b")), ["a", "b"]),
    (TagChange(replace=()), []),
    (TagChange(add=("z", "x")), ["x", "y", "z"]),
    (TagChange(remove=("x",)), ["y"]),
    (TagChange(remove=("nope",)), ["x", "y"]),
])
def test_tag_change_apply(change, expected):
    assert change.apply(["x", "y"]) == expected
    # Applying it again changes nothing more.
    assert change.apply(expected) == expected


def test_direct_write_fallback(server, http):
    """A plugin without update_tags: rows and revision change, as before."""
    from neutrino.db.models import Network

    net = network(http)
    db = server.plugin.db
    assert write_tags_directly(db, Network, "networks", net["id"],
                               TagChange(replace=("p", "q"))) == ["p", "q"]
    assert write_tags_directly(db, Network, "networks", net["id"],
                               TagChange(remove=("p",))) == ["q"]
    stored = show(http, "networks", net["id"])
    assert stored["tags"] == ["q"]
    assert stored["revision_number"] == net["revision_number"] + 2
