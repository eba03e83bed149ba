"""Bridges: the abstract contract, the real adapter (ovsdbapp + ovs-ofctl), an in-memory one.

Only :meth:`Bridge.sync_flows` changes flows: it diffs the flows computed by ``flows.py``
against those the switch holds under the agent's cookie and applies the difference as one
OpenFlow bundle, additions before deletions, so a resync never cuts traffic. The agent owns
its cookie, so what it last pushed is what the switch holds: the switch is only dumped
again on a resync or after the canary saw ovs-vswitchd restart (:meth:`Bridge.forget_flows`).
"""

from __future__ import annotations

import abc
import enum
import ipaddress
import itertools
import logging
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from neutrino.agent.ovs.flowtable import Flow, FlowDiff, apply_diff, diff_flows, parse_dump
from neutrino.agent.ovs.pipeline import BR_INT, CANARY_TABLE, Pipeline

LOG = logging.getLogger(__name__)

OF_PROTOCOLS = ("OpenFlow10", "OpenFlow13", "OpenFlow14")
OFCTL_PROTOCOL = "OpenFlow13"


class BridgeError(RuntimeError):
    """OVSDB or OpenFlow refused an operation, or the switch cannot be reached."""


@dataclass(frozen=True)
class VifPort:
    """An interface plugged as Nova/os-vif do: ``external_ids:iface-id`` names the port."""

    name: str
    port_id: str
    ofport: int | None
    mac_address: str | None = None
    status: str | None = None


def tunnel_port_name(tunnel_type: str, remote_ip: str) -> str:
    """Neutron's tunnel port name: ``<type>-<remote ip in hex>`` (at most 15 characters)."""
    address = ipaddress.ip_address(remote_ip)
    return f"{tunnel_type}-{format(int(address), 'x')[-8:].rjust(8, '0')}"[:15]


class Bridge(abc.ABC):
    """One OVS bridge as the agent sees it: ports over OVSDB, flows over OpenFlow.

    Every method is idempotent: creating what exists or deleting what is gone succeeds.
    Methods raise :class:`BridgeError` when the switch refuses or cannot be reached.
    """

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        self.name = name
        self.pipeline = pipeline
        # (cookie, flows) this object last made the switch hold under that cookie
        self._pushed: tuple[int, frozenset[Flow]] | None = None

    @abc.abstractmethod
    def ensure(self) -> None:
        """Create the bridge if missing (secure fail mode, OpenFlow 1.0/1.3/1.4)."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """Delete the bridge and its ports, if it exists."""

    @abc.abstractmethod
    def add_patch_port(self, name: str, peer: str) -> int:
        """Create (or keep) patch port ``name`` peered with ``peer``; return its ofport."""

    @abc.abstractmethod
    def add_tunnel_port(self, name: str, tunnel_type: str, remote_ip: str,
                        local_ip: str, options: Mapping[str, str] | None = None) -> int:
        """Create (or keep) a flow-keyed tunnel port (``key=flow``); return its ofport."""

    @abc.abstractmethod
    def delete_port(self, name: str) -> None:
        """Delete port ``name`` if it exists."""

    @abc.abstractmethod
    def get_ofport(self, name: str) -> int | None:
        """The OpenFlow port number of interface ``name``; None if absent or not assigned."""

    @abc.abstractmethod
    def set_port_tag(self, name: str, tag: int | None) -> None:
        """Set (or with None clear) the access VLAN tag (the local VLAN) of port ``name``."""

    def get_port_tag(self, name: str) -> int | None:
        """The access VLAN tag of port ``name``; None if untagged or absent."""
        return None

    @abc.abstractmethod
    def list_ports(self) -> list[str]:
        """Names of the bridge's ports, sorted."""

    @abc.abstractmethod
    def get_vif_ports(self) -> list[VifPort]:
        """Ports carrying ``external_ids:iface-id`` (VIFs), sorted by name."""

    @abc.abstractmethod
    def dump_flows(self, cookie: int | None = None, table: str | None = None) -> frozenset[Flow]:
        """Flows installed on the switch, optionally only ``cookie``'s and ``table``'s."""

    @abc.abstractmethod
    def apply(self, diff: FlowDiff) -> None:
        """Apply ``diff`` atomically: all of it (adds, then deletes) or none of it."""

    def sync_flows(self, desired: Iterable[Flow], cookie: int,
                   refresh: bool = False) -> FlowDiff:
        """Make the flows under ``cookie`` equal ``desired``; return what changed.

        The diff is taken against the flows this object last pushed under ``cookie``; the
        switch is dumped only when there is no such record, or when ``refresh`` asks for it
        (a resync: something else may have changed the table). Flows of other cookies
        (learnt ones, other agents') are never touched. Running it again with the same
        ``desired`` changes nothing.
        """
        wanted = frozenset(desired)
        foreign = [flow for flow in wanted if flow.cookie != cookie]
        if foreign:
            raise ValueError(f"{len(foreign)} desired flows do not carry cookie {cookie:#x}")
        if refresh or self._pushed is None or self._pushed[0] != cookie:
            self._pushed = (cookie, self.dump_flows(cookie=cookie))
        diff = diff_flows(wanted, self._pushed[1])
        if not diff.empty:
            LOG.debug("%s: adding %d flows, deleting %d", self.name, len(diff.add),
                      len(diff.delete))
            self._pushed = None  # unknown until the bundle is known to have gone in
            self.apply(diff)
        self._pushed = (cookie, wanted)
        return diff

    def forget_flows(self) -> None:
        """Drop the record of pushed flows: the next sync reads the switch (OVS restarted)."""
        self._pushed = None

    def delete_stale_flows(self, cookie: int, owned: Callable[[int], bool]) -> int:
        """Delete flows whose cookie ``owned`` claims but that are not ``cookie``'s.

        That is how a restarted agent drops its previous run's flows once its own are in
        place; learnt flows (cookie 0) and other owners' flows stay. Returns the count.
        """
        stale = tuple(sorted(flow for flow in self.dump_flows()
                             if flow.cookie != cookie and owned(flow.cookie)))
        if stale:
            self.apply(FlowDiff(delete=stale))
        return len(stale)


