"""Security groups over RPC: what agents ask for, and whom the server tells of changes.

``security_group_info_for_devices`` (a call on ``q-plugin``) answers with the groups
of the asked-for ports, their rules, and the member addresses of every group their
rules name as ``remote_group_id`` — each group's members once, however many of the
ports use it (Neutron's compact reply; its older per-port reply reached hundreds of
megabytes with a large default group).

Notifications are casts on ``q-agent-notifier-security_group-update`` straight to
``<topic>.<host>`` of the hosts that have an affected port (never fanout):
``security_groups_rule_updated`` to the hosts with ports in groups whose rules
changed; ``security_groups_member_updated`` to the hosts with ports in groups whose
rules reference a group whose members changed. Hosts are the ports' bindings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import netaddr
import oslo_messaging
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from neutrino.context import Context
from neutrino.db.api import Database
from neutrino.db.models import (
    AllowedAddressPair,
    IPAllocation,
    Port,
    PortBinding,
    SecurityGroup,
    SecurityGroupPortBinding,
    SecurityGroupRule,
)
from neutrino.db.query import in_chunks
from neutrino.plugins.events import Events
from neutrino.rpc import topics

LOG = logging.getLogger(__name__)

SECURITY_GROUP_UPDATE = topics.get_topic_name(topics.AGENT, "security_group", topics.UPDATE)
# Neutron's SecurityGroupServerRpcCallback: version 1.3 in the ``secgroup`` namespace;
# a client that names no namespace is served as well.
SG_RPC_VERSION = "1.3"
SG_RPC_NAMESPACE = "secgroup"

# Port changes that change a group's member addresses (or where they are enforced).
_MEMBER_FIELDS = ("fixed_ips", "allowed_address_pairs", "security_groups", "binding:host_id")


def _select_in(session: Session, query: Any, column: Any, ids: Iterable[str]) -> list[Any]:
    """Rows of ``query`` with ``column`` among ``ids``, a bounded IN list at a time."""
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for chunk in in_chunks(wanted):
        rows.extend(session.execute(query.where(column.in_(chunk))).all())
    return rows


# --- the agents' question --------------------------------------------------------------

def _devices(session: Session, port_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    security = dict(_select_in(session, select(Port.id, Port.port_security_enabled),
                               Port.id, port_ids))
    groups: dict[str, list[str]] = {pid: [] for pid in security}
    for pid, gid in _select_in(session, select(SecurityGroupPortBinding.port_id,
                                               SecurityGroupPortBinding.security_group_id),
                               SecurityGroupPortBinding.port_id, security):
        groups[pid].append(gid)
    return {pid: {"security_groups": sorted(groups[pid]),
                  "port_security_enabled": bool(psec)} for pid, psec in security.items()}


def _rule(row: Any) -> dict[str, Any]:
    return {"id": row.id, "direction": row.direction, "ethertype": row.ethertype,
            "protocol": row.protocol, "port_range_min": row.port_range_min,
            "port_range_max": row.port_range_max, "remote_ip_prefix": row.remote_ip_prefix,
            "remote_group_id": row.remote_group_id}


def _groups(session: Session, group_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {
        gid: {"stateful": bool(stateful), "rules": []}
        for gid, stateful in _select_in(session, select(SecurityGroup.id,
                                                        SecurityGroup.stateful),
                                        SecurityGroup.id, group_ids)}
    query = select(SecurityGroupRule).order_by(SecurityGroupRule.created_at,
                                               SecurityGroupRule.id)
    for (row,) in _select_in(session, query, SecurityGroupRule.security_group_id, groups):
        groups[row.security_group_id]["rules"].append(_rule(row))
    return groups


def _version_of(address: str) -> str:
    return f"IPv{netaddr.IPNetwork(address).version}"


def member_ips(session: Session, group_ids: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Every group's member addresses (fixed IPs and address pairs of its ports)."""
    members: dict[str, dict[str, set[str]]] = {
        g: {"IPv4": set(), "IPv6": set()} for g in group_ids}
    binding = SecurityGroupPortBinding
    for table in (IPAllocation, AllowedAddressPair):
        query = select(binding.security_group_id, table.ip_address).join(
            table, table.port_id == binding.port_id)
        for gid, address in _select_in(session, query, binding.security_group_id, members):
            members[gid][_version_of(address)].add(address)
    return {g: {v: sorted(a) for v, a in by_version.items()}
            for g, by_version in members.items()}


def info_for_devices(session: Session, port_ids: Sequence[str]) -> dict[str, Any]:
    """The reply of ``security_group_info_for_devices`` (see the module docstring)."""
    devices = _devices(session, port_ids)
    groups = _groups(session, {g for d in devices.values() for g in d["security_groups"]})
    remotes = {r["remote_group_id"] for g in groups.values() for r in g["rules"]
               if r["remote_group_id"]}
    return {"devices": devices, "security_groups": groups,
            "sg_member_ips": member_ips(session, remotes)}


class SecurityGroupServerRpcCallback:
    """``q-plugin`` endpoint: ``security_group_info_for_devices`` and its older name."""

    target = oslo_messaging.Target(version=SG_RPC_VERSION, namespace=SG_RPC_NAMESPACE,
                                   legacy_namespaces=[None])

    def __init__(self, db: Database) -> None:
        self.db = db

    def security_group_info_for_devices(self, context: Any, devices: list[str],
                                        **kwargs: Any) -> dict[str, Any]:
        from neutrino.rpc.callbacks import device_to_port_id

        with self.db.reader() as session:
            return info_for_devices(session, [device_to_port_id(d) for d in devices])

    def security_group_rules_for_devices(self, context: Any, devices: list[str],
                                         **kwargs: Any) -> dict[str, Any]:
        """Neutron's older call; answered with the same compact data."""
        return self.security_group_info_for_devices(context, devices, **kwargs)


