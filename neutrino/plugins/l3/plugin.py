"""The L3 service plugin: ``service_plugins = router`` (or Neutron's class path).

Serves ``routers`` (with the member actions ``add_router_interface``,
``remove_router_interface``, ``add_extraroutes``, ``remove_extraroutes``),
``floatingips`` and ``floatingips/{id}/port_forwardings``. Router ports are core
ports made through the core plugin; the plugin watches port deletes through
``core_plugin.events`` (``ports.py``). Its own changes are published as
``router``, ``router_interface``, ``floatingip`` and ``port_forwarding`` events for
the journal and the L3 agent notifier; the journal's full sync learns to re-record
routers, interfaces and floating IPs here. Routers are scheduled to L3 agents
(``l3_agent_scheduler``, ``router_availability_zone``) and their agents served over
RPC by ``agentschedulers``.
"""

from __future__ import annotations

from typing import Any

from neutrino.apidef import l3
from neutrino.apidef import l3agentscheduler as l3_sched
from neutrino.db.models import FloatingIP, Router
from neutrino.journal import l3 as l3_journal
from neutrino.plugins.base import SubResource
from neutrino.plugins.l3 import store
from neutrino.plugins.l3.agentschedulers import L3AgentSchedulerMixin
from neutrino.plugins.l3.floatingips import FloatingIPMixin
from neutrino.plugins.l3.interfaces import InterfaceMixin
from neutrino.plugins.l3.policies import POLICY_RULES
from neutrino.plugins.l3.portforwardings import PortForwardingMixin
from neutrino.plugins.l3.ports import PortGuard
from neutrino.plugins.l3.routers import RouterMixin
from neutrino.plugins.quotas import registry as quota_registry
from neutrino.plugins.tags import TagChange


class Plugin(RouterMixin, InterfaceMixin, FloatingIPMixin, PortForwardingMixin,
             L3AgentSchedulerMixin):
    """Routers, floating IPs and port forwardings (legacy, centralised routers)."""

    resources = [l3.ROUTERS, l3.FLOATINGIPS]
    member_actions = {"routers": ("add_router_interface", "remove_router_interface",
                                  "add_extraroutes", "remove_extraroutes")}
    sub_resources = [SubResource("floatingips", l3.PORT_FORWARDINGS),
                     SubResource("agents", l3_sched.L3_ROUTERS, plain_create=True),
                     SubResource("routers", l3_sched.L3_AGENTS)]
    supported_extension_aliases = ["router", "ext-gw-mode", "extraroute",
                                   "extraroute-atomic", "fip-port-details",
                                   "floating-ip-port-forwarding",
                                   "expose-port-forwarding-in-fip", l3_sched.ALIAS,
                                   l3_sched.AZ_ALIAS]
    policy_rules = {**POLICY_RULES, **l3_sched.POLICY_RULES}
    tag_models = {"routers": Router, "floatingips": FloatingIP}
    # PUT/DELETE of a router or floating IP run the API's checks on the row read in
    # their own transaction (``base.check_write``), not on a read of it beforehand.
    checks_write_guard = True

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        self.port_guard = PortGuard(self.events, self.disassociate_in)
        l3_journal.register_full_sync(Router, store.load_routers, FloatingIP,
                                      store.load_floatingips, store.all_interface_ids,
                                      store.load_interfaces)
        # [quotas] quota_router and quota_floatingip apply to them.
        quota_registry.track(self.events, "router", Router)
        quota_registry.track(self.events, "floatingip", FloatingIP)
        self._init_scheduler()

    def update_tags(self, ctx: Any, collection: str, resource_id: str,
                    change: TagChange) -> list[str]:
        """A tag change is an update of the router or floating IP (revision, events)."""
        if collection == "routers":
            return self._update_router_tags(ctx, resource_id, change)
        return self._update_fip_tags(ctx, resource_id, change)
