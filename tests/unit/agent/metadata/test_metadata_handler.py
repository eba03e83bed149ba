"""The metadata agent's request handling: lookup, signing, Nova's answers, cache, errors."""

from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from neutrino.agent.metadata.handler import MetadataHandler, Request
from neutrino.agent.metadata.lookup import PortLookup, TtlCache
from neutrino.agent.metadata.nova import NovaMetadataClient, instance_signature, nova_headers
from tests.unit.agent.metadata.fakes import FakeMetadataServer, FakeNova, router_port, vm_port

SECRET = "s3cret"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _handler(server: FakeMetadataServer, nova: httpx.MockTransport, secret: str = SECRET,
             clock: Clock | None = None, ttl: float = 5.0) -> MetadataHandler:
    lookup = PortLookup(server, TtlCache(ttl, clock or Clock()))
    return MetadataHandler(lookup, NovaMetadataClient("http://nova:8775", transport=nova),
                           secret)


def _ask(handler: MetadataHandler, ip: str = "10.0.0.5", network: str | None = "net1",
         router: str | None = None, path: str = "/latest/meta-data/instance-id"
         ) -> tuple[int, str, str]:
    headers = {"x-forwarded-for": ip}
    if network:
        headers["x-neutron-network-id"] = network
    if router:
        headers["x-neutron-router-id"] = router
    reply = _handler_reply(handler, Request("GET", path, headers))
    return reply


def _handler_reply(handler: MetadataHandler, request: Request) -> tuple[int, str, str]:
    reply = handler.handle(request)
    return reply.status, reply.body.decode(), reply.content_type


def test_signature_is_hex_hmac_sha256_of_the_instance_id() -> None:
    # golden value: echo -n instance-1 | openssl dgst -sha256 -hmac s3cret
    assert instance_signature("s3cret", "instance-1") == \
        "80610a3a6649a87c1b3e5df90c22509c6203183d8880bdeb7f5fb05d15ce2f6f"


def test_guest_cannot_forge_the_instance_headers() -> None:
    headers = nova_headers("vm-1", "p1", "10.0.0.5", SECRET, {
        "x-instance-id": "someone-else", "x-tenant-id": "other", "accept": "text/plain"})
    assert headers["X-Instance-ID"] == "vm-1" and headers["X-Tenant-ID"] == "p1"
    assert headers["X-Forwarded-For"] == "10.0.0.5" and headers["accept"] == "text/plain"
    assert "x-instance-id" not in headers and "x-tenant-id" not in headers


def test_the_instance_gets_its_id_from_nova_signed() -> None:
    nova = FakeNova(SECRET)
    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1", "proj")]),
                       httpx.MockTransport(nova))
    assert _ask(handler) == (200, "vm-1", "text/plain; charset=UTF-8")
    sent = nova.requests[0]
    assert sent.url == "http://nova:8775/latest/meta-data/instance-id"
    assert sent.headers["x-instance-id"] == "vm-1"
    assert sent.headers["x-tenant-id"] == "proj"
    assert sent.headers["x-forwarded-for"] == "10.0.0.5"


def test_path_and_query_reach_nova_and_json_comes_back() -> None:
    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(FakeNova(SECRET)))
    status, body, content_type = _ask(handler, path="/openstack/latest/meta_data.json?a=1")
    assert status == 200 and content_type == "application/json"
    assert json.loads(body) == {"uuid": "vm-1", "query": "a=1"}


def test_a_wrong_secret_is_novas_403_passed_back() -> None:
    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(FakeNova("nova-secret")), secret="other")
    status, body, _ = _ask(handler)
    assert (status, body) == (403, "Invalid proxy request signature.")


def test_nova_unreachable_is_503() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(refuse))
    assert _ask(handler)[0] == 503


def test_no_port_is_404_and_nova_is_not_asked() -> None:
    nova = FakeNova(SECRET)
    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(nova))
    assert _ask(handler, ip="10.0.0.99")[0] == 404
    assert _ask(handler, network="net2")[0] == 404  # same address, another network
    assert nova.requests == []


def test_missing_proxy_headers_are_400() -> None:
    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(FakeNova(SECRET)))
    assert _ask(handler, network=None)[0] == 400
    assert _ask(handler, ip="")[0] == 400


def test_server_unreachable_is_503() -> None:
    server = FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")])
    server.down = True
    assert _ask(_handler(server, httpx.MockTransport(FakeNova(SECRET))))[0] == 503


def test_router_requests_search_the_routers_networks() -> None:
    server = FakeMetadataServer([
        router_port("net1", "10.0.0.1", "r1"), router_port("net2", "10.0.1.1", "r1"),
        vm_port("net2", "10.0.1.7", "vm-2"), vm_port("net3", "10.0.1.7", "vm-3")])
    handler = _handler(server, httpx.MockTransport(FakeNova(SECRET)))
    assert _ask(handler, ip="10.0.1.7", network=None, router="r1")[:2] == (200, "vm-2")
    assert _ask(handler, ip="10.0.1.7", network=None, router="r9")[0] == 404


def test_two_ports_with_the_address_are_404_not_a_guess() -> None:
    server = FakeMetadataServer([router_port("net1", "10.0.0.1", "r1"),
                                 router_port("net2", "10.0.1.1", "r1"),
                                 vm_port("net1", "10.0.0.7", "vm-1"),
                                 vm_port("net2", "10.0.0.7", "vm-2")])
    handler = _handler(server, httpx.MockTransport(FakeNova(SECRET)))
    assert _ask(handler, ip="10.0.0.7", network=None, router="r1")[0] == 404


def test_a_burst_costs_one_lookup_until_the_ttl_ends() -> None:
    clock = Clock()
    server = FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")])
    handler = _handler(server, httpx.MockTransport(FakeNova(SECRET)), clock=clock, ttl=5)
    for _ in range(20):
        assert _ask(handler)[:2] == (200, "vm-1")
    assert len(server.calls) == 1
    clock.now += 4.9
    _ask(handler)
    assert len(server.calls) == 1
    clock.now += 0.2  # expired: the port may have moved to another instance
    server.ports = [vm_port("net1", "10.0.0.5", "vm-new")]
    assert _ask(handler)[:2] == (200, "vm-new")
    assert len(server.calls) == 2


def test_concurrent_misses_share_one_lookup() -> None:
    server = FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")])
    server.delay.clear()  # hold the first call until everyone has asked
    handler = _handler(server, httpx.MockTransport(FakeNova(SECRET)))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_ask, handler) for _ in range(8)]
        server.delay.set()
        results = [f.result(timeout=10) for f in futures]
    assert {r[:2] for r in results} == {(200, "vm-1")}
    assert len(server.calls) == 1


def test_ttl_zero_disables_the_cache() -> None:
    server = FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")])
    handler = _handler(server, httpx.MockTransport(FakeNova(SECRET)), ttl=0)
    _ask(handler)
    _ask(handler)
    assert len(server.calls) == 2


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bodies_are_forwarded(method: str) -> None:
    seen: list[bytes] = []

    def nova(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, text="ok")

    handler = _handler(FakeMetadataServer([vm_port("net1", "10.0.0.5", "vm-1")]),
                       httpx.MockTransport(nova))
    reply = handler.handle(Request(method, "/openstack/latest/password", {
        "x-forwarded-for": "10.0.0.5", "x-neutron-network-id": "net1"}, b"secret-pw"))
    assert reply.status == 200 and seen == [b"secret-pw"]
