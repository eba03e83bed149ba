"""Routers, router interfaces and floating IPs in the journal: the rows' links, and
the reference controller (over real HTTP) holding what the API made."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from neutrino.controller import ControllerServer
from neutrino.db.models.journal import JournalDependency, JournalEntry
from neutrino.journal import l3 as l3_journal
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server
from tests.unit.api.helpers import network, ok, port, subnet


def _links(db: Any) -> set[tuple[int, int]]:
    with db.reader() as session:
        return {(d, p) for d, p in session.execute(select(JournalDependency.dependent,
                                                          JournalDependency.depends_on))}


def test_rows_wait_for_what_they_name(db: Any) -> None:
    router = {"id": "r1", "name": "r", "external_gateway_info": None}
    with db.transaction() as session:
        net, sub, intf_port, vm_port = record(session, [
            Entry("network", "n1", "create", {"id": "n1"}),
            Entry("subnet", "s1", "create", {"id": "s1", "network_id": "n1"}),
            Entry("port", "p-intf", "create", {"id": "p-intf", "network_id": "n1"}),
            Entry("port", "p-vm", "create", {"id": "p-vm", "network_id": "n1"})])
        created = l3_journal.record_router(session, "create", router)
        gw_port = record(session, [Entry("port", "p-gw", "create", {
            "id": "p-gw", "network_id": "ext", "device_owner": "network:router_gateway",
            "device_id": "r1"})])[0]
        with_gw = l3_journal.record_router(session, "update", {
            **router, "external_gateway_info": {"network_id": "ext"}}, "p-gw")
        info = {"id": "r1", "port_id": "p-intf", "subnet_id": "s1", "subnet_ids": ["s1"],
                "network_id": "n1", "project_id": "p", "tenant_id": "p"}
        intf = l3_journal.record_router_interface(session, "create", info)
        fip = l3_journal.record_floatingip(session, "create", {
            "id": "f1", "floating_network_id": "ext", "port_id": "p-vm", "router_id": "r1"})
        intf_gone = l3_journal.record_router_interface(session, "delete", info)
        router_gone = l3_journal.record_router(session, "delete", router)
    links = _links(db)
    assert (gw_port, created) in links                    # the gateway port: its router
    assert {(with_gw, created), (with_gw, gw_port)} <= links
    assert {(intf, created), (intf, with_gw), (intf, sub), (intf, intf_port),
            (intf, net)} <= links
    assert {(fip, vm_port), (fip, created), (fip, with_gw)} <= links
    # A router's delete waits for its interfaces' deletes.
    assert (router_gone, intf_gone) in links
    with db.reader() as session:
        (data,) = session.execute(select(JournalEntry.data).where(
            JournalEntry.seqnum == intf)).scalars()
    assert '"router_id":"r1"' in data and '"id":"p-intf"' in data


@pytest.fixture
def controller() -> Iterator[ControllerServer]:
    server = ControllerServer().start()
    yield server
    server.stop()


@pytest.fixture
def journaled(controller: ControllerServer, tmp_path: Path) -> Iterator[ApiServer]:
    """A server journaling to the reference controller, with the L3 plugin."""
    with make_database("sqlite", tmp_path) as url:
        server = start_api_server(_merge(ML2_TEST_CONFIG, {
            "DEFAULT": {"auth_strategy": "noauth", "service_plugins": ["router"]},
            "database": {"connection": url},
            "ml2": {"mechanism_drivers": ["sdn_controller"]},
            "ml2_sdn": {"url": controller.northbound_url, "sync_workers": 2, "sync_timeout": 0.5,
                        "maintenance_interval": 0.5, "retry_count": 2, "timeout": 5}}))
        try:
            yield server
        finally:
            for driver in server.plugin.mechanism_manager.drivers:
                getattr(driver, "stop", lambda: None)()
            server.stop()


def _settled(server: ApiServer) -> dict[str, int]:
    with server.server.db.reader() as session:
        return dict(session.execute(select(JournalEntry.state, func.count()).group_by(
            JournalEntry.state)).all())


def _wait(predicate: Callable[[], Any], what: str, deadline_s: float = 30) -> Any:
    deadline = time.monotonic() + deadline_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


def _stored(controller: ControllerServer, object_type: str) -> dict[str, Any]:
    return {i["id"]: i for i in controller.controller.store.list(object_type)}


def test_the_controller_gets_routers_interfaces_and_floating_ips(
        journaled: ApiServer, controller: ControllerServer) -> None:
    c = httpx.Client(base_url=journaled.url, timeout=30)
    ext = network(c, **{"router:external": True})
    subnet(c, ext["id"], "172.30.0.0/24")
    router = ok(c.post("/v2.0/routers", json={"router": {
        "name": "r", "external_gateway_info": {"network_id": ext["id"]}}}), 201)["router"]
    net = network(c)
    sub = subnet(c, net["id"], "10.30.0.0/24")
    info = ok(c.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                    json={"subnet_id": sub["id"]}))
    vm = port(c, net["id"])
    fip = ok(c.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext["id"], "port_id": vm["id"]}}), 201)["floatingip"]

    def synced() -> bool:
        state = _settled(journaled)
        return not (state.get("pending") or state.get("processing")) and \
            fip["id"] in _stored(controller, "floatingip")

    _wait(synced, "the floating IP at the controller")
    assert not _settled(journaled).get("failed")
    stored_router = _stored(controller, "router")[router["id"]]
    assert stored_router["external_gateway_info"]["network_id"] == ext["id"]
    assert stored_router["gw_port_id"] in _stored(controller, "port")
    stored_intf = _stored(controller, "router_interface")[info["port_id"]]
    assert (stored_intf["router_id"], stored_intf["subnet_ids"]) == (router["id"], [sub["id"]])
    stored_fip = _stored(controller, "floatingip")[fip["id"]]
    assert (stored_fip["router_id"], stored_fip["port_id"]) == (router["id"], vm["id"])

    ok(c.delete(f"/v2.0/floatingips/{fip['id']}"), 204)
    ok(c.put(f"/v2.0/routers/{router['id']}/remove_router_interface",
             json={"subnet_id": sub["id"]}))
    ok(c.delete(f"/v2.0/routers/{router['id']}"), 204)

    def emptied() -> bool:
        state = _settled(journaled)
        return not (state.get("pending") or state.get("processing")) and not any(
            _stored(controller, t) for t in ("router", "router_interface", "floatingip"))

    _wait(emptied, "the L3 resources gone from the controller")
    assert not _settled(journaled).get("failed")
    assert info["port_id"] not in _stored(controller, "port")
