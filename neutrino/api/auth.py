"""Who is calling: noauth headers, or the identity keystonemiddleware confirmed.

noauth follows Neutron: the project and roles come from ``X-Project-Id`` and
``X-Roles``; a request without a project is the admin. With keystone, the
``auth_token`` middleware validates the token and sets the same headers (it strips
any the caller sent), and we refuse what it did not confirm.
"""

from __future__ import annotations

from typing import Any

import falcon

from neutrino.context import Context


def _roles(req: falcon.Request) -> list[str]:
    raw = req.get_header("X-Roles") or req.get_header("X-Role") or ""
    return [r.strip() for r in raw.split(",") if r.strip()]


def context_from_headers(req: falcon.Request) -> Context:
    project = req.get_header("X-Project-Id") or req.get_header("X-Tenant-Id")
    roles = _roles(req)
    ctx = Context(project_id=project, user_id=req.get_header("X-User-Id"), roles=roles,
                  is_admin="admin" in roles, is_advsvc="advsvc" in roles)
    request_id = req.get_header("X-Openstack-Request-Id")
    if request_id:
        ctx.request_id = request_id
    return ctx


class NoAuthMiddleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.get_header("X-Project-Id") or req.get_header("X-Tenant-Id"):
            req.context.neutron = context_from_headers(req)
        else:
            ctx = context_from_headers(req)
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
        if req.get_header("X-Identity-Status") != "Confirmed":
            raise falcon.HTTPUnauthorized(description="Authentication required")
        req.context.neutron = context_from_headers(req)


def wrap_keystone(app: Any, conf: Any) -> Any:
    """Wrap the WSGI app with keystonemiddleware's auth_token, configured from conf."""
    from keystonemiddleware import auth_token

    return auth_token.AuthProtocol(app, {"oslo_config_config": conf,
                                         "delay_auth_decision": True})
