"""Constants shared by the server and the agents, with Neutron's names and values."""

from __future__ import annotations

# Agent types and binaries (neutron_lib/constants.py).
AGENT_TYPE_OVS = "Open vSwitch agent"
AGENT_TYPE_DHCP = "DHCP agent"
AGENT_TYPE_L3 = "L3 agent"
AGENT_BINARY_OVS = "neutrino-ovs-agent"

# report_state replies (neutron_lib/agent/constants.py); REVIVED makes the agent resync.
AGENT_NEW = "new"
AGENT_ALIVE = "alive"
AGENT_REVIVED = "revived"

PORT_STATUS_ACTIVE = "ACTIVE"
PORT_STATUS_BUILD = "BUILD"
PORT_STATUS_DOWN = "DOWN"
PORT_STATUS_ERROR = "ERROR"

TYPE_LOCAL = "local"
TYPE_FLAT = "flat"
TYPE_VLAN = "vlan"
TYPE_GRE = "gre"
TYPE_VXLAN = "vxlan"
TYPE_GENEVE = "geneve"
TUNNEL_NETWORK_TYPES = (TYPE_GRE, TYPE_VXLAN, TYPE_GENEVE)

# l2pop: "add this agent's tunnel to the flood list" (neutron_lib/constants.py).
FLOODING_ENTRY = ("00:00:00:00:00:00", "0.0.0.0")
