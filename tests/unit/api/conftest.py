"""Fixtures of the API tests: servers with their own configuration and database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server

ServerFactory = Callable[[dict[str, dict[str, Any]]], ApiServer]


@pytest.fixture
def backend(db_url: str) -> str:
    """The backend the current parametrization of ``db_url`` runs on."""
    for prefix, name in (("sqlite", "sqlite"), ("postgresql", "postgresql"),
                         ("mysql", "mariadb")):
        if db_url.startswith(prefix):
            return name
    raise AssertionError(db_url)


@pytest.fixture
def make_server(backend: str, tmp_path: Any) -> Iterator[ServerFactory]:
    """Start noauth servers with extra configuration, each on a fresh database."""
    with contextlib.ExitStack() as stack:
        def start(overrides: dict[str, dict[str, Any]]) -> ApiServer:
            folder = tmp_path / uuid.uuid4().hex[:8]
            folder.mkdir()
            url = stack.enter_context(make_database(backend, folder))
            server = start_api_server(_merge(ML2_TEST_CONFIG, {
                "DEFAULT": {"auth_strategy": "noauth"},
                "database": {"connection": url}}, overrides))
            stack.callback(server.stop)
            return server
        yield start


@pytest.fixture
def p1(api_server: ApiServer, unique: str) -> Iterator[Any]:
    """An httpx client acting as a member of project ``p1-<unique>``."""
    with api_server.http(project=f"p1-{unique}") as http:
        yield http


@pytest.fixture
def p2(api_server: ApiServer, unique: str) -> Iterator[Any]:
    """An httpx client acting as a member of project ``p2-<unique>``."""
    with api_server.http(project=f"p2-{unique}") as http:
        yield http