# --- whom to tell ------------------------------------------------------------------------

# Hosts with a bound port in a group that is among ``groups`` (rules changed) or whose
# rules name one of ``groups`` as remote (members changed): one statement each, built
# once, since they run after every port create, update and delete.
_BOUND_HOSTS = select(PortBinding.host).join(
    SecurityGroupPortBinding, SecurityGroupPortBinding.port_id == PortBinding.port_id
).where(PortBinding.host != "").distinct()
_HOSTS_OF_GROUPS = _BOUND_HOSTS.where(
    SecurityGroupPortBinding.security_group_id.in_(bindparam("groups", expanding=True)))
_HOSTS_REFERENCING = _BOUND_HOSTS.where(SecurityGroupPortBinding.security_group_id.in_(
    select(SecurityGroupRule.security_group_id).where(
        SecurityGroupRule.remote_group_id.in_(bindparam("groups", expanding=True)))))


def _hosts(conn: Connection, query: Any, group_ids: Iterable[str]) -> set[str]:
    return {host for chunk in in_chunks(sorted(set(group_ids)))
            for host in conn.execute(query, {"groups": list(chunk)}).scalars()}


def hosts_of_groups(conn: Connection, group_ids: Iterable[str]) -> set[str]:
    """Hosts with a bound port in one of ``group_ids``."""
    return _hosts(conn, _HOSTS_OF_GROUPS, group_ids)


def hosts_referencing(conn: Connection, group_ids: Iterable[str]) -> set[str]:
    """Hosts with a bound port in a group whose rules name one of ``group_ids`` as
    ``remote_group_id``: those that enforce the members of ``group_ids``."""
    return _hosts(conn, _HOSTS_REFERENCING, group_ids)


class SecurityGroupAgentNotifier:
    """The casts of ``q-agent-notifier-security_group-update``, one per host."""

    def __init__(self, caster: Any) -> None:
        self.caster = caster

    def _cast(self, method: str, hosts: Iterable[str], **kwargs: Any) -> None:
        for host in sorted(h for h in set(hosts) if h):
            self.caster.cast(SECURITY_GROUP_UPDATE, method, host=host, **kwargs)

    def security_groups_rule_updated(self, hosts: Iterable[str],
                                     security_groups: list[str]) -> None:
        self._cast("security_groups_rule_updated", hosts, security_groups=security_groups)

    def security_groups_member_updated(self, hosts: Iterable[str],
                                       security_groups: list[str]) -> None:
        self._cast("security_groups_member_updated", hosts, security_groups=security_groups)

    def security_groups_provider_updated(self, devices_to_update: list[str] | None = None
                                         ) -> None:
        """Neutron's fanout for provider rules (DHCP, RA) — kept for compatibility."""
        self.caster.cast(SECURITY_GROUP_UPDATE, "security_groups_provider_updated",
                         devices_to_update=devices_to_update)


class SecurityGroupNotifications:
    """After-commit observers that turn group, rule and port changes into casts."""

    def __init__(self, db: Database, notifier: SecurityGroupAgentNotifier) -> None:
        self.db = db
        self.notifier = notifier

    def subscribe(self, events: Events) -> None:
        events.subscribe("security_group_rule", "after_create", self._rules_changed)
        events.subscribe("security_group_rule", "after_delete", self._rules_changed)
        events.subscribe("security_group", "after_update", self._group_updated)
        events.subscribe("security_group", "after_delete", self._group_deleted)
        for event in ("after_create", "after_update", "after_delete"):
            events.subscribe("port", event, self._port_changed)

    def rules_updated(self, group_ids: Iterable[str]) -> None:
        groups = sorted(set(group_ids))
        if not groups:
            return
        with self.db.read_engine.connect() as conn:
            hosts = hosts_of_groups(conn, groups)
        self.notifier.security_groups_rule_updated(hosts, groups)

    def members_updated(self, group_ids: Iterable[str]) -> None:
        groups = sorted(set(group_ids))
        if not groups:
            return
        # Read after the commit: an agent binding a port concurrently either shows
        # here or asks for the groups' members after this change committed.
        with self.db.read_engine.connect() as conn:
            hosts = hosts_referencing(conn, groups)
        self.notifier.security_groups_member_updated(hosts, groups)

    def _rules_changed(self, resource: str, event: str, ctx: Context,
                       current: dict[str, Any], original: dict[str, Any] | None,
                       batch: list[dict[str, Any]] | None = None, **details: Any) -> None:
        rules = batch or [current]
        if current is not rules[0]:
            return  # one notice per request: the first rule's event speaks for all
        self.rules_updated(r["security_group_id"] for r in rules)

    def _group_updated(self, resource: str, event: str, ctx: Context,
                       current: dict[str, Any], original: dict[str, Any] | None,
                       **details: Any) -> None:
        if original is not None and original.get("stateful") != current.get("stateful"):
            self.rules_updated([current["id"]])

    def _group_deleted(self, resource: str, event: str, ctx: Context,
                       current: dict[str, Any], original: dict[str, Any] | None,
                       remote_of: list[str] | None = None, **details: Any) -> None:
        self.rules_updated(remote_of or [])

    def _port_changed(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        if event == "after_update":
            if original is None or all(current.get(k) == original.get(k)
                                       for k in _MEMBER_FIELDS):
                return  # a status report, or nothing members depend on
        elif not (current.get("fixed_ips") or current.get("allowed_address_pairs")):
            return  # a port without addresses adds or takes no member address
        groups = set(current.get("security_groups") or [])
        if original is not None:
            groups.update(original.get("security_groups") or [])
        self.members_updated(groups)
