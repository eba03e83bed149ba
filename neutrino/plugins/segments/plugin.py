"""The segments plugin: ``/v2.0/segments`` and routed provider networks.

A segment is added to a network by the admin: the type driver validates it and
reserves its id (a tenant type without ``segmentation_id`` gets one from the
pools). The network's segments changed, so ML2's mechanism drivers hear of a
network update in the same transaction (the SDN controller's journal records the
network with its new segments). A segment goes only when no subnet nor bound port
uses it and it is not the network's last one.

Subnets take a ``segment_id`` and ports on a network whose subnets are bound to
segments get their addresses from the segment their host reaches (ML2's ports and
``neutrino.db.segment_hosts``); this plugin adds the ports' ``ip_allocation``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import segment as seg
from neutrino.context import Context
from neutrino.db import resources
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import Network, NetworkSegment, Port, PortBinding, Subnet, Tag
from neutrino.db.query import Page
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.segments import store
from neutrino.plugins.segments.policies import POLICY_RULES


def _check_revision(ctx: Context, current: int) -> None:
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


class Plugin(ServicePlugin):
    """Segments (``service_plugins = segments``)."""

    resources = [seg.SEGMENTS]
    supported_extension_aliases = ["segment", "standard-attr-segment", "ip_allocation"]
    policy_rules = POLICY_RULES
    tag_models = {"segments": NetworkSegment}

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        self.events.register_extender("port", _add_ip_allocation)
        # A new port's dict is built, not read back: it gets the attribute here.
        self.events.subscribe("port", "precommit_create", _on_port_created)
        self.events.subscribe("network", "precommit_delete", _drop_segment_tags)

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.write(fn)

    def _segment(self, session: Session, segment_id: str) -> dict[str, Any]:
        found = store.load_segments(session, [segment_id])
        if not found:
            raise seg.SegmentNotFound(segment_id=segment_id)
        return found[0]

    # --- the network's side ------------------------------------------------------------

    def _network_changed(self, session: Session, ctx: Context, network_id: str,
                         original: dict[str, Any], contexts: list[Any]) -> None:
        """The network's segments changed: its MTU follows them, its revision moves and
        the mechanism drivers hear of a network update (in this transaction)."""
        core = self.core_plugin
        _, segments = resources.load_network(session, network_id)
        values: dict[str, Any] = {}
        mtu = core.type_manager.network_mtu(segments)
        if mtu < original["mtu"]:
            values["mtu"] = mtu
        session.execute(update(Network).where(Network.id == network_id).values(
            revision_number=Network.revision_number + 1, updated_at=utcnow(), **values))
        network, segments = resources.load_network(session, network_id)
        assert network is not None  # its row is locked (or deleted with the segment's)
        mech_ctx = api.NetworkContext(core, ctx, session, network, original, segments)
        core.mechanism_manager.precommit("update_network", mech_ctx)
        contexts.append(mech_ctx)

    def _postcommit(self, ctx: Context, contexts: list[Any]) -> None:
        for mech_ctx in contexts:
            # A failure is logged by the manager; the change is committed.
            with contextlib.suppress(exc.NeutronException):
                self.core_plugin.mechanism_manager.postcommit("update_network", mech_ctx)
            self.events.publish("network", "after_update", ctx, mech_ctx.current,
                                mech_ctx.original)

    # --- the API -----------------------------------------------------------------------

    def create_segment(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_segment_bulk(ctx, [body])[0]

    def create_segment_bulk(self, ctx: Context,
                            bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        contexts: list[Any] = []

        def in_tx(session: Session) -> list[dict[str, Any]]:
            contexts.clear()
            made = [self._create_tx(session, ctx, body, contexts) for body in bodies]
            return made

        made: list[dict[str, Any]] = self._write(in_tx)
        for segment in made:
            self.events.publish("segment", "after_create", ctx, segment)
        self._postcommit(ctx, contexts)
        return made

    def _create_tx(self, session: Session, ctx: Context, body: dict[str, Any],
                   contexts: list[Any]) -> dict[str, Any]:
        network_id = body["network_id"]
        original = resources.load_networks(session, [network_id])
        if not original:
            raise exc.NetworkNotFound(net_id=network_id)
        # The network's row first: two segments added at once get distinct indexes.
        if session.get_bind().dialect.name != "sqlite":
            session.execute(select(Network.id).where(Network.id == network_id)
                            .with_for_update())
        reserved = self.core_plugin.type_manager.reserve_segment(session, {
            api.NETWORK_TYPE: body["network_type"],
            api.PHYSICAL_NETWORK: body.get("physical_network"),
            api.SEGMENTATION_ID: body.get("segmentation_id")})
        segment_id, now = str(uuid.uuid4()), utcnow()
        session.connection().execute(insert(table_of(NetworkSegment)), {
            "id": segment_id, "network_id": network_id,
            "network_type": reserved[api.NETWORK_TYPE],
            "physical_network": reserved.get(api.PHYSICAL_NETWORK),
            "segmentation_id": reserved.get(api.SEGMENTATION_ID),
            "segment_index": store.next_index(session, network_id), "is_dynamic": False,
            "name": body.get("name"), "description": body.get("description") or "",
            "created_at": now, "updated_at": now, "revision_number": 0})
        segment = self._segment(session, segment_id)
        self.events.publish("segment", "precommit_create", ctx, segment, session=session)
        self._network_changed(session, ctx, network_id, original[0], contexts)
        return segment

    def get_segment(self, ctx: Context, segment_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._segment(session, segment_id)

    def get_segments(self, ctx: Context, filters: dict[str, list[Any]],
                     page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = store.segment_listing().select_ids(session, filters, None, page or Page())
            return store.load_segments(session, ids)

    def update_segment(self, ctx: Context, segment_id: str,
                       changes: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> dict[str, Any]:
            row = store.segment_row(session, segment_id, lock=True)
            if row is None:
                raise seg.SegmentNotFound(segment_id=segment_id)
            _check_revision(ctx, row.revision_number)
            holder["original"] = self._segment(session, segment_id)
            values = {k: changes[k] for k in ("name", "description") if k in changes}
            if values.get("description") is None:
                values.pop("description", None)
            session.execute(update(NetworkSegment).where(NetworkSegment.id == segment_id)
                            .values(revision_number=NetworkSegment.revision_number + 1,
                                    updated_at=utcnow(), **values))
            segment = self._segment(session, segment_id)
            self.events.publish("segment", "precommit_update", ctx, segment,
                                holder["original"], session=session)
            return segment

        segment: dict[str, Any] = self._write(in_tx)
        self.events.publish("segment", "after_update", ctx, segment, holder["original"])
        return segment

    def delete_segment(self, ctx: Context, segment_id: str) -> None:
        contexts: list[Any] = []

        def in_tx(session: Session) -> dict[str, Any]:
            contexts.clear()
            row = store.segment_row(session, segment_id, lock=True)
            if row is None:
                raise seg.SegmentNotFound(segment_id=segment_id)
            _check_revision(ctx, row.revision_number)
            self._check_unused(session, row)
            segment = self._segment(session, segment_id)
            original = resources.load_networks(session, [row.network_id])[0]
            self.events.publish("segment", "precommit_delete", ctx, segment,
                                session=session)
            self.core_plugin.type_manager.release_network_segments(session, [segment])
            session.execute(delete(Tag).where(Tag.resource_id == segment_id))
            session.execute(delete(NetworkSegment).where(NetworkSegment.id == segment_id))
            self._network_changed(session, ctx, row.network_id, original, contexts)
            return segment

        segment = self._write(in_tx)
        self.events.publish("segment", "after_delete", ctx, segment)
        self._postcommit(ctx, contexts)

    @staticmethod
    def _check_unused(session: Session, row: Any) -> None:
        subnets = sorted(session.execute(select(Subnet.id).where(
            Subnet.segment_id == row.id)).scalars())
        if subnets:
            raise seg.SegmentInUse(segment_id=row.id, reason=(
                "The segment is still associated with subnet(s) " + ", ".join(subnets)))
        ports = sorted(session.execute(select(PortBinding.port_id).where(
            PortBinding.segment_id == row.id)).scalars())
        if ports:
            raise seg.SegmentInUse(segment_id=row.id, reason=(
                "The segment is still bound with port(s) " + ", ".join(ports)))
        others = session.execute(select(NetworkSegment.id).where(
            NetworkSegment.network_id == row.network_id,
            NetworkSegment.id != row.id).limit(1)).first()
        if others is None:
            raise seg.SegmentInUse(segment_id=row.id, reason=(
                f"it is the last segment of network {row.network_id}"))


def _add_ip_allocation(session: Session, ports: list[dict[str, Any]]) -> None:
    """Each port's ``ip_allocation``: ``deferred`` until a routed network's port has a
    host, ``immediate`` otherwise (the ip_allocation extension)."""
    ids = [p["id"] for p in ports]
    deferred: set[str] = set()
    for start in range(0, len(ids), 500):
        deferred.update(session.execute(select(Port.id).where(
            Port.id.in_(ids[start:start + 500]),
            Port.ip_allocation == seg.IP_ALLOCATION_DEFERRED)).scalars())
    for port in ports:
        port["ip_allocation"] = (seg.IP_ALLOCATION_DEFERRED if port["id"] in deferred
                                 else seg.IP_ALLOCATION_IMMEDIATE)


def _on_port_created(resource: str, event: str, ctx: Any, current: dict[str, Any],
                     original: dict[str, Any] | None = None, *, session: Session,
                     **details: Any) -> None:
    _add_ip_allocation(session, [current])


def _drop_segment_tags(resource: str, event: str, ctx: Any, current: dict[str, Any],
                       original: dict[str, Any] | None, session: Session | None = None,
                       **details: Any) -> None:
    """A network's segments go with it by cascade; their tags must go too."""
    if session is None:
        return
    ids = select(NetworkSegment.id).where(NetworkSegment.network_id == current["id"])
    session.execute(delete(Tag).where(Tag.resource_type == "segments",
                                      Tag.resource_id.in_(ids)))
