"""Nova's ``os-server-external-events`` over HTTP, with a Keystone token.

``NovaClient`` takes an ``Auth`` (token and compute endpoint) and an httpx transport,
so unit tests pass a mock transport and a fixed token, functional tests the real
Keystone. ``KeystoneAuth`` reads the ``[nova]`` section with keystoneauth1's loading:
the password plugin (or any other ``auth_type``), the session options, and the
catalogue's ``compute`` endpoint (``region_name``, ``endpoint_type`` /
``valid_interfaces``).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

LOG = logging.getLogger(__name__)

# Nova answers per event in a 207: these mean "not for this server now", not "retry".
UNKNOWN_INSTANCE = 404
NO_HOST = 422
# The microversion Neutron uses for these events.
NOVA_API_VERSION = "2.1"


class RetryLater(Exception):
    """Nova (or Keystone) could not take the events now; send them again later."""


class Auth(Protocol):
    def token(self) -> str: ...

    def endpoint(self) -> str: ...

    def invalidate(self) -> None: ...


def events_url(endpoint: str) -> str:
    """``<compute endpoint>/os-server-external-events``; ``/v2.1`` added when missing."""
    base = endpoint.rstrip("/")
    # The catalogue's compute URL usually names the version (``…/v2.1`` or
    # ``…/v2.1/<project>``); a bare root gets Neutron's microversion base.
    if not any(part.startswith("v2") for part in httpx.URL(base).path.split("/")):
        base = f"{base}/v2.1"
    return f"{base}/os-server-external-events"


class KeystoneAuth:
    """Token and endpoint from the ``[nova]`` options (keystoneauth1 does the work)."""

    def __init__(self, conf: Any, group: str = "nova") -> None:
        from keystoneauth1 import loading as ks_loading

        section = conf[group]
        loader: Any = ks_loading.get_plugin_loader(section.auth_type)
        if section.auth_type == "password":
            # Registered (not required) by neutrino.conf.nova: read them as they are.
            plugin = loader.load_from_options(**{
                o.dest: section[o.dest] for o in loader.get_options()
                if section[o.dest] is not None})
        else:
            plugin = ks_loading.load_auth_from_conf_options(conf, group)
        self.session = ks_loading.load_session_from_conf_options(conf, group, auth=plugin)
        self.override = section.endpoint_override
        self.region = section.region_name
        self.interfaces = list(section.valid_interfaces or [section.endpoint_type])

    def token(self) -> str:
        return str(self.session.get_token())

    def endpoint(self) -> str:
        if self.override:
            return str(self.override)
        found = self.session.get_endpoint(service_type="compute", interface=self.interfaces,
                                          region_name=self.region)
        if not found:
            raise RetryLater("no compute endpoint in the catalogue")
        return str(found)

    def invalidate(self) -> None:
        self.session.invalidate()


class NovaClient:
    """Sends one batch of events; raises RetryLater when it should be sent again."""

    def __init__(self, auth: Auth, transport: httpx.BaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        self.auth = auth
        self.http = httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def send(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST the events; return Nova's per-event answers (empty when it kept none)."""
        try:
            resp = self._post(events)
            if resp.status_code == 401:
                # An expired or revoked token: one more try with a fresh one.
                self.auth.invalidate()
                resp = self._post(events)
        except httpx.HTTPError as e:
            raise RetryLater(f"Nova unreachable: {e}") from e
        except RetryLater:
            raise
        except Exception as e:  # keystoneauth's failures (Keystone down, catalogue)
            raise RetryLater(f"no token or endpoint for Nova: {e}") from e
        return self._answer(resp, events)

    def _post(self, events: list[dict[str, Any]]) -> httpx.Response:
        return self.http.post(events_url(self.auth.endpoint()), json={"events": events},
                              headers={"X-Auth-Token": self.auth.token(),
                                       "X-OpenStack-Nova-API-Version": NOVA_API_VERSION,
                                       "OpenStack-API-Version":
                                           f"compute {NOVA_API_VERSION}"})

    @staticmethod
    def _answer(resp: httpx.Response, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if resp.status_code >= 500:
            raise RetryLater(f"Nova answered {resp.status_code}")
        if resp.status_code == 404:
            LOG.warning("Nova knows none of the servers of %d event(s): %s", len(events),
                        events)
            return []
        if resp.status_code not in (200, 207):
            LOG.error("Nova refused %d event(s) with %s: %s", len(events), resp.status_code,
                      resp.text[:500])
            return []
        answers = list(resp.json().get("events") or [])
        for answer in answers:
            code = answer.get("code", 200)
            if code in (UNKNOWN_INSTANCE, NO_HOST):
                LOG.warning("Nova could not take event %s for server %s (%s): %s",
                            answer.get("name"), answer.get("server_uuid"), code,
                            "no such instance" if code == UNKNOWN_INSTANCE
                            else "instance has no host")
            elif code != 200:
                LOG.error("Nova answered %s to event %s", code, answer)
        return answers
