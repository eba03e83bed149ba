"""Shared fixtures: database backends, an in-process API server, API clients.

Databases: every test that takes ``db_url`` runs once per backend in
``NEUTRINO_TEST_BACKENDS`` (default ``sqlite,postgresql,mariadb``); PostgreSQL and
MariaDB get a fresh database per test module, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.servers import ApiServer, make_database, start_api_server

BACKENDS = [b.strip() for b in os.environ.get(
    "NEUTRINO_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",") if b.strip()]

# ml2 settings that give every network type something to allocate from.
ML2_TEST_CONFIG: dict[str, dict[str, Any]] = {
    "ml2": {"type_drivers": ["local", "flat", "vlan", "gre", "vxlan", "geneve"],
            "tenant_network_types": ["vxlan", "vlan"],
            "mechanism_drivers": ["logger"]},
    "ml2_type_vlan": {"network_vlan_ranges": ["physnet1:100:199", "physnet2"]},
    "ml2_type_flat": {"flat_networks": ["flat1", "flat2"]},
    "ml2_type_vxlan": {"vni_ranges": ["1001:2000"]},
    "ml2_type_gre": {"tunnel_id_ranges": ["1:1000"]},
    "ml2_type_geneve": {"vni_ranges": ["1:1000"]},
}


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """A fresh, migrated database on each configured backend."""
    with make_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Any) -> Iterator[str]:
    with make_database("sqlite", tmp_path) as url:
        yield url


def _merge(*configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for config in configs:
        for group, opts in config.items():
            merged.setdefault(group, {}).update(opts)
    return merged


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    """A noauth API server on each backend, shared by a test module."""
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth"},
        "database": {"connection": db_url}}))
    yield server
    server.stop()


@pytest.fixture
def sqlite_server(sqlite_url: str) -> Iterator[ApiServer]:
    """A fresh noauth API server on SQLite, for one test."""
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth"},
        "database": {"connection": sqlite_url}}))
    yield server
    server.stop()


@pytest.fixture
def sdk(api_server: ApiServer) -> Any:
    """openstacksdk, as an admin, against the noauth server."""
    return api_server.sdk()


@pytest.fixture
def client(api_server: ApiServer) -> Any:
    """An httpx client on the noauth server (admin unless headers say otherwise)."""
    with api_server.http() as http:
        yield http


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
