"""Tunnel endpoints (``ml2_<type>_endpoints``): one IP per host per tunnel type.

``sync_endpoint`` is the database half of ``tunnel_sync``: it records the
(ip, host) pair, re-mapping a host whose IP changed or an IP that moved to
another host, and says what changed so the caller knows what to announce.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.db.api import RetryRequest
from neutrino.db.models.agent import ENDPOINT_MODELS


@dataclasses.dataclass
class EndpointChange:
    """What ``sync_endpoint`` did: ``created``/``moved`` → announce; ``replaced_ip`` → delete."""

    created: bool = False
    moved: bool = False
    replaced_ip: str | None = None

    @property
    def changed(self) -> bool:
        return self.created or self.moved or self.replaced_ip is not None


def _model(tunnel_type: str) -> Any:
    return ENDPOINT_MODELS[tunnel_type]


def endpoint_dict(row: Any) -> dict[str, Any]:
    entry = {"ip_address": row.ip_address, "host": row.host}
    if hasattr(row, "udp_port"):
        entry["udp_port"] = row.udp_port
    return entry


def get_endpoints(session: Session, tunnel_type: str) -> list[dict[str, Any]]:
    model = _model(tunnel_type)
    rows = session.execute(select(model).order_by(model.ip_address)).scalars()
    return [endpoint_dict(r) for r in rows]


def sync_endpoint(session: Session, tunnel_type: str, ip: str, host: str | None
                  ) -> EndpointChange:
    """Make ``ip`` the endpoint of ``host`` for ``tunnel_type``."""
    model = _model(tunnel_type)
    change = EndpointChange()
    by_ip = session.execute(select(model).where(model.ip_address == ip)).scalar()
    if host:
        by_host = session.execute(select(model).where(model.host == host)).scalar()
        if by_host is not None and by_host.ip_address != ip:
            change.replaced_ip = by_host.ip_address
            session.execute(delete(model).where(model.ip_address == by_host.ip_address))
    if by_ip is None:
        try:
            with session.begin_nested():
                session.execute(insert(model), {"ip_address": ip, "host": host})
        except IntegrityError:
            raise RetryRequest() from None
        change.created = True
    elif by_ip.host != host:
        session.execute(update(model).where(model.ip_address == ip).values(host=host))
        change.moved = True
    return change


def delete_host_endpoints(session: Session, host: str) -> list[tuple[str, str]]:
    """Forget ``host``'s endpoints of every type; return the (ip, type) pairs removed."""
    removed = []
    for tunnel_type, model in ENDPOINT_MODELS.items():
        for ip in session.execute(select(model.ip_address).where(model.host == host)).scalars():
            removed.append((ip, tunnel_type))
        session.execute(delete(model).where(model.host == host))
    return removed
