"""``update_device_list`` when a port is deleted while its agent reports the device."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from neutrino.common import constants as const
from neutrino.exceptions import PortNotFound
from neutrino.rpc.callbacks import RpcCallbacks

HOST = "compute-1"


class _RacingPlugin:
    """Ports found by the first read, deleted before their status can be written."""

    def __init__(self, ports: dict[str, dict[str, Any]], fail_with: Exception) -> None:
        self.ports = ports
        self.fail_with = fail_with

    def get_ports(self, ctx: Any, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return [p for i, p in self.ports.items() if i in filters["id"]]

    def update_port_status(self, ctx: Any, port_id: str, status: str) -> bool:
        self.ports.pop(port_id)  # delete_port won the race
        raise self.fail_with


def _port(port_id: str, status: str) -> dict[str, Any]:
    return {"id": port_id, "binding:host_id": HOST, "admin_state_up": True,
            "status": status, "network_id": "net"}


@pytest.mark.parametrize("error", [PortNotFound(port_id="p"), IndexError("no row")])
def test_a_port_deleted_meanwhile_is_down_and_no_error(
        error: Exception, caplog: pytest.LogCaptureFixture) -> None:
    plugin = _RacingPlugin({"up": _port("up", const.PORT_STATUS_DOWN),
                            "down": _port("down", const.PORT_STATUS_ACTIVE)}, error)
    callbacks = RpcCallbacks(plugin)
    with caplog.at_level(logging.DEBUG, logger="neutrino.rpc.callbacks"):
        reply = callbacks.update_device_list(None, ["up"], ["down"], host=HOST)
    assert reply == {"devices_up": ["up"], "failed_devices_up": [],
                     "devices_down": [{"device": "down", "exists": False}],
                     "failed_devices_down": []}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("deleted meanwhile" in r.getMessage() for r in caplog.records)


def test_a_port_already_gone_is_reported_not_existing() -> None:
    callbacks = RpcCallbacks(_RacingPlugin({}, PortNotFound(port_id="x")))
    reply = callbacks.update_device_list(None, [], ["x"], host=HOST)
    assert reply["devices_down"] == [{"device": "x", "exists": False}]
    assert reply["failed_devices_down"] == []


def test_a_failure_on_a_port_that_still_exists_is_a_failed_device(
        caplog: pytest.LogCaptureFixture) -> None:
    class Broken(_RacingPlugin):
        def update_port_status(self, ctx: Any, port_id: str, status: str) -> bool:
            raise RuntimeError("database down")

    callbacks = RpcCallbacks(Broken({"p": _port("p", const.PORT_STATUS_ACTIVE)},
                                    RuntimeError()))
    reply = callbacks.update_device_list(None, ["p"], ["p"], host=HOST)
    assert reply["failed_devices_up"] == ["p"] and reply["failed_devices_down"] == ["p"]
    assert reply["devices_up"] == [] and reply["devices_down"] == []
    assert [r.levelno for r in caplog.records].count(logging.ERROR) == 2
