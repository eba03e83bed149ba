"""Notifier message shaping: direct vs fanout casts, and per-host batching of l2pop."""

from __future__ import annotations

from typing import Any

from neutrino.rpc import notifiers, topics


class FakeCaster:
    def __init__(self) -> None:
        self.casts: list[tuple[str, str, str | None, dict[str, Any]]] = []

    def cast(self, topic: str, method: str, host: str | None = None, **kwargs: Any) -> None:
        self.casts.append((topic, method, host, kwargs))


def fdb(net: str, ip: str, *entries: list[str]) -> dict[str, Any]:
    return {net: {"segment_id": 7, "network_type": "vxlan", "ports": {ip: list(entries)}}}


def test_port_notices_go_directly_to_the_bound_hosts() -> None:
    caster = FakeCaster()
    notifier = notifiers.AgentNotifier(caster)  # type: ignore[arg-type]
    notifier.port_update({"id": "p"}, {"network_type": "vxlan", "segmentation_id": 7},
                         ["h1", "", "h1", "h2"])
    notifier.port_delete("p", ["h2"])
    notifier.network_delete("n")
    assert [(t, m, h) for t, m, h, _ in caster.casts] == [
        (topics.PORT_UPDATE, "port_update", "h1"), (topics.PORT_UPDATE, "port_update", "h2"),
        (topics.PORT_DELETE, "port_delete", "h2"),
        (topics.NETWORK_DELETE, "network_delete", None)]
    assert caster.casts[0][3]["segmentation_id"] == 7


def test_batch_merges_consecutive_messages_per_host() -> None:
    caster = FakeCaster()
    l2 = notifiers.L2popNotifier(caster)  # type: ignore[arg-type]
    with l2.batch():
        l2.add_fdb_entries(fdb("n", "10.0.0.1", ["m1", "1.1.1.1"]), "h1")
        l2.add_fdb_entries(fdb("n", "10.0.0.1", ["m2", "1.1.1.2"]), "h2")
        l2.add_fdb_entries(fdb("n", "10.0.0.1", ["m3", "1.1.1.3"]), "h1")
        l2.add_fdb_entries(fdb("n", "10.0.0.1", ["m3", "1.1.1.3"]), "h1")
        assert caster.casts == []
    assert [(m, h) for _, m, h, _ in caster.casts] == [("add_fdb_entries", "h1"),
                                                       ("add_fdb_entries", "h2")]
    assert caster.casts[0][3]["fdb_entries"]["n"]["ports"]["10.0.0.1"] == [
        ["m1", "1.1.1.1"], ["m3", "1.1.1.3"]]


def test_batch_keeps_order_of_different_kinds_per_host() -> None:
    caster = FakeCaster()
    l2 = notifiers.L2popNotifier(caster)  # type: ignore[arg-type]
    with l2.batch():
        l2.remove_fdb_entries(fdb("n", "ip", ["m", "1.1.1.1"]), "h")
        l2.add_fdb_entries(fdb("n", "ip", ["m", "1.1.1.1"]), "h")
        l2.remove_fdb_entries(fdb("n", "ip", ["m", "1.1.1.1"]), "h")
    assert [m for _, m, _, _ in caster.casts] == [
        "remove_fdb_entries", "add_fdb_entries", "remove_fdb_entries"]


def test_merge_chg_ip() -> None:
    into: dict[str, Any] = {}
    notifiers.merge_fdb(into, {"chg_ip": {"n": {"ip": {"before": [["m", "1"]]}}}})
    notifiers.merge_fdb(into, {"chg_ip": {"n": {"ip": {"after": [["m", "2"]]}}}})
    assert into == {"chg_ip": {"n": {"ip": {"before": [["m", "1"]], "after": [["m", "2"]]}}}}


def test_without_batch_messages_go_at_once() -> None:
    caster = FakeCaster()
    l2 = notifiers.L2popNotifier(caster)  # type: ignore[arg-type]
    l2.update_fdb_entries({"chg_ip": {}}, "h")
    assert len(caster.casts) == 1 and caster.casts[0][1] == "update_fdb_entries"
