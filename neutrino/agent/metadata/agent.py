"""The metadata agent: the unix-socket server plus the device-agent skeleton's heartbeat.

It holds no devices: its rounds are empty, and the skeleton (``agent.common.device_agent``)
only sends ``report_state`` as agent type "Metadata agent". Requests are answered on the
server's threads (``server``), each through the port lookup cache and Nova's client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from neutrino.agent.common.device_agent import DeviceAgent, Phase, StateReporter
from neutrino.agent.metadata.config import MetadataAgentConfig
from neutrino.agent.metadata.handler import MetadataHandler
from neutrino.agent.metadata.lookup import PortLookup, TtlCache
from neutrino.agent.metadata.nova import NovaMetadataClient, tls_verify
from neutrino.agent.metadata.server import MetadataSocketServer
from neutrino.agent.metadata.server_api import (
    AGENT_BINARY_METADATA,
    AGENT_TYPE_METADATA,
    MetadataPluginApi,
)


class MetadataAgent(DeviceAgent):
    """Serves metadata on ``config.socket_path`` and reports its state."""

    agent_name = "metadata-agent"

    def __init__(self, config: MetadataAgentConfig, plugin_rpc: MetadataPluginApi,
                 state_rpc: StateReporter | None = None, *,
                 nova_transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config.host, state_rpc, report_interval=config.report_interval,
                         idle_interval=config.report_interval, retry_interval=1.0,
                         clock=clock)
        self.config = config
        self.lookup = PortLookup(plugin_rpc, TtlCache(config.cache_ttl, clock))
        self.nova = NovaMetadataClient(
            config.nova_url, timeout=config.nova_timeout, transport=nova_transport,
            verify=tls_verify(config.insecure, config.ca_cert, config.client_cert))
        self.handler = MetadataHandler(self.lookup, self.nova, config.shared_secret)
        self.server: MetadataSocketServer | None = None

    def start(self, heartbeat: bool = True) -> None:
        """Listen on the socket, then start the heartbeat."""
        self.server = MetadataSocketServer(
            self.config.socket_path, self.handler, workers=self.config.workers,
            backlog=self.config.backlog, mode=self.config.socket_mode)
        self.server.start()
        super().start(heartbeat)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.nova.close()

    def _phases(self) -> Sequence[Phase]:
        return ()  # nothing to converge: requests are answered as they come

    def state_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "binary": AGENT_BINARY_METADATA, "host": self.host, "topic": "N/A",
            "agent_type": AGENT_TYPE_METADATA, "start_flag": self._start_flag,
            "configurations": {
                "metadata_proxy_socket": str(self.config.socket_path),
                "nova_metadata_url": self.config.nova_url,
                "log_agent_heartbeats": self.config.log_agent_heartbeats,
            },
        }
        if not self._start_flag:
            report.pop("start_flag")
        return report
