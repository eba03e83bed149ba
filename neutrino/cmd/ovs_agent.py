"""neutrino-ovs-agent: the Open vSwitch agent of one host.

``neutrino-ovs-agent --config-file neutron.conf --config-file openvswitch_agent.ini``.
Talks to the OVS named by ``[ovs] ovsdb_connection`` (so it can run inside a network
namespace against that namespace's own OVS) and to the server over ``transport_url``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

LOG = logging.getLogger("neutrino.cmd.ovs_agent")


def ovs_rundir(ovsdb_connection: str) -> str | None:
    """The OVS run directory (where ``<bridge>.mgmt`` lives) next to a ``unix:`` OVSDB socket."""
    if ovsdb_connection.startswith("unix:"):
        return os.path.dirname(ovsdb_connection[len("unix:"):]) or None
    return os.environ.get("OVS_RUNDIR")


def build(conf: Any, transport: Any = None) -> tuple[Any, list[Any]]:
    """The agent and the things to stop with it (consumers, monitor, OVSDB, transport).

    ``transport`` shares one the caller owns (the all-in-one's in-process bus, which
    only connects parties holding the same transport object); otherwise the agent
    makes its own from ``transport_url`` and closes it when it stops.
    """
    from neutrino.agent.ovs import pipeline as p
    from neutrino.agent.ovs.agent import AgentConfig, OvsAgent
    from neutrino.agent.ovs.bridge import OvsBridge, close_ovsdb_api, ovsdb_api
    from neutrino.agent.ovs.messaging import (
        RpcPluginApi,
        RpcStateReportApi,
        consumer_topics,
        start_consumers,
    )
    from neutrino.agent.ovs.monitor import VifMonitor
    from neutrino.rpc.transport import make_transport

    config = AgentConfig.from_conf(conf)
    connection = conf.ovs.ovsdb_connection
    api = ovsdb_api(connection, timeout=conf.ovs.ovsdb_timeout)
    rundir = ovs_rundir(connection)

    def factory(name: str, pipeline: p.Pipeline) -> OvsBridge:
        return OvsBridge(name, api, pipeline, datapath_type=config.datapath_type,
                         rundir=rundir)

    owned = transport is None
    if owned:
        transport = make_transport(conf)
    timeout = float(conf.rpc_response_timeout)
    agent = OvsAgent(config, factory,
                     RpcPluginApi(transport, config.host, timeout, config.processing_step),
                     RpcStateReportApi(transport, timeout=config.report_interval))
    agent.start()
    consumers = start_consumers(transport, config.host, agent,
                                consumer_topics(config.l2_population))
    monitor = VifMonitor(connection, agent.vif_changed,
                         bridge=config.topology.integration_bridge)
    monitor.start()
    closers = [monitor, consumers, _Closer(close_ovsdb_api, api)]
    if owned:
        closers.append(_Closer(transport.cleanup))
    return agent, closers


class _Closer:
    def __init__(self, fn: Any, *args: Any) -> None:
        self._fn, self._args = fn, args

    def stop(self) -> None:
        self._fn(*self._args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT.

    Called as the console script (``argv`` None), the process exits as soon as the agent
    has stopped: oslo.messaging's executor leaves non-daemon worker threads behind that
    would otherwise keep the interpreter alive for many seconds.
    """
    code = _main(argv)
    if argv is None:
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    from neutrino.cmd.common import setup_logging
    from neutrino.conf import ConfigError
    from neutrino.conf.agent import make_agent_conf

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        conf = make_agent_conf(args)
    except ConfigError as exc:
        print(f"neutrino-ovs-agent: {exc}", file=sys.stderr)
        return 2
    setup_logging(conf)
    agent, resources = build(conf)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop(timeout=0))
    signal.signal(signal.SIGINT, lambda *_: agent.stop(timeout=0))
    LOG.info("neutrino-ovs-agent started on host %s (cookie %#x, firewall %s)", conf.host,
             agent.cookie, agent.config.firewall_driver)
    try:
        agent.wait()
    finally:
        stop(agent, resources)
    return 0


def stop(agent: Any, resources: list[Any]) -> None:
    """Stop the agent, then what ``build`` made for it (monitor, consumers, OVSDB)."""
    agent.stop()
    for resource in resources:
        try:
            resource.stop()
        except Exception:  # keep stopping the others
            LOG.exception("stopping %s failed", resource)


if __name__ == "__main__":
    sys.exit(main())
