"""The object types RBAC policies apply to, and what each needs from the plugin.

A type names its RBAC table (``neutrino.db.models.rbac.RBACColumns``), the table of
its objects, its actions, its 404 and, optionally, an in-use check, a hook that
keeps derived state (a network's ``shared`` column) in step and a check of a new
target (a subnet pool's target must reach the pool's address scope). Networks,
security groups, subnet pools and address scopes register theirs this way (QoS
policies will too); the plugin's core does not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import false
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from neutrino import exceptions as exc
from neutrino.apidef import rbac as rbac_api
from neutrino.context import Context


@dataclasses.dataclass(frozen=True)
class Losing:
    """The projects that a policy change takes an action away from: ``only`` one
    project, or every project but ``keep``."""

    only: str | None = None
    keep: frozenset[str] = frozenset()

    def clause(self, project_column: Any) -> ColumnElement[bool]:
        if self.only is not None:
            return project_column == self.only  # type: ignore[no-any-return]
        if not self.keep:
            return ~false()
        return project_column.notin_(sorted(self.keep))  # type: ignore[no-any-return]


# in_use(session, object_id, action, losing) -> what still depends on it, or None
InUseCheck = Callable[[Session, str, str, Losing], str | None]
# sync(session, ctx, core_plugin, object_id) -> a postcommit to run, or None
SyncHook = Callable[[Session, Context, Any, str], Callable[[], None] | None]
# check_target(session, object_id, action, target): raises if the object may not be
# granted to ``target`` (a project or ``*``)
TargetCheck = Callable[[Session, str, str, str], None]


@dataclasses.dataclass(frozen=True)
class ObjectType:
    name: str
    rbac_model: Any
    object_model: Any
    actions: tuple[str, ...]
    not_found: Callable[[str], exc.NotFound]
    in_use: InUseCheck | None = None
    sync: SyncHook | None = None
    check_target: TargetCheck | None = None


_TYPES: dict[str, ObjectType] = {}


def register_object_type(object_type: ObjectType) -> None:
    """Make ``object_type`` usable in policies (again: registering twice replaces)."""
    _TYPES[object_type.name] = object_type
    rbac_api.add_object_type(object_type.name, object_type.actions)


def object_type(name: str) -> ObjectType:
    return _TYPES[name]


def object_types() -> list[ObjectType]:
    return [_TYPES[n] for n in sorted(_TYPES)]
