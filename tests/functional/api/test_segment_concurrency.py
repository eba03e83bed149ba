"""Segment allocation under concurrency: every tenant segment handed out once.

A tenant segment is claimed by one ``INSERT … SELECT <lowest free> … ON CONFLICT DO
NOTHING / INSERT IGNORE … RETURNING``. Eight clients creating networks on a small VNI
range at once must get distinct VNIs until the range is full, then 503
NoNetworkAvailable, never a 500; freed VNIs are handed out again.
"""

from __future__ import annotations

import collections
import concurrent.futures

import httpx
import pytest

from tests.fixtures.servers import make_database, start_api_server

pytestmark = [pytest.mark.functional]

CLIENTS = 8
VNIS = range(7000, 7024)  # 24 VNIs


def _fill(base: str) -> list[httpx.Response]:
    """One client: create networks until the range is exhausted."""
    results = []
    with httpx.Client(base_url=base, timeout=60) as http:
        while True:
            resp = http.post("/v2.0/networks", json={"network": {"name": "race"}})
            results.append(resp)
            if resp.status_code != 201:
                return results


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_concurrent_tenant_networks_get_distinct_segments(backend: str, tmp_path) -> None:
    with make_database(backend, tmp_path) as url:
        server = start_api_server({
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url},
            "ml2": {"type_drivers": ["vxlan"], "tenant_network_types": ["vxlan"],
                    "mechanism_drivers": ["logger"]},
            "ml2_type_vxlan": {"vni_ranges": [f"{VNIS[0]}:{VNIS[-1]}"]}})
        try:
            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                results = [r for f in [pool.submit(_fill, server.url)
                                       for _ in range(CLIENTS)] for r in f.result()]
            statuses = collections.Counter(r.status_code for r in results)
            assert set(statuses) == {201, 503}, statuses
            assert statuses[503] == CLIENTS
            assert {r.json()["NeutronError"]["type"] for r in results
                    if r.status_code == 503} == {"NoNetworkAvailable"}
            nets = [r.json()["network"] for r in results if r.status_code == 201]
            vnis = sorted(n["provider:segmentation_id"] for n in nets)
            assert vnis == list(VNIS)

            # Free every other network concurrently, then fill again: the freed VNIs
            # (and only they) come back, each once.
            freed = nets[::2]
            with server.http() as http:
                def drop(net: dict) -> int:
                    return http.delete(f"/v2.0/networks/{net['id']}").status_code
                with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                    assert set(pool.map(drop, freed)) == {204}
            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                again = [r for f in [pool.submit(_fill, server.url)
                                     for _ in range(CLIENTS)] for r in f.result()]
            reused = sorted(r.json()["network"]["provider:segmentation_id"]
                            for r in again if r.status_code == 201)
            assert reused == sorted(n["provider:segmentation_id"] for n in freed)
            assert {r.status_code for r in again} == {201, 503}
        finally:
            server.stop()
