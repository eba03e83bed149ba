"""``ConfirmedTokens``: auth_token's verdicts replayed, against a real Keystone.

Every test compares what the app sees (identity environ entries, status, headers)
on a request that went through auth_token with one that was replayed, and checks
the limits of the replay: the token cache time, the token's expiry, revocation as
auth_token's in-process cache handles it, spoofed headers, service tokens.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from neutrino.api import auth
from neutrino.conf import make_conf
from tests.fixtures.keystone import ADMIN_PASSWORD, ADMIN_PROJECT, ADMIN_USER, KeystoneServer
from tests.fixtures.servers import write_config

pytestmark = [pytest.mark.functional, pytest.mark.keystone]

IDENTITY_KEYS = sorted({*auth._AUTH_HEADERS, "HTTP_OPENSTACK_SYSTEM_SCOPE"})


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class EchoApp:
    """Answers with the identity the request carries; 401 on ``/deny``."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        seen = {k: environ[k] for k in IDENTITY_KEYS if k in environ}
        user = getattr(environ.get("keystone.token_auth"), "user", None)
        seen["token_auth.user.project_id"] = user.project_id if user else None
        seen["token_info"] = environ.get("keystone.token_info")
        self.seen.append(seen)
        body = json.dumps({k: v for k, v in seen.items() if k != "token_info"}).encode()
        status = "401 Unauthorized" if environ["PATH_INFO"] == "/deny" else "200 OK"
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]


def call(wsgi: Any, headers: dict[str, str], path: str = "/v2.0/networks"
         ) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "9696",
               "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
               "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=list(hdrs))

    body = b"".join(wsgi(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture(scope="module")
def conf_file(keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("ct") / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.auth_url, "auth_url": keystone.auth_url,
            "auth_type": "password", "username": ADMIN_USER, "password": ADMIN_PASSWORD,
            "project_name": ADMIN_PROJECT, "user_domain_id": "default",
            "project_domain_id": "default", "region_name": "RegionOne"}})


def make_wsgi(conf_file: Path, clock: Clock | None = None, **authtoken: Any
              ) -> tuple[Any, EchoApp]:
    conf = make_conf(["--config-file", str(conf_file)])
    app = EchoApp()
    if authtoken:
        from keystonemiddleware import auth_token

        for group, opts in auth_token.list_opts():
            conf.register_opts(opts, group=group)
        for name, value in authtoken.items():
            conf.set_override(name, value, group="keystone_authtoken")
    return auth.wrap_keystone(app, conf, clock=clock or Clock()), app


@pytest.fixture
def member(keystone: KeystoneServer) -> Iterator[tuple[dict[str, Any], Callable[[], str]]]:
    """(project, new_token()) of a fresh member user."""
    name = f"ct-{uuid.uuid4().hex[:8]}"
    project, _, creds = keystone.create_project_user(name, f"u-{name}", "pw-" + name,
                                                     roles=("member", "reader"))
    yield project, lambda: keystone.get_token(creds.username, creds.password, name)


def revoke(keystone: KeystoneServer, token: str) -> None:
    keystone.request("DELETE", "/auth/tokens", headers={"X-Subject-Token": token}, expect=204)
    assert keystone.validate_token(token) is None


