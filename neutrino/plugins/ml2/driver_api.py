"""The ML2 driver contracts: type drivers, mechanism drivers and their contexts.

Type drivers own a network type's segments (validation, reservation, allocation,
release). Mechanism drivers are told of every change twice: ``*_precommit`` inside
the request's DB transaction (an exception rolls the whole request back) and
``*_postcommit`` after commit (an exception on create makes ML2 delete the resource
and report the error; on update or delete it is logged). ``bind_port`` binds a port
to one of the network's segments for its host.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from neutrino.context import Context

NETWORK_TYPE = "network_type"
PHYSICAL_NETWORK = "physical_network"
SEGMENTATION_ID = "segmentation_id"
MTU = "mtu"
ID = "id"

Segment = dict[str, Any]

# Where a type's tenant segmentation ids come from when not from its configured ranges:
# ``source(session, network_type, project_id)`` -> [(physical_network, first, last)], in
# the order to try them; ``project_id`` None asks for every range (a partial provider
# segment). Set by the network_segment_range service plugin.
RangeSource = Callable[[Session, str, str | None], list[tuple[str | None, int, int]]]

VIF_TYPE_UNBOUND = "unbound"
VIF_TYPE_BINDING_FAILED = "binding_failed"


class TypeDriver(abc.ABC):
    """Manages the segments of one network type.

    Every method that takes a ``session`` runs inside the caller's transaction; a
    driver never commits. Errors are ``neutrino.exceptions`` (InvalidInput for a bad
    provider segment, InUse for a taken one, NoNetworkAvailable when exhausted).
    """

    # The types whose tenant ids come from ranges (network segment ranges apply to them).
    has_ranges: ClassVar[bool] = False
    range_source: RangeSource | None = None

    def __init__(self, conf: Any) -> None:
        self.conf = conf

    @abc.abstractmethod
    def get_type(self) -> str:
        """The network_type this driver serves (``vlan``, ``vxlan`` …)."""

    def initialize(self) -> None:  # noqa: B027 - optional hook
        """Validate configuration; called once at plugin start."""

    @abc.abstractmethod
    def is_partial_segment(self, segment: Segment) -> bool:
        """True when the provider segment leaves something for the driver to choose."""

    @abc.abstractmethod
    def validate_provider_segment(self, segment: Segment) -> None:
        """Raise InvalidInput when ``segment`` cannot be a network of this type."""

    @abc.abstractmethod
    def reserve_provider_segment(self, session: Session, segment: Segment) -> Segment:
        """Reserve the (possibly partial) provider segment; return the full segment.

        Raises InUse when the segment is taken, NoNetworkAvailable when a partial
        segment cannot be completed.
        """

    @abc.abstractmethod
    def allocate_tenant_segment(self, session: Session,
                                project_id: str | None = None) -> Segment | None:
        """Allocate a free segment for a network of ``project_id``; None when none is free.

        With a ``range_source`` the project's own ranges come first, then shared ones.
        """

    def configured_ranges(self) -> list[tuple[str | None, int, int]]:
        """The ranges of the configuration, [(physical_network, first, last)]."""
        return []

    def tenant_claim(self, session: Session, project_id: str) -> Any:
        """A ``types.helpers.Claim`` of a tenant segment for the caller to fold into
        its network insert (PostgreSQL), or None: then ``allocate_tenant_segment``.

        Only an optimisation: when the claimed statement returns no row the caller
        falls back to ``allocate_tenant_segment``, so it need only cover the first range.
        """
        return None

    @abc.abstractmethod
    def release_segment(self, session: Session, segment: Segment) -> None:
        """Return ``segment`` to the pool (a no-op for types without allocation)."""

    def release_query(self, segment: Segment) -> tuple[Any, dict[str, Any]] | None:
        """(statement, parameters) doing what ``release_segment`` does, for the caller
        to fold into its own statement; None when it cannot be one prebuilt statement."""
        return None

    def get_mtu(self, physical_network: str | None = None) -> int:
        """The largest MTU a network of this type offers its ports (0: no limit)."""
        return 0


class NetworkContext:
    """What a mechanism driver sees of a network change."""

    def __init__(self, plugin: Any, ctx: Context, session: Session | None,
                 network: dict[str, Any], original: dict[str, Any] | None = None,
                 segments: list[Segment] | None = None) -> None:
        self._plugin = plugin
        self.plugin_context = ctx
        self.session = session
        self.current = network
        self.original = original
        self.network_segments = segments or []


class SubnetContext:
    """What a mechanism driver sees of a subnet change."""

    def __init__(self, plugin: Any, ctx: Context, session: Session | None,
                 subnet: dict[str, Any], network: dict[str, Any] | None,
                 original: dict[str, Any] | None = None) -> None:
        self._plugin = plugin
        self.plugin_context = ctx
        self.session = session
        self.current = subnet
        self.original = original
        self.network = network


class PortContext:
    """What a mechanism driver sees of a port change, and how it binds the port."""

    def __init__(self, plugin: Any, ctx: Context, session: Session | None,
                 port: dict[str, Any], network: dict[str, Any],
                 segments: list[Segment], original: dict[str, Any] | None = None) -> None:
        self._plugin = plugin
        self.plugin_context = ctx
        self.session = session
        self.current = port
        self.original = original
        self.network = network
        self.segments_to_bind = segments
        self.host = port.get("binding:host_id") or ""
        self.original_host = (original or {}).get("binding:host_id") or ""
        self.vnic_type = port.get("binding:vnic_type", "normal")
        self.bound_segment: Segment | None = None
        # The segment the port was bound to before this change, for deletes and host
        # moves (after commit its binding no longer says): set by the plugin.
        self.original_bound_segment: Segment | None = None
        self.vif_type: str | None = None
        self.vif_details: dict[str, Any] = {}
        self.new_status: str | None = None
        self.bound_driver: str | None = None

    def set_binding(self, segment_id: str, vif_type: str, vif_details: dict[str, Any],
                    status: str | None = None) -> None:
        """Called by a driver's bind_port to bind the port to one of segments_to_bind."""
        self.bound_segment = next(s for s in self.segments_to_bind if s[ID] == segment_id)
        self.vif_type = vif_type
        self.vif_details = vif_details
        self.new_status = status

    @property
    def is_bound(self) -> bool:
        return self.vif_type is not None


