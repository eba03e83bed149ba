"""openvswitch_agent.ini's [securitygroup] section: Neutron's spellings, refused drivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.agent.ovs.config import AgentConfig
from neutrino.conf import ConfigError
from neutrino.conf.agent import make_agent_conf


def _conf(tmp_path: Path, securitygroup: str) -> AgentConfig:
    ini = tmp_path / "openvswitch_agent.ini"
    ini.write_text(f"[DEFAULT]\nhost = h1\n[securitygroup]\n{securitygroup}")
    return AgentConfig.from_conf(make_agent_conf(["--config-file", str(ini)]))


def test_default_is_noop_as_in_neutron(tmp_path: Path) -> None:
    config = _conf(tmp_path, "")
    assert config.firewall_driver == "noop" and not config.firewall_enabled


@pytest.mark.parametrize("spelling", [
    "openvswitch",
    "neutron.agent.linux.openvswitch_firewall.OVSFirewallDriver",
    "neutron.agent.linux.openvswitch_firewall.firewall.OVSFirewallDriver",
    "neutron.agent.linux.openvswitch_firewall:OVSFirewallDriver",
])
def test_openvswitch_spellings(tmp_path: Path, spelling: str) -> None:
    config = _conf(tmp_path, f"firewall_driver = {spelling}\n")
    assert config.firewall_driver == "openvswitch" and config.firewall_enabled


@pytest.mark.parametrize("spelling", [
    "noop", "neutron.agent.firewall.NoopFirewallDriver",
    "neutron.agent.firewall:NoopFirewallDriver",
])
def test_noop_spellings(tmp_path: Path, spelling: str) -> None:
    assert _conf(tmp_path, f"firewall_driver = {spelling}\n").firewall_driver == "noop"


def test_enable_security_group_false_means_noop(tmp_path: Path) -> None:
    config = _conf(tmp_path, "firewall_driver = openvswitch\nenable_security_group = False\n")
    assert config.firewall_driver == "noop" and not config.firewall_enabled


def test_disabled_security_groups_do_not_trip_on_an_old_iptables_setting(
        tmp_path: Path) -> None:
    config = _conf(tmp_path, "firewall_driver = iptables_hybrid\n"
                             "enable_security_group = False\n")
    assert config.firewall_driver == "noop"


@pytest.mark.parametrize("spelling", [
    "iptables_hybrid", "iptables",
    "neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver",
])
def test_iptables_drivers_are_refused_naming_file_section_and_option(
        tmp_path: Path, spelling: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _conf(tmp_path, f"firewall_driver = {spelling}\n")
    message = str(caught.value)
    assert "openvswitch_agent.ini" in message
    assert "[securitygroup] firewall_driver" in message and spelling in message
    assert "openvswitch or noop" in message


def test_unknown_driver_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[securitygroup\] firewall_driver = nftables"):
        _conf(tmp_path, "firewall_driver = nftables\n")


def test_enable_ipset_and_permitted_ethertypes_are_accepted(tmp_path: Path) -> None:
    config = _conf(tmp_path, "firewall_driver = openvswitch\nenable_ipset = False\n"
                             "permitted_ethertypes = 0x4008,0x88cc\n")
    assert config.firewall_enabled
    assert config.permitted_ethertypes == (0x4008, 0x88CC)


def test_malformed_ethertype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="permitted_ethertypes.*4008"):
        _conf(tmp_path, "permitted_ethertypes = 4008\n")
