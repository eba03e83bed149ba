"""Errors of the controller client, kept apart because the journal treats them apart."""

from __future__ import annotations

from typing import Any


class ControllerClientError(Exception):
    """Base of the errors raised by a controller client."""


class ControllerConnectionError(ControllerClientError):
    """The controller could not be reached or did not answer in time.

    The journal puts the row back to pending without counting a retry and
    backs off, as networking-odl does on ``requests.ConnectionError``.
    """


class ControllerError(ControllerClientError):
    """The controller answered with an HTTP error status."""

    def __init__(self, status: int, body: Any, method: str = "", url: str = "") -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        super().__init__(f"{method} {url} -> HTTP {status}: {body}")
