"""Session-scoped real Keystone for tests marked ``keystone``.

The first use builds Keystone's private venv (~1 min) and a bootstrapped
template (~10 s) under ``.cache/``; later starts copy the template and take a
few seconds. See ``tests/fixtures/keystone.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.keystone import KeystoneServer


@pytest.fixture(scope="session")
def keystone() -> Iterator[KeystoneServer]:
    """A running Keystone shared by the session; create uniquely named objects in it."""
    with KeystoneServer() as server:
        yield server
