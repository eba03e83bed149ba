"""Server-side RPC endpoints: what agents call on ``q-plugin`` and ``q-reports-plugin``.

Method names, arguments and replies are Neutron's (``neutron/plugins/ml2/rpc.py``
and ``neutron/db/agents_db.py``), so an agent written for Neutron's interface
works unchanged. Every handler runs on an RPC worker thread with the server's
admin context; it reads and writes through the core plugin's public methods.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

import netaddr
import oslo_messaging

from neutrino.common import constants as const
from neutrino.context import admin_context
from neutrino.db import agents as agents_db
from neutrino.db import l2pop as l2pop_db
from neutrino.db import tunnels as tunnels_db
from neutrino.db.base import utcnow
from neutrino.plugins.ml2 import driver_api as api
from neutrino.rpc import topics

LOG = logging.getLogger(__name__)

UNBOUND = (api.VIF_TYPE_UNBOUND, api.VIF_TYPE_BINDING_FAILED)


def device_to_port_id(device: str) -> str:
    """The agent's device name is the port id (``iface-id``); ``tap<prefix>`` is accepted."""
    return device[3:] if device.startswith("tap") and len(device) > 36 else device


def device_details(device: str, port: dict[str, Any], segment: dict[str, Any],
                   network: dict[str, Any]) -> dict[str, Any]:
    """The reply for one bound device, with exactly Neutron's keys."""
    return {
        "device": device, "network_id": port["network_id"], "port_id": port["id"],
        "mac_address": port["mac_address"], "admin_state_up": port["admin_state_up"],
        "network_type": segment["network_type"],
        "segmentation_id": segment["segmentation_id"],
        "physical_network": segment["physical_network"], "mtu": network.get("mtu"),
        "fixed_ips": port["fixed_ips"], "device_owner": port["device_owner"],
        "allowed_address_pairs": port["allowed_address_pairs"],
        "port_security_enabled": port.get("port_security_enabled", True),
        "qos_policy_id": None, "network_qos_policy_id": None,
        "profile": port.get("binding:profile") or {},
        "propagate_uplink_status": False,
    }


