"""Errors the reference controller answers with: one tree, each with a status."""

from __future__ import annotations

from typing import Any


class ControllerFault(Exception):
    """Base of every error the controller reports to a client.

    ``status`` is the HTTP status; ``type`` names the error in the JSON body
    ``{"error": {"type": ..., "message": ...}}`` so tests can tell a missing
    dependency from a duplicate id without parsing messages.
    """

    status = 500
    message = "controller error"

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        super().__init__(self.message.format(**kwargs))

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"type": self.type, "message": str(self)}}


class BadRequest(ControllerFault):
    status = 400
    message = "bad request: {reason}"


class Unauthorized(ControllerFault):
    status = 401
    message = "authentication required"


class ResourceNotFound(ControllerFault):
    status = 404
    message = "{object_type} {id} not found"


class UnknownCollection(ControllerFault):
    status = 404
    message = "unknown collection {collection!r}"


class ResourceExists(ControllerFault):
    status = 409
    message = "{object_type} {id} already exists"


class DependencyMissing(ControllerFault):
    """A resource refers to another the controller has not been told about.

    This is what an ordering bug in the journal looks like from the controller.
    """

    status = 409
    message = "{object_type} {id} refers to {ref_type} {ref_id} ({field}), which does not exist"


class ResourceInUse(ControllerFault):
    """A delete would leave dangling references (a child is still present)."""

    status = 409
    message = "{object_type} {id} is still referenced by {child_type} {child_id}"


class InjectedError(ControllerFault):
    """An error produced on purpose by the ``error_rate`` fault."""

    message = "injected fault"

    def __init__(self, status: int = 500) -> None:
        self.status = status
        super().__init__()


class MethodNotAllowed(ControllerFault):
    status = 405
    message = "method {method} not allowed here"
