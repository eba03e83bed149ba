"""The object types Neutrino shares through RBAC: networks and security groups.

Networks: ``access_as_shared`` lets the target project use the network for its ports;
``access_as_external`` lets it attach router gateways and take floating IPs. The
network's ``shared`` column mirrors "a wildcard ``access_as_shared`` policy exists",
``router_external`` "some ``access_as_external`` policy exists" (the network is
external), and a change of either is a network update (journaled, announced).
Security groups: ``access_as_shared`` lets the target see the group and use it on
its ports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import securitygroup as sg
from neutrino.context import Context
from neutrino.db.models import (
    FloatingIP,
    Network,
    NetworkRBAC,
    Port,
    Router,
    SecurityGroup,
    SecurityGroupPortBinding,
    SecurityGroupRBAC,
    Subnet,
)
from neutrino.db.rbac import ACCESS_EXTERNAL, ACCESS_SHARED, WILDCARD
from neutrino.plugins.rbac.registry import Losing, ObjectType, register_object_type


def _any(session: Session, clause: Any) -> bool:
    return bool(session.execute(select(clause)).scalar())


def network_in_use(session: Session, net_id: str, action: str, losing: Losing) -> str | None:
    """What of the losing projects still needs ``action`` on the network."""
    if action == ACCESS_SHARED:
        if _any(session, exists().where(Port.network_id == net_id,
                                        losing.clause(Port.project_id))):
            return "Ports of the projects losing access are on the network."
        if _any(session, exists().where(Subnet.network_id == net_id,
                                        losing.clause(Subnet.project_id))):
            return "Subnets of the projects losing access are on the network."
        return None
    if _any(session, exists().where(FloatingIP.floating_network_id == net_id,
                                    losing.clause(FloatingIP.project_id))):
        return "Floating IPs of the projects losing access are on the network."
    if _any(session, exists().where(Router.gw_port_id == Port.id, Port.network_id == net_id,
                                    losing.clause(Router.project_id))):
        return "Routers of the projects losing access have their gateway on the network."
    return None


def _has(session: Session, net_id: str, action: str, wildcard_only: bool) -> bool:
    conditions = [NetworkRBAC.object_id == net_id, NetworkRBAC.action == action]
    if wildcard_only:
        conditions.append(NetworkRBAC.target_project == WILDCARD)
    return _any(session, exists().where(*conditions))


def sync_network(session: Session, ctx: Context, core_plugin: Any,
                 net_id: str) -> Callable[[], None] | None:
    """Bring ``shared``/``router_external`` in line with the network's policies."""
    row = session.execute(select(Network.shared, Network.router_external).where(
        Network.id == net_id)).first()
    if row is None:
        return None
    wanted = {"shared": _has(session, net_id, ACCESS_SHARED, wildcard_only=True),
              "router_external": _has(session, net_id, ACCESS_EXTERNAL, wildcard_only=False)}
    changes = {k: v for k, v in wanted.items() if getattr(row, k) != v}
    if not changes:
        return None
    postcommit: Callable[[], None] = core_plugin.set_network_access(session, ctx, net_id,
                                                                    changes)
    return postcommit


def security_group_in_use(session: Session, group_id: str, action: str,
                          losing: Losing) -> str | None:
    if _any(session, exists().where(
            SecurityGroupPortBinding.security_group_id == group_id,
            Port.id == SecurityGroupPortBinding.port_id, losing.clause(Port.project_id))):
        return "Ports of the projects losing access use the security group."
    return None


NETWORK = ObjectType("network", NetworkRBAC, Network, (ACCESS_EXTERNAL, ACCESS_SHARED),
                     lambda i: exc.NetworkNotFound(net_id=i), network_in_use, sync_network)
SECURITY_GROUP = ObjectType("security_group", SecurityGroupRBAC, SecurityGroup,
                            (ACCESS_SHARED,), lambda i: sg.SecurityGroupNotFound(id=i),
                            security_group_in_use)


def register_builtin() -> None:
    for object_type in (NETWORK, SECURITY_GROUP):
        register_object_type(object_type)
