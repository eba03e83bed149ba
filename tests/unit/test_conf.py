"""Configuration: Neutron's files and option names, refused loudly when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.conf import ConfigError, make_conf

ETC = Path(__file__).resolve().parents[2] / "etc"


def _args(*files: Path) -> list[str]:
    return [a for f in files for a in ("--config-file", str(f))]


def test_example_files_are_read_with_neutron_names() -> None:
    conf = make_conf(_args(ETC / "neutron.conf", ETC / "ml2_conf.ini"))
    assert conf.core_plugin == "ml2"
    assert conf.bind_port == 9696 and conf.api_workers == 2
    assert conf.database.connection.startswith("postgresql")
    assert conf.ml2.tenant_network_types == ["vxlan", "vlan"]
    assert conf.ml2_type_vlan.network_vlan_ranges == ["physnet1:100:199", "physnet2"]
    assert conf.ml2_type_vxlan.vni_ranges == ["1001:2000"]
    assert conf.ml2_type_gre.tunnel_id_ranges == ["1:1000"]
    assert conf.ml2_type_geneve.vni_ranges == ["1:1000"]
    assert conf.ml2_type_flat.flat_networks == ["physnet-flat"]


def test_unknown_section_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "neutron.conf"
    bad.write_text("[DEFAULT]\ncore_plugin = ml2\n[ml2_type_vxaln]\nvni_ranges = 1:2\n")
    with pytest.raises(ConfigError, match=r"neutron.conf.*ml2_type_vxaln"):
        make_conf(_args(bad))


def test_bad_value_is_refused_naming_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "neutron.conf"
    bad.write_text("[DEFAULT]\nbind_port = ninety\n")
    with pytest.raises(ConfigError, match=r"neutron.conf: bad value for "
                                          r"\[DEFAULT\] bind_port: invalid literal"):
        make_conf(_args(bad))


def test_bad_choice_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "neutron.conf"
    bad.write_text("[DEFAULT]\nauth_strategy = ldap\n")
    with pytest.raises(ConfigError, match=r"auth_strategy"):
        make_conf(_args(bad))


def test_bad_vlan_range_stops_the_plugin(tmp_path: Path) -> None:
    from neutrino.plugins.ml2.managers import TypeManager

    ml2 = tmp_path / "ml2_conf.ini"
    ml2.write_text("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:10:5000\n")
    manager = TypeManager(make_conf(_args(ml2)))
    with pytest.raises(ValueError, match="network_vlan_ranges"):
        manager.initialize()


def test_options_accepted_but_not_implemented_are_warned_once_each(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conf_file = tmp_path / "neutron.conf"
    conf_file.write_text(
        "[DEFAULT]\ncore_plugin = ml2\nrouter_distributed = true\n"
        "[placement]\nregion_name = RegionOne\n"
        "[oslo_concurrency]\nlock_path = /var/lib/neutron/tmp\n"
        "[keystone_authtoken]\nauth_url = http://keystone:5000/v3\n"
        "[database]\nconnection = sqlite://\nmax_retries = 3\nslave_connection = x\n")
    with caplog.at_level("WARNING", logger="neutrino.conf"):
        make_conf(_args(conf_file))
    warned = sorted(r.getMessage() for r in caplog.records)
    path = str(conf_file)
    # Read options and the sections libraries read themselves (keystonemiddleware)
    # are not reported; each ignored option is, once, with its file and section.
    assert warned == sorted(
        f"{path}: [{section}] {name} is accepted but not implemented by Neutrino; ignored"
        for section, name in (("DEFAULT", "router_distributed"), ("placement", "region_name"),
                              ("oslo_concurrency", "lock_path"),
                              ("database", "slave_connection")))
