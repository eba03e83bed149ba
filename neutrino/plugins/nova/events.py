"""Which Nova external events a port change makes (pure; Neutron's rules).

Only ports whose ``device_owner`` starts with ``compute:`` and that have a
``device_id`` (the server's uuid) concern Nova. Each event is
``{"name", "server_uuid", "tag", "status"?}`` as ``os-server-external-events``
takes it.
"""

from __future__ import annotations

from typing import Any

from neutrino.common import constants as const

VIF_PLUGGED = "network-vif-plugged"
VIF_UNPLUGGED = "network-vif-unplugged"
VIF_DELETED = "network-vif-deleted"
NETWORK_CHANGED = "network-changed"
COMPLETED = "completed"
FAILED = "failed"
BINDING_FAILED = "binding_failed"


def is_compute_port(port: dict[str, Any]) -> bool:
    return str(port.get("device_owner") or "").startswith("compute:") \
        and bool(port.get("device_id"))


def event(name: str, port: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    body = {"name": name, "server_uuid": port["device_id"], "tag": port["id"]}
    if status is not None:
        body["status"] = status
    return body


def status_events(port: dict[str, Any], previous: str | None) -> list[dict[str, Any]]:
    """A status change reported by an agent: plugged when ACTIVE, unplugged when lost."""
    if not is_compute_port(port) or previous is None:
        return []
    status = port.get("status")
    if status == const.PORT_STATUS_ACTIVE and previous in (const.PORT_STATUS_DOWN,
                                                           const.PORT_STATUS_BUILD):
        return [event(VIF_PLUGGED, port, COMPLETED)]
    if status == const.PORT_STATUS_ERROR and previous != const.PORT_STATUS_ERROR:
        return [event(VIF_PLUGGED, port, FAILED)]
    if status == const.PORT_STATUS_DOWN and previous == const.PORT_STATUS_ACTIVE:
        return [event(VIF_UNPLUGGED, port, COMPLETED)]
    return []


def binding_events(port: dict[str, Any], original: dict[str, Any] | None
                   ) -> list[dict[str, Any]]:
    """A binding that just failed: Nova waiting for the plug must not wait for nothing."""
    if not is_compute_port(port) or port.get("binding:vif_type") != BINDING_FAILED:
        return []
    if original is not None and original.get("binding:vif_type") == BINDING_FAILED:
        return []
    return [event(VIF_PLUGGED, port, FAILED)]


def _addresses(port: dict[str, Any] | None) -> list[tuple[str, str]]:
    return sorted((f.get("subnet_id", ""), f.get("ip_address", ""))
                  for f in (port or {}).get("fixed_ips") or [])


def data_events(port: dict[str, Any], original: dict[str, Any] | None
                ) -> list[dict[str, Any]]:
    """Fixed IPs changed on an API update: Nova refreshes its network info cache."""
    if original is None or not is_compute_port(port):
        return []
    if _addresses(port) != _addresses(original):
        return [event(NETWORK_CHANGED, port)]
    # A port given to a server (device_id set) or taken from it also changes its info.
    if is_compute_port(original) and original.get("device_id") != port.get("device_id"):
        return [event(NETWORK_CHANGED, original)]
    return []


def floatingip_events(port: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A floating IP associated with or removed from ``port`` (the L3 plugin's news)."""
    if port is None or not is_compute_port(port):
        return []
    return [event(NETWORK_CHANGED, port)]


def delete_events(port: dict[str, Any]) -> list[dict[str, Any]]:
    return [event(VIF_DELETED, port)] if is_compute_port(port) else []