class OvsStatus(enum.IntEnum):
    """Neutron's OVS status codes from the canary check."""

    RESTARTED = 0
    NORMAL = 1
    DEAD = 2


def check_canary(int_br: Bridge) -> OvsStatus:
    """NORMAL while br-int's CANARY_TABLE holds a flow; RESTARTED when empty; DEAD on error."""
    try:
        flows = int_br.dump_flows(table=CANARY_TABLE)
    except BridgeError:
        return OvsStatus.DEAD
    return OvsStatus.NORMAL if flows else OvsStatus.RESTARTED


# The real adapter ---------------------------------------------------------------------------

Runner = Callable[[Sequence[str], str | None], str]


def run_command(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run ``argv`` and return stdout; :class:`BridgeError` with stderr if it fails."""
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BridgeError(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise BridgeError(f"{' '.join(argv[:4])}… failed: {proc.stderr.strip()}")
    return proc.stdout


def ovsdb_api(connection: str, timeout: float = 10.0) -> Any:
    """An ovsdbapp Open_vSwitch API bound to its own connection (e.g. ``unix:/x/db.sock``).

    ovsdbapp keeps the connection on the API class, so each call makes a subclass: several
    hosts (OVS instances) can then be driven from one process.
    """
    from ovsdbapp.backend.ovs_idl import connection as ovs_connection
    from ovsdbapp.schema.open_vswitch import impl_idl

    try:
        idl = ovs_connection.OvsdbIdl.from_server(connection, "Open_vSwitch")
    except Exception as exc:  # ovsdbapp raises bare Exception when it cannot connect
        raise BridgeError(f"cannot reach OVSDB at {connection}: {exc}") from exc
    api_class = type("NeutrinoOvsdbIdl", (impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})
    return api_class(ovs_connection.Connection(idl=idl, timeout=timeout))


def close_ovsdb_api(api: Any) -> None:
    """Stop the connection thread of an API made by :func:`ovsdb_api`."""
    api.ovsdb_connection.stop()


class OvsBridge(Bridge):
    """A real bridge: ports through ovsdbapp, flows through ``ovs-ofctl`` bundles.

    ``rundir`` is the OVS run directory holding ``<bridge>.mgmt`` (default: ovs-ofctl's own),
    ``runner`` runs ovs-ofctl (injectable for tests).
    """

    def __init__(self, name: str, api: Any, pipeline: Pipeline = BR_INT,
                 datapath_type: str = "system", rundir: str | None = None,
                 runner: Runner = run_command, ofport_timeout: float = 10.0) -> None:
        super().__init__(name, pipeline)
        self.api = api
        self.datapath_type = datapath_type
        self.target = f"unix:{rundir}/{name}.mgmt" if rundir else name
        self._run = runner
        self._ofport_timeout = ofport_timeout

    def _txn(self, *commands: Any) -> list[Any]:
        try:
            with self.api.transaction(check_error=True) as txn:
                for command in commands:
                    txn.add(command)
            return list(txn.result or [])
        except BridgeError:
            raise
        except Exception as exc:  # ovsdbapp surfaces OVSDB errors as plain exceptions
            raise BridgeError(f"{self.name}: OVSDB transaction failed: {exc}") from exc

    def ensure(self) -> None:
        self._txn(
            self.api.add_br(self.name, may_exist=True, datapath_type=self.datapath_type),
            self.api.db_set("Bridge", self.name, ("protocols", list(OF_PROTOCOLS)),
                            ("fail_mode", "secure")),
        )

    def destroy(self) -> None:
        self.forget_flows()
        self._txn(self.api.del_br(self.name, if_exists=True))

    def _add_port(self, name: str, if_type: str, options: Mapping[str, str]) -> int:
        self._txn(
            self.api.add_port(self.name, name, may_exist=True),
            self.api.db_set("Interface", name, ("type", if_type), ("options", dict(options))),
        )
        return self._wait_ofport(name)

    def _wait_ofport(self, name: str) -> int:
        deadline = time.monotonic() + self._ofport_timeout
        while (ofport := self.get_ofport(name)) is None:
            if time.monotonic() > deadline:
                raise BridgeError(f"{self.name}: {name} got no ofport")
            time.sleep(0.05)
        return ofport

    def add_patch_port(self, name: str, peer: str) -> int:
        return self._add_port(name, "patch", {"peer": peer})

    def add_tunnel_port(self, name: str, tunnel_type: str, remote_ip: str,
                        local_ip: str, options: Mapping[str, str] | None = None) -> int:
        opts = {"df_default": "true", "in_key": "flow", "out_key": "flow",
                "local_ip": local_ip, "remote_ip": remote_ip, **(options or {})}
        return self._add_port(name, tunnel_type, opts)

    def delete_port(self, name: str) -> None:
        self._txn(self.api.del_port(name, bridge=self.name, if_exists=True))

    def get_ofport(self, name: str) -> int | None:
        rows = self._txn(self.api.db_list("Interface", [name], columns=["ofport"],
                                          if_exists=True))
        values = rows[0] if rows else []
        ofport = values[0]["ofport"] if values else None
        if isinstance(ofport, list):
            ofport = ofport[0] if ofport else None
        return ofport if isinstance(ofport, int) and ofport > 0 else None

    def set_port_tag(self, name: str, tag: int | None) -> None:
        if tag is None:
            self._txn(self.api.db_clear("Port", name, "tag"))
        else:
            self._txn(self.api.db_set("Port", name, ("tag", tag)))

    def get_port_tag(self, name: str) -> int | None:
        rows = self._txn(self.api.db_list("Port", [name], columns=["tag"], if_exists=True))
        values = rows[0] if rows else []
        tag = values[0]["tag"] if values else None
        if isinstance(tag, list):
            tag = tag[0] if tag else None
        return tag if isinstance(tag, int) else None

    def list_ports(self) -> list[str]:
        return sorted(self._txn(self.api.list_ports(self.name))[0])

    def get_vif_ports(self) -> list[VifPort]:
        names = self._txn(self.api.list_ifaces(self.name))[0]
        rows = self._txn(self.api.db_list(
            "Interface", names, columns=["name", "ofport", "external_ids"], if_exists=True))[0]
        vifs = (vif_from_row(row) for row in rows)
        return sorted((v for v in vifs if v is not None), key=lambda v: v.name)

    def _ofctl(self, *args: str, stdin: str | None = None) -> str:
        # --no-names: our flows use port numbers; without it ovs-ofctl fetches the port
        # table to translate names, an extra round trip that doubles a call's latency.
        return self._run(["ovs-ofctl", "-O", OFCTL_PROTOCOL, "--no-names", *args], stdin)

    def dump_flows(self, cookie: int | None = None, table: str | None = None) -> frozenset[Flow]:
        spec = []
        if cookie is not None:
            spec.append(f"cookie={cookie:#x}/-1")
        if table is not None:
            spec.append(f"table={self.pipeline.table(table).number}")
        out = self._ofctl("dump-flows", "--no-stats", self.target, *([",".join(spec)] if spec
                                                                      else []))
        return parse_dump(out, self.pipeline)

    def apply(self, diff: FlowDiff) -> None:
        if not diff.empty:
            self._ofctl("--bundle", "add-flows", self.target, "-", stdin=diff.bundle())


def vif_from_row(row: Mapping[str, Any]) -> VifPort | None:
    """A :class:`VifPort` from an Interface row (as a dict), or None if it is not a VIF."""
    ids = dict(row.get("external_ids") or {})
    if "iface-id" not in ids:
        return None
    ofport = row.get("ofport")
    if isinstance(ofport, list):
        ofport = ofport[0] if ofport else None
    return VifPort(name=row["name"], port_id=ids["iface-id"],
                   ofport=ofport if isinstance(ofport, int) and ofport > 0 else None,
                   mac_address=ids.get("attached-mac"), status=ids.get("iface-status"))


# The in-memory bridge -----------------------------------------------------------------------

@dataclass
class _MemPort:
    ofport: int
    if_type: str = ""
    options: dict[str, str] = field(default_factory=dict)
    tag: int | None = None
    external_ids: dict[str, str] = field(default_factory=dict)


class InMemoryBridge(Bridge):
    """A bridge held in memory, for unit tests and simulated agents (same contract)."""

    def __init__(self, name: str, pipeline: Pipeline = BR_INT) -> None:
        super().__init__(name, pipeline)
        self.exists = False
        self.ports: dict[str, _MemPort] = {}
        self.flows: frozenset[Flow] = frozenset()
        self.bundles_applied = 0
        self.dumps = 0
        self._ofports = itertools.count(1)

    def _need(self) -> None:
        if not self.exists:
            raise BridgeError(f"bridge {self.name} does not exist")

    def ensure(self) -> None:
        self.exists = True

    def destroy(self) -> None:
        self.forget_flows()
        self.exists, self.ports, self.flows = False, {}, frozenset()

    def restart(self) -> None:
        """Simulate an ovs-vswitchd restart: OVSDB content stays, every flow is lost.

        The record of pushed flows is kept on purpose: finding out (the canary) and
        forgetting it is the agent's job, as with a real switch.
        """
        self.flows = frozenset()

    def _add(self, name: str, if_type: str, options: Mapping[str, str],
             external_ids: Mapping[str, str] | None = None) -> int:
        self._need()
        port = self.ports.get(name)
        if port is None:
            port = self.ports[name] = _MemPort(ofport=next(self._ofports))
        port.if_type, port.options = if_type, dict(options)
        port.external_ids = dict(external_ids or port.external_ids)
        return port.ofport

    def add_patch_port(self, name: str, peer: str) -> int:
        return self._add(name, "patch", {"peer": peer})

    def add_tunnel_port(self, name: str, tunnel_type: str, remote_ip: str,
                        local_ip: str, options: Mapping[str, str] | None = None) -> int:
        opts = {"in_key": "flow", "out_key": "flow", "local_ip": local_ip,
                "remote_ip": remote_ip, **(options or {})}
        return self._add(name, tunnel_type, opts)

    def add_vif(self, name: str, port_id: str, mac_address: str,
                status: str = "active") -> int:
        """Plug a VIF the way Nova does (in-memory only; real VIFs come from Nova)."""
        ids = {"iface-id": port_id, "attached-mac": mac_address, "iface-status": status}
        return self._add(name, "", {}, ids)

    def delete_port(self, name: str) -> None:
        self.ports.pop(name, None)

    def get_ofport(self, name: str) -> int | None:
        port = self.ports.get(name)
        return port.ofport if port else None

    def set_port_tag(self, name: str, tag: int | None) -> None:
        self._need()
        if name not in self.ports:
            raise BridgeError(f"{self.name}: no port {name}")
        self.ports[name].tag = tag

    def get_port_tag(self, name: str) -> int | None:
        port = self.ports.get(name)
        return port.tag if port else None

    def list_ports(self) -> list[str]:
        return sorted(self.ports)

    def get_vif_ports(self) -> list[VifPort]:
        rows = ({"name": n, "ofport": p.ofport, "external_ids": p.external_ids}
                for n, p in self.ports.items())
        return sorted((v for v in map(vif_from_row, rows) if v), key=lambda v: v.name)

    def dump_flows(self, cookie: int | None = None, table: str | None = None) -> frozenset[Flow]:
        self._need()
        self.dumps += 1
        table_id = self.pipeline.table(table).number if table else None
        return frozenset(f for f in self.flows
                         if (cookie is None or f.cookie == cookie)
                         and (table_id is None or f.table_id == table_id))

    def apply(self, diff: FlowDiff) -> None:
        self._need()
        self.flows = apply_diff(self.flows, diff)
        self.bundles_applied += 1

    def add_foreign_flow(self, flow: Flow) -> None:
        """Install a flow as something other than the agent would (learning, an operator)."""
        self.flows = apply_diff(self.flows, FlowDiff(add=(flow,)))


def with_cookie(flows: Iterable[Flow], cookie: int) -> frozenset[Flow]:
    """``flows`` re-stamped with ``cookie`` (e.g. when an agent changes its cookie)."""
    return frozenset(replace(flow, cookie=cookie) for flow in flows)
