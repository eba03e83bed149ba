"""Metadata over RPC: the ``get_ports`` call metadata agents make on ``q-plugin``.

Neutron's MetadataRpcCallback (namespace ``metadata``, version 1.0). The agent sends
Neutron's filter shape, where ``fixed_ips`` is a dict (``{"ip_address": [...],
"subnet_id": [...]}``, every key must match one fixed IP); the core plugin's listing
takes ``fixed_ips`` as ``key=value`` strings, so the dict is translated here.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging

from neutrino.context import admin_context

METADATA_RPC_NAMESPACE = "metadata"
METADATA_RPC_VERSION = "1.0"
# What a metadata agent may filter on; anything else is ignored rather than trusted.
_PLAIN_FILTERS = ("id", "network_id", "device_id", "device_owner", "mac_address",
                  "project_id", "tenant_id")


def core_filters(filters: dict[str, Any]) -> dict[str, list[Any]]:
    """Neutron's RPC filters in the core plugin's form (lists; ``fixed_ips`` strings)."""
    found: dict[str, list[Any]] = {}
    for key in _PLAIN_FILTERS:
        if key in filters:
            found["project_id" if key == "tenant_id" else key] = list(filters[key])
    fixed = _fixed_ip_filter(filters)
    if fixed.get("ip_address"):  # the narrowest; subnet_id is checked on the result
        found["fixed_ips"] = [f"ip_address={ip}" for ip in fixed["ip_address"]]
    elif fixed.get("subnet_id"):
        found["fixed_ips"] = [f"subnet_id={s}" for s in fixed["subnet_id"]]
    return found


def _fixed_ip_filter(filters: dict[str, Any]) -> dict[str, list[str]]:
    fixed = filters.get("fixed_ips") or {}
    return {key: [str(v) for v in fixed.get(key) or ()] for key in ("ip_address", "subnet_id")}


def matches_fixed_ips(port: dict[str, Any], filters: dict[str, Any]) -> bool:
    """True when one fixed IP of ``port`` satisfies every key of ``filters['fixed_ips']``."""
    wanted = {k: set(v) for k, v in _fixed_ip_filter(filters).items() if v}
    if not wanted:
        return True
    return any(all(ip.get(key) in values for key, values in wanted.items())
               for ip in port.get("fixed_ips") or ())


class MetadataRpcCallback:
    """``q-plugin`` endpoint of the metadata agents."""

    target = oslo_messaging.Target(version=METADATA_RPC_VERSION,
                                   namespace=METADATA_RPC_NAMESPACE)

    def __init__(self, core: Any) -> None:
        self.core = core

    def get_ports(self, context: Any, filters: dict[str, Any] | None = None,
                  **kwargs: Any) -> list[dict[str, Any]]:
        """The ports matching Neutron-style ``filters`` (no filter at all: none)."""
        filters = filters or {}
        translated = core_filters(filters)
        if not translated:
            return []  # never hand every port of the cloud to a guest's request
        ports = self.core.get_ports(admin_context(), translated)
        return [dict(p) for p in ports if matches_fixed_ips(p, filters)]
