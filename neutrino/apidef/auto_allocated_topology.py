"""The auto-allocated topology: Neutron's ``auto-allocated-topology`` extension.

``/v2.0/auto-allocated-topology/{project_id}`` is no collection (its one member is
keyed by project), so there is no ``Resource`` map: GET answers
``{"auto_allocated_topology": {"id": <network id>, "tenant_id", "project_id"}}``,
``?fields=dry-run`` only checks the requirements, DELETE removes the topology.
Networks gain ``is_default`` (the default external network, admin's to set).
"""

from __future__ import annotations

from neutrino import exceptions as exc

ALIASES = ["auto-allocated-topology"]
MEMBER = "auto_allocated_topology"
PATH = "auto-allocated-topology"
DRY_RUN = "dry-run"
DRY_RUN_PASS = "dry-run=pass"
NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"


class AutoAllocationFailure(exc.Conflict):
    message = "Deployment error: %(reason)s."


class DefaultExternalNetworkExists(exc.Conflict):
    message = "A default external network already exists: %(net_id)s."


def subnet_name(ip_version: int) -> str:
    return f"auto_allocated_subnet_v{ip_version}"
