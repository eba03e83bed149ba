"""dhcp_agent.ini as Neutron operators write it loads; unknown drivers are refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from neutrino.agent.dhcp.config import DhcpAgentConfig
from neutrino.conf import ConfigError
from neutrino.conf.dhcp import make_dhcp_agent_conf

NEUTRON_CONF = """[DEFAULT]
host = net1
state_path = /var/lib/neutron
dhcp_lease_duration = 43200
dns_domain = example.org.
transport_url = rabbit://guest:guest@127.0.0.1:5672/
[oslo_concurrency]
lock_path = /var/lib/neutron/tmp
"""
DHCP_AGENT_INI = """[DEFAULT]
interface_driver = neutron.agent.linux.interface.OVSInterfaceDriver
dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq
enable_isolated_metadata = True
force_metadata = False
enable_metadata_network = False
dnsmasq_dns_servers = 8.8.8.8,8.8.4.4
dnsmasq_lease_max = 1000
num_sync_threads = 8
resync_interval = 10
[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
report_interval = 15
[ovs]
ovsdb_connection = tcp:127.0.0.1:6640
integration_bridge = br-int2
"""


def _files(tmp_path: Path, ini: str = DHCP_AGENT_INI) -> list[str]:
    (tmp_path / "neutron.conf").write_text(NEUTRON_CONF)
    (tmp_path / "dhcp_agent.ini").write_text(ini)
    return ["--config-file", str(tmp_path / "neutron.conf"),
            "--config-file", str(tmp_path / "dhcp_agent.ini")]


def test_operators_file_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        conf = make_dhcp_agent_conf(_files(tmp_path))
    config = DhcpAgentConfig.from_conf(conf)
    assert config.host == "net1"
    assert config.confs_dir == Path("/var/lib/neutron/dhcp")
    assert config.dnsmasq.lease_duration == 43200
    assert config.dnsmasq.dns_servers == ("8.8.8.8", "8.8.4.4")
    assert config.dnsmasq.enable_isolated_metadata
    assert (config.num_sync_threads, config.resync_interval) == (8, 10.0)
    assert config.integration_bridge == "br-int2"
    assert conf.ovs.ovsdb_connection == "tcp:127.0.0.1:6640"
    warned = [r.getMessage() for r in caplog.records]
    assert any("[agent] root_helper" in m for m in warned)
    assert any("[oslo_concurrency] lock_path" in m for m in warned)
    for name in ("interface_driver", "dnsmasq_dns_servers", "enable_metadata_network",
                 "dhcp_lease_duration", "dns_domain", "integration_bridge"):
        assert not any(f"] {name} " in m for m in warned), name


@pytest.mark.parametrize("line", ["interface_driver = linuxbridge",
                                  "dhcp_driver = neutron.agent.linux.dhcp.Foo"])
def test_unknown_drivers_are_refused(tmp_path: Path, line: str) -> None:
    with pytest.raises(ConfigError, match="dhcp_agent.ini"):
        make_dhcp_agent_conf(_files(tmp_path, f"[DEFAULT]\n{line}\n"))


def test_example_file_loads(tmp_path: Path) -> None:
    example = Path(__file__).parents[4] / "etc" / "dhcp_agent.ini"
    conf = make_dhcp_agent_conf(["--config-file", str(example)])
    assert conf.interface_driver == "openvswitch"
