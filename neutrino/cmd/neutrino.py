"""neutrino: the all-in-one server (no arguments) and the admin commands.

    neutrino                       all-in-one: SQLite file, in-process bus, noauth,
                                   API on 127.0.0.1:9696, and the OVS, DHCP,
                                   metadata (and, with the router plugin, L3)
                                   agents in this process when an OVS is reachable
    neutrino run [--no-agent] [--config-file F …]
    neutrino db upgrade|current [--config-file F …]
    neutrino journal status|list|show ID|retry ID|sync [--config-file F …]
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

from neutrino.cmd import journal as journal_cmd
from neutrino.cmd.common import setup_logging
from neutrino.conf import ConfigError, make_conf
from neutrino.db import migration
from neutrino.db.api import make_engine

LOG = logging.getLogger(__name__)

ALL_IN_ONE: dict[str, dict[str, object]] = {
    "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": 9696,
                "transport_url": "fake://",
                "service_plugins": ["router", "segments", "network_segment_range"]},
    "ml2": {"mechanism_drivers": ["openvswitch", "l2population"],
            "tenant_network_types": ["vxlan", "local"]},
    "ml2_type_vxlan": {"vni_ranges": ["1:65535"]},
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neutrino", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the all-in-one server")
    run.add_argument("--no-agent", action="store_true",
                     help="serve the API only: no in-process OVS, DHCP or "
                          "metadata agent")
    db = sub.add_parser("db", help="database schema management")
    db.add_argument("action", choices=["upgrade", "current"])
    journal_cmd.add_parser(sub)
    return parser


def ovsdb_reachable(connection: str) -> bool:
    """Whether an OVSDB server answers at ``unix:PATH`` or ``tcp:HOST:PORT``."""
    kind, _, where = connection.partition(":")
    try:
        if kind == "unix":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(where)
            return True
        if kind == "tcp":
            host, _, port = where.rpartition(":")
            socket.create_connection((host, int(port)), timeout=1).close()
            return True
    except (OSError, ValueError):
        return False
    return False


def start_local_agent(server: Any, config_args: list[str],
                      overrides: dict[str, dict[str, object]] | None = None
                      ) -> list[tuple[Any, list[Any]]] | None:
    """The all-in-one's agents: OVS, metadata, DHCP and (with a router service plugin)
    L3, in this process on the server's in-process bus.

    Started when the OVS of ``[ovs] ovsdb_connection`` answers; without one the
    server still serves the API and ports stay unbound. Returns (agent, resources)
    pairs in start order (the metadata socket exists before any DHCP namespace's
    proxy forwards to it).
    """
    from neutrino.cmd import dhcp_agent, l3_agent, metadata_agent, ovs_agent
    from neutrino.conf.agent import make_agent_conf
    from neutrino.conf.dhcp import make_dhcp_agent_conf
    from neutrino.conf.l3_agent import make_l3_agent_conf
    from neutrino.conf.metadata import make_metadata_agent_conf

    defaults: dict[str, dict[str, object]] = {
        "DEFAULT": {"host": server.conf.host},
        "agent": {"tunnel_types": ["vxlan"], "l2_population": True},
        # Security groups are enforced out of the box, as on a devstack.
        "securitygroup": {"firewall_driver": "openvswitch"},
        "ovs": {"local_ip": "127.0.0.1"}}
    merged = _merged(defaults if not config_args else {}, overrides)
    conf = make_agent_conf(config_args, prog="neutrino", overrides=merged)
    if not ovsdb_reachable(conf.ovs.ovsdb_connection):
        LOG.info("no OVS at %s: serving the API without local agents",
                 conf.ovs.ovsdb_connection)
        return None
    transport = server.rpc.transport
    local = [ovs_agent.build(conf, transport=transport)]
    try:
        # The metadata agent reads no [ovs]/[agent] tunnel options: only [DEFAULT].
        meta_conf = make_metadata_agent_conf(config_args, prog="neutrino", overrides={
            "DEFAULT": dict(merged.get("DEFAULT", {}))})
        local.append(metadata_agent.build(meta_conf, transport=transport))
        # Without an L3 agent, the DHCP namespaces are where guests find metadata.
        dhcp_defaults: dict[str, dict[str, object]] = {
            "DEFAULT": {"enable_isolated_metadata": True}}
        dhcp_conf = make_dhcp_agent_conf(config_args, prog="neutrino", overrides=_merged(
            dhcp_defaults if not config_args else {}, merged))
        local.append(dhcp_agent.build(dhcp_conf, transport=transport))
        if serves_routers(server):  # the L3 agent's calls need the router plugin's RPC
            l3_conf = make_l3_agent_conf(config_args, prog="neutrino", overrides=merged)
            local.append(l3_agent.build(l3_conf, transport=transport))
    except BaseException:
        stop_local_agent(local)
        raise
    return local


def serves_routers(server: Any) -> bool:
    """Whether a service plugin of ``server`` implements routers (``router`` extension)."""
    return any("router" in getattr(plugin, "supported_extension_aliases", ())
               for plugin in server.service_plugins)


def _merged(base: dict[str, dict[str, object]],
            extra: dict[str, dict[str, object]] | None) -> dict[str, dict[str, object]]:
    merged = {group: dict(opts) for group, opts in base.items()}
    for group, opts in (extra or {}).items():
        merged.setdefault(group, {}).update(opts)
    return merged


def stop_local_agent(local: list[tuple[Any, list[Any]]] | None) -> None:
    """Stop the local agents, the last started first."""
    if local is None:
        return
    from neutrino.cmd import ovs_agent  # as start_local_agent: only with an agent

    for agent, resources in reversed(local):
        ovs_agent.stop(agent, resources)


def run_all_in_one(config_args: list[str], with_agent: bool = True) -> int:
    from neutrino.api import app as api_app
    from neutrino.api import serve

    overrides = ALL_IN_ONE if not config_args else {}
    conf = make_conf(config_args, prog="neutrino", overrides=overrides)
    setup_logging(conf)
    migration.upgrade(conf.database.connection)
    server = api_app.build(conf)
    local = start_local_agent(server, config_args) if with_agent else None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (systemd, docker stop) unwinds like Ctrl-C: the agent and the
        # journal workers stop cleanly instead of being killed mid-work.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve.serve_forever(server.wsgi_app, conf.bind_host, conf.bind_port)
    finally:
        stop_local_agent(local)
        server.stop()
    return 0


def db_command(action: str, config_args: list[str]) -> int:
    conf = make_conf(config_args, prog="neutrino")
    url = conf.database.connection
    if action == "upgrade":
        migration.upgrade(url)
        print(f"database upgraded to {', '.join(sorted(migration.head_revisions(url)))}")
    else:
        engine = make_engine(url)
        print(", ".join(sorted(migration.current_revisions(engine))) or "(empty)")
        engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    known, config_args = parser.parse_known_args(args)
    try:
        if known.command == "journal":
            return journal_cmd.main(known, config_args)
        if known.command == "db":
            return db_command(known.action, config_args)
        return run_all_in_one(config_args,
                              with_agent=not getattr(known, "no_agent", False))
    except ConfigError as e:
        print(f"neutrino: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # Ctrl-C: everything was stopped on the way out, no traceback


if __name__ == "__main__":
    sys.exit(main())
