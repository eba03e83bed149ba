"""Controller down while 500 resources are created, updated and deleted."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.functional.journal.conftest import (
    applied_writes,
    fast_journal,
    journal_counts,
    journal_server,
    refused_writes,
    wait_synced,
    wait_until,
)
from tests.functional.journal.workload import (
    Expected,
    churn,
    create_topology,
    implicit_security_groups,
    order_violations,
)

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def test_controller_outage_then_exact_state_once_in_order(backend_url, controller, ctl):
    with journal_server(backend_url, fast_journal(controller.northbound_url)) as server:
        db = server.plugin.mechanism_manager.drivers[0].db
        wait_until(lambda: ctl.applied(), 30, "the canary")     # started and in sync
        since = ctl.log()[-1]["seq"]
        ctl.set_faults(down=True)
        expected = Expected()
        topo = create_topology(server.url, expected, networks=10, ports_per_net=48)
        churn(server.url, expected, topo, updates=100, deletes=100, drop_networks=2)
        counts = journal_counts(db)
        assert counts.get("pending", 0) > 0 and "failed" not in counts
        ctl.set_faults(down=False)
        wait_synced(server.plugin, controller, db)
        applied = applied_writes(ctl, since)
        implicit = implicit_security_groups(server.url)           # the project's default group
        assert Counter(applied) == Counter(expected.writes + implicit.writes)  # each once
        assert refused_writes(ctl, since) == []
        assert order_violations(applied, {**expected.parents, **implicit.parents}) == []
