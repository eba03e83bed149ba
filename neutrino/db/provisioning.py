"""Provisioning blocks: a port goes ACTIVE only once every entity has reported it ready.

An entity (``L2``: the port's L2 agent; ``DHCP``: a DHCP agent of its network) that
must see a port before the VM behind it can use it adds a block inside the port's
transaction; it removes it when it reports the port ready. ML2 sets the port ACTIVE
when the last block goes (see ``ml2.ports``). Ports without blocks — every port of
a network without DHCP — cost no query: the status update reads ``pending`` in the
same statement as the port's status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.db.models import ProvisioningBlock

L2_AGENT_ENTITY = "L2"
DHCP_ENTITY = "DHCP"


def pending(port_id_column: Any) -> Any:
    """A boolean column expression: does the port have any block left?"""
    return exists().where(ProvisioningBlock.port_id == port_id_column).label("pending")


def add(session: Session, port_id: str, entities: Iterable[str]) -> None:
    """Block ``port_id`` on ``entities`` (idempotent: an existing block stays one)."""
    wanted = set(entities)
    if not wanted:
        return
    have = set(session.execute(select(ProvisioningBlock.entity).where(
        ProvisioningBlock.port_id == port_id)).scalars())
    rows = [{"port_id": port_id, "entity": e} for e in sorted(wanted - have)]
    if not rows:
        return
    try:
        with session.begin_nested():
            session.execute(insert(ProvisioningBlock), rows)
    except IntegrityError:
        pass  # a concurrent change of the same port added the same block: one is enough


def complete(session: Session, port_id: str, entity: str) -> tuple[bool, bool]:
    """Remove ``entity``'s block; return (it had one, others remain)."""
    done = session.execute(delete(ProvisioningBlock).where(
        ProvisioningBlock.port_id == port_id, ProvisioningBlock.entity == entity))
    removed = done.rowcount  # type: ignore[attr-defined]
    remaining = session.execute(select(exists().where(
        ProvisioningBlock.port_id == port_id))).scalar()
    return bool(removed), bool(remaining)


def blocked_ports(session: Session, port_ids: Iterable[str], entity: str) -> list[str]:
    """Those of ``port_ids`` that wait for ``entity``."""
    ids = sorted(set(port_ids))
    if not ids:
        return []
    return sorted(session.execute(select(ProvisioningBlock.port_id).where(
        ProvisioningBlock.port_id.in_(ids), ProvisioningBlock.entity == entity)).scalars())
