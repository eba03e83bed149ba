"""What read-only collections (availability zones, service providers, IP availability)
answer to writes: 405, with a NeutronError body, never a 500 for a missing method."""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc


class MethodNotAllowed(exc.NeutronException):
    message = "%(collection)s cannot be %(verb)s through the API."
    status = 405


class ReadOnlyCollection:
    """Plugin methods for POST, PUT and DELETE of one read-only collection.

    A subclass names it in ``read_only``: (collection, member) as in the attribute map.
    """

    read_only: tuple[str, str] = ("", "")

    def __getattr__(self, name: str) -> Any:
        collection, member = type(self).read_only
        verbs = {f"create_{member}_bulk": "created", f"update_{member}": "updated",
                 f"delete_{member}": "deleted"}
        if member and name in verbs:
            def refuse(*args: Any) -> Any:
                raise MethodNotAllowed(collection=collection, verb=verbs[name])
            return refuse
        raise AttributeError(name)
