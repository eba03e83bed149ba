"""Every benchmark loads the way the README runs it: ``python bench/<name>.py``.

Run like that, Python puts ``bench/`` (not the repository root) first on sys.path, so a
benchmark that imports the project's test fixtures must add the root itself; this
loads each script from another directory, with nothing but its own doing on sys.path.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fixtures.keystone import Credentials

BENCH = Path(__file__).resolve().parents[2] / "bench"
LOAD = ("import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
        "runpy.run_path(sys.argv[1], run_name='bench_load_check')")


SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if "__main__" in p.read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_loads_as_a_script(script: str, tmp_path: Path) -> None:
    """(The modules they import from bench/, which are not run alone, load with them.)"""
    done = subprocess.run([sys.executable, "-c", LOAD, str(BENCH / script)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_api_benchmark_takes_the_auth_modes_and_refuses_others(tmp_path: Path) -> None:
    """``bench/api.py --auth`` names the server's auth_strategy: noauth, keystone or both."""
    script = str(BENCH / "api.py")
    shown = subprocess.run([sys.executable, script, "--help"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "--auth" in shown.stdout and "keystone" in shown.stdout
    refused = subprocess.run([sys.executable, script, "--auth", "noauth,ldap"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "unknown mode(s) ldap" in refused.stderr


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_neutron_reference_arguments_default_to_the_cached_venv_and_mariadb() -> None:
    """``bench/neutron_reference.py`` measures MariaDB first (Neutron's database), with
    one uWSGI thread, from a venv outside the repository; unknown backends are refused."""
    ref = _load("neutron_reference")
    args = ref.parse_args([])
    assert args.backends == ["mariadb"] and args.threads == 1 and not args.install
    assert args.venv == ref.DEFAULT_VENV and BENCH.parent not in args.venv.parents
    args = ref.parse_args(["--backends", "mariadb,postgresql", "--venv", "/x/n29",
                           "--install", "--ports", "16"])
    assert args.backends == ["mariadb", "postgresql"] and args.venv == Path("/x/n29")
    assert args.install and args.ports == 16
    with pytest.raises(SystemExit) as refused:
        ref.parse_args(["--backends", "mariadb,sqlite"])
    assert refused.value.code == 2


def test_neutron_reference_writes_neutron_conf_for_ml2_keystone_and_one_worker(
        tmp_path: Path) -> None:
    """The neutron.conf: ML2 as bench/api.py configures Neutrino, the [keystone_authtoken]
    of KeystoneIdentities, one API worker, no RPC workers, the run's own vhost."""
    ref, api = _load("neutron_reference"), _load("api")
    keystone = SimpleNamespace(auth_url="http://127.0.0.1:5000/v3",
                               admin_credentials=Credentials(
                                   "http://127.0.0.1:5000/v3", "admin", "pw", "admin"))
    ids = api.KeystoneIdentities(keystone)
    venv = tmp_path / "venv"
    sections = ref.neutron_conf(
        ids.server_conf(), db_url="mysql+pymysql://root@127.0.0.1:3306/n?charset=utf8mb4",
        transport_url="rabbit://guest:guest@127.0.0.1:5672/v1", workdir=tmp_path,
        venv=venv, extra={"quotas": {"quota_driver": api.NULL_QUOTA_DRIVER}})
    written = configparser.ConfigParser()
    written.read(ref.write_config(tmp_path / "neutron.conf", sections))
    default = written["DEFAULT"]
    assert default["auth_strategy"] == "keystone" and default["core_plugin"] == "ml2"
    assert default["service_plugins"] == ""
    assert (default["api_workers"], default["rpc_workers"]) == ("1", "0")
    assert default["transport_url"].endswith("/v1")
    assert default["api_paste_config"] == str(venv / "etc/neutron/api-paste.ini")
    assert written["keystone_authtoken"]["auth_url"] == "http://127.0.0.1:5000/v3"
    assert written["keystone_authtoken"]["username"] == "admin"
    assert sections["ml2"] == {"type_drivers": "vxlan,local",
                               "tenant_network_types": "vxlan",
                               "mechanism_drivers": "openvswitch,l2population"}
    assert written["ml2_type_vxlan"]["vni_ranges"] == "1:100000"
    assert written["database"]["connection"].startswith("mysql+pymysql://")
    assert written["oslo_concurrency"]["lock_path"] == str(tmp_path / "lock")
    assert written["quotas"]["quota_driver"] == api.NULL_QUOTA_DRIVER
    served = ref.uwsgi_args(venv, 9696, 1)
    assert served[served.index("--processes") + 1] == "1"
    assert served[served.index("--module") + 1] == "neutron.wsgi.api:application"


def test_neutron_reference_without_its_venv_says_how_to_make_it(tmp_path: Path) -> None:
    """Without ``--install`` nothing is installed: a missing venv is an error."""
    done = subprocess.run([sys.executable, str(BENCH / "neutron_reference.py"), "--venv",
                           str(tmp_path / "none")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "run with --install" in done.stderr
    assert not (tmp_path / "none").exists()


def test_api_benchmark_compares_with_a_same_machine_reference(tmp_path: Path) -> None:
    """``--reference FILE``: speedups against neutron_reference.py's figures; a file
    without them is refused."""
    api = _load("api")
    figures = {"ports_per_s_serial": 5.0, "ports_per_s_8_clients": 4.0,
               "list_2000_ports_s": 2.0, "network_create_delete_pairs_per_s": 8.0}
    path = tmp_path / "ref.json"
    path.write_text(json.dumps({"neutron_29_this_machine": {**figures, "backend": "mariadb"},
                                "neutron_version": "29.0.0"}))
    reference = api.load_reference(str(path))
    assert reference["figures"] == figures and reference["neutron_version"] == "29.0.0"
    ours = {"ports_per_s_serial": 50.0, "ports_per_s_8_clients": 80.0,
            "list_2000_ports_s": 0.1, "network_create_delete_pairs_per_s": 80.0}
    assert api.speedups(ours, reference["figures"]) == pytest.approx({
        "ports_per_s_serial": 10, "ports_per_s_8_clients": 20, "list_2000_ports_s": 20,
        "network_create_delete_pairs_per_s": 10})
    assert api.speedups(ours)["ports_per_s_serial"] == pytest.approx(50.0 / 10.87)
    path.write_text("{}")
    refused = subprocess.run([sys.executable, str(BENCH / "api.py"), "--reference",
                              str(path)], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2 and "--reference" in refused.stderr
