"""RPC topic names, exactly Neutron's (``neutron_lib/agent/topics.py``).

Agents call the server on ``PLUGIN`` (device details, device up/down, tunnel_sync)
and ``REPORTS`` (heartbeats). The server notifies agents on
``q-agent-notifier-<resource>-<op>`` topics, either fanout or, where the receiving
hosts are known, directly to ``<topic>.<host>``.
"""

from __future__ import annotations

PLUGIN = "q-plugin"
REPORTS = "q-reports-plugin"
# L3 agents call the server on L3PLUGIN; the server casts to L3_AGENT.<host>.
L3PLUGIN = "q-l3-plugin"
L3_AGENT = "l3_agent"
AGENT = "q-agent-notifier"

PORT = "port"
NETWORK = "network"
TUNNEL = "tunnel"
L2POPULATION = "l2population"
SECURITY_GROUP = "security_group"
DVR = "dvr"

CREATE = "create"
UPDATE = "update"
DELETE = "delete"

# Versions of the server-side interfaces (Neutron's RpcCallbacks and PluginReportStateAPI).
PLUGIN_VERSION = "1.9"
REPORTS_VERSION = "1.4"
AGENT_NOTIFIER_VERSION = "1.0"


def get_topic_name(prefix: str, table: str, operation: str, host: str | None = None) -> str:
    """``<prefix>-<table>-<operation>`` (Neutron's builder); ``.<host>`` for a direct topic."""
    name = f"{prefix}-{table}-{operation}"
    return f"{name}.{host}" if host else name


PORT_UPDATE = get_topic_name(AGENT, PORT, UPDATE)
PORT_DELETE = get_topic_name(AGENT, PORT, DELETE)
NETWORK_UPDATE = get_topic_name(AGENT, NETWORK, UPDATE)
NETWORK_DELETE = get_topic_name(AGENT, NETWORK, DELETE)
TUNNEL_UPDATE = get_topic_name(AGENT, TUNNEL, UPDATE)
TUNNEL_DELETE = get_topic_name(AGENT, TUNNEL, DELETE)
L2POPULATION_UPDATE = get_topic_name(AGENT, L2POPULATION, UPDATE)
# security_groups_rule_updated / _member_updated / _provider_updated; Neutron fans them
# out, Neutrino casts them only to <topic>.<host> of the hosts with an affected port.
SECURITY_GROUP_UPDATE = get_topic_name(AGENT, SECURITY_GROUP, UPDATE)

# What an OVS agent consumes: (resource, operation) pairs as Neutron's create_consumers.
OVS_AGENT_CONSUMERS = (
    (PORT, UPDATE), (PORT, DELETE), (NETWORK, UPDATE), (NETWORK, DELETE),
    (TUNNEL, UPDATE), (TUNNEL, DELETE),
)
L2POP_CONSUMER = (L2POPULATION, UPDATE)
SECURITY_GROUP_CONSUMER = (SECURITY_GROUP, UPDATE)
