"""Every benchmark loads the way the README runs it: ``python bench/<name>.py``.

Run like that, Python puts ``bench/`` (not the repository root) first on sys.path, so a
benchmark that imports the project's test fixtures must add the root itself; this
loads each script from another directory, with nothing but its own doing on sys.path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
