"""Database side of DHCP scheduling: agents with their load, bindings, DHCP networks."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Connection,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.apidef import availability_zone as az
from neutrino.common import constants as const
from neutrino.db.api import RetryRequest
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, Subnet
from neutrino.plugins.dhcp.scheduling import DhcpAgent, next_binding_index

Binding = NetworkDhcpAgentBinding


def dhcp_agents(session: Session, ids: Iterable[str] | None = None) -> list[DhcpAgent]:
    """Every DHCP agent (or those of ``ids``) with the number of networks it hosts."""
    load = select(Binding.dhcp_agent_id, func.count().label("n")).group_by(
        Binding.dhcp_agent_id).subquery()
    query = select(Agent.id, Agent.host, Agent.admin_state_up, Agent.heartbeat_timestamp,
                   func.coalesce(load.c.n, 0), Agent.availability_zone).outerjoin(
        load, load.c.dhcp_agent_id == Agent.id).where(
        Agent.agent_type == const.AGENT_TYPE_DHCP)
    if ids is not None:
        query = query.where(Agent.id.in_(sorted(set(ids))))
    return [DhcpAgent(r[0], r[1], bool(r[2]), r[3], int(r[4]), r[5])
            for r in session.execute(query).all()]


def network_hints(session: Session, network_id: str) -> list[str]:
    """The network's availability zone hints."""
    return az.hints_from_db(session.execute(select(Network.availability_zone_hints).where(
        Network.id == network_id)).scalar())


def dhcp_agent_on_host(session: Session, host: str) -> str | None:
    return session.execute(select(Agent.id).where(
        Agent.agent_type == const.AGENT_TYPE_DHCP, Agent.host == host)).scalar()


def agents_of_network(session: Session, network_id: str) -> list[str]:
    return sorted(session.execute(select(Binding.dhcp_agent_id).where(
        Binding.network_id == network_id)).scalars())


def hosts_of_networks(session: Session, network_ids: Iterable[str]) -> dict[str, list[str]]:
    """network id → hosts of the DHCP agents bound to it (admin-up agents only)."""
    ids = sorted(set(network_ids))
    found: dict[str, list[str]] = {n: [] for n in ids}
    if not ids:
        return found
    rows = session.execute(select(Binding.network_id, Agent.host).join(
        Agent, Agent.id == Binding.dhcp_agent_id).where(
        Binding.network_id.in_(ids), Agent.admin_state_up)).all()
    for net_id, host in rows:
        found[net_id].append(host)
    return {n: sorted(h) for n, h in found.items()}


# The reads of every port create and network delete, built once (building and keying
# a statement per call costs more than the database takes to answer it).
_HOSTS_OF_NETWORK = select(Agent.host).join(
    Binding, Agent.id == Binding.dhcp_agent_id).where(
    Binding.network_id == bindparam("network_id"), Agent.admin_state_up)
# ``_HOSTS_OF_NETWORK`` and, as a row holding NULL, whether any DHCP agent exists.
_HOSTS_OR_ANY_AGENT = union_all(
    _HOSTS_OF_NETWORK,
    select(cast(null(), String)).where(exists().where(
        Agent.agent_type == const.AGENT_TYPE_DHCP)))
_SERVED_BY_DHCP = select(
    exists().where(Subnet.network_id == bindparam("network_id"), Subnet.enable_dhcp)
    & exists().where(Binding.network_id == bindparam("network_id")))


def hosts_of_network(session: Session, network_id: str) -> list[str]:
    """``hosts_of_networks`` of one network."""
    return sorted(session.connection().execute(
        _HOSTS_OF_NETWORK, {"network_id": network_id}).scalars())


def hosts_of_new_port(conn: Connection, network_id: str) -> tuple[list[str], bool]:
    """``hosts_of_network`` and ``any_dhcp_agent`` in one statement."""
    rows = list(conn.execute(_HOSTS_OR_ANY_AGENT, {"network_id": network_id}).scalars())
    return sorted(h for h in rows if h is not None), None in rows


def networks_of_agent(session: Session, agent_id: str) -> list[str]:
    return sorted(session.execute(select(Binding.network_id).where(
        Binding.dhcp_agent_id == agent_id)).scalars())


def wants_dhcp(session: Session, network_id: str) -> bool:
    """Does the network have a DHCP-enabled subnet?"""
    return bool(session.execute(select(exists().where(
        Subnet.network_id == network_id, Subnet.enable_dhcp))).scalar())


def served_by_dhcp(session: Session, network_id: str) -> bool:
    """A DHCP-enabled subnet and at least one DHCP agent: its ports wait for DHCP."""
    return bool(session.connection().execute(
        _SERVED_BY_DHCP, {"network_id": network_id}).scalar())


def dhcp_networks_short_of(session: Session, wanted: int) -> list[str]:
    """Networks with a DHCP-enabled subnet and fewer than ``wanted`` bindings."""
    count = select(func.count()).where(Binding.network_id == Subnet.network_id) \
        .scalar_subquery()
    return sorted(set(session.execute(select(Subnet.network_id).where(
        Subnet.enable_dhcp, count < wanted)).scalars()))


def bind(session: Session, network_id: str, agent_id: str) -> None:
    """Bind; the (network, binding_index) key makes a concurrent binder retry."""
    taken = session.execute(select(Binding.binding_index).where(
        Binding.network_id == network_id)).scalars()
    try:
        with session.begin_nested():
            session.execute(insert(Binding), {
                "network_id": network_id, "dhcp_agent_id": agent_id,
                "binding_index": next_binding_index(taken)})
    except IntegrityError:
        # Another server bound the network (or it went away) meanwhile: look again.
        raise RetryRequest() from None


def unbind(session: Session, network_id: str, agent_id: str) -> bool:
    done = session.execute(delete(Binding).where(
        Binding.network_id == network_id, Binding.dhcp_agent_id == agent_id))
    return bool(done.rowcount)  # type: ignore[attr-defined]
