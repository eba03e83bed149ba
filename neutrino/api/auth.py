"""Who is calling: noauth headers, or the identity keystonemiddleware confirmed.

noauth follows Neutron: the project and roles come from ``X-Project-Id`` and
``X-Roles``; a request without a project is the admin. With keystone, the
``auth_token`` middleware validates the token and sets the same headers (it strips
any the caller sent), and we refuse what it did not confirm.

``auth_token`` costs ~0.2 ms of CPU per request even for a token it has cached
(webob request and response objects, header scrubbing through ``EnvironHeaders``,
JSON-decoding the cached token, rebuilding and re-encoding the service catalog).
``ConfirmedTokens`` keeps, per token, the environ entries ``auth_token`` set for
it, and replays them for the same ``token_cache_time`` that ``auth_token``'s own
in-process cache would have trusted the token (whose cache is then switched off,
so a token is never trusted longer than that after Keystone last confirmed it).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import falcon

from neutrino.context import Context

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _roles(raw: str | None) -> list[str]:
    return [r.strip() for r in (raw or "").split(",") if r.strip()]


def context_from_headers(req: falcon.Request) -> Context:
    env = req.env
    project = env.get("HTTP_X_PROJECT_ID") or env.get("HTTP_X_TENANT_ID")
    roles = _roles(env.get("HTTP_X_ROLES") or env.get("HTTP_X_ROLE"))
    extra: dict[str, Any] = {}
    request_id = env.get("HTTP_X_OPENSTACK_REQUEST_ID")
    if request_id:
        extra["request_id"] = request_id  # and no uuid4 drawn for the default
    return Context(project_id=project, user_id=env.get("HTTP_X_USER_ID"), roles=roles,
                   is_admin="admin" in roles, is_advsvc="advsvc" in roles, **extra)


class NoAuthMiddleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = context_from_headers(req)
        if not ctx.project_id:
            ctx.is_admin = True
            ctx.roles = ctx.roles or ["admin"]
        req.context.neutron = ctx


class KeystoneContextMiddleware:
    """Builds the context from the headers auth_token set; 401 if unconfirmed."""

    PUBLIC = ("/", "")

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path in self.PUBLIC:
            req.context.neutron = Context()
            return
        if req.env.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            raise falcon.HTTPUnauthorized(description="Authentication required")
        req.context.neutron = context_from_headers(req)


# ----------------------------------------------------------------------- keystone

# Every header auth_token strips from a request before it sets its own (its
# ``_AuthTokenRequest._all_auth_headers``), as WSGI environ keys.
_AUTH_HEADERS = tuple("HTTP_X_" + h for h in (
    "SERVICE_CATALOG", "IDENTITY_STATUS", "SERVICE_IDENTITY_STATUS", "IS_ADMIN_PROJECT",
    "ROLE", "USER", "TENANT_ID", "TENANT_NAME", "TENANT", "ROLES", "SERVICE_ROLES",
    *(prefix + name for prefix in ("", "SERVICE_") for name in (
        "DOMAIN_ID", "DOMAIN_NAME", "PROJECT_ID", "PROJECT_NAME", "PROJECT_DOMAIN_ID",
        "PROJECT_DOMAIN_NAME", "USER_ID", "USER_NAME", "USER_DOMAIN_ID",
        "USER_DOMAIN_NAME"))))
# What auth_token sets on a confirmed user token: the headers above, the system
# scope (set, never stripped) and the two environ entries of its contract.
_CONFIRMED_KEYS = (*_AUTH_HEADERS, "HTTP_OPENSTACK_SYSTEM_SCOPE",
                   "keystone.token_auth", "keystone.token_info")
_TOKEN_AUTH = "keystone.token_auth"
_STARTED = "neutrino.auth_started"  # only between ConfirmedTokens and its capture
_MAX_TOKENS = 10000


def _user_token(environ: dict[str, Any]) -> str | None:
    """The token auth_token validates: ``X-Auth-Token``, else ``X-Storage-Token``."""
    if "HTTP_X_AUTH_TOKEN" in environ:
        return str(environ["HTTP_X_AUTH_TOKEN"])
    token = environ.get("HTTP_X_STORAGE_TOKEN")
    return None if token is None else str(token)


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _replayable(token_info: Any) -> bool:
    """Whether auth_token's verdict on this token is the same for every request.

    A bound token (kerberos) or an application credential's access rules are
    checked against each request's method, path and remote user; those tokens
    always go through auth_token.
    """
    token = token_info.get("token") if isinstance(token_info, dict) else None
    if not isinstance(token, dict) or token.get("bind"):
        return False
    app_cred = token.get("application_credential") or {}
    return app_cred.get("access_rules") is None


def _expires_at(token_auth: Any) -> float | None:
    """When the user token of auth_token's per-request auth plugin expires."""
    expires = getattr(getattr(token_auth, "user", None), "expires", None)
    return None if expires is None else float(expires.timestamp())


