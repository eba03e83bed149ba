"""The ``quotas`` extension's definitions: limits' validation, errors and aliases.

``/v2.0/quotas`` is not a collection of the usual kind (a member's "id" is a project
id, and ``…/default`` and ``…/details`` hang below it), so there is no ``Resource``
map here: a PUT body is ``{"quota": {<resource>: <limit>, …}}`` over the resources
that have a quota, each limit an integer from −1 (unlimited) up.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import validators as v

ALIASES = ["quotas", "quota_details"]
MEMBER = "quota"
COLLECTION = "quotas"
UNLIMITED = -1
# Neutron's bound: a limit is stored in a 32-bit signed integer column.
MAX_LIMIT = 2**31 - 1

_check_range = v.int_range(UNLIMITED, MAX_LIMIT)


class OverQuota(exc.Conflict):
    """A create would take the project above its limit (409, Neutron's wording)."""

    message = "Quota exceeded for resources: %(overs)s."

    def __init__(self, overs: list[str]) -> None:
        super().__init__(overs=repr(sorted(overs)))


def limit_value(resource: str, value: Any) -> int:
    """``value`` as a limit of ``resource``, or InvalidInput (400) as Neutron words it."""
    try:
        number = v.to_int(value)
    except ValueError as e:
        raise exc.InvalidInput(error_message=f"Invalid input for {resource}. "
                                             f"Reason: {e}.") from None
    problem = _check_range(number)
    if problem:
        raise exc.InvalidInput(error_message=f"Invalid input for {resource}. "
                                             f"Reason: {problem}.")
    return number


def parse_update(body: Any, known: list[str]) -> dict[str, int]:
    """The limits a ``PUT /v2.0/quotas/{project_id}`` body sets, validated."""
    if not isinstance(body, dict) or not isinstance(body.get(MEMBER), dict):
        raise exc.HTTPBadRequest(msg=f"Unable to find '{MEMBER}' in request body")
    item = body[MEMBER]
    unknown = [k for k in item if k not in known]
    if unknown:
        raise exc.HTTPBadRequest(msg=f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    return {name: limit_value(name, value) for name, value in item.items()}
