"""neutrino-dhcp-agent: the DHCP agent of one host (dnsmasq per network, in namespaces).

``neutrino-dhcp-agent --config-file neutron.conf --config-file dhcp_agent.ini``. Plugs
DHCP ports into the OVS named by ``[ovs] ovsdb_connection`` and talks to the server over
``transport_url``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.cmd.common import Closer, run_agent

LOG = logging.getLogger("neutrino.cmd.dhcp_agent")


def build(conf: Any, transport: Any = None) -> tuple[Any, list[Any]]:
    """The started agent and what to stop with it (consumer, OVSDB, owned transport)."""
    from neutrino.agent.dhcp.agent import DhcpAgent
    from neutrino.agent.dhcp.config import DhcpAgentConfig
    from neutrino.agent.dhcp.devices import DhcpDevices
    from neutrino.agent.dhcp.interface import OvsInterfaceDriver
    from neutrino.agent.dhcp.messaging import RpcDhcpPluginApi, start_consumer
    from neutrino.agent.ovs.bridge import close_ovsdb_api, ovsdb_api
    from neutrino.agent.ovs.messaging import RpcStateReportApi
    from neutrino.rpc.transport import make_transport

    config = DhcpAgentConfig.from_conf(conf)
    api = ovsdb_api(conf.ovs.ovsdb_connection, timeout=conf.ovs.ovsdb_timeout)
    owned = transport is None
    if owned:
        transport = make_transport(conf)
    devices = DhcpDevices(OvsInterfaceDriver(api, config.integration_bridge),
                          config.confs_dir, config.metadata_proxy_socket)
    agent = DhcpAgent(config, RpcDhcpPluginApi(transport, config.host,
                                               float(conf.rpc_response_timeout)),
                      devices, RpcStateReportApi(transport, timeout=config.report_interval))
    agent.start()
    closers = [start_consumer(transport, config.host, agent), Closer(close_ovsdb_api, api)]
    if owned:
        closers.append(Closer(transport.cleanup))
    return agent, closers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (as the console script, exit right after)."""
    from neutrino.conf.dhcp import make_dhcp_agent_conf

    return run_agent("neutrino-dhcp-agent", argv, make_dhcp_agent_conf, build,
                     lambda conf, agent: f"state in {agent.config.confs_dir}")


if __name__ == "__main__":
    sys.exit(main())
