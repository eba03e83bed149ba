"""The type manager and the mechanism manager of ML2."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.common.loading import load_class
from neutrino.db.api import is_retriable
from neutrino.plugins.ml2 import driver_api as api

LOG = logging.getLogger(__name__)


class TypeManager:
    """Dispatches segment work to the type driver of each network type."""

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.drivers: dict[str, api.TypeDriver] = {}
        for name in conf.ml2.type_drivers:
            driver = load_class("neutrino.ml2.type_drivers", name.strip())(conf)
            self.drivers[driver.get_type()] = driver
        self.tenant_network_types = [t.strip() for t in conf.ml2.tenant_network_types]
        for network_type in self.tenant_network_types:
            if network_type not in self.drivers:
                raise ValueError(f"[ml2] tenant_network_types: '{network_type}' is not "
                                 f"in type_drivers")

    def initialize(self) -> None:
        for driver in self.drivers.values():
            driver.initialize()

    def driver(self, network_type: str) -> api.TypeDriver:
        try:
            return self.drivers[network_type]
        except KeyError:
            raise exc.InvalidInput(
                error_message=f"Unknown provider:network_type {network_type}") from None

    def validate_provider_segment(self, segment: api.Segment) -> None:
        network_type = segment.get(api.NETWORK_TYPE)
        if not network_type:
            raise exc.InvalidInput(error_message="network_type required")
        self.driver(network_type).validate_provider_segment(segment)

    def set_range_source(self, source: api.RangeSource | None) -> None:
        """Take tenant ids from ``source`` instead of the configured ranges."""
        for driver in self.drivers.values():
            if driver.has_ranges:
                driver.range_source = source

    def reserve_segment(self, session: Session, segment: api.Segment) -> api.Segment:
        """Validate and reserve one (maybe partial) segment: a segment added to a network."""
        self.validate_provider_segment(segment)
        return self.driver(segment[api.NETWORK_TYPE]).reserve_provider_segment(session,
                                                                              segment)

    def create_network_segments(self, session: Session, provider: list[api.Segment] | None,
                                project_id: str | None = None) -> list[api.Segment]:
        """Reserve the provider segments, or allocate one segment for ``project_id``."""
        if provider:
            return [self.driver(s[api.NETWORK_TYPE]).reserve_provider_segment(session, s)
                    for s in provider]
        for network_type in self.tenant_network_types:
            segment = self.drivers[network_type].allocate_tenant_segment(session,
                                                                         project_id or "")
            if segment is not None:
                return [segment]
        raise exc.NoNetworkAvailable()

    def tenant_claim(self, session: Session, project_id: str) -> Any:
        """The first tenant network type's ``Claim`` of a segment for ``project_id``, to
        fold into the network insert; None: ``create_network_segments`` instead."""
        if not self.tenant_network_types:
            return None
        return self.drivers[self.tenant_network_types[0]].tenant_claim(session, project_id)

    def release_query(self, segments: list[api.Segment]) -> tuple[Any, dict[str, Any]] | None:
        """One statement releasing the network's one segment, to fold into its delete;
        None: ``release_network_segments`` instead."""
        if len(segments) != 1:
            return None
        driver = self.drivers.get(segments[0][api.NETWORK_TYPE])
        return None if driver is None else driver.release_query(segments[0])

    def release_network_segments(self, session: Session, segments: list[api.Segment]) -> None:
        for segment in segments:
            driver = self.drivers.get(segment[api.NETWORK_TYPE])
            if driver is not None:
                driver.release_segment(session, segment)
            else:
                LOG.warning("no type driver for %s; segment %s not released",
                            segment[api.NETWORK_TYPE], segment)

    def network_mtu(self, segments: list[api.Segment]) -> int:
        mtus = [self.drivers[s[api.NETWORK_TYPE]].get_mtu(s.get(api.PHYSICAL_NETWORK))
                for s in segments if s[api.NETWORK_TYPE] in self.drivers]
        mtus = [m for m in mtus if m > 0]
        return min(mtus) if mtus else self.conf.global_physnet_mtu


class MechanismManager:
    """Calls every mechanism driver, in configured order, for each change."""

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.drivers: list[api.MechanismDriver] = []
        for name in conf.ml2.mechanism_drivers:
            cls = load_class("neutrino.ml2.mechanism_drivers", name.strip())
            driver = cls(conf)
            driver.name = name.strip()
            self.drivers.append(driver)

    def initialize(self) -> None:
        for driver in self.drivers:
            driver.initialize()

    def add_driver(self, driver: api.MechanismDriver) -> None:
        self.drivers.append(driver)

    def _call(self, method: str, context: Any, continue_on_failure: bool) -> None:
        error: Exception | None = None
        for driver in self.drivers:
            try:
                getattr(driver, method)(context)
            except exc.NeutronException as e:
                if not continue_on_failure or e.status < 500:
                    raise
                error = e
                LOG.exception("mechanism driver %s failed in %s", driver.name, method)
            except Exception as e:
                if not continue_on_failure and is_retriable(e):
                    raise  # a deadlock or dropped connection: the request runs again
                LOG.exception("mechanism driver %s failed in %s", driver.name, method)
                if not continue_on_failure:
                    raise exc.MechanismDriverError(method=method) from e
                error = e
        if error is not None:
            raise exc.MechanismDriverError(method=method) from error

    def precommit(self, method: str, context: Any) -> None:
        """Run ``<method>_precommit``; the first failure aborts the transaction."""
        self._call(f"{method}_precommit", context, continue_on_failure=False)

    def postcommit(self, method: str, context: Any) -> None:
        """Run ``<method>_postcommit`` on every driver; raise if any failed."""
        self._call(f"{method}_postcommit", context, continue_on_failure=True)

    def bind_port(self, context: api.PortContext) -> None:
        """Let drivers bind, in order; the first that calls set_binding wins."""
        for driver in self.drivers:
            try:
                driver.bind_port(context)
            except Exception as e:
                if is_retriable(e):
                    raise  # the transaction is aborted: only a new attempt can go on
                LOG.exception("mechanism driver %s failed in bind_port", driver.name)
                continue
            if context.is_bound:
                context.bound_driver = driver.name
                return

