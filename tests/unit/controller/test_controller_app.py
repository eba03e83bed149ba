"""Unit tests of the controller's HTTP app, in process through httpx.WSGITransport."""

import base64

import httpx
import pytest

from neutrino.controller import DEFAULT_BASE_PATH, Controller, ControllerTestApi, create_app

NB = DEFAULT_BASE_PATH


@pytest.fixture
def controller():
    return Controller()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def transport(controller, sleeps):
    return httpx.WSGITransport(app=create_app(controller, sleep=sleeps.append))


@pytest.fixture
def http(transport):
    with httpx.Client(transport=transport, base_url="http://ctl") as client:
        yield client


@pytest.fixture
def test_api(transport):
    with ControllerTestApi("http://ctl", transport=transport) as api:
        yield api


def test_crud_statuses_and_bodies(http):
    network = {"id": "n1", "name": "blue", "admin_state_up": True}
    created = http.post(f"{NB}/networks", json={"network": network})
    assert created.status_code == 201 and created.json() == {"network": network}
    assert http.post(f"{NB}/networks", json={"network": network}).status_code == 409
    assert http.get(f"{NB}/networks").json() == {"networks": [network]}
    assert http.get(f"{NB}/networks/n1").json() == {"network": network}
    updated = http.put(f"{NB}/networks/n1", json={"network": {"name": "red"}})
    assert updated.status_code == 200 and updated.json()["network"]["name"] == "red"
    assert http.delete(f"{NB}/networks/n1").status_code == 204
    assert http.get(f"{NB}/networks/n1").status_code == 404
    assert http.put(f"{NB}/networks/n1", json={"network": {}}).status_code == 404
    assert http.delete(f"{NB}/networks/n1").status_code == 404


def test_listing_key_of_dashed_collections(http):
    sg = {"id": "sg1"}
    http.post(f"{NB}/security-groups", json={"security_group": sg})
    rule = {"id": "r1", "security_group_id": "sg1"}
    assert http.post(f"{NB}/security-group-rules", json={"security_group_rule": rule}).is_success
    assert http.get(f"{NB}/security-group-rules").json() == {"security_group_rules": [rule]}


def test_error_bodies_name_the_problem(http):
    response = http.post(f"{NB}/subnets", json={"subnet": {"id": "s1", "network_id": "gone"}})
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "DependencyMissing"
    assert "network gone" in response.json()["error"]["message"]
    assert http.get(f"{NB}/widgets").json()["error"]["type"] == "UnknownCollection"


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"subnet": {}}', b'{"network": []}'],
)
def test_malformed_bodies_are_400(http, content):
    response = http.post(f"{NB}/networks", content=content)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"


def test_wrong_method_is_405(http):
    assert http.put(f"{NB}/networks", json={}).status_code == 405
    assert http.post(f"{NB}/networks/n1", json={}).status_code == 405


def test_request_log_records_every_request_in_order(http, test_api):
    http.post(f"{NB}/networks", json={"network": {"id": "n1"}})
    http.post(f"{NB}/subnets", json={"subnet": {"id": "s1", "network_id": "n2"}})
    http.get(f"{NB}/networks/n1")
    http.delete(f"{NB}/networks/n1")
    log = test_api.log()
    assert [(e["method"], e["object_type"], e["resource_id"], e["status"]) for e in log] == [
        ("POST", "network", "n1", 201),
        ("POST", "subnet", "s1", 409),
        ("GET", "network", "n1", 200),
        ("DELETE", "network", "n1", 204),
    ]
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert test_api.applied() == [("POST", "network", "n1"), ("DELETE", "network", "n1")]
    assert [e["seq"] for e in test_api.log(since=2)] == [3, 4]
    test_api.clear_log()
    assert test_api.log() == []
    http.get(f"{NB}/networks")
    assert [e["seq"] for e in test_api.log()] == [5]


def test_created_id_is_logged_when_generated(http, test_api):
    created = http.post(f"{NB}/networks", json={"network": {"name": "anon"}}).json()
    assert test_api.log()[0]["resource_id"] == created["network"]["id"]


def test_injected_errors_are_logged_and_change_nothing(http, test_api, controller):
    test_api.set_faults(fail_next=1)
    response = http.post(f"{NB}/networks", json={"network": {"id": "n1"}})
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "InjectedError"
    assert controller.store.list("network") == []
    assert test_api.log()[0]["status"] == 500
    assert http.post(f"{NB}/networks", json={"network": {"id": "n1"}}).status_code == 201


def test_test_api_is_not_subject_to_faults(http, test_api):
    test_api.set_faults(error_rate=1.0)
    assert test_api.health()["status"] == "ok"
    assert test_api.faults()["error_rate"] == 1.0


def test_delay_waits_through_the_injected_sleep(http, test_api, sleeps):
    test_api.set_faults(delay=2.5)
    http.get(f"{NB}/networks")
    test_api.health()
    assert sleeps == [2.5]


def test_faults_api_rejects_bad_settings(http):
    response = http.put("/_test/faults", json={"error_rate": 7})
    assert response.status_code == 400
    assert http.put("/_test/faults", json=[1]).status_code == 400
    assert http.get("/_test/faults").json()["error_rate"] == 0.0


def test_clear_faults(test_api):
    test_api.set_faults(down=True, delay=1)
    assert test_api.clear_faults()["down"] is False


def test_wipe_forgets_resources_but_keeps_log(http, test_api):
    http.post(f"{NB}/networks", json={"network": {"id": "n1"}})
    test_api.wipe()
    assert http.get(f"{NB}/networks").json() == {"networks": []}
    assert len(test_api.log()) == 2


def test_health_endpoints(http):
    for path in ("/health", "/_test/health"):
        response = http.get(path)
        assert response.status_code == 200 and response.json()["status"] == "ok"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_auth_guards_the_northbound_api(controller):
    app = create_app(controller, username="admin", password="s3cret")
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://ctl") as http:
        assert http.get(f"{NB}/networks").status_code == 401
        denied = http.get(f"{NB}/networks", headers=_basic("admin", "wrong"))
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"].startswith("Basic")
        assert http.get(f"{NB}/networks", headers={"Authorization": "Basic %%%"}).status_code == 401
        assert http.get(f"{NB}/networks", headers=_basic("admin", "s3cret")).status_code == 200
        assert http.get("/health").status_code == 200
        assert [e["status"] for e in http.get("/_test/log").json()["log"]] == [401, 401, 401, 200]


def test_custom_base_path_and_no_test_api(controller):
    app = create_app(controller, base_path="/odl/neutron/", test_api=False)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://ctl") as http:
        assert http.get("/odl/neutron/networks").json() == {"networks": []}
        assert http.get(f"{NB}/networks").status_code == 404
        assert http.get("/_test/log").status_code == 404
        assert http.get("/health").status_code == 200


@pytest.mark.parametrize("base_path", ["/", "/_test/nb"])
def test_base_path_must_not_shadow_the_test_api(controller, base_path):
    with pytest.raises(ValueError):
        create_app(controller, base_path=base_path)
