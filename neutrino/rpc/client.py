"""Agent side of the RPC: calls to the server and consumers of its notifications.

* ``PluginApi`` — ``q-plugin`` calls (device details, device up/down lists,
  ``tunnel_sync``). Long device lists go in chunks of
  ``rpc_resources_processing_step``. A call that times out is retried with a
  doubled timeout (Neutron's back-off, capped at ``max_timeout``); when the
  retries are spent the call raises ``ServerUnreachable`` — the agent's signal to
  keep its state and resync later, never to crash. ``update_device_list`` and the
  details call instead report an unreachable chunk's devices as failed, the same
  shape the server uses for devices it could not process.
* ``StateReportApi`` — the heartbeat on ``q-reports-plugin``: returns ``new`` /
  ``alive`` / ``revived`` (resync!), or None when the report did not get through.
* ``AgentConsumer`` — the agent's RPC servers on the ``q-agent-notifier-*``
  topics: fanout and ``<topic>.<host>`` direct, as Neutron's ``create_consumers``.

Every class takes the transport as an argument (``fake://`` in unit tests and the
all-in-one, ``rabbit://`` across hosts).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import oslo_messaging

from neutrino.rpc import topics

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_TIMEOUT = 600.0
DEFAULT_STEP = 20
# Broker connection attempts per call: bounded, so a broker outage turns into a
# ServerUnreachable the agent loop handles, instead of a call blocked for ever.
DEFAULT_CONNECTION_RETRIES = 3


class RpcError(Exception):
    """Base of the errors the agent-side RPC raises."""


class ServerUnreachable(RpcError):
    """No server answered in time (or the broker is down): keep state, resync later."""


_UNREACHABLE = (oslo_messaging.MessagingTimeout, oslo_messaging.MessageDeliveryFailure,
                oslo_messaging.MessagingServerError)


class _Caller:
    """``call`` with time-out back-off and bounded retries, on one topic."""

    def __init__(self, transport: oslo_messaging.Transport, topic: str, *,
                 timeout: float = DEFAULT_TIMEOUT, retries: int = 2,
                 max_timeout: float = DEFAULT_MAX_TIMEOUT,
                 connection_retries: int | None = DEFAULT_CONNECTION_RETRIES) -> None:
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        self.max_timeout = max_timeout
        self._client = oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(topic=topic, version="1.0"),
            retry=connection_retries)

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call ``method``; on time-out retry with twice the timeout; then give up."""
        timeout = self.timeout
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                return self._client.prepare(timeout=timeout).call({}, method, **kwargs)
            except _UNREACHABLE as exc:
                LOG.warning("%s: no answer within %.1fs (attempt %d of %d): %s", method,
                            timeout, attempt + 1, self.retries + 1, exc)
                timeout = min(timeout * 2, self.max_timeout)
                last = exc
        raise ServerUnreachable(f"{method}: no server answered") from last

    def cast(self, method: str, **kwargs: Any) -> None:
        try:
            self._client.cast({}, method, **kwargs)
        except _UNREACHABLE as exc:
            raise ServerUnreachable(f"{method}: could not be sent") from exc


def _chunks(items: Sequence[str], step: int) -> Iterable[list[str]]:
    for i in range(0, len(items), step):
        yield list(items[i:i + step])


class PluginApi:
    """``q-plugin`` calls of the agent on ``host`` (Neutron's PluginApi, host bound)."""

    def __init__(self, transport: oslo_messaging.Transport, host: str, *,
                 agent_id: str | None = None, topic: str = topics.PLUGIN,
                 timeout: float = DEFAULT_TIMEOUT, retries: int = 2,
                 max_timeout: float = DEFAULT_MAX_TIMEOUT, step: int = DEFAULT_STEP,
                 connection_retries: int | None = DEFAULT_CONNECTION_RETRIES) -> None:
        self.host = host
        self.agent_id = agent_id or f"ovs-agent-{host}"
        self.step = step
        self.caller = _Caller(transport, topic, timeout=timeout, retries=retries,
                              max_timeout=max_timeout,
                              connection_retries=connection_retries)

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self.caller.call(method, agent_id=self.agent_id, host=self.host, **kwargs)

    def get_device_details(self, device: str) -> dict[str, Any]:
        """Details of one device; ``{'device': d}`` alone if unknown or not bound here."""
        return dict(self._call("get_device_details", device=device))

    def get_devices_details_list_and_failed_devices(
            self, devices: Sequence[str]) -> dict[str, list[Any]]:
        """``{'devices': [details…], 'failed_devices': [device…]}``, chunk by chunk."""
        result: dict[str, list[Any]] = {"devices": [], "failed_devices": []}
        for chunk in _chunks(devices, self.step):
            try:
                reply = self._call("get_devices_details_list_and_failed_devices",
                                   devices=chunk)
            except ServerUnreachable:
                result["failed_devices"].extend(chunk)
                continue
            result["devices"].extend(reply.get("devices", []))
            result["failed_devices"].extend(reply.get("failed_devices", []))
        return result

    def update_device_up(self, device: str, refresh_tunnels: bool = False) -> None:
        self._call("update_device_up", device=device, refresh_tunnels=refresh_tunnels)

    def update_device_down(self, device: str) -> dict[str, Any]:
        return dict(self._call("update_device_down", device=device))

    def update_device_list(self, devices_up: Sequence[str], devices_down: Sequence[str],
                           refresh_tunnels: bool = False) -> dict[str, list[Any]]:
        """Report devices up and down, ``step`` at a time; unreachable chunks → failed."""
        result: dict[str, list[Any]] = {"devices_up": [], "failed_devices_up": [],
                                        "devices_down": [], "failed_devices_down": []}
        for chunk in _chunks(devices_up, self.step):
            self._device_list_chunk(result, chunk, [], refresh_tunnels)
        for chunk in _chunks(devices_down, self.step):
            self._device_list_chunk(result, [], chunk, refresh_tunnels)
        return result

    def _device_list_chunk(self, result: dict[str, list[Any]], up: list[str],
                           down: list[str], refresh_tunnels: bool) -> None:
        try:
            reply = self._call("update_device_list", devices_up=up, devices_down=down,
                               refresh_tunnels=refresh_tunnels)
        except ServerUnreachable:
            result["failed_devices_up"].extend(up)
            result["failed_devices_down"].extend(down)
            return
        for key in result:
            result[key].extend(reply.get(key, []))

    def tunnel_sync(self, tunnel_ip: str, tunnel_type: str) -> dict[str, Any]:
        """Register this host's endpoint; returns ``{'tunnels': [endpoint…]}``."""
        return dict(self.caller.call("tunnel_sync", tunnel_ip=tunnel_ip,
                                     tunnel_type=tunnel_type, host=self.host))

    def get_ports_by_vnic_type_and_host(self, vnic_type: str) -> list[dict[str, Any]]:
        """The ports the server has bound to this host with ``vnic_type``."""
        return list(self.caller.call("get_ports_by_vnic_type_and_host",
                                     vnic_type=vnic_type, host=self.host) or [])

    def has_alive_neutron_server(self) -> bool:
        return bool(self.caller.call("has_alive_neutron_server"))