def test_replayed_request_sees_what_auth_token_set(conf_file, member) -> None:
    wsgi, app = make_wsgi(conf_file)
    assert isinstance(wsgi, auth.ConfirmedTokens)
    project, new_token = member
    for path in ("/v2.0/networks", "/deny"):
        token = new_token()
        first = call(wsgi, {"X-Auth-Token": token}, path)  # through auth_token
        replayed = call(wsgi, {"X-Auth-Token": token}, path)
        assert replayed == first
    validated, replay = app.seen[0], app.seen[1]
    assert validated == replay
    assert replay["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert replay["HTTP_X_PROJECT_ID"] == replay["HTTP_X_TENANT_ID"] == project["id"]
    assert replay["token_auth.user.project_id"] == project["id"]
    assert set(replay["HTTP_X_ROLES"].split(",")) == {"member", "reader"}
    assert "identity" in {s["type"] for s in json.loads(replay["HTTP_X_SERVICE_CATALOG"])}
    assert "HTTP_X_SERVICE_IDENTITY_STATUS" not in replay


def test_401_from_the_app_carries_www_authenticate(conf_file, keystone, member) -> None:
    wsgi, _ = make_wsgi(conf_file)
    token = member[1]()
    for _ in range(2):  # through auth_token, then replayed
        status, headers, _ = call(wsgi, {"X-Auth-Token": token}, "/deny")
        assert status.startswith("401")
        assert ("WWW-Authenticate", f'Keystone uri="{keystone.auth_url}"') in headers
    status, headers, _ = call(wsgi, {"X-Auth-Token": token})
    assert status.startswith("200") and "WWW-Authenticate" not in dict(headers)


def test_callers_identity_headers_are_replaced_on_replay(conf_file, member) -> None:
    wsgi, app = make_wsgi(conf_file)
    project, new_token = member
    token = new_token()
    call(wsgi, {"X-Auth-Token": token})
    spoof = {"X-Roles": "admin", "X-Role": "admin", "X-Project-Id": "other",
             "X-Tenant-Id": "other", "X-Identity-Status": "Confirmed",
             "X-Service-Roles": "admin", "X-Service-Identity-Status": "Confirmed",
             "X-Is-Admin-Project": "True", "X-User-Name": "admin"}
    call(wsgi, {"X-Auth-Token": token, **spoof})
    assert app.seen[1] == app.seen[0]
    assert app.seen[1]["HTTP_X_PROJECT_ID"] == project["id"]
    assert "HTTP_X_SERVICE_ROLES" not in app.seen[1]


def test_unconfirmed_tokens_are_asked_each_time(conf_file, keystone) -> None:
    wsgi, app = make_wsgi(conf_file)
    for headers in ({"X-Auth-Token": "bogus"}, {"X-Auth-Token": "bogus"}, {},
                    {"X-Identity-Status": "Confirmed", "X-Roles": "admin"}):
        status, _, _ = call(wsgi, headers)
        assert status.startswith("200")  # the decision is the app's (delay_auth_decision)
        assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Invalid"
        assert "HTTP_X_ROLES" not in app.seen[-1]
    assert not wsgi._tokens


def test_revoked_token_is_trusted_for_token_cache_time_only(conf_file, keystone,
                                                            member) -> None:
    clock = Clock()
    wsgi, app = make_wsgi(conf_file, clock)
    token = member[1]()
    call(wsgi, {"X-Auth-Token": token})
    revoke(keystone, token)
    # auth_token's in-process cache keeps a revoked token for token_cache_time (300 s).
    clock.now += 299
    call(wsgi, {"X-Auth-Token": token})
    assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    clock.now += 1
    call(wsgi, {"X-Auth-Token": token})
    assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Invalid"


def test_token_is_not_replayed_past_its_expiry(conf_file, keystone, member) -> None:
    clock = Clock()
    wsgi, app = make_wsgi(conf_file, clock, token_cache_time=10 ** 7)
    token = member[1]()
    call(wsgi, {"X-Auth-Token": token})
    expires = app.seen[-1]["token_info"]["token"]["expires_at"]
    from oslo_utils import timeutils

    expires_at = timeutils.parse_isotime(expires).timestamp()
    revoke(keystone, token)  # so that only a replay can still confirm it
    clock.now = expires_at - 1
    call(wsgi, {"X-Auth-Token": token})
    assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    clock.now = expires_at
    call(wsgi, {"X-Auth-Token": token})
    assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Invalid"


def test_requests_with_a_service_token_go_through_auth_token(conf_file, member) -> None:
    wsgi, app = make_wsgi(conf_file)
    token = member[1]()
    call(wsgi, {"X-Auth-Token": token})
    call(wsgi, {"X-Auth-Token": token, "X-Service-Token": "bogus"})
    assert app.seen[-1]["HTTP_X_SERVICE_IDENTITY_STATUS"] == "Invalid"
    assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Confirmed"


@pytest.mark.parametrize("authtoken", [{"token_cache_time": -1},
                                       {"memcached_servers": ["127.0.0.1:1"]}])
def test_no_replay_without_auth_tokens_in_process_cache(conf_file, authtoken) -> None:
    wsgi, _ = make_wsgi(conf_file, **authtoken)
    assert not isinstance(wsgi, auth.ConfirmedTokens)


def test_concurrent_requests_each_see_their_own_token(conf_file, keystone) -> None:
    wsgi, _ = make_wsgi(conf_file)
    users = []
    for _ in range(3):
        name = f"cc-{uuid.uuid4().hex[:8]}"
        project, _, creds = keystone.create_project_user(name, f"u-{name}", "pw")
        users.append((project["id"], keystone.get_token(creds.username, "pw", name)))
    wrong: list[Any] = []

    def worker(offset: int) -> None:
        for i in range(40):
            project_id, token = users[(i + offset) % len(users)]
            _, _, body = call(wsgi, {"X-Auth-Token": token, "X-Project-Id": "spoof"})
            seen = json.loads(body)
            if seen["HTTP_X_PROJECT_ID"] != project_id or \
                    seen["token_auth.user.project_id"] != project_id:
                wrong.append((project_id, seen))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_table_stays_bounded(conf_file, member, monkeypatch) -> None:
    monkeypatch.setattr(auth, "_MAX_TOKENS", 4)
    wsgi, app = make_wsgi(conf_file)
    tokens = [member[1]() for _ in range(7)]
    for token in tokens:
        call(wsgi, {"X-Auth-Token": token})
    assert len(wsgi._tokens) <= 4
    for token in tokens:  # dropped or not, every token is still confirmed
        call(wsgi, {"X-Auth-Token": token})
        assert app.seen[-1]["HTTP_X_IDENTITY_STATUS"] == "Confirmed"


def test_stripped_headers_are_those_auth_token_strips() -> None:
    from keystonemiddleware.auth_token import _request

    stripped = _request._AuthTokenRequest.blank("/")._all_auth_headers()
    assert set(auth._AUTH_HEADERS) == {"HTTP_" + h.upper().replace("-", "_") for h in stripped}
