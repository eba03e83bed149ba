"""Keep-alive between the journal's transport and the reference controller, over
real sockets: connections are reused, a connection the server closed is replaced
without failing a request, and a stopped server stops serving kept-alive ones."""

import threading
import time

import pytest

from neutrino.controller import ControllerServer
from neutrino.journal.client import ControllerClient, ControllerConnectionError
from neutrino.journal.transport import KeepAliveTransport

pytestmark = pytest.mark.functional


@pytest.fixture
def server(request):
    server = ControllerServer()
    request.addfinalizer(server.stop)
    return server.start()


def _open_connections(server):
    return len(server._server._open)


def test_one_connection_per_thread_carries_every_request(server):
    with ControllerClient(server.northbound_url, timeout=5) as client:
        for i in range(20):
            client.create("network", {"id": f"n{i}"})
            client.update("network", f"n{i}", {"name": "x"})
        assert _open_connections(server) == 1
        threads = [threading.Thread(target=client.list, args=("network",)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _open_connections(server) == 4
        assert len(client.list("network")) == 20


def test_a_connection_the_server_closed_is_replaced_quietly(server):
    with ControllerClient(server.northbound_url, timeout=5) as client:
        client.create("network", {"id": "n1"})
        server._server.close_connections()           # as after its idle timeout
        time.sleep(0.1)                              # let the FIN arrive
        assert client.get("network", "n1")["id"] == "n1"


def test_stop_ends_kept_alive_connections(server):
    with ControllerClient(server.northbound_url, timeout=5) as client:
        client.create("network", {"id": "n1"})
        server.stop()
        with pytest.raises(ControllerConnectionError):
            client.get("network", "n1")
        server.start()
        assert client.get("network", "n1")["id"] == "n1"


def test_an_error_answer_keeps_the_connection_usable(server):
    transport = KeepAliveTransport(server.url, timeout=5)
    path = "/controller/nb/v2/neutron/networks"
    body = b'{"network": {"id": "n1"}}'
    headers = {"Content-Type": "application/json"}
    assert transport.request("POST", path, body, headers).status_code == 201
    refused = transport.request("POST", path, body, headers)
    assert refused.status_code == 409 and refused.is_error
    assert refused.json()["error"]["type"] == "ResourceExists"
    assert transport.request("GET", path + "/n1", None, {}).json()["network"]["id"] == "n1"
    assert _open_connections(server) == 1
    transport.close()
