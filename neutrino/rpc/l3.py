"""L3 over RPC: what L3 agents call on ``q-l3-plugin``, and the casts they are sent.

Calls (Neutron's L3PluginApi 1.x, no namespace): ``sync_routers``,
``get_router_ids``, ``update_floatingip_statuses``, ``get_service_plugin_list``.
Replies are plain JSON-able values; a router is the contract's dict: the API's
router plus ``gw_port``, ``_interfaces`` (ports with their ``subnets`` and
``mtu``), ``_floatingips`` and ``_port_forwardings``.

Notifications are casts on topic ``l3_agent`` sent directly to ``l3_agent.<host>`` of
the agent hosting the router (never fanout): ``routers_updated``,
``router_deleted``, ``router_added_to_agent``, ``router_removed_from_agent``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import netaddr
import oslo_messaging

from neutrino.apidef import l3
from neutrino.context import admin_context
from neutrino.rpc import topics

LOG = logging.getLogger(__name__)

L3_RPC_VERSION = "1.13"
ROUTER_PORT_OWNERS = (l3.DEVICE_OWNER_ROUTER_INTF, l3.DEVICE_OWNER_ROUTER_GW)
_FIP_KEYS = ("id", "floating_ip_address", "fixed_ip_address", "port_id", "router_id",
             "status", "floating_network_id", "project_id")
_PF_KEYS = ("id", "internal_ip_address", "internal_port", "external_port", "protocol",
            "internal_port_id")
_SUBNET_KEYS = ("id", "cidr", "gateway_ip", "ip_version", "host_routes")


class L3AgentNotifier:
    """Casts to ``l3_agent.<host>`` of the agent hosting a router, one router each."""

    def __init__(self, caster: Any) -> None:
        self.caster = caster

    def notify(self, host: str, method: str, router_id: str) -> None:
        """``method`` is one of the four notifications; each has its own argument shape."""
        if method == "routers_updated":
            kwargs: dict[str, Any] = {"routers": [router_id]}
        elif method == "router_deleted":
            kwargs = {"router_id": router_id}
        elif method == "router_added_to_agent":
            kwargs = {"payload": [router_id]}
        elif method == "router_removed_from_agent":
            kwargs = {"payload": {"router_id": router_id}}
        else:
            raise ValueError(f"not an L3 agent notification: {method}")
        self.caster.cast(topics.L3_AGENT, method, host=host, **kwargs)


# --- sync_routers ----------------------------------------------------------------------

def _bind_to(core: Any, ports: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    """The ports with ``binding:host_id = host``, updating those bound elsewhere."""
    ctx = admin_context()
    bound = []
    for port in ports:
        if port.get("binding:host_id") != host:
            try:
                port = dict(core.update_port(ctx, port["id"], {"binding:host_id": host}))
            except Exception:
                LOG.exception("binding router port %s to %s failed", port["id"], host)
        bound.append(port)
    return bound


def _port_dicts(core: Any, ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ports plus the ``mtu`` of their network and the ``subnets`` of their fixed IPs."""
    ctx = admin_context()
    subnet_ids = sorted({ip["subnet_id"] for p in ports for ip in p["fixed_ips"]})
    net_ids = sorted({p["network_id"] for p in ports})
    subnets = {s["id"]: s for s in core.get_subnets(ctx, {"id": subnet_ids})} \
        if subnet_ids else {}
    mtus = {n["id"]: n.get("mtu") for n in core.get_networks(ctx, {"id": net_ids})} \
        if net_ids else {}
    made = []
    for port in ports:
        own = [subnets[ip["subnet_id"]] for ip in port["fixed_ips"]
               if ip["subnet_id"] in subnets]
        fixed = [{**ip, "prefixlen": netaddr.IPNetwork(subnets[ip["subnet_id"]]["cidr"])
                  .prefixlen} for ip in port["fixed_ips"] if ip["subnet_id"] in subnets]
        made.append({**port, "fixed_ips": fixed, "mtu": mtus.get(port["network_id"]),
                     "subnets": [{k: s.get(k) for k in _SUBNET_KEYS} for s in own]})
    return made