@dataclasses.dataclass(frozen=True)
class _Confirmed:
    """What auth_token set for one token, and until when it may be replayed."""

    environ: dict[str, Any]
    until: float


class ConfirmedTokens:
    """auth_token, with its verdict on a confirmed user token replayed for a while.

    A request whose token auth_token confirmed less than ``ttl`` seconds ago (and
    that has not expired) gets the same identity environ entries without going
    through auth_token again: the caller's auth headers are stripped, auth_token's
    are set, and a 401 from the app gets its ``WWW-Authenticate`` header. Anything
    else (no token, a service token, an unknown, expired or stale token) goes
    through auth_token, which asks Keystone. ``make_protocol(app)`` builds the
    auth_token around ``app``, with its own token cache off; ``clock`` is
    injectable for tests.
    """

    def __init__(self, app: WsgiApp, make_protocol: Callable[[WsgiApp], Any], ttl: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._app = app
        self._protocol = make_protocol(self._capture)
        self._ttl = ttl
        self._clock = clock
        self._tokens: dict[str, _Confirmed] = {}
        self._purge_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        token = _user_token(environ)
        if token and "HTTP_X_SERVICE_TOKEN" not in environ:
            found = self._tokens.get(_token_key(token))
            now = self._clock()
            if found is not None and now < found.until:
                return self._replay(found, environ, start_response)
            environ[_STARTED] = now
        return self._protocol(environ, start_response)  # type: ignore[no-any-return]

    def _replay(self, found: _Confirmed, environ: dict[str, Any],
                start_response: Callable[..., Any]) -> Iterable[bytes]:
        for key in _AUTH_HEADERS:
            environ.pop(key, None)
        environ.update(found.environ)
        # A request's own auth plugin object, as auth_token makes one per request.
        environ[_TOKEN_AUTH] = copy.copy(found.environ[_TOKEN_AUTH])
        reject = self._reject_headers

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                    ) -> Any:
            if status[:3] == "401":
                headers = [*headers, *reject()]
            return start_response(status, headers, exc_info)

        return self._app(environ, respond)

    def _reject_headers(self) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", f'Keystone uri="{self._protocol.www_authenticate_uri}"')]

    def _capture(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        """The app as auth_token calls it: remember what it confirmed, then serve."""
        started = environ.pop(_STARTED, None)
        if started is not None and environ.get("HTTP_X_IDENTITY_STATUS") == "Confirmed":
            self._remember(environ, started)
        return self._app(environ, start_response)

    def _remember(self, environ: dict[str, Any], started: float) -> None:
        token, info = _user_token(environ), environ.get("keystone.token_info")
        if not token or "HTTP_X_SERVICE_TOKEN" in environ or not _replayable(info):
            return
        expires = _expires_at(environ.get(_TOKEN_AUTH))
        if expires is None:
            return
        # Keystone confirmed the token after ``started``: trust it ttl from then.
        until = min(started + self._ttl, expires)
        self._purge(started)
        self._tokens[_token_key(token)] = _Confirmed(
            {k: environ[k] for k in _CONFIRMED_KEYS if k in environ}, until)

    def _purge(self, now: float) -> None:
        """Keep the table bounded: drop stale entries, then the oldest if still full."""
        if len(self._tokens) < _MAX_TOKENS or not self._purge_lock.acquire(blocking=False):
            return
        try:
            for key, entry in list(self._tokens.items()):
                if entry.until <= now:
                    self._tokens.pop(key, None)
            for key in list(self._tokens)[:max(0, len(self._tokens) - _MAX_TOKENS // 2)]:
                self._tokens.pop(key, None)
        finally:
            self._purge_lock.release()


def _auth_token_options(conf: Any, cache_off: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"oslo_config_config": conf, "delay_auth_decision": True}
    if cache_off:
        options["token_cache_time"] = -1  # ConfirmedTokens is the cache
    return options


def wrap_keystone(app: Any, conf: Any, clock: Callable[[], float] = time.time) -> Any:
    """Wrap the WSGI app with keystonemiddleware's auth_token, configured from conf.

    With auth_token's in-process token cache (no ``memcached_servers``, no
    environ ``cache``), ``ConfirmedTokens`` takes its place, same duration.
    """
    from keystonemiddleware import auth_token

    for group, opts in auth_token.list_opts():  # as AuthProtocol registers them
        conf.register_opts(opts, group=group)
    section = conf.keystone_authtoken
    ttl = section.token_cache_time
    if section.memcached_servers or section.cache or ttl is None or ttl <= 0:
        return auth_token.AuthProtocol(app, _auth_token_options(conf, cache_off=False))
    return ConfirmedTokens(app, lambda inner: auth_token.AuthProtocol(
        inner, _auth_token_options(conf, cache_off=True)), ttl, clock)
