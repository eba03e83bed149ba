"""Unit tests of the journal's controller REST client (no sockets).

Behaviour is checked against the real controller app through
``httpx.WSGITransport``; wire details and failures through
``httpx.MockTransport``.
"""

import json

import httpx
import pytest

from neutrino.controller import Controller, create_app
from neutrino.journal.client import (
    COLLECTIONS,
    BaseControllerClient,
    ControllerClient,
    ControllerConnectionError,
    ControllerError,
    collection_for,
)

URL = "http://ctl:8181/controller/nb/v2/neutron"


@pytest.fixture
def controller():
    return Controller()


@pytest.fixture
def client(controller):
    transport = httpx.WSGITransport(app=create_app(controller))
    with ControllerClient(URL, transport=transport) as client:
        yield client


def _recording(handler=None):
    """MockTransport that keeps every request and answers with ``handler``."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request) if handler else httpx.Response(200, json={"networks": []})

    return httpx.MockTransport(handle), seen


def test_is_a_controller_client():
    assert issubclass(ControllerClient, BaseControllerClient)


def test_collections():
    assert COLLECTIONS["security_group_rule"] == "security-group-rules"
    assert collection_for("floatingip") == "floatingips"
    assert collection_for("qos_policy") == "qos-policys"  # same rule for types not listed


def test_journal_operations_against_the_reference_controller(client, controller):
    network = {"id": "n1", "name": "blue"}
    assert client.create("network", network) == network
    client.create("subnet", {"id": "s1", "network_id": "n1"})
    assert client.update("network", "n1", {"name": "red"})["name"] == "red"
    assert client.get("network", "n1") == {"id": "n1", "name": "red"}
    assert client.get("network", "absent") is None
    assert [n["id"] for n in client.list("network")] == ["n1"]
    assert client.list("security_group_rule") == []
    client.delete("subnet", "s1")
    assert client.delete("network", "n1") is True
    assert client.delete("network", "n1") is False  # replaying a delete is harmless
    assert controller.store.list("network") == []


def test_http_errors_carry_status_and_body(client):
    with pytest.raises(ControllerError) as caught:
        client.create("subnet", {"id": "s1", "network_id": "missing"})
    assert caught.value.status == 409
    assert caught.value.body["error"]["type"] == "DependencyMissing"
    assert caught.value.method == "POST" and caught.value.url.endswith("/subnets")
    client.create("network", {"id": "n1"})
    with pytest.raises(ControllerError) as caught:
        client.create("network", {"id": "n1"})
    assert caught.value.status == 409
    with pytest.raises(ControllerError) as caught:
        client.update("network", "absent", {"name": "x"})
    assert caught.value.status == 404


def test_wire_format_matches_networking_odl():
    transport, seen = _recording(lambda r: httpx.Response(201, json={}))
    client = ControllerClient(URL + "/", transport=transport)
    client.create("security_group_rule", {"id": "r1", "security_group_id": "g"})
    client.update("port", "p1", {"id": "p1", "name": "x"})
    client.delete("router", "r1")
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/controller/nb/v2/neutron/security-group-rules"),
        ("PUT", "/controller/nb/v2/neutron/ports/p1"),
        ("DELETE", "/controller/nb/v2/neutron/routers/r1"),
    ]
    assert json.loads(seen[0].content) == {
        "security_group_rule": {"id": "r1", "security_group_id": "g"}
    }
    assert seen[0].headers["Content-Type"] == "application/json"
    assert seen[2].content == b""


def test_empty_write_answer_returns_what_was_sent():
    transport, _ = _recording(lambda r: httpx.Response(201))
    client = ControllerClient(URL, transport=transport)
    assert client.create("network", {"id": "n1"}) == {"id": "n1"}


def test_sendjson_raw():
    transport, seen = _recording(lambda r: httpx.Response(200, json={"ok": True}))
    client = ControllerClient(URL, transport=transport)
    assert client.sendjson("get", "networks/n1", None).json() == {"ok": True}
    assert seen[0].method == "GET" and seen[0].url.path.endswith("/networks/n1")


def test_basic_auth_header():
    transport, seen = _recording()
    ControllerClient(URL, username="admin", password="admin", transport=transport).list("network")
    assert seen[0].headers["Authorization"] == "Basic YWRtaW46YWRtaW4="
    ControllerClient(URL, transport=transport).list("network")
    assert "Authorization" not in seen[1].headers


def test_server_errors_are_controller_errors():
    transport, _ = _recording(lambda r: httpx.Response(500, text="boom"))
    client = ControllerClient(URL, transport=transport)
    with pytest.raises(ControllerError) as caught:
        client.delete("network", "n1")
    assert caught.value.status == 500 and caught.value.body == "boom"
    with pytest.raises(ControllerError):
        client.get("network", "n1")


def test_malformed_list_answer_is_an_error():
    transport, _ = _recording(lambda r: httpx.Response(200, json={"wrong": []}))
    with pytest.raises(ControllerError):
        ControllerClient(URL, transport=transport).list("network")


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow answer"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
def test_transport_failures_are_connection_errors(exc):
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    client = ControllerClient(URL, transport=httpx.MockTransport(fail))
    for call in (
        lambda: client.create("network", {"id": "n1"}),
        lambda: client.get("network", "n1"),
        lambda: client.delete("network", "n1"),
        lambda: client.list("network"),
    ):
        with pytest.raises(ControllerConnectionError) as caught:
            call()
        assert not isinstance(caught.value, ControllerError)
        assert caught.value.__cause__ is exc


def test_timeout_is_applied():
    transport, seen = _recording()
    ControllerClient(URL, timeout=2.5, transport=transport).list("network")
    assert seen[0].extensions["timeout"] == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


def test_from_conf():
    class Conf:
        url = URL
        username = "u"
        password = "p"
        timeout = 3.0

    transport, seen = _recording()
    ControllerClient.from_conf(Conf, transport=transport).list("network")
    assert seen[0].headers["Authorization"].startswith("Basic ")


def test_url_must_be_http():
    with pytest.raises(ValueError):
        ControllerClient("ftp://ctl/nb")
