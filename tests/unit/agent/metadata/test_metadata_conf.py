"""metadata_agent.ini: Neutron's options and an operator's file load unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.agent.metadata.config import MetadataAgentConfig
from neutrino.conf import ConfigError
from neutrino.conf.dhcp import make_dhcp_agent_conf
from neutrino.conf.metadata import make_metadata_agent_conf

REPO = Path(__file__).resolve().parents[4]

# As an operator's Neutron deployment writes it (options Neutrino ignores included).
NEUTRON_METADATA_AGENT_INI = """
[DEFAULT]
nova_metadata_host = nova.example.org
nova_metadata_port = 8775
nova_metadata_protocol = https
nova_metadata_insecure = true
metadata_proxy_shared_secret = topsecret
metadata_workers = 3
metadata_backlog = 128
metadata_proxy_socket = /run/neutron/metadata_proxy
nova_client_cert =
nova_client_priv_key =
[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
report_interval = 15
[cache]
enabled = true
backend = dogpile.cache.memory
memcache_servers = 127.0.0.1:11211
expiration_time = 7
"""


def test_neutron_file_loads_and_means_what_it_says(tmp_path: Path) -> None:
    ini = tmp_path / "metadata_agent.ini"
    ini.write_text(NEUTRON_METADATA_AGENT_INI)
    conf = make_metadata_agent_conf(["--config-file", str(REPO / "etc" / "neutron.conf"),
                                     "--config-file", str(ini)])
    config = MetadataAgentConfig.from_conf(conf)
    assert config.nova_url == "https://nova.example.org:8775"
    assert config.insecure and config.client_cert is None
    assert config.shared_secret == "topsecret"
    assert (config.workers, config.backlog, config.cache_ttl) == (3, 128, 7.0)
    assert config.socket_path == Path("/run/neutron/metadata_proxy")
    assert config.report_interval == 15.0


def test_defaults_and_the_shipped_file(tmp_path: Path) -> None:
    conf = make_metadata_agent_conf(
        ["--config-file", str(REPO / "etc" / "metadata_agent.ini")],
        overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    config = MetadataAgentConfig.from_conf(conf)
    assert config.nova_url == "http://127.0.0.1:8775"
    assert config.socket_path == tmp_path / "metadata_proxy"
    assert config.cache_ttl == 5.0 and config.workers >= 1


def test_bad_protocol_is_refused_naming_the_option(tmp_path: Path) -> None:
    ini = tmp_path / "metadata_agent.ini"
    ini.write_text("[DEFAULT]\nnova_metadata_protocol = gopher\n")
    with pytest.raises(ConfigError, match="nova_metadata_protocol"):
        make_metadata_agent_conf(["--config-file", str(ini)])


def test_the_dhcp_agent_knows_the_socket(tmp_path: Path) -> None:
    conf = make_dhcp_agent_conf(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    assert conf.metadata_proxy_socket == f"{tmp_path}/metadata_proxy"
