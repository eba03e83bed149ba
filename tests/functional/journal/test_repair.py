"""Repair paths: a wiped controller gets a full sync; rows failed on 5xx get recovered."""

from __future__ import annotations

import pytest

from neutrino.journal.full_sync import CANARY_ID
from tests.functional.journal.conftest import (
    applied_writes,
    fast_journal,
    journal_counts,
    journal_server,
    wait_synced,
    wait_until,
)
from tests.functional.journal.workload import (
    Expected,
    create_topology,
    implicit_security_groups,
    order_violations,
)

pytestmark = pytest.mark.functional


def test_wiped_controller_is_restored_by_full_sync(backend_url, controller, ctl):
    with journal_server(backend_url, fast_journal(controller.northbound_url)) as server:
        db = server.plugin.mechanism_manager.drivers[0].db
        expected = Expected()
        create_topology(server.url, expected, networks=3, ports_per_net=10)
        wait_synced(server.plugin, controller, db)
        since = ctl.log()[-1]["seq"]
        ctl.wipe()
        wait_synced(server.plugin, controller, db, deadline_s=60)
        resent = ctl.applied(since)
        assert resent[-1] == ("POST", "network", CANARY_ID)     # the canary comes last
        assert order_violations(applied_writes(ctl, since), expected.parents) == []


def test_rows_failed_on_server_errors_are_recovered(backend_url, controller, ctl):
    settings = fast_journal(controller.northbound_url, maintenance_interval=1)
    with journal_server(backend_url, settings) as server:
        db = server.plugin.mechanism_manager.drivers[0].db
        wait_until(lambda: ctl.applied(), 30, "the canary")
        ctl.set_faults(error_rate=1.0, error_status=500)
        create_topology(server.url, Expected(), networks=2, ports_per_net=3)
        # Networks fail after their retries; what depends on them is then tried and fails too
        # (with the project's default group and its rules, made by its first network).
        rows = 10 + len(implicit_security_groups(server.url).writes)
        wait_until(lambda: journal_counts(db) == {"failed": rows}, 60, "every row failed")
        ctl.clear_faults()
        wait_synced(server.plugin, controller, db, deadline_s=60)
        assert journal_counts(db) == {}
