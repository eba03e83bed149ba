"""The metadata agent's ``q-plugin`` client over oslo.messaging (namespace ``metadata``)."""

from __future__ import annotations

from typing import Any

import oslo_messaging

from neutrino.agent.metadata.server_api import METADATA_RPC_NAMESPACE, METADATA_RPC_VERSION
from neutrino.rpc import client, topics


class RpcMetadataPluginApi:
    """:class:`~neutrino.agent.metadata.server_api.MetadataPluginApi` over ``q-plugin``.

    No retries here: a guest's request is waiting, so the agent answers 503 at once
    rather than after a back-off; cloud-init asks again.
    """

    def __init__(self, transport: oslo_messaging.Transport,
                 timeout: float = client.DEFAULT_TIMEOUT) -> None:
        target = oslo_messaging.Target(topic=topics.PLUGIN, namespace=METADATA_RPC_NAMESPACE,
                                       version=METADATA_RPC_VERSION)
        self._client = oslo_messaging.get_rpc_client(
            transport, target, retry=client.DEFAULT_CONNECTION_RETRIES).prepare(
                timeout=timeout)

    def get_ports(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return list(self._client.call({}, "get_ports", filters=filters) or [])
        except client._UNREACHABLE as exc:
            raise client.ServerUnreachable(f"get_ports: {exc}") from exc
        except oslo_messaging.RemoteError as exc:  # the server failed to answer
            raise client.RpcError(f"get_ports: {exc}") from exc
