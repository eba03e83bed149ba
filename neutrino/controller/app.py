"""Falcon WSGI application of the reference controller.

URL layout (``base_path`` defaults to ``/controller/nb/v2/neutron``, as
OpenDaylight's neutron northbound)::

    GET    <base>/<collection>           -> 200 {<object_type>s: [...]}
    POST   <base>/<collection>           -> 201 {<object_type>: {...}}   409 exists
    GET    <base>/<collection>/<id>      -> 200 {<object_type>: {...}}   404
    PUT    <base>/<collection>/<id>      -> 200 {<object_type>: {...}}   404
    DELETE <base>/<collection>/<id>      -> 204                          404
    GET    /health, /_test/health        -> 200 {"status": "ok", ...}
    GET    /_test/log[?since=N]          -> 200 {"log": [entry, ...]}
    DELETE /_test/log                    -> 204
    GET    /_test/faults                 -> 200 {setting: value, ...}
    PUT    /_test/faults                 -> 200 (body: settings to change)
    DELETE /_test/faults                 -> 200 (all faults cleared)
    POST   /_test/wipe                   -> 204 (forget every resource)

Errors are ``{"error": {"type": ..., "message": ...}}``. Basic auth, when
configured, guards the northbound collections only; the ``/_test`` API is for
test rigs and can be left out with ``test_api=False``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

import falcon

from neutrino.controller import errors
from neutrino.controller.northbound import Controller

DEFAULT_BASE_PATH = "/controller/nb/v2/neutron"
TEST_PREFIX = "/_test"
HEALTH_PATHS = ("/health", TEST_PREFIX + "/health")
AUTH_REALM = "neutrino-controller"


class BasicAuth:
    """Checks an ``Authorization: Basic`` header against one user."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = f"{username}:{password}".encode()

    def check(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            supplied = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(supplied, self._expected)


class Northbound:
    """Falcon sink serving every ``<base>/<collection>[/<id>]`` request."""

    def __init__(
        self,
        controller: Controller,
        auth: BasicAuth | None,
        sleep: Callable[[float], None],
    ) -> None:
        self._controller = controller
        self._auth = auth
        self._sleep = sleep

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        collection: str = params["collection"]
        resource_id: str | None = params.get("resource_id")
        controller, method = self._controller, req.method
        if self._auth is not None and not self._auth.check(req.get_header("Authorization")):
            controller.record(method, req.path, collection, resource_id, 401)
            raise errors.Unauthorized()
        delay = controller.faults.settings.delay
        if delay > 0:
            self._sleep(delay)
        injected = controller.faults.error_for(method)
        if injected is not None:
            controller.record(method, req.path, collection, resource_id, injected)
            raise errors.InjectedError(injected)
        body = _read_json(req) if method in ("POST", "PUT") else None
        status, result = controller.handle(method, req.path, collection, resource_id, body)
        resp.status = status
        if result is not None:
            resp.media = result


class Health:
    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok", "resources": self._controller.store.counts()}


class Log:
    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        since = req.get_param_as_int("since", default=0, min_value=0)
        resp.media = {"log": [e.to_dict() for e in self._controller.log.entries(since)]}

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._controller.log.clear()
        resp.status = 204


class Faults:
    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._controller.faults.to_dict()

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        changes = _read_json(req)
        if not isinstance(changes, dict):
            raise errors.BadRequest(reason="body must be a JSON object of fault settings")
        self._controller.faults.update(**changes)
        resp.media = self._controller.faults.to_dict()

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._controller.faults.reset()
        resp.media = self._controller.faults.to_dict()


class Wipe:
    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._controller.wipe()
        resp.status = 204


def _read_json(req: falcon.Request) -> Any:
    raw = req.bounded_stream.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.BadRequest(reason=f"body is not valid JSON: {exc}") from None


def _fault_response(
    req: falcon.Request, resp: falcon.Response, ex: errors.ControllerFault, params: Any
) -> None:
    resp.status = ex.status
    resp.media = ex.to_dict()
    if isinstance(ex, errors.Unauthorized):
        resp.set_header("WWW-Authenticate", f'Basic realm="{AUTH_REALM}"')


def create_app(
    controller: Controller,
    *,
    base_path: str = DEFAULT_BASE_PATH,
    username: str | None = None,
    password: str | None = None,
    test_api: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> falcon.App:
    """Build the WSGI app serving ``controller``.

    ``username``/``password`` both set turn on basic auth for the northbound
    API. ``sleep`` is how the ``delay`` fault waits (injectable for tests).
    """
    base_path = "/" + base_path.strip("/")
    if base_path == "/" or base_path.startswith(TEST_PREFIX):
        raise ValueError(f"base path {base_path!r} must not be / or under {TEST_PREFIX}")
    auth = BasicAuth(username, password or "") if username else None
    app = falcon.App()
    app.add_error_handler(errors.ControllerFault, _fault_response)
    pattern = re.compile(
        "^" + re.escape(base_path) + r"/(?P<collection>[^/]+)(?:/(?P<resource_id>[^/]+))?/?$"
    )
    app.add_sink(Northbound(controller, auth, sleep), pattern)
    health = Health(controller)
    for path in HEALTH_PATHS:
        if path.startswith(TEST_PREFIX) and not test_api:
            continue
        app.add_route(path, health)
    if test_api:
        app.add_route(TEST_PREFIX + "/log", Log(controller))
        app.add_route(TEST_PREFIX + "/faults", Faults(controller))
        app.add_route(TEST_PREFIX + "/wipe", Wipe(controller))
    return app
