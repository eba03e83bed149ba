"""l3_agent.ini as Neutron operators write it loads; what Neutrino cannot do is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from neutrino.agent.l3.config import L3AgentConfig
from neutrino.conf import ConfigError
from neutrino.conf.l3_agent import make_l3_agent_conf

NEUTRON_CONF = """[DEFAULT]
host = net1
state_path = /var/lib/neutron
transport_url = rabbit://guest:guest@127.0.0.1:5672/
[oslo_concurrency]
lock_path = /var/lib/neutron/tmp
"""
L3_AGENT_INI = """[DEFAULT]
interface_driver = neutron.agent.linux.interface.OVSInterfaceDriver
agent_mode = legacy
ovs_integration_bridge = br-int2
handle_internal_only_routers = False
metadata_port = 8775
enable_metadata_proxy = True
periodic_interval = 20
external_ingress_mark = 0x10002
ha_vrrp_auth_password = secret
ha_confs_path = $state_path/ha_confs
radvd_user = neutron
[AGENT]
availability_zone = az2
extensions = port_forwarding
report_interval = 15
[network_log]
rate_limit = 100
[ovs]
ovsdb_connection = tcp:127.0.0.1:6640
"""


def _files(tmp_path: Path, ini: str = L3_AGENT_INI) -> list[str]:
    (tmp_path / "neutron.conf").write_text(NEUTRON_CONF)
    (tmp_path / "l3_agent.ini").write_text(ini)
    return ["--config-file", str(tmp_path / "neutron.conf"),
            "--config-file", str(tmp_path / "l3_agent.ini")]


def test_operators_file_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        conf = make_l3_agent_conf(_files(tmp_path))
    config = L3AgentConfig.from_conf(conf)
    assert config.host == "net1"
    assert config.state_dir == Path("/var/lib/neutron/l3")
    assert config.integration_bridge == "br-int2"  # the deprecated spelling wins
    assert not config.handle_internal_only_routers
    assert (config.metadata_port, config.periodic_interval) == (8775, 20.0)
    assert config.external_ingress_mark == 0x2  # masked with 0xffff
    assert (config.availability_zone, config.report_interval) == ("az2", 15.0)
    assert config.metadata_proxy_socket == Path("/var/lib/neutron/metadata_proxy")
    assert conf.ovs.ovsdb_connection == "tcp:127.0.0.1:6640"
    ignored = {r.getMessage().split("] ")[1].split(" is")[0] for r in caplog.records}
    assert {"ha_vrrp_auth_password", "ha_confs_path", "radvd_user", "rate_limit"} <= ignored
    assert "availability_zone" not in ignored and "extensions" not in ignored


def test_shipped_file_loads() -> None:
    etc = Path(__file__).resolve().parents[4] / "etc"
    conf = make_l3_agent_conf(["--config-file", str(etc / "neutron.conf"),
                               "--config-file", str(etc / "l3_agent.ini")])
    config = L3AgentConfig.from_conf(conf)
    assert (config.agent_mode, config.integration_bridge) == ("legacy", "br-int")
    assert config.settings.metadata and config.settings.metadata_port == 9697


@pytest.mark.parametrize(("line", "error"), [
    ("agent_mode = dvr_snat", "agent_mode = dvr_snat is not supported"),
    ("interface_driver = linuxbridge", "interface_driver = linuxbridge is not supported"),
    ("metadata_access_mark = 0x10000", "metadata_access_mark must not be 0"),
    ("external_ingress_mark = two", "is not a number"),
    ("agent_mode = bogus", "bad value for [DEFAULT] agent_mode"),
])
def test_what_neutrino_cannot_do_is_refused(tmp_path: Path, line: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        make_l3_agent_conf(_files(tmp_path, f"[DEFAULT]\n{line}\n"))


def test_disabled_metadata_proxy_drops_the_redirect(tmp_path: Path) -> None:
    conf = make_l3_agent_conf(_files(tmp_path, "[DEFAULT]\nenable_metadata_proxy = false\n"))
    assert not L3AgentConfig.from_conf(conf).settings.metadata
