"""The ``sdn_controller`` mechanism driver: every change goes to an SDN controller
through the journal.

Precommit writes a journal row with the request's own session (same transaction
as the change); postcommit only wakes the sync workers, because a row is visible
to them only once committed (networking-odl bug #1569986). ``initialize`` starts
this process's sync workers and maintenance; ``stop`` ends them.

Security groups are not ML2 resources: ``subscribe(events)`` (called by ML2 with
the core plugin's ``neutrino.plugins.events.Events``) journals the security-group
plugin's ``precommit_*`` events in the change's session and wakes the workers on
``after_*``, the same split as precommit/postcommit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from neutrino.db.api import Database
from neutrino.db.models.journal import CREATE, DELETE, UPDATE
from neutrino.journal import full_sync
from neutrino.journal import l3 as l3_journal
from neutrino.journal import securitygroups as sg_journal
from neutrino.journal.client import BaseControllerClient, ControllerClient
from neutrino.journal.journal import record_one
from neutrino.journal.service import JournalService
from neutrino.journal.worker import SyncSettings
from neutrino.plugins.events import Events
from neutrino.plugins.ml2 import driver_api as api

LOG = logging.getLogger(__name__)

_SG_RECORDERS: dict[str, Callable[[Any, str, dict[str, Any]], Any]] = {
    sg_journal.SECURITY_GROUP: sg_journal.record_security_group,
    sg_journal.SECURITY_GROUP_RULE: sg_journal.record_security_group_rule,
}


def _precommit_recorder(operation: str) -> Callable[..., None]:
    """An events callback that journals ``operation`` of the event's resource."""
    def record(resource: str, event: str, ctx: Any, current: dict[str, Any],
               original: dict[str, Any] | None = None, *, session: Any,
               **details: Any) -> None:
        _SG_RECORDERS[resource](session, operation, current)
    return record


class SdnControllerMechanismDriver(api.MechanismDriver):
    """Journals networks, subnets and ports for the controller at ``[ml2_sdn] url``.

    ``client`` replaces the HTTP client (a fake in unit tests).
    """

    def __init__(self, conf: Any, client: BaseControllerClient | None = None) -> None:
        super().__init__(conf)
        self.client = client
        self.service: JournalService | None = None
        self.db: Database | None = None

    def initialize(self) -> None:
        group = self.conf.ml2_sdn
        if not group.url and self.client is None:
            raise ValueError("[ml2_sdn] url is required by the sdn_controller mechanism "
                             "driver")
        settings = SyncSettings.from_conf(group)
        self.client = self.client or ControllerClient.from_conf(group)
        # The journal threads get their own small pool, so a burst of API requests
        # never starves them of connections (nor the other way round).
        self.db = Database(self.conf.database.connection,
                           max_retries=self.conf.database.max_retries,
                           pool_size=settings.workers + 2, max_overflow=2)
        self.service = JournalService(self.db, self.client, settings).start()
        LOG.info("sdn_controller: %d sync workers for %s", settings.workers, group.url)

    def stop(self) -> None:
        """Stop this driver's sync workers and maintenance, and close its connections."""
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self.db is not None:
            self.db.dispose()
            self.db = None

    def subscribe(self, events: Events) -> None:
        """Journal security groups and rules, routers, router interfaces and floating
        IPs from the core plugin's ``events``."""
        for resource in _SG_RECORDERS:
            for operation in (CREATE, UPDATE, DELETE):
                events.subscribe(resource, f"precommit_{operation}",
                                 _precommit_recorder(operation))
                events.subscribe(resource, f"after_{operation}", self._wake_on_event)
        # Routers, router interfaces and floating IPs of the L3 plugin likewise.
        l3_journal.subscribe(events, self._wake_on_event)
        full_sync.extend_with(events.extend)

    def _wake_on_event(self, *args: Any, **kwargs: Any) -> None:
        self._wake(None)

    def _record(self, object_type: str, operation: str, context: Any) -> None:
        data = context.current
        record_one(context.session, object_type, data["id"], operation, data)

    def _wake(self, context: Any) -> None:
        if self.service is not None:
            self.service.wake()

    def create_network_precommit(self, context: api.NetworkContext) -> None:
        self._record("network", CREATE, context)

    def update_network_precommit(self, context: api.NetworkContext) -> None:
        self._record("network", UPDATE, context)

    def delete_network_precommit(self, context: api.NetworkContext) -> None:
        self._record("network", DELETE, context)

    def create_subnet_precommit(self, context: api.SubnetContext) -> None:
        self._record("subnet", CREATE, context)

    def update_subnet_precommit(self, context: api.SubnetContext) -> None:
        self._record("subnet", UPDATE, context)

    def delete_subnet_precommit(self, context: api.SubnetContext) -> None:
        self._record("subnet", DELETE, context)

    def create_port_precommit(self, context: api.PortContext) -> None:
        self._record("port", CREATE, context)

    def update_port_precommit(self, context: api.PortContext) -> None:
        self._record("port", UPDATE, context)

    def delete_port_precommit(self, context: api.PortContext) -> None:
        self._record("port", DELETE, context)

    create_network_postcommit = update_network_postcommit = delete_network_postcommit = _wake
    create_subnet_postcommit = update_subnet_postcommit = delete_subnet_postcommit = _wake
    create_port_postcommit = update_port_postcommit = delete_port_postcommit = _wake


