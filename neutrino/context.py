"""The request context: who is asking (project, user, roles) and whether they are admin."""

from __future__ import annotations

import dataclasses
import uuid


@dataclasses.dataclass
class Context:
    project_id: str | None = None
    user_id: str | None = None
    roles: list[str] = dataclasses.field(default_factory=list)
    is_admin: bool = False
    request_id: str = dataclasses.field(default_factory=lambda: f"req-{uuid.uuid4()}")
    is_advsvc: bool = False

    @property
    def tenant_id(self) -> str | None:
        return self.project_id

    def to_policy_values(self) -> dict[str, object]:
        return {"project_id": self.project_id, "tenant_id": self.project_id,
                "user_id": self.user_id, "roles": self.roles, "is_admin": self.is_admin}


def admin_context() -> Context:
    """The server's own context (maintenance tasks, RPC handlers)."""
    return Context(is_admin=True, roles=["admin"])
