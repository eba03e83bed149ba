"""Fixtures of the journal unit tests: a migrated SQLite file and the real
reference controller behind an in-memory transport that can be made unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neutrino.controller import Controller, create_app
from neutrino.db.api import Database
from neutrino.journal.client import ControllerClient
from neutrino.journal.worker import SyncSettings
from tests.fixtures.servers import make_database

URL = "http://ctl:8181/controller/nb/v2/neutron"


class SwitchableTransport(httpx.BaseTransport):
    """The controller app in memory; ``down = True`` turns every request into ConnectError."""

    def __init__(self, controller: Controller) -> None:
        self.inner = httpx.WSGITransport(app=create_app(controller))
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    with make_database("sqlite", tmp_path) as url:
        database = Database(url)
        yield database
        database.dispose()


@pytest.fixture
def controller() -> Controller:
    return Controller()


@pytest.fixture
def transport(controller: Controller) -> SwitchableTransport:
    return SwitchableTransport(controller)


@pytest.fixture
def client(transport: SwitchableTransport) -> Iterator[ControllerClient]:
    with ControllerClient(URL, transport=transport) as c:
        yield c


@pytest.fixture
def settings() -> SyncSettings:
    return SyncSettings(workers=1, batch_size=10, sync_timeout=0.05, retry_count=2,
                        processing_timeout=5, maintenance_interval=0.1)