def _floating(fips: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """router id → its associated floating IPs, and → its port forwardings."""
    associated: dict[str, list[Any]] = defaultdict(list)
    forwardings: dict[str, list[Any]] = defaultdict(list)
    for fip in fips:
        if fip.get("port_id"):
            associated[fip["router_id"]].append({k: fip.get(k) for k in _FIP_KEYS})
        for pf in fip.get("port_forwardings") or ():
            forwardings[fip["router_id"]].append({
                **{k: pf.get(k) for k in _PF_KEYS}, "floatingip_id": fip["id"],
                "floating_ip_address": fip["floating_ip_address"]})
    return associated, forwardings


def routers_sync_data(core: Any, plugin: Any, router_ids: list[str],
                      host: str | None = None) -> list[dict[str, Any]]:
    """The contract's router dicts of ``router_ids`` (admin-up routers only, as
    Neutron's sync: an agent drops a router it no longer receives); with ``host`` the
    routers' ports are bound there first."""
    if not router_ids:
        return []
    ctx = admin_context()
    routers = [r for r in plugin.get_routers(ctx, {"id": router_ids}) if r["admin_state_up"]]
    ids = [r["id"] for r in routers]
    if not ids:
        return []
    ports = core.get_ports(ctx, {"device_id": ids, "device_owner": list(ROUTER_PORT_OWNERS)})
    if host:
        ports = _bind_to(core, ports, host)
    by_router: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for port in sorted(_port_dicts(core, ports), key=lambda p: p["id"]):
        by_router[port["device_id"]].append(port)
    associated, forwardings = _floating(plugin.get_floatingips(ctx, {"router_id": ids}))
    return [_router_dict(r, by_router[r["id"]], associated[r["id"]], forwardings[r["id"]])
            for r in routers]


def _router_dict(router: dict[str, Any], ports: list[dict[str, Any]],
                 fips: list[dict[str, Any]], pfs: list[dict[str, Any]]) -> dict[str, Any]:
    gateway = router.get("external_gateway_info")
    gw_port = next((p for p in ports if p["device_owner"] == l3.DEVICE_OWNER_ROUTER_GW), None)
    return {
        **{k: router.get(k) for k in ("id", "name", "project_id", "tenant_id",
                                      "admin_state_up", "status", "routes")},
        "distributed": False, "ha": False,
        "enable_snat": bool(gateway["enable_snat"]) if gateway else True,
        "external_gateway_info": gateway,
        "gw_port": gw_port if gateway else None,
        "_interfaces": [p for p in ports if p["device_owner"] == l3.DEVICE_OWNER_ROUTER_INTF],
        "_floatingips": sorted(fips, key=lambda f: f["id"]),
        "_port_forwardings": sorted(pfs, key=lambda f: f["id"]),
    }


class L3RpcCallback:
    """``q-l3-plugin`` endpoint of the L3 agents (Neutron's L3RpcCallback)."""

    target = oslo_messaging.Target(version=L3_RPC_VERSION)

    def __init__(self, core: Any, plugin: Any) -> None:
        self.core = core
        self.plugin = plugin

    def sync_routers(self, context: Any, host: str | None = None,
                     router_ids: list[str] | None = None,
                     **kwargs: Any) -> list[dict[str, Any]]:
        """The routers scheduled to ``host``'s agent (of ``router_ids`` when given)."""
        if not host:
            return []
        mine = self.plugin.router_ids_on_host(host)
        if router_ids is not None:
            wanted = set(router_ids)
            mine = [r for r in mine if r in wanted]
        return routers_sync_data(self.core, self.plugin, mine, host)

    def get_router_ids(self, context: Any, host: str | None = None,
                       **kwargs: Any) -> list[str]:
        """Routers of ``host``'s agent, after it took the unhosted ones it can serve."""
        if not host:
            return []
        self.plugin.auto_schedule(host)
        return list(self.plugin.router_ids_on_host(host))

    def update_floatingip_statuses(self, context: Any, router_id: str | None = None,
                                   fip_statuses: dict[str, str] | None = None,
                                   **kwargs: Any) -> None:
        if router_id and fip_statuses:
            self.plugin.update_floatingip_statuses(router_id, dict(fip_statuses))

    def get_service_plugin_list(self, context: Any, **kwargs: Any) -> list[str]:
        names = [*getattr(self.core, "implicit_service_plugins", ()),
                 *(n.strip() for n in self.plugin.conf.service_plugins if n.strip())]
        return list(dict.fromkeys(names))
