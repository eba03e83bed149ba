"""The subnet-pool service plugin: ``subnetpools`` and ``address-scopes``.

ML2 always brings it (``implicit_service_plugins``), as subnet allocation is part
of Neutron's core. It reaches subnets and networks only through
``core_plugin.events``: the ``subnet`` ``precommit_allocate`` callback gives a subnet
its CIDR from a pool inside the subnet's transaction (``allocation.py``), and the
network callbacks and extender keep ``is_default`` and the address-scope attributes
(``networks.py``). Who may see and use a pool or scope follows RBAC policies
(``subnetpoolrbacs``, ``addressscoperbacs``; the RBAC plugin writes them). Pools and
scopes are not journaled: the SDN controller learns the
CIDR a subnet got from its own journal row. Pools have a quota (``subnetpool``,
unlimited by default, as Neutron's ML2 tracks them); scopes have none.
"""

from __future__ import annotations

from typing import Any

from neutrino.apidef import address_scope as scope_api
from neutrino.apidef import subnetpool as sp
from neutrino.db.models import AddressScope, SubnetPool
from neutrino.plugins.quotas import registry as quota_registry
from neutrino.plugins.subnetpools import allocation, networks
from neutrino.plugins.subnetpools.policies import POLICY_RULES
from neutrino.plugins.subnetpools.pools import PoolMixin
from neutrino.plugins.subnetpools.scopes import ScopeMixin


class Plugin(PoolMixin, ScopeMixin):
    """Subnet pools and address scopes (``service_plugins = subnetpools``)."""

    resources = [sp.SUBNETPOOLS, scope_api.ADDRESS_SCOPES]
    member_actions = {sp.SUBNETPOOLS.url: sp.PREFIX_ACTIONS}
    supported_extension_aliases = [*sp.ALIASES, *scope_api.ALIASES]
    policy_rules = POLICY_RULES
    tag_models = {sp.SUBNETPOOLS.url: SubnetPool, scope_api.ADDRESS_SCOPES.url: AddressScope}

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        self.events.subscribe("subnet", allocation.EVENT, allocation.on_allocate)
        networks.register(self.events)
        # Neutron's ML2 tracks pools (``[quotas] default_quota``, unlimited by default);
        # address scopes have no quota.
        quota_registry.track(self.events, "subnetpool", SubnetPool)
