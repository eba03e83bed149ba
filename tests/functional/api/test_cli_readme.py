"""The `openstack` CLI commands the README shows work against Neutrino, as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino.cmd.neutrino import ALL_IN_ONE
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, start_api_server

pytestmark = [pytest.mark.functional, pytest.mark.slow]

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_commands() -> tuple[dict[str, str], list[str]]:
    """The README's CLI block: its exported variables and its commands."""
    block = re.search(r"<!-- cli-example:start -->\n```sh\n(.*?)```", README.read_text(),
                      re.S)
    assert block, "README lost its cli-example block"
    env: dict[str, str] = {}
    commands = []
    for line in block.group(1).splitlines():
        if line.startswith("export "):
            env.update(dict(kv.split("=", 1) for kv in shlex.split(line)[1:]))
        elif line.strip():
            commands.append(line)
    return env, commands


@pytest.fixture
def readme_server(sqlite_url: str) -> Iterator[ApiServer]:
    """A server as the README's commands find it: the all-in-one's service plugins."""
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth",
                    "service_plugins": ALL_IN_ONE["DEFAULT"]["service_plugins"]},
        "database": {"connection": sqlite_url}}))
    yield server
    server.stop()


def test_readme_cli_commands(readme_server: ApiServer) -> None:
    env, commands = readme_commands()
    assert env["OS_ENDPOINT"] == "http://127.0.0.1:9696"
    env = {**os.environ, **env, "OS_ENDPOINT": readme_server.url}
    cli = Path(sys.executable).with_name("openstack")
    outputs = {}
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "openstack"
        done = subprocess.run([str(cli), *args[1:]], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        outputs[command] = done.stdout
    assert "10.0.0.10" in outputs[
        "openstack port create --network demo --fixed-ip ip-address=10.0.0.10 demo-port"]
    assert "demo" in outputs["openstack network list --tags blue"]
    assert "revision-if-match" in outputs["openstack extension list --network"]
    assert "vxlan" in outputs["openstack network segment list --network demo"]
    assert "demo-range" in outputs["openstack network segment range list"]
    assert "22:22" in outputs["openstack security group rule list web"]
    assert "253" in outputs["openstack ip availability show demo"]
    assert "PARENT" in outputs["openstack default security group rule list"]
    assert "10.0.0.10" in outputs["openstack floating ip list --router demo-router"]
    groups = outputs["openstack security group list"]
    assert "web" in groups and "default" in groups
    assert readme_server.plugin.get_networks(_admin(), {}) == []


def _admin():
    from neutrino.context import admin_context
    return admin_context()
