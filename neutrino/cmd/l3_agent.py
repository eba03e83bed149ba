"""neutrino-l3-agent: the L3 agent of one host (legacy routers in qrouter namespaces).

``neutrino-l3-agent --config-file neutron.conf --config-file l3_agent.ini``. Plugs router
devices into the OVS named by ``[ovs] ovsdb_connection``, writes NAT with iptables in
each router's namespace and talks to the server over ``transport_url``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.cmd.common import Closer, run_agent

LOG = logging.getLogger("neutrino.cmd.l3_agent")


def build(conf: Any, transport: Any = None) -> tuple[Any, list[Any]]:
    """The started agent and what to stop with it (consumer, OVSDB, owned transport)."""
    from neutrino.agent.l3.agent import L3Agent
    from neutrino.agent.l3.config import L3AgentConfig
    from neutrino.agent.l3.devices import RouterDevices
    from neutrino.agent.l3.interface import RouterInterfaceDriver
    from neutrino.agent.l3.messaging import RpcL3PluginApi, start_consumer
    from neutrino.agent.l3.wiring import WiringWatcher, ovsdb_wait
    from neutrino.agent.ovs.bridge import close_ovsdb_api, ovsdb_api
    from neutrino.agent.ovs.messaging import RpcStateReportApi
    from neutrino.rpc.transport import make_transport

    config = L3AgentConfig.from_conf(conf)
    api = ovsdb_api(conf.ovs.ovsdb_connection, timeout=conf.ovs.ovsdb_timeout)
    owned = transport is None
    if owned:
        transport = make_transport(conf)
    devices = RouterDevices(RouterInterfaceDriver(api, config.integration_bridge),
                            config.state_dir,
                            config.metadata_proxy_socket if config.enable_metadata_proxy
                            else None,
                            metadata_port=config.metadata_port,
                            arp_count=config.send_arp_for_ha,
                            wiring=WiringWatcher(ovsdb_wait(conf.ovs.ovsdb_connection)))
    agent = L3Agent(config, RpcL3PluginApi(transport, config.host,
                                           float(conf.rpc_response_timeout)),
                    devices, RpcStateReportApi(transport, timeout=config.report_interval))
    # consume before the first sync: a cast sent while it runs is not lost
    closers = [start_consumer(transport, config.host, agent), Closer(close_ovsdb_api, api)]
    agent.start()
    if owned:
        closers.append(Closer(transport.cleanup))
    return agent, closers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (as the console script, exit right after)."""
    from neutrino.conf.l3_agent import make_l3_agent_conf

    return run_agent("neutrino-l3-agent", argv, make_l3_agent_conf, build,
                     lambda conf, agent: f"state in {agent.config.state_dir}")


if __name__ == "__main__":
    sys.exit(main())
