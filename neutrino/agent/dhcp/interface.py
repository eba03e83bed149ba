"""The DHCP port's device: an OVS internal port on br-int moved into the network's namespace.

Neutron's ``openvswitch`` interface driver, as Nova/os-vif plug a VIF: the interface row
carries ``external_ids`` ``iface-id`` (the port id), ``attached-mac`` and
``iface-status=active``, so the host's OVS agent binds it like any other port. The link
is then moved into ``qdhcp-<network id>`` and given the port's MAC, MTU and addresses.
"""

from __future__ import annotations

import time
from typing import Any

from neutrino.agent.linux import ip_lib

TAP_PREFIX = "tap"
DEVICE_NAME_LEN = 14  # "tap" + 11 characters of the port id, as Neutron names it


class InterfaceError(RuntimeError):
    """The device could not be plugged or unplugged."""


def device_name(port_id: str) -> str:
    return (TAP_PREFIX + port_id)[:DEVICE_NAME_LEN]


class OvsInterfaceDriver:
    """Plug and unplug DHCP devices on ``bridge`` of the OVS behind ``api`` (ovsdbapp).

    ``ovs_namespace`` is where ovs-vswitchd creates internal ports: the agent's own
    namespace (None) in a deployment, a test host's namespace in functional tests.
    """

    def __init__(self, api: Any, bridge: str = "br-int", link_timeout: float = 10.0,
                 ovs_namespace: str | None = None) -> None:
        self.api = api
        self.bridge = bridge
        self.link_timeout = link_timeout
        self.ovs_namespace = ovs_namespace

    def plug(self, port_id: str, mac: str, namespace: str, mtu: int = 0) -> str:
        """Make the device of ``port_id`` exist in ``namespace``, up; return its name."""
        name = device_name(port_id)
        external_ids = {"iface-id": port_id, "attached-mac": mac, "iface-status": "active"}
        self._txn(self.api.add_port(self.bridge, name, may_exist=True),
                  self.api.db_set("Interface", name, ("type", "internal"),
                                  ("external_ids", external_ids)))
        if not ip_lib.link_exists(name, namespace):
            self._wait_link(name)
            ip_lib.move_link(name, namespace, self.ovs_namespace)
        ip_lib.set_link(name, namespace, mac=mac, mtu=mtu or None)
        return name

    def unplug(self, name: str, namespace: str | None) -> None:
        """Remove device ``name`` from the namespace (if still there) and from the bridge."""
        if namespace and ip_lib.namespace_exists(namespace):
            ip_lib.delete_link(name, namespace)
        self._txn(self.api.del_port(name, bridge=self.bridge, if_exists=True))

    def plugged(self) -> dict[str, str]:
        """Device name -> iface-id of the DHCP devices on the bridge (for clean-up)."""
        rows = self.api.db_find("Interface", ("name", ">=", TAP_PREFIX),
                                columns=["name", "external_ids"]).execute(check_error=True)
        return {row["name"]: row["external_ids"].get("iface-id", "") for row in rows
                if row["name"].startswith(TAP_PREFIX)}

    def _wait_link(self, name: str) -> None:
        # ovs-vswitchd creates the internal port's link right after the transaction
        deadline = time.monotonic() + self.link_timeout
        while not ip_lib.link_exists(name, self.ovs_namespace):
            if time.monotonic() > deadline:
                raise InterfaceError(f"{name} did not appear after being added to "
                                     f"{self.bridge}")
            time.sleep(0.02)

    def _txn(self, *commands: Any) -> None:
        try:
            with self.api.transaction(check_error=True) as txn:
                for command in commands:
                    txn.add(command)
        except Exception as exc:  # ovsdbapp raises plain exceptions for OVSDB errors
            raise InterfaceError(f"{self.bridge}: OVSDB transaction failed: {exc}") from exc
