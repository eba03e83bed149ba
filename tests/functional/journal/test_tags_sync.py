"""Tag changes reach the SDN controller: journalled as updates, applied in order."""

from __future__ import annotations

import pytest

from tests.functional.journal.conftest import (
    applied_writes,
    fast_journal,
    journal_server,
    wait_synced,
)

pytestmark = pytest.mark.functional


def test_tag_changes_end_in_the_controller_store(backend_url, controller, ctl):
    with journal_server(backend_url, fast_journal(controller.northbound_url)) as server:
        db = server.plugin.mechanism_manager.drivers[0].db
        store = controller.controller.store
        with server.http() as http:
            net = http.post("/v2.0/networks", json={"network": {"name": "t"}}).json()["network"]
            sub = http.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["id"], "cidr": "10.66.0.0/24",
                "ip_version": 4}}).json()["subnet"]
            port = http.post("/v2.0/ports", json={"port": {
                "network_id": net["id"]}}).json()["port"]
            wait_synced(server.plugin, controller, db)
            since = ctl.log()[-1]["seq"]
            for collection, rid in (("networks", net["id"]), ("subnets", sub["id"]),
                                    ("ports", port["id"])):
                base = f"/v2.0/{collection}/{rid}/tags"
                assert http.put(base, json={"tags": ["blue", "red"]}).status_code == 200
                assert http.put(f"{base}/green").status_code == 201
                assert http.delete(f"{base}/red").status_code == 204
            wait_synced(server.plugin, controller, db)
            for object_type, rid in (("network", net["id"]), ("subnet", sub["id"]),
                                     ("port", port["id"])):
                held = store.get(object_type, rid)
                assert held["tags"] == ["blue", "green"]
                theirs = http.get(f"/v2.0/{object_type}s/{rid}").json()[object_type]
                assert held["revision_number"] == theirs["revision_number"]
            # Three updates per resource, each sent once (a resource's updates wait
            # for each other; different resources' may interleave).
            writes = applied_writes(ctl, since)
            for object_type, rid in (("network", net["id"]), ("subnet", sub["id"]),
                                     ("port", port["id"])):
                assert [w for w in writes if w[2] == rid] == [("PUT", object_type, rid)] * 3
            assert len(writes) == 9
