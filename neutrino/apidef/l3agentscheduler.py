"""The ``l3_agent_scheduler`` and ``router_availability_zone`` extensions.

``/v2.0/agents/{agent id}/l3-routers`` lists (``{"routers": […]}``), adds
(``POST {"router_id": …}``, 201 with a JSON null) and removes (``DELETE …/{router
id}``, 204) the routers an L3 agent hosts; ``/v2.0/routers/{router id}/l3-agents``
lists the agents hosting a router (``{"agents": […]}``). Admin only, by Neutron's
default policy. Routers take ``availability_zone_hints`` on create (zones some L3
agent reports) and show the ``availability_zones`` of the agents hosting them.
"""

from __future__ import annotations

import dataclasses

from neutrino import exceptions as exc
from neutrino.apidef.agent import AGENTS
from neutrino.apidef.l3 import ROUTERS

ALIAS = "l3_agent_scheduler"
AZ_ALIAS = "router_availability_zone"

AGENT_MODE_LEGACY = "legacy"
AGENT_MODE_DVR_SNAT = "dvr_snat"
# Modes whose agents host centralised (legacy) routers.
SCHEDULABLE_MODES = (AGENT_MODE_LEGACY, AGENT_MODE_DVR_SNAT)

# Same attributes as the parent collections; the URL and the policy names differ.
L3_ROUTERS = dataclasses.replace(ROUTERS, path="l3-routers", policy_member="l3-router",
                                 has_tags=False, allow_bulk=False)
L3_AGENTS = dataclasses.replace(AGENTS, path="l3-agents", policy_member="l3-agent")

POLICY_RULES = {
    "get_l3-router": "rule:admin_only",
    "get_l3-routers": "rule:admin_only",
    "create_l3-router": "rule:admin_only",
    "delete_l3-router": "rule:admin_only",
    "get_l3-agent": "rule:admin_only",
    "get_l3-agents": "rule:admin_only",
}

class InvalidL3Agent(exc.NotFound):
    message = "Agent %(id)s is not a L3 Agent or has been disabled"


class RouterHostedByL3Agent(exc.Conflict):
    message = "The router %(router_id)s has been already hosted by the L3 Agent " \
              "%(agent_id)s."


class RouterNotHostedByL3Agent(exc.Conflict):
    message = "The router %(router_id)s is not hosted by L3 agent %(agent_id)s."


class RouterSchedulingFailed(exc.Conflict):
    message = "Failed scheduling router %(router_id)s to the L3 Agent %(agent_id)s."


class DVRL3CannotAssignToDvrAgent(exc.Conflict):
    message = "Not allowed to manually assign a router to an agent in 'dvr' mode."


class DVRL3CannotRemoveFromDvrAgent(exc.Conflict):
    message = "Not allowed to manually remove a router from an agent in 'dvr' mode."
