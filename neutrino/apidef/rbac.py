"""RBAC policies: the ``rbac-policies`` collection, its object types and errors (Neutron's).

An object type (``network``, ``security_group`` …) is known here once the RBAC
plugin's ``register_object_type`` has named it with its actions; ``object_type``
and ``action`` are validated against what is registered when the request comes.
"""

from __future__ import annotations

from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource, standard_attrs

ACCESS_SHARED = "access_as_shared"
ACCESS_EXTERNAL = "access_as_external"
WILDCARD = "*"

# object type -> its actions, filled by the RBAC plugin's registry.
_ACTIONS: dict[str, tuple[str, ...]] = {}


def add_object_type(name: str, actions: tuple[str, ...]) -> None:
    _ACTIONS[name] = actions


def object_types() -> list[str]:
    return sorted(_ACTIONS)


def actions_of(object_type: str) -> tuple[str, ...]:
    return _ACTIONS.get(object_type, ())


def _object_type(value: Any) -> str | None:
    return v.in_values(*object_types())(value)


def _action(value: Any) -> str | None:
    return v.in_values(*sorted({a for acts in _ACTIONS.values() for a in acts}))(value)


# --- errors (neutron_lib.exceptions.rbac) ------------------------------------------

class RbacPolicyNotFound(exc.NotFound):
    message = "RBAC policy of type %(object_type)s with ID %(id)s not found"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("object_type", "")
        super().__init__(**kwargs)


class RbacPolicyInUse(exc.Conflict):
    message = ("RBAC policy on object %(object_id)s cannot be removed because other "
               "objects depend on it.\nDetails: %(details)s")


class DuplicateRbacPolicy(exc.Conflict):
    message = "An RBAC policy already exists with those values."


class InvalidActionForType(exc.BadRequest):
    message = ("Invalid action '%(action)s' for object type '%(object_type)s'. "
               "Valid actions: %(valid_actions)s")


class ExternalNetworkInUse(exc.InUse):
    message = ("External network %(net_id)s cannot be updated to be made non-external, "
               "since it has existing gateway ports.")


exc.register_not_found("rbac_policy", RbacPolicyNotFound, "id")


def _attrs() -> dict[str, Attr]:
    std = {a.name: a for a in standard_attrs()}
    return {a.name: a for a in (
        std["id"],
        Attr("object_type", allow_post=True, validate=_object_type, is_filter=True,
             is_sort_key=True),
        Attr("object_id", allow_post=True, validate=v.is_uuid, is_filter=True,
             is_sort_key=True, enforce_policy=True),
        Attr("action", allow_post=True, validate=_action, is_filter=True, is_sort_key=True),
        Attr("target_tenant", allow_post=True, allow_put=True, validate=v.string(255),
             is_filter=True, is_sort_key=True, enforce_policy=True),
        std["project_id"], std["tenant_id"], std["created_at"], std["updated_at"],
        std["revision_number"],
    )}


RBAC_POLICIES = Resource("rbac_policies", "rbac_policy", _attrs(), has_tags=False,
                         path="rbac-policies")
ALIASES = ["rbac-policies", "rbac-security-groups"]
