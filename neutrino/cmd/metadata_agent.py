"""neutrino-metadata-agent: answers the namespace proxies' requests from Nova's metadata API.

``neutrino-metadata-agent --config-file neutron.conf --config-file metadata_agent.ini``.
Listens on ``metadata_proxy_socket``, finds ports through the server over
``transport_url`` and reports its state as a "Metadata agent".
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.cmd.ovs_agent import _Closer, stop

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
    return agent, [_Closer(transport.cleanup)] if owned else []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (as the console script, exit right after)."""
    code = _main(argv)
    if argv is None:
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    from neutrino.cmd.common import setup_logging
    from neutrino.conf import ConfigError
    from neutrino.conf.metadata import make_metadata_agent_conf

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        conf = make_metadata_agent_conf(args)
    except ConfigError as exc:
        print(f"neutrino-metadata-agent: {exc}", file=sys.stderr)
        return 2
    setup_logging(conf)
    agent, resources = build(conf)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop(timeout=0))
    signal.signal(signal.SIGINT, lambda *_: agent.stop(timeout=0))
    LOG.info("neutrino-metadata-agent started on host %s, listening on %s", conf.host,
             agent.config.socket_path)
    try:
        agent.wait()
    finally:
        stop(agent, resources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
