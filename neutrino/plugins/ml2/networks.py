"""ML2 networks: provider and project segments, MTU, sharing, delete with cleanup."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, not_, or_, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import availability_zone as az
from neutrino.context import Context
from neutrino.db import resources
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import Network, NetworkRBAC, NetworkSegment, Tag
from neutrino.db.query import Page
from neutrino.db.rbac import ACCESS_EXTERNAL, ACCESS_SHARED, granted, granted_clause
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.base import (
    Ml2Base,
    check_write,
    specified,
)
from neutrino.plugins.quotas import registry as quota_registry

PROVIDER_ATTRS = ("provider:network_type", "provider:physical_network",
                  "provider:segmentation_id")
# Ports that go away with their network instead of keeping it in use (as Neutron).
AUTO_DELETE_OWNERS = ("network:dhcp",)

# Statements of the hot paths, built once (building and keying one per call costs
# more than PostgreSQL takes to run it).
_INSERT_NETWORK = insert(table_of(Network))
_INSERT_SEGMENT = insert(table_of(NetworkSegment))
# PostgreSQL: a network and its one segment in one statement (one round trip); the
# segment's foreign key is checked at the end of the statement, after both inserts.
_INSERT_NETWORK_AND_SEGMENT = insert(table_of(NetworkSegment)).values(
    {c.name: bindparam(f"segment_{c.name}") for c in table_of(NetworkSegment).c}
).add_cte(insert(table_of(Network)).values(
    {c.name: bindparam(c.name) for c in table_of(Network).c}).cte("new_network"))
_DELETE_NETWORK = delete(table_of(Network)).where(table_of(Network).c.id == bindparam("id"))
_DELETE_TAGS = delete(table_of(Tag)).where(table_of(Tag).c.resource_id == bindparam("id"))


@functools.cache
def _insert_network_claiming(claim: Any, key: str, quota_lock: Any) -> Any:
    """PostgreSQL: the network and its one segment, whose id ``claim`` (a type driver's
    INSERT … RETURNING ``key``) takes, in one statement. Both inserts select from the
    claim: when it returns no row nothing is written, and none is returned.

    With ``quota_lock`` (the quota engine's SELECT … FOR UPDATE of the project's lock
    row) the statement also takes that lock and returns how many lock rows it read
    and their limit, after the segmentation id.
    """
    claimed = claim.cte("claimed")
    nets, segs = table_of(Network), table_of(NetworkSegment)
    new_network = insert(nets).from_select(
        [c.name for c in nets.c],
        select(*[bindparam(c.name, type_=c.type) for c in nets.c]).select_from(claimed)
    ).cte("new_network")
    stmt = insert(segs).from_select(
        [c.name for c in segs.c],
        select(*[claimed.c[key] if c.name == "segmentation_id"
                 else bindparam(f"segment_{c.name}", type_=c.type) for c in segs.c])
    ).add_cte(new_network).returning(segs.c.segmentation_id)
    if quota_lock is None:
        return stmt
    # Referenced by the RETURNING, so run once (a CTE that nothing reads is not).
    lock = quota_lock.cte("quota_lock")
    return stmt.returning(select(func.count()).select_from(lock).scalar_subquery(),
                          select(*lock.c).scalar_subquery())


@functools.cache
def _delete_network_releasing(release: Any) -> Any:
    """PostgreSQL: the network delete with its segment's release (a type driver's
    prebuilt statement) in one statement; the segments go by ON DELETE CASCADE."""
    return _DELETE_NETWORK.add_cte(release.cte("released"))


def provider_segments(body: dict[str, Any]) -> list[api.Segment] | None:
    """The requested provider segments (single or multi-provider), or None."""
    single = {k: body.get(k) for k in PROVIDER_ATTRS if specified(body.get(k))}
    multi = body.get("segments")
    if single and specified(multi) and multi is not None:
        raise exc.InvalidInput(error_message="Segments and provider values cannot both be set.")
    if specified(multi) and multi:
        segments = [{k.split(":", 1)[1]: s.get(k) for k in PROVIDER_ATTRS} for s in multi]
        keys = [(s["network_type"], s.get("physical_network"), s.get("segmentation_id"))
                for s in segments]
        if len(set(keys)) != len(keys):
            raise exc.InvalidInput(error_message="Duplicate segment entry in request.")
        return segments
    if single:
        return [{k.split(":", 1)[1]: v for k, v in single.items()}]
    return None


class NetworkMixin(Ml2Base):
    """create/update/delete/get/list networks."""

    def _create_network_tx(self, session: Session, ctx: Context,
                           body: dict[str, Any]) -> tuple[dict[str, Any], api.NetworkContext]:
        provider = provider_segments(body)
        for segment in provider or []:
            self.type_manager.validate_provider_segment(segment)
        project = self.project_of(ctx, body)
        hints = az.effective_hints(body.get(az.AZ_HINTS),
                                   getattr(self.conf, "default_availability_zones", []))
        values, rows = self._insert_network(session, body, provider, project, hints)
        # Built from what was just written: reading it back would double the queries.
        net, segments = resources.network_from_values(values, rows)
        # Checked against the agents by the availability zone plugin's precommit; a new
        # network has no DHCP agent, so no zone yet.
        net.update({az.AZ_HINTS: hints, "availability_zones": []})
        mech_ctx = api.NetworkContext(self, ctx, session, net, segments=segments)
        self.mechanism_manager.precommit("create_network", mech_ctx)
        self.events.publish("network", "precommit_create", ctx, net, session=session,
                            request=body)
        return net, mech_ctx

    def _insert_network(self, session: Session, body: dict[str, Any],
                        provider: list[api.Segment] | None, project: str, hints: list[str]
                        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Allocate the segments, insert the network and them: (network values,
        segment rows)."""
        conn = session.connection()
        mtu = body.get("mtu")
        if provider is None and conn.dialect.name == "postgresql" \
                and not (specified(mtu) and mtu is not None):
            # The tenant segment's id claimed by the statement that inserts the network
            # and its segment: one round trip instead of two. No row back (the first
            # range is full, or a concurrent request took the candidate): nothing was
            # written, and the usual allocation below goes on. (Not with an MTU: a
            # full pool must still answer 503 before a too big MTU answers 400.)
            claim = self.type_manager.tenant_claim(session, project)
            if claim is not None:
                values, rows = self._network_rows(body, [claim.segment], project, hints)
                if self._insert_claiming(session, claim, values, rows):
                    return values, rows
        segments = self.type_manager.create_network_segments(session, provider, project)
        values, rows = self._network_rows(body, segments, project, hints)
        if conn.dialect.name == "postgresql" and len(rows) == 1:
            conn.execute(_INSERT_NETWORK_AND_SEGMENT, {
                **values, **{f"segment_{k}": v for k, v in rows[0].items()}})
        else:
            conn.execute(_INSERT_NETWORK, values)
            conn.execute(_INSERT_SEGMENT, rows)
        return values, rows

    def _insert_claiming(self, session: Session, claim: Any, values: dict[str, Any],
                         rows: list[dict[str, Any]]) -> bool:
        """Insert the network and its segment with ``claim``'s id (and the quota lock);
        False when the claim took no id and nothing was written."""
        enforcer = quota_registry.enforcer(self.events)
        quota = None if enforcer is None else enforcer.lock_query("network", values)
        params = {**claim.params, **values, **{f"segment_{k}": v for k, v in rows[0].items()}}
        if quota is not None:
            params.update(quota[1])
        found = session.connection().execute(_insert_network_claiming(
            claim.statement, claim.key, None if quota is None else quota[0]), params).first()
        if found is None:
            return False
        rows[0]["segmentation_id"] = found[0]
        if quota is not None:
            enforcer.locked(session, "network", values["project_id"], found[1], found[2])
        return True

    def _network_rows(self, body: dict[str, Any], segments: list[api.Segment],
                      project: str, hints: list[str]
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The new network's column values and its segments' rows."""
        max_mtu = self.type_manager.network_mtu(segments)
        mtu = body.get("mtu")
        if specified(mtu) and mtu is not None:
            if mtu > max_mtu:
                raise exc.InvalidInput(error_message=(
                    f"Requested MTU is too big, maximum is {max_mtu}"))
        else:
            mtu = max_mtu
        net_id = str(uuid.uuid4())
        now = utcnow()
        values = {
            "id": net_id, "project_id": project,
            "availability_zone_hints": az.hints_to_db(hints),
            "name": body.get("name", ""), "description": body.get("description", ""),
            "admin_state_up": body.get("admin_state_up", True), "status": "ACTIVE",
            "shared": body.get("shared", False),
            "router_external": body.get("router:external", False), "mtu": mtu,
            "port_security_enabled": body.get("port_security_enabled", True),
            "created_at": now, "updated_at": now, "revision_number": 0}
        rows = [{"id": str(uuid.uuid4()), "network_id": net_id, "segment_index": i,
                 "network_type": s[api.NETWORK_TYPE],
                 "physical_network": s.get(api.PHYSICAL_NETWORK),
                 "segmentation_id": s.get(api.SEGMENTATION_ID), "is_dynamic": False,
                 "name": None, "description": "", "created_at": now, "updated_at": now,
                 "revision_number": 0}
                for i, s in enumerate(segments)]
        return values, rows

    def create_network(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_network_bulk(ctx, [body])[0]

    def create_network_bulk(self, ctx: Context,
                            bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def in_tx(session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
            made = [self._create_network_tx(session, ctx, b) for b in bodies]
            return [n for n, _ in made], [c for _, c in made]

        nets = self.run("create_network", in_tx, undo=self.undo_as_admin(self.delete_network))
        for net in nets:
            self.events.publish("network", "after_create", ctx, net)
        return nets

    def update_network(self, ctx: Context, net_id: str,
                       body: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            original, segments = resources.load_network(session, net_id)
            if original is None:
                raise exc.NetworkNotFound(net_id=net_id)
            check_write(ctx, "network", self._as_checked_by(session, ctx, original))
            holder["original"] = original
            values = self._network_update_values(session, original, segments, body)
            self.bump(session, Network, net_id, values)
            net = self._loaded(session, [net_id])[0]
            # Segments cannot be updated: the ones read before the change still hold.
            mech_ctx = api.NetworkContext(self, ctx, session, net, original, segments)
            self.mechanism_manager.precommit("update_network", mech_ctx)
            self.events.publish("network", "precommit_update", ctx, net, original,
                                session=session, request=body)
            return net, [mech_ctx]

        net = self.run("update_network", in_tx)
        self.events.publish("network", "after_update", ctx, net, holder.get("original"))
        return net

    def _network_update_values(self, session: Session, original: dict[str, Any],
                               segments: list[api.Segment],
                               body: dict[str, Any]) -> dict[str, Any]:
        provider = [k for k in (*PROVIDER_ATTRS, "segments") if k in body]
        if provider:
            raise exc.InvalidInput(error_message="Plugin does not support updating the "
                                   "following provider network attributes: "
                                   + ", ".join(provider))
        columns = {"name": "name", "description": "description",
                   "admin_state_up": "admin_state_up", "shared": "shared",
                   "router:external": "router_external",
                   "port_security_enabled": "port_security_enabled", "mtu": "mtu"}
        values = {col: body[attr] for attr, col in columns.items() if attr in body}
        if "mtu" in values:
            max_mtu = self.type_manager.network_mtu(segments)
            if values["mtu"] > max_mtu:
                raise exc.InvalidInput(error_message=(
                    f"Requested MTU is too big, maximum is {max_mtu}"))
        # Sharing is RBAC's: its precommit_update callback makes or removes the
        # wildcard policies (409 while a project that only they let in uses them).
        return values

    def set_network_access(self, session: Session, ctx: Context, net_id: str,
                           values: dict[str, Any]) -> Callable[[], None]:
        """Set ``shared``/``router_external`` as the network's RBAC policies now have
        them, in the caller's transaction: a network update for the mechanism drivers
        (the SDN journal) and subscribers. Returns what to run once committed."""
        original, segments = resources.load_network(session, net_id)
        if original is None:
            raise exc.NetworkNotFound(net_id=net_id)
        self.bump(session, Network, net_id, values)
        net = resources.load_networks(session, [net_id])[0]
        mech_ctx = api.NetworkContext(self, ctx, session, net, original, segments)
        self.mechanism_manager.precommit("update_network", mech_ctx)
        self.events.publish("network", "precommit_update", ctx, net, original,
                            session=session, rbac_sync=True)

        def postcommit() -> None:
            with contextlib.suppress(exc.NeutronException):
                self.mechanism_manager.postcommit("update_network", mech_ctx)
            self.events.publish("network", "after_update", ctx, net, original)

        return postcommit

    def delete_network(self, ctx: Context, net_id: str) -> None:
        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            # Locked first: a port or subnet being created on the network then either
            # committed before we look (409 below) or waits and finds it gone (404).
            net, segments, ports = resources.lock_network_for_delete(session, net_id)
            if net is None:
                raise exc.NetworkNotFound(net_id=net_id)
            check_write(ctx, "network", self._as_checked_by(session, ctx, net))
            if any(owner not in AUTO_DELETE_OWNERS for _, owner in ports):
                raise exc.NetworkInUse(net_id=net_id)
            # The DHCP ports and subnets that go with the network get their own
            # postcommits (l2pop removals, agents' port_delete) like any delete.
            contexts: list[tuple[str, Any]] = [
                ("delete_port", self._delete_port_tx(  # type: ignore[attr-defined]
                    session, ctx, port_id, net, segments)) for port_id, _ in ports]
            contexts += [("delete_subnet", self._delete_subnet_tx(  # type: ignore[attr-defined]
                session, ctx, subnet_id, net)) for subnet_id in net["subnets"]]
            mech_ctx = api.NetworkContext(self, ctx, session, net, segments=segments)
            self.mechanism_manager.precommit("delete_network", mech_ctx)
            self.events.publish("network", "precommit_delete", ctx, net, session=session)
            self._delete_network_row(session, net, segments)
            return net, [*contexts, ("delete_network", mech_ctx)]

        def attempt() -> tuple[dict[str, Any], list[Any]]:
            with self.db.transaction() as session:
                return in_tx(session)

        net, contexts = self.db.retrying(attempt)
        port_hosts: set[str] = set()
        for method, context in contexts:
            # Deletes are not undone; the manager logged the driver's error.
            with contextlib.suppress(exc.NeutronException):
                self.mechanism_manager.postcommit(method, context)
            if method == "delete_port":
                self.events.publish("port", "after_delete", ctx, context.current)
                port_hosts.add(context.current.get("binding:host_id") or "")
        self.events.publish("network", "after_delete", ctx, net,
                            port_hosts=sorted(port_hosts - {""}))

    def _delete_network_row(self, session: Session, net: dict[str, Any],
                            segments: list[api.Segment]) -> None:
        """Release the segments, delete the network's tags and row; its segments go
        with it (ON DELETE CASCADE)."""
        conn = session.connection()
        if net["tags"]:
            conn.execute(_DELETE_TAGS, {"id": net["id"]})
        release = (self.type_manager.release_query(segments)
                   if conn.dialect.name == "postgresql" else None)
        if release is None:
            self.type_manager.release_network_segments(session, segments)
            conn.execute(_DELETE_NETWORK, {"id": net["id"]})
        else:
            # The release and the delete in one round trip.
            statement, params = release
            conn.execute(_delete_network_releasing(statement), {**params, "id": net["id"]})

    def _loaded(self, session: Session, ids: Any) -> list[dict[str, Any]]:
        """Networks as API dicts, with what service plugins add (``is_default`` …)."""
        nets = resources.load_networks(session, ids)
        self.events.extend("network", session, nets)
        return nets

    def get_network(self, ctx: Context, net_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            nets = self._as_seen_by(session, ctx, self._loaded(session, [net_id]))
        if not nets:
            raise exc.NetworkNotFound(net_id=net_id)
        return nets[0]

    def get_networks(self, ctx: Context, filters: dict[str, list[Any]],
                     page: Page | None = None) -> list[dict[str, Any]]:
        project = ctx.project_id or ""
        clauses = []
        if not ctx.is_admin:
            # The project's own networks and those an RBAC policy opens to it.
            clauses.append(or_(Network.project_id == project,
                               granted_clause(NetworkRBAC, Network.id, project)))
        if "shared" in filters:
            # ``shared`` as this project reads it (a policy for it or for all).
            filters = dict(filters)
            wanted = set(filters.pop("shared"))
            shared = granted_clause(NetworkRBAC, Network.id, project, ACCESS_SHARED)
            if wanted != {True, False}:
                clauses.append(shared if wanted == {True} else not_(shared))
        scope = and_(*clauses) if clauses else None
        with self.db.reader() as session:
            ids = resources.network_listing().select_ids(session, filters, scope,
                                                         page or Page())
            return self._as_seen_by(session, ctx, self._loaded(session, ids))

    @classmethod
    def _as_checked_by(cls, session: Session, ctx: Context,
                       net: dict[str, Any]) -> dict[str, Any]:
        """The network as the caller's write checks must see it: a project that RBAC
        lets see another's network may not change it (403), not "cannot see it" (404)."""
        if ctx.is_admin or net["project_id"] == ctx.project_id:
            return net
        return cls._as_seen_by(session, ctx, [dict(net)])[0]

    @staticmethod
    def _as_seen_by(session: Session, ctx: Context,
                    nets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``shared`` and ``router:external`` as the caller reads them (Neutron's RBAC):
        shared if a policy shares the network with its project or with all; external,
        for a project other than the owner, if a policy lets it use it as such."""
        if not nets:
            return nets
        grants = granted(session, NetworkRBAC, [n["id"] for n in nets], ctx.project_id)
        for net in nets:
            actions = grants.get(net["id"], set())
            net["shared"] = ACCESS_SHARED in actions
            if net["router:external"] and not ctx.is_admin \
                    and net["project_id"] != ctx.project_id:
                net["router:external"] = ACCESS_EXTERNAL in actions
        return nets
