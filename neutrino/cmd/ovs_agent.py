"""neutrino-ovs-agent: the Open vSwitch agent of one host.

``neutrino-ovs-agent --config-file neutron.conf --config-file openvswitch_agent.ini``.
Talks to the OVS named by ``[ovs] ovsdb_connection`` (so it can run inside a network
namespace against that namespace's own OVS) and to the server over ``transport_url``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.cmd.common import Closer, run_agent, stop_agent

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
    closers = [monitor, consumers, Closer(close_ovsdb_api, api)]
    if owned:
        closers.append(Closer(transport.cleanup))
    return agent, closers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (as the console script, exit right after)."""
    from neutrino.conf.agent import make_agent_conf

    return run_agent("neutrino-ovs-agent", argv, make_agent_conf, build,
                     lambda conf, agent: f"cookie {agent.cookie:#x}, firewall "
                                         f"{agent.config.firewall_driver}")


def stop(agent: Any, resources: list[Any]) -> None:
    """Stop the agent, then what ``build`` made for it (monitor, consumers, OVSDB)."""
    stop_agent(agent, resources)


if __name__ == "__main__":
    sys.exit(main())
