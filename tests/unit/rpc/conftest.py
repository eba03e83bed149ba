"""A server with its RPC service on the in-process bus, plus simulated agents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.sim_agents import RpcRig, rpc_rig


@pytest.fixture
def rig(sqlite_url: str) -> Iterator[RpcRig]:
    with rpc_rig(sqlite_url, "fake://") as r:
        yield r