class MechanismDriver:
    """Base of mechanism drivers: every hook is optional and does nothing by default."""

    name = "base"

    def __init__(self, conf: Any) -> None:
        self.conf = conf

    def initialize(self) -> None:
        """Prepare the driver; called once after every driver is loaded."""

    def create_network_precommit(self, context: NetworkContext) -> None: ...
    def create_network_postcommit(self, context: NetworkContext) -> None: ...
    def update_network_precommit(self, context: NetworkContext) -> None: ...
    def update_network_postcommit(self, context: NetworkContext) -> None: ...
    def delete_network_precommit(self, context: NetworkContext) -> None: ...
    def delete_network_postcommit(self, context: NetworkContext) -> None: ...
    def create_subnet_precommit(self, context: SubnetContext) -> None: ...
    def create_subnet_postcommit(self, context: SubnetContext) -> None: ...
    def update_subnet_precommit(self, context: SubnetContext) -> None: ...
    def update_subnet_postcommit(self, context: SubnetContext) -> None: ...
    def delete_subnet_precommit(self, context: SubnetContext) -> None: ...
    def delete_subnet_postcommit(self, context: SubnetContext) -> None: ...
    def create_port_precommit(self, context: PortContext) -> None: ...
    def create_port_postcommit(self, context: PortContext) -> None: ...
    def update_port_precommit(self, context: PortContext) -> None: ...
    def update_port_postcommit(self, context: PortContext) -> None: ...
    def delete_port_precommit(self, context: PortContext) -> None: ...
    def delete_port_postcommit(self, context: PortContext) -> None: ...

    def bind_port(self, context: PortContext) -> None:
        """Bind ``context`` to a segment with ``context.set_binding`` if this driver can."""