class StateReportApi:
    """The heartbeat (``report_state`` on ``q-reports-plugin``)."""

    def __init__(self, transport: oslo_messaging.Transport, *,
                 topic: str = topics.REPORTS, timeout: float = 30.0,
                 connection_retries: int | None = DEFAULT_CONNECTION_RETRIES) -> None:
        # One attempt: a missed heartbeat is followed by the next one, not retried.
        self.caller = _Caller(transport, topic, timeout=timeout, retries=0,
                              connection_retries=connection_retries)

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True,
                     now: dt.datetime | None = None) -> str | None:
        """Send one report; the server's verdict, or None if it did not get through."""
        state = {**agent_state, "uuid": str(uuid.uuid4())}
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        kwargs = {"agent_state": {"agent_state": state}, "time": stamp}
        try:
            if use_call:
                return str(self.caller.call("report_state", **kwargs))
            self.caller.cast("report_state", **kwargs)
        except ServerUnreachable as exc:
            LOG.warning("failed reporting state: %s", exc)
        except oslo_messaging.RemoteError as exc:
            LOG.error("the server refused the state report: %s", exc)
        return None


def consumer_topics(l2_population: bool = True,
                    extra: Iterable[tuple[str, str]] = ()) -> list[str]:
    """The notifier topics an OVS agent listens on."""
    pairs = [*topics.OVS_AGENT_CONSUMERS, *extra]
    if l2_population:
        pairs.append(topics.L2POP_CONSUMER)
    return [topics.get_topic_name(topics.AGENT, resource, op) for resource, op in pairs]


class AgentConsumer:
    """RPC servers dispatching the server's notifications to the agent's endpoints.

    Each endpoint is an object with the handler methods it implements
    (``port_update(context, port, network_type, segmentation_id, physical_network)``,
    ``port_delete(context, port_id)``, ``network_delete(context, network_id)``,
    ``tunnel_update(context, tunnel_ip, tunnel_type)``, ``tunnel_delete(…)``,
    ``add_fdb_entries(context, fdb_entries)``, ``remove_fdb_entries(…)``,
    ``update_fdb_entries(…)``); handlers run on the consumer's threads.
    """

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 endpoints: list[Any], topic_names: Iterable[str] | None = None) -> None:
        self.transport = transport
        self.host = host
        self.endpoints = endpoints
        self.topic_names = list(topic_names or consumer_topics())
        self._servers: list[Any] = []

    def start(self) -> None:
        """One dispatch thread per topic, so notifications are handled in the order sent.

        oslo.messaging's default pool (64 threads, from the *transport's* config) may
        run two notifications for one agent concurrently: a ``remove_fdb_entries``
        applied before the ``add_fdb_entries`` sent ahead of it. Agent handlers only
        queue work, so one thread costs nothing. Set here, it holds whoever made the
        transport (the all-in-one's agent consumes on the server's).
        """
        if self._servers:
            return
        for topic in self.topic_names:
            server = oslo_messaging.get_rpc_server(
                self.transport, oslo_messaging.Target(topic=topic, server=self.host),
                self.endpoints, executor="threading")
            server.start(override_pool_size=1)
            self._servers.append(server)

    def take_servers(self) -> list[Any]:
        """Hand over the running servers (to be stopped together with others)."""
        servers, self._servers = self._servers, []
        return servers

    def stop(self) -> None:
        servers = self.take_servers()
        stop_servers(servers)


def stop_servers(servers: list[Any]) -> None:
    """Stop RPC servers together (each stop waits for its poller), then wait for them."""
    if not servers:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(servers)) as pool:
        list(pool.map(lambda server: server.stop(), servers))
        list(pool.map(lambda server: server.wait(), servers))


def wait_for_server(api: PluginApi, deadline_s: float = 60.0) -> bool:
    """Poll ``has_alive_neutron_server`` until a server answers or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            return api.has_alive_neutron_server()
        except ServerUnreachable:
            continue
    return False
