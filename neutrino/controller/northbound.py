"""The controller's northbound operations, independent of HTTP.

``Controller`` ties the resource store, the request log and the fault
settings together. ``handle`` applies one northbound request and records it
in the log while the store is locked, so log order is apply order.
"""

from __future__ import annotations

from typing import Any

from neutrino.controller import errors
from neutrino.controller.faults import FaultInjector
from neutrino.controller.requestlog import LogEntry, RequestLog
from neutrino.controller.resources import BY_COLLECTION, ResourceType
from neutrino.controller.store import ResourceStore

Body = dict[str, Any]


class Controller:
    """State of one reference controller: resources, request log and faults."""

    def __init__(
        self,
        store: ResourceStore | None = None,
        log: RequestLog | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.store = store if store is not None else ResourceStore()
        self.log = log if log is not None else RequestLog()
        self.faults = faults if faults is not None else FaultInjector()

    def handle(
        self,
        method: str,
        path: str,
        collection: str,
        resource_id: str | None,
        body: Body | None,
    ) -> tuple[int, Body | None]:
        """Apply one northbound request; return (status, response body).

        Raises a ``ControllerFault`` for every refusal, after logging it.
        """
        method = method.upper()
        rtype = BY_COLLECTION.get(collection)
        logged_id = resource_id or _body_id(rtype, body)
        with self.store.lock:
            try:
                status, result = self._dispatch(method, collection, rtype, resource_id, body)
            except errors.ControllerFault as exc:
                self.record(method, path, collection, logged_id, exc.status)
                raise
            if result is not None and rtype is not None and logged_id is None:
                logged_id = result.get(rtype.object_type, {}).get("id")
            self.record(method, path, collection, logged_id, status)
        return status, result

    def record(
        self, method: str, path: str, collection: str, resource_id: str | None, status: int
    ) -> LogEntry:
        """Log a northbound request (also one refused before reaching the store)."""
        rtype = BY_COLLECTION.get(collection)
        object_type = rtype.object_type if rtype is not None else None
        return self.log.record(method.upper(), path, object_type, resource_id, status)

    def wipe(self) -> None:
        """Forget every resource (the request log and faults are kept)."""
        self.store.wipe()

    def _dispatch(
        self,
        method: str,
        collection: str,
        rtype: ResourceType | None,
        resource_id: str | None,
        body: Body | None,
    ) -> tuple[int, Body | None]:
        if rtype is None:
            raise errors.UnknownCollection(collection=collection)
        store, object_type = self.store, rtype.object_type
        if resource_id is None:
            if method == "GET":
                return 200, {rtype.plural: store.list(object_type)}
            if method == "POST":
                return 201, {object_type: store.create(object_type, _payload(rtype, body))}
        else:
            if method == "GET":
                return 200, {object_type: store.get(object_type, resource_id)}
            if method == "PUT":
                changes = _payload(rtype, body)
                return 200, {object_type: store.update(object_type, resource_id, changes)}
            if method == "DELETE":
                store.delete(object_type, resource_id)
                return 204, None
        raise errors.MethodNotAllowed(method=method)


def _payload(rtype: ResourceType, body: Body | None) -> Body:
    obj = body.get(rtype.object_type) if isinstance(body, dict) else None
    if not isinstance(obj, dict):
        raise errors.BadRequest(reason=f"body must be {{{rtype.object_type!r}: {{...}}}}")
    return obj


def _body_id(rtype: ResourceType | None, body: Body | None) -> str | None:
    if rtype is None or not isinstance(body, dict):
        return None
    obj = body.get(rtype.object_type)
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None
