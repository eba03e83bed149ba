"""Functional tests: the reference controller over real HTTP, with the journal client."""

import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from neutrino.controller import ControllerServer, ControllerTestApi
from neutrino.controller.testing import wait_for
from neutrino.journal.client import (
    ControllerClient,
    ControllerConnectionError,
    ControllerError,
)

pytestmark = pytest.mark.functional

CANARY = "bd8db3a8-2b30-4083-a8b3-b3fd46401142"


@pytest.fixture
def server(request):
    server = ControllerServer()
    request.addfinalizer(server.stop)
    return server.start()


@pytest.fixture
def client(server):
    with ControllerClient(server.northbound_url, timeout=5) as client:
        yield client


@pytest.fixture
def test_api(server):
    with ControllerTestApi(server.url) as api:
        yield api


def _network(net_id):
    return {"id": net_id, "name": net_id, "admin_state_up": True}


def _subnet(subnet_id, net_id):
    return {"id": subnet_id, "network_id": net_id, "cidr": "10.0.0.0/24", "ip_version": 4}


def _port(port_id, net_id, subnet_id):
    fixed_ips = [{"subnet_id": subnet_id, "ip_address": "10.0.0.10"}]
    return {"id": port_id, "network_id": net_id, "fixed_ips": fixed_ips}


def test_out_of_order_changes_fail_loudly(client, test_api):
    with pytest.raises(ControllerError) as caught:
        client.create("port", _port("p1", "n1", "s1"))
    assert caught.value.status == 409
    assert caught.value.body["error"]["type"] == "DependencyMissing"
    client.create("network", _network("n1"))
    with pytest.raises(ControllerError):
        client.create("port", _port("p1", "n1", "s1"))  # the subnet is still missing
    client.create("subnet", _subnet("s1", "n1"))
    client.create("port", _port("p1", "n1", "s1"))
    for object_type, resource_id in (("subnet", "s1"), ("network", "n1")):
        with pytest.raises(ControllerError) as caught:
            client.delete(object_type, resource_id)
        assert caught.value.body["error"]["type"] == "ResourceInUse"
    client.delete("port", "p1")
    client.delete("subnet", "s1")
    client.delete("network", "n1")
    assert test_api.applied() == [
        ("POST", "network", "n1"),
        ("POST", "subnet", "s1"),
        ("POST", "port", "p1"),
        ("DELETE", "port", "p1"),
        ("DELETE", "subnet", "s1"),
        ("DELETE", "network", "n1"),
    ]


def test_down_gives_connection_errors_until_lifted(client, test_api):
    client.create("network", _network("n1"))
    test_api.set_faults(down=True)
    with pytest.raises(ControllerConnectionError):
        client.create("network", _network("n2"))
    with pytest.raises(ControllerConnectionError):
        client.get("network", "n1")
    assert test_api.health()["resources"]["network"] == 1  # /_test still answers
    test_api.set_faults(down=False)
    client.create("network", _network("n2"))
    assert test_api.applied() == [("POST", "network", "n1"), ("POST", "network", "n2")]


def test_stopped_listener_refuses_then_restarts_on_same_port(server, client):
    client.create("network", _network("n1"))
    port = server.port
    server.stop()
    with pytest.raises(ControllerConnectionError):
        client.get("network", "n1")
    server.start()
    assert server.port == port
    assert client.get("network", "n1")["id"] == "n1"


def _send_with_retries(client, operation, object_type, obj, attempts=10):
    """What a journal worker does with one row: retry HTTP errors up to a limit."""
    for _ in range(attempts):
        try:
            if operation == "create":
                return client.create(object_type, obj)
            return client.delete(object_type, obj["id"])
        except ControllerError as exc:
            if exc.status < 500:
                raise
    raise AssertionError(f"{operation} {object_type} {obj['id']} never succeeded")


