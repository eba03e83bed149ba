"""The one place that turns exceptions into Neutron's ``NeutronError`` responses."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import orjson

from neutrino import exceptions as exc

LOG = logging.getLogger(__name__)

INTERNAL = "Request Failed: internal server error while processing your request."


def body(type_name: str, message: str) -> bytes:
    return orjson.dumps({"NeutronError": {"type": type_name, "message": message,
                                          "detail": ""}})


def _send(resp: falcon.Response, status: int, type_name: str, message: str) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = body(type_name, message)


def handle_neutron(req: falcon.Request, resp: falcon.Response, ex: exc.NeutronException,
                   params: Any) -> None:
    if ex.status >= 500:
        LOG.error("%s %s failed: %s", req.method, req.path, ex, exc_info=ex)
        message = INTERNAL if ex.status == 500 and not ex.msg else ex.msg
    else:
        message = ex.msg
    _send(resp, ex.status, type(ex).__name__, message)


_FALCON_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 404: "HTTPNotFound",
                 405: "HTTPMethodNotAllowed", 413: "HTTPRequestEntityTooLarge",
                 415: "HTTPUnsupportedMediaType"}


def handle_http(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError,
                params: Any) -> None:
    status = int(ex.status_code)
    message = ex.description or ex.title or ""
    if status == 404 and not ex.description:
        message = "The resource could not be found."
    _send(resp, status, _FALCON_TYPES.get(status, "HTTPError"), message)
    if status == 405 and ex.headers:
        resp.set_headers(ex.headers)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: Any) -> None:
    # Never a traceback on the wire; the log has it.
    LOG.exception("%s %s failed unexpectedly", req.method, req.path)
    _send(resp, 500, "HTTPInternalServerError", INTERNAL)


def install(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http)
    app.add_error_handler(exc.NeutronException, handle_neutron)