class RpcCallbacks:
    """``q-plugin``: device details, device up/down, tunnel_sync (Neutron's v1.9)."""

    target = oslo_messaging.Target(version=topics.PLUGIN_VERSION)

    def __init__(self, plugin: Any, notifier: Any = None, l2pop: Any = None) -> None:
        self.plugin = plugin
        self.notifier = notifier
        self.l2pop = l2pop

    # --- helpers ---------------------------------------------------------------------

    def _ports(self, port_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(set(port_ids))
        if not ids:
            return {}
        return {p["id"]: p for p in self.plugin.get_ports(admin_context(), {"id": ids})}

    def _set_status(self, port: dict[str, Any], status: str) -> bool:
        return bool(self.plugin.update_port_status(admin_context(), port["id"], status))

    def _l2pop(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.l2pop is None:
            return
        try:
            getattr(self.l2pop, method)(*args, **kwargs)
        except Exception:
            LOG.exception("l2population %s failed", method)

    # --- device details --------------------------------------------------------------

    def get_devices_details_list_and_failed_devices(
            self, context: Any, devices: list[str], agent_id: str | None = None,
            host: str | None = None, **kwargs: Any) -> dict[str, list[Any]]:
        result: dict[str, list[Any]] = {"devices": [], "failed_devices": []}
        ports = self._ports(device_to_port_id(d) for d in devices)
        with self.plugin.db.reader() as session:
            segments = l2pop_db.bound_segments(session, ports)
        networks = {n["id"]: n for n in self.plugin.get_networks(
            admin_context(), {"id": sorted({p["network_id"] for p in ports.values()})})} \
            if ports else {}
        for device in devices:
            try:
                port = ports.get(device_to_port_id(device))
                result["devices"].append(self._details(device, port, segments, networks, host))
            except Exception:
                LOG.exception("device details of %s for %s failed", device, host)
                result["failed_devices"].append(device)
        return result

    def get_devices_details_list(self, context: Any, devices: list[str],
                                 agent_id: str | None = None, host: str | None = None,
                                 **kwargs: Any) -> list[dict[str, Any]]:
        return self.get_devices_details_list_and_failed_devices(
            context, devices, agent_id, host)["devices"]

    def get_device_details(self, context: Any, device: str, agent_id: str | None = None,
                           host: str | None = None, **kwargs: Any) -> dict[str, Any]:
        reply = self.get_devices_details_list_and_failed_devices(
            context, [device], agent_id, host)
        return reply["devices"][0] if reply["devices"] else {"device": device}

    def _details(self, device: str, port: dict[str, Any] | None,
                 segments: dict[str, dict[str, Any]], networks: dict[str, dict[str, Any]],
                 host: str | None) -> dict[str, Any]:
        if port is None:
            LOG.debug("device %s requested by %s not found", device, host)
            return {"device": device}
        segment = segments.get(port["id"])
        if (host and port["binding:host_id"] != host) or segment is None \
                or port["binding:vif_type"] in UNBOUND:
            LOG.debug("device %s requested by %s is not bound there (host %s, vif %s)",
                      device, host, port["binding:host_id"], port["binding:vif_type"])
            return {"device": device}
        self._status_on_request(port)
        return device_details(device, port, segment, networks.get(port["network_id"], {}))

    def _status_on_request(self, port: dict[str, Any]) -> None:
        """DOWN → BUILD while the agent wires an enabled port; an ACTIVE one stays ACTIVE
        (no ACTIVE→BUILD→ACTIVE flap, and no l2pop churn, on every agent resync)."""
        if not port["admin_state_up"]:
            if port["status"] != const.PORT_STATUS_DOWN and self._set_status(
                    port, const.PORT_STATUS_DOWN) \
                    and port["status"] == const.PORT_STATUS_ACTIVE:
                self._l2pop("port_down", port, port["binding:host_id"])
        elif port["status"] == const.PORT_STATUS_DOWN:
            self._set_status(port, const.PORT_STATUS_BUILD)

    # --- device up / down ------------------------------------------------------------

    def update_device_up(self, context: Any, device: str, agent_id: str | None = None,
                         host: str | None = None, refresh_tunnels: bool = False,
                         **kwargs: Any) -> None:
        port = self._ports([device_to_port_id(device)]).get(device_to_port_id(device))
        self._device_up(device, port, host, refresh_tunnels)

    def _device_up(self, device: str, port: dict[str, Any] | None, host: str | None,
                   refresh_tunnels: bool) -> None:
        if port is None:
            LOG.debug("device %s up on %s: no such port", device, host)
            return
        if host and port["binding:host_id"] != host:
            LOG.debug("device %s up on %s but bound to %s", device, host,
                      port["binding:host_id"])
            return
        if not port["admin_state_up"]:
            return
        changed = self._set_status(port, const.PORT_STATUS_ACTIVE)
        if changed or refresh_tunnels:
            port = {**port, "status": const.PORT_STATUS_ACTIVE}
            self._l2pop("port_up", port, port["binding:host_id"],
                        refresh_tunnels=refresh_tunnels)

    def update_device_down(self, context: Any, device: str, agent_id: str | None = None,
                           host: str | None = None, **kwargs: Any) -> dict[str, Any]:
        port = self._ports([device_to_port_id(device)]).get(device_to_port_id(device))
        return self._device_down(device, port, host)

    def _device_down(self, device: str, port: dict[str, Any] | None,
                     host: str | None) -> dict[str, Any]:
        if port is None:
            return {"device": device, "exists": False}
        if host and port["binding:host_id"] != host:
            LOG.debug("device %s down on %s but bound to %s", device, host,
                      port["binding:host_id"])
            return {"device": device, "exists": True}
        was_active = port["status"] == const.PORT_STATUS_ACTIVE
        if self._set_status(port, const.PORT_STATUS_DOWN) and was_active:
            self._l2pop("port_down", port, port["binding:host_id"])
        return {"device": device, "exists": True}

    def update_device_list(self, context: Any, devices_up: list[str],
                           devices_down: list[str], agent_id: str | None = None,
                           host: str | None = None, refresh_tunnels: bool = False,
                           **kwargs: Any) -> dict[str, list[Any]]:
        result: dict[str, list[Any]] = {"devices_up": [], "failed_devices_up": [],
                                        "devices_down": [], "failed_devices_down": []}
        ports = self._ports(device_to_port_id(d) for d in [*devices_up, *devices_down])
        batch = self.l2pop.notifier.batch() if self._batching() else contextlib.nullcontext()
        with batch:
            for device in devices_up:
                try:
                    self._device_up(device, ports.get(device_to_port_id(device)), host,
                                    refresh_tunnels)
                    result["devices_up"].append(device)
                except Exception:
                    if self._deleted_meanwhile(device, "up", host):
                        result["devices_up"].append(device)
                        continue
                    LOG.exception("update_device_up of %s for %s failed", device, host)
                    result["failed_devices_up"].append(device)
            for device in devices_down:
                try:
                    result["devices_down"].append(self._device_down(
                        device, ports.get(device_to_port_id(device)), host))
                except Exception:
                    if self._deleted_meanwhile(device, "down", host):
                        result["devices_down"].append({"device": device, "exists": False})
                        continue
                    LOG.exception("update_device_down of %s for %s failed", device, host)
                    result["failed_devices_down"].append(device)
        return result

    def _deleted_meanwhile(self, device: str, what: str, host: str | None) -> bool:
        """The device's port was deleted while its status was being set: not a failure.

        As Neutron (which answers ``exists: False`` when ``delete_port`` and
        ``update_device_down`` race), a port that is gone has nothing left to update.
        """
        try:
            gone = not self._ports([device_to_port_id(device)])
        except Exception:  # the database itself failing: a real failure, logged by the caller
            return False
        if gone:
            LOG.debug("device %s %s on %s: its port was deleted meanwhile", device, what,
                      host)
        return gone

    def _batching(self) -> bool:
        return self.l2pop is not None and getattr(self.l2pop, "notifier", None) is not None \
            and hasattr(self.l2pop.notifier, "batch")

    # --- tunnels ---------------------------------------------------------------------

    def tunnel_sync(self, context: Any, tunnel_ip: str, tunnel_type: str,
                    host: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Record ``host``'s tunnel endpoint; reply with every endpoint of the type."""
        self._validate_tunnel(tunnel_ip, tunnel_type)
        db = self.plugin.db

        def attempt() -> tuple[tunnels_db.EndpointChange, list[dict[str, Any]]]:
            with db.transaction() as session:
                change = tunnels_db.sync_endpoint(session, tunnel_type, tunnel_ip, host)
                return change, tunnels_db.get_endpoints(session, tunnel_type)

        change, endpoints = db.retrying(attempt)
        if self.notifier is not None:
            # Only a new or moved endpoint is news; Neutron re-announces on every sync.
            if change.replaced_ip:
                self.notifier.tunnel_delete(change.replaced_ip, tunnel_type)
            if change.changed:
                self.notifier.tunnel_update(tunnel_ip, tunnel_type)
        return {"tunnels": endpoints}

    def _validate_tunnel(self, tunnel_ip: str, tunnel_type: str) -> None:
        if tunnel_type not in const.TUNNEL_NETWORK_TYPES or \
                tunnel_type not in self.plugin.type_manager.drivers:
            raise ValueError(f"Network type value '{tunnel_type}' not supported")
        try:
            version = netaddr.IPAddress(tunnel_ip).version
        except (netaddr.AddrFormatError, ValueError):
            raise ValueError(f"Invalid tunnel IP {tunnel_ip!r}") from None
        wanted = self.plugin.conf.ml2.overlay_ip_version
        if version != wanted:
            raise ValueError(f"Tunnel IP {tunnel_ip} is IPv{version}; "
                             f"[ml2] overlay_ip_version is {wanted}")

    def has_alive_neutron_server(self, context: Any, **kwargs: Any) -> bool:
        return True

    def get_ports_by_vnic_type_and_host(self, context: Any, vnic_type: str, host: str,
                                        **kwargs: Any) -> list[dict[str, Any]]:
        """Ports bound to ``host`` with ``vnic_type`` (Neutron's v1.7 call).

        A restarted agent compares them with the VIFs it finds, to report down the
        ones unplugged while it was not running.
        """
        return list(self.plugin.get_ports(admin_context(), {
            "binding:host_id": [host], "binding:vnic_type": [vnic_type]}))


class StateReportCallbacks:
    """``q-reports-plugin``: ``report_state`` → ``new`` / ``alive`` / ``revived``."""

    target = oslo_messaging.Target(version=topics.REPORTS_VERSION)

    def __init__(self, plugin: Any, down_time: int, on_return: Any = None) -> None:
        self.plugin = plugin
        self.down_time = down_time
        self.on_return = on_return  # called (host, status) for new/revived agents

    def report_state(self, context: Any, **kwargs: Any) -> str:
        state = dict(kwargs["agent_state"]["agent_state"])
        if not state.get("agent_type") or not state.get("host"):
            raise ValueError("agent_state needs agent_type and host")
        db = self.plugin.db

        def attempt() -> str:
            with db.transaction() as session:
                return agents_db.record_heartbeat(session, state, utcnow(), self.down_time)

        status = db.retrying(attempt)
        if status != const.AGENT_ALIVE and self.on_return is not None:
            threading.Thread(target=self.on_return, args=(state, status), daemon=True,
                             name=f"agent-{status}-{state['host']}").start()
        return status
