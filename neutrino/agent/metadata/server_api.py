"""What the metadata agent needs from the server (Neutron's MetadataPluginAPI, names kept).

One call on ``q-plugin`` in RPC namespace ``metadata``: ``get_ports(filters)`` with
Neutron's filter shape (``{"network_id": [...], "fixed_ips": {"ip_address": [...]}}``).
A fake in unit tests, oslo.messaging in production (``messaging``).
"""

from __future__ import annotations

from typing import Any, Protocol

AGENT_TYPE_METADATA = "Metadata agent"
AGENT_BINARY_METADATA = "neutron-metadata-agent"
METADATA_RPC_NAMESPACE = "metadata"
METADATA_RPC_VERSION = "1.0"


class MetadataPluginApi(Protocol):
    def get_ports(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The ports matching ``filters`` (full port dicts)."""
