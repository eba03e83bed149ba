"""Router devices: ``qr-``/``qg-`` OVS internal ports on br-int moved into ``qrouter-<id>``.

The DHCP agent's ``openvswitch`` interface driver with the router's device names: the
interface row carries ``external_ids`` ``iface-id`` (the port id), ``attached-mac`` and
``iface-status=active``, so the host's OVS agent binds it like any VIF. Plugging checks
before it writes: a device already in the namespace with the right row keeps its link
(same ifindex, no flap), only a wrong MAC or MTU or a down link is corrected.
"""

from __future__ import annotations

from typing import Any

from neutrino.agent.dhcp.interface import InterfaceError, OvsInterfaceDriver
from neutrino.agent.l3.ip import Link
from neutrino.agent.l3.state import is_router_device
from neutrino.agent.linux import ip_lib

__all__ = ["InterfaceError", "RouterInterfaceDriver"]


class RouterInterfaceDriver(OvsInterfaceDriver):
    """Plug, check and unplug router devices on ``bridge`` of the OVS behind ``api``."""

    def plug_device(self, name: str, port_id: str, mac: str, namespace: str, mtu: int,
                    link: Link | None) -> bool:
        """Make device ``name`` of ``port_id`` exist, up, in ``namespace``; True if created.

        ``link`` is what the namespace holds under that name now (None: nothing).
        """
        external_ids = {"iface-id": port_id, "attached-mac": mac, "iface-status": "active"}
        row = self._row_ids(name)
        if link is None and row is not None \
                and not ip_lib.link_exists(name, self.ovs_namespace):
            # a port whose device is neither in the namespace nor where OVS makes it (left
            # in a namespace deleted or out of reach): only a new port gets a new device
            self._txn(self.api.del_port(name, bridge=self.bridge, if_exists=True))
            row = None
        if link is None or row != external_ids:
            self._txn(self.api.add_port(self.bridge, name, may_exist=True),
                      self.api.db_set("Interface", name, ("type", "internal"),
                                      ("external_ids", external_ids)))
        if link is None:
            self._wait_link(name)
            ip_lib.move_link(name, namespace, self.ovs_namespace)
            ip_lib.set_link(name, namespace, mac=mac, mtu=mtu or None)
            return True
        if link.mac != mac.lower() or (mtu and link.mtu != mtu) or not link.up:
            ip_lib.set_link(name, namespace, mac=mac if link.mac != mac.lower() else None,
                            mtu=mtu if mtu and link.mtu != mtu else None)
        return False

    def plugged_names(self) -> set[str]:
        """Names of the router devices that are ports of the bridge."""
        names = self.api.list_ports(self.bridge).execute(check_error=True)
        return {name for name in names if is_router_device(name)}

    def _row_ids(self, name: str) -> dict[str, str] | None:
        rows = self.api.db_find("Interface", ("name", "=", name),
                                columns=["external_ids"]).execute(check_error=True)
        if not rows:
            return None
        ids: Any = rows[0]["external_ids"]
        return {k: ids[k] for k in ("iface-id", "attached-mac", "iface-status") if k in ids}
