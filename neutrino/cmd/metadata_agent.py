"""neutrino-metadata-agent: answers the namespace proxies' requests from Nova's metadata API.

``neutrino-metadata-agent --config-file neutron.conf --config-file metadata_agent.ini``.
Listens on ``metadata_proxy_socket``, finds ports through the server over
``transport_url`` and reports its state as a "Metadata agent".
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.cmd.common import Closer, run_agent

LOG = logging.getLogger("neutrino.cmd.metadata_agent")


def build(conf: Any, transport: Any = None) -> tuple[Any, list[Any]]:
    """The started agent and what to stop with it (the transport, when made here)."""
    from neutrino.agent.metadata.agent import MetadataAgent
    from neutrino.agent.metadata.config import MetadataAgentConfig
    from neutrino.agent.metadata.messaging import RpcMetadataPluginApi
    from neutrino.agent.ovs.messaging import RpcStateReportApi
    from neutrino.rpc.transport import make_transport

    config = MetadataAgentConfig.from_conf(conf)
    owned = transport is None
    if owned:
        transport = make_transport(conf)
    agent = MetadataAgent(config, RpcMetadataPluginApi(transport,
                                                       float(conf.rpc_response_timeout)),
                          RpcStateReportApi(transport, timeout=config.report_interval))
    agent.start()
    return agent, [Closer(transport.cleanup)] if owned else []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (as the console script, exit right after)."""
    from neutrino.conf.metadata import make_metadata_agent_conf

    return run_agent("neutrino-metadata-agent", argv, make_metadata_agent_conf, build,
                     lambda conf, agent: f"listening on {agent.config.socket_path}")


if __name__ == "__main__":
    sys.exit(main())