def test_error_rate_failures_are_retried_into_exactly_once(client, test_api):
    test_api.set_faults(error_rate=0.5, error_methods=["POST", "DELETE"])
    rows = []
    for i in range(5):
        rows += [
            ("create", "network", _network(f"n{i}")),
            ("create", "subnet", _subnet(f"s{i}", f"n{i}")),
        ]
    rows += [("delete", "subnet", {"id": "s0"}), ("delete", "network", {"id": "n0"})]
    for operation, object_type, obj in rows:
        _send_with_retries(client, operation, object_type, obj)
    method = {"create": "POST", "delete": "DELETE"}
    expected = [(method[op], object_type, obj["id"]) for op, object_type, obj in rows]
    assert test_api.applied() == expected
    # The counter fails every second write: each row after the first fails once.
    statuses = [e["status"] for e in test_api.log()]
    assert statuses.count(500) == len(rows) - 1 == test_api.faults()["injected"]


def test_wipe_makes_the_controller_tabula_rasa(client, test_api):
    canary = {"id": CANARY, "tenant_id": CANARY, "name": "Sync Canary Network"}
    client.create("network", canary)
    client.create("network", _network("n1"))
    client.create("subnet", _subnet("s1", "n1"))
    assert client.get("network", CANARY) is not None
    test_api.wipe()
    assert client.list("network") == []
    assert client.get("network", CANARY) is None
    client.create("network", _network("n1"))  # ids can be created again


def test_delay_beyond_client_timeout_is_a_connection_error(server, test_api):
    test_api.set_faults(delay=1.0)
    with (
        ControllerClient(server.northbound_url, timeout=0.2) as impatient,
        pytest.raises(ControllerConnectionError),
    ):
        impatient.create("network", _network("slow"))
    # The controller still applies the request the client gave up on; a
    # journal replaying the create would then get a 409.
    wait_for(lambda: server.controller.store.counts()["network"] == 1, message="delayed create")
    test_api.clear_faults()
    with (
        ControllerClient(server.northbound_url, timeout=5) as client,
        pytest.raises(ControllerError) as caught,
    ):
        client.create("network", _network("slow"))
    assert caught.value.status == 409


def test_concurrent_clients_each_change_logged_once_in_dependency_order(server, test_api):
    workers, per_worker = 8, 15
    failures = []

    def work(worker):
        with ControllerClient(server.northbound_url, timeout=10) as client:
            try:
                for i in range(per_worker):
                    client.create("network", _network(f"n{worker}-{i}"))
                    client.create("subnet", _subnet(f"s{worker}-{i}", f"n{worker}-{i}"))
            except Exception as exc:  # reported below, in the test thread
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    log = test_api.log()
    seqs = [e["seq"] for e in log]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    applied = test_api.applied()
    assert len(applied) == len(set(applied)) == 2 * workers * per_worker
    position = {(object_type, rid): n for n, (_, object_type, rid) in enumerate(applied)}
    for w in range(workers):
        for i in range(per_worker):
            assert position[("network", f"n{w}-{i}")] < position[("subnet", f"s{w}-{i}")]


def test_basic_auth_over_http(request):
    server = ControllerServer(username="odl", password="changeme").start()
    request.addfinalizer(server.stop)
    with (
        ControllerClient(server.northbound_url, "odl", "wrong") as denied,
        pytest.raises(ControllerError) as caught,
    ):
        denied.list("network")
    assert caught.value.status == 401
    with ControllerClient(server.northbound_url, "odl", "changeme") as allowed:
        assert allowed.list("network") == []


def _start_process(*args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "neutrino.controller", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.1)[0]:
            line = proc.stdout.readline()
            if "listening on" in line:
                return proc, line.rsplit(" ", 1)[1].strip()
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("neutrino-controller did not start")


def _stop_process(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    proc.stdout.close()


def test_runs_as_a_process_and_keeps_state_in_a_file(tmp_path):
    state = tmp_path / "controller.json"
    proc, url = _start_process("--state-file", str(state))
    try:
        with ControllerClient(url) as client:
            client.create("network", _network("n1"))
            client.create("subnet", _subnet("s1", "n1"))
    finally:
        _stop_process(proc)
    assert proc.returncode == 0
    proc, url = _start_process("--state-file", str(state))
    try:
        with ControllerClient(url) as client:
            assert client.get("subnet", "s1")["network_id"] == "n1"
            with pytest.raises(ControllerError):
                client.delete("network", "n1")
    finally:
        _stop_process(proc)
