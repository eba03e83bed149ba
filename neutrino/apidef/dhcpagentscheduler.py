"""The ``dhcp_agent_scheduler`` extension: which DHCP agents serve which networks.

``/v2.0/agents/{agent id}/dhcp-networks`` lists (``{"networks": […]}``), adds
(``POST {"network_id": …}``) and removes (``DELETE …/{network id}``) an agent's
networks; ``/v2.0/networks/{network id}/dhcp-agents`` lists a network's agents
(``{"agents": […]}``). Admin only, by Neutron's default policy.
"""

from __future__ import annotations

import dataclasses

from neutrino import exceptions as exc
from neutrino.apidef.agent import AGENTS
from neutrino.apidef.attributes import NETWORKS

ALIAS = "dhcp_agent_scheduler"

# Same attributes as the parent collections; the URL and the policy names differ.
DHCP_NETWORKS = dataclasses.replace(NETWORKS, path="dhcp-networks",
                                    policy_member="dhcp-network", has_tags=False,
                                    allow_bulk=False)
DHCP_AGENTS = dataclasses.replace(AGENTS, path="dhcp-agents", policy_member="dhcp-agent")

POLICY_RULES = {
    "get_dhcp-network": "rule:admin_only",
    "get_dhcp-networks": "rule:admin_only",
    "create_dhcp-network": "rule:admin_only",
    "delete_dhcp-network": "rule:admin_only",
    "get_dhcp-agent": "rule:admin_only",
    "get_dhcp-agents": "rule:admin_only",
}


class InvalidDHCPAgent(exc.NotFound):
    message = "Agent %(id)s is not a valid DHCP Agent or has been disabled"


class NetworkHostedByDHCPAgent(exc.Conflict):
    message = "The network %(network_id)s has been already hosted by the DHCP Agent " \
              "%(agent_id)s."


class NetworkNotHostedByDhcpAgent(exc.Conflict):
    message = "The network %(network_id)s is not hosted by the DHCP agent %(agent_id)s."
