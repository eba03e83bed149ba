"""Local VLAN ids (lvids): one per network bound on this host, tagged on br-int ports.

Like Neutron's ``LocalVlanManager``: ids 1..4094 (4095 is the dead VLAN), the lowest free
id first, released when the network's last local port goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from neutrino.agent.ovs.state import LocalVlan

MIN_VLAN = 1
MAX_VLAN = 4094


class NoFreeVlan(RuntimeError):
    """Every local VLAN id is in use."""


class LocalVlanManager:
    """Assigns, keeps and releases the local VLAN of each network."""

    def __init__(self) -> None:
        self._vlans: dict[str, LocalVlan] = {}

    def get(self, network_id: str) -> LocalVlan | None:
        return self._vlans.get(network_id)

    def ensure(self, network_id: str, network_type: str, segmentation_id: int | None,
               physical_network: str | None) -> LocalVlan:
        """The network's LocalVlan, allocated if new; re-allocated if its segment changed."""
        current = self._vlans.get(network_id)
        wanted = (network_type, segmentation_id, physical_network or None)
        if current is not None and (current.network_type, current.segmentation_id,
                                    current.physical_network) == wanted:
            return current
        lvid = current.lvid if current is not None else self._free_lvid()
        vlan = LocalVlan(network_id, network_type, lvid, segmentation_id,
                         physical_network or None)
        self._vlans[network_id] = vlan
        return vlan

    def reserve(self, network_id: str, lvid: int) -> bool:
        """Hold ``lvid`` for ``network_id`` (a restarted agent keeping a port's old tag).

        The segment is filled in by the next :meth:`ensure`, which keeps the id. False when
        the network already has an id or ``lvid`` is taken or out of range.
        """
        used = {vlan.lvid for vlan in self._vlans.values()}
        if network_id in self._vlans or lvid in used or not MIN_VLAN <= lvid <= MAX_VLAN:
            return False
        self._vlans[network_id] = LocalVlan(network_id, "", lvid)
        return True

    def release(self, network_id: str) -> LocalVlan | None:
        """Forget the network; return what it had (None if it had nothing)."""
        return self._vlans.pop(network_id, None)

    def _free_lvid(self) -> int:
        used = {vlan.lvid for vlan in self._vlans.values()}
        for lvid in range(MIN_VLAN, MAX_VLAN + 1):
            if lvid not in used:
                return lvid
        raise NoFreeVlan("all 4094 local VLAN ids are in use")

    @property
    def all(self) -> Mapping[str, LocalVlan]:
        """network_id -> LocalVlan (a read-only snapshot)."""
        return MappingProxyType(dict(self._vlans))
