"""Real Neutron 29, on this machine, under bench/api.py's own workload.

bench/api.py compares Neutrino with fixed figures measured on another machine. This
script measures the reference here instead and prints JSON that
``python bench/api.py --reference FILE`` compares against:

    python bench/neutron_reference.py [--install] [--venv PATH]
                                      [--backends mariadb[,postgresql]]
                                      [--ports 300] [--list 2000] [--threads 1]

What runs, per backend (MariaDB by default: Neutron's supported database):

* Neutron ``29.0.0`` from PyPI in a virtualenv of its own (never the project's):
  ``--install`` makes it, once (with pymysql, psycopg, keystonemiddleware and uWSGI),
  at ``--venv`` (default ``$NEUTRINO_NEUTRON_VENV`` or
  /var/cache/neutrino-bench/neutron29); later runs reuse it.
* A real Keystone, started as bench/api.py starts it (``tests/fixtures/keystone.py``),
  and the identities of ``KeystoneIdentities``: the server validates every token
  through keystonemiddleware's ``auth_token`` with the ``[keystone_authtoken]`` that
  ``KeystoneIdentities.server_conf()`` gives.
* A fresh database, migrated by ``neutron-db-manage upgrade heads``, and a RabbitMQ
  virtual host of its own (``rabbitmqctl add_vhost``), both removed at the end.
* The API: Neutron 29 has no ``neutron-server`` any more (the eventlet server is gone);
  its API is the WSGI application ``neutron.wsgi.api:application``, served here by
  uWSGI as DevStack serves it: one process (``api_workers = 1``), ``--threads`` threads
  (1, DevStack's default), ``Connection: close`` on every answer. The RPC server
  (``neutron-rpc-server``) is a separate process in this layout and is not started:
  ``rpc_workers = 0``; no agent runs, and the API's casts to agents go to the vhost.
  ML2 with the vxlan and local type drivers (tenant networks vxlan, VNIs 1:100000),
  the openvswitch and l2population mechanism drivers, no service plugins. Nova is
  not part of the rig, so ``notify_nova_on_port_*_changes`` are off. Policy: Neutron's
  defaults (new defaults and scope enforcement as shipped); nothing is overridden.
* The workload is bench/api.py's ``_measure`` itself (imported, not copied), then, as
  bench/api.py does, ``ports_per_s_serial_off`` on a second server whose
  ``quota_driver`` is Neutron's ``DbQuotaDriverNull``.

Before measuring, a member of a separate project creates a network, a subnet and a
port, and the port must answer 201 with an address in ``fixed_ips``
(``port_create_check`` in the output).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import api  # noqa: E402
from tests.fixtures.rabbit import broker_url, private_vhost  # noqa: E402
from tests.fixtures.servers import (  # noqa: E402
    free_port,
    make_database,
    wait_http,
    write_config,
)

NEUTRON_VERSION = "29.0.0"
PACKAGES = (f"neutron=={NEUTRON_VERSION}", "pymysql", "psycopg[binary]",
            "keystonemiddleware", "uwsgi")
DEFAULT_VENV = Path(os.environ.get("NEUTRINO_NEUTRON_VENV",
                                   "/var/cache/neutrino-bench/neutron29"))
BACKENDS = ("mariadb", "postgresql")
WSGI_APP = "neutron.wsgi.api:application"


class NeutronError(RuntimeError):
    """Neutron could not be installed, migrated or started."""


# ------------------------------------------------------------------------ the venv


def _stamp(venv: Path) -> Path:
    return venv / f".neutrino-neutron-{NEUTRON_VERSION}"


def venv_ready(venv: Path) -> bool:
    return all(p.exists() for p in (_stamp(venv), venv / "bin" / "uwsgi",
                                    venv / "bin" / "neutron-db-manage"))


def _run(args: list[str], log: Path | None = None, **kw: Any) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kw)
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise NeutronError(f"{' '.join(args)} exited with {done.returncode}:\n"
                           f"{_gist(done.stdout + done.stderr)}")


def _gist(output: str) -> str:
    """The last migration step started and the error lines of a failed command's output
    (its tail when it has neither)."""
    lines = output.splitlines()
    steps = [ln for ln in lines if "Running upgrade" in ln][-1:]
    errors = [ln for ln in lines if ln.startswith(("[SQL:", "oslo_db.exception"))
              or "Error:" in ln][-4:]
    return "\n".join(steps + errors) if errors else output[-3000:]


def install(venv: Path) -> None:
    """Make the venv with Neutron and what it is served with; once (a lock serialises
    concurrent installers, a stamp marks a finished install)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if venv_ready(venv):
            return
        _run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
               "--disable-pip-version-check"]
        _run([*pip, "--upgrade", "pip"])
        _run([*pip, *PACKAGES])
        _stamp(venv).touch()


def neutron_version(venv: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import importlib.metadata as m; print(m.version('neutron'))"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


# ------------------------------------------------------------- database and config


def neutron_conf(auth: dict[str, dict[str, Any]], *, db_url: str, transport_url: str,
                 workdir: Path, venv: Path,
                 extra: dict[str, dict[str, Any]] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """neutron.conf's sections: ML2 as bench/api.py configures Neutrino, ``auth`` (the
    identities' ``server_conf()``), and the minimum Neutron needs to serve its API."""
    conf: dict[str, dict[str, Any]] = {
        **auth,
        "DEFAULT": {**auth.get("DEFAULT", {}),
                    "core_plugin": "ml2", "service_plugins": "",
                    "api_workers": 1, "rpc_workers": 0,
                    "transport_url": transport_url,
                    "state_path": str(workdir / "state"),
                    "api_paste_config": str(venv / "etc" / "neutron" / "api-paste.ini"),
                    # No Nova in this rig (a port without a device owner notifies none).
                    "notify_nova_on_port_status_changes": "false",
                    "notify_nova_on_port_data_changes": "false"},
        "database": {"connection": db_url},
        "ml2": {"type_drivers": "vxlan,local", "tenant_network_types": "vxlan",
                "mechanism_drivers": "openvswitch,l2population"},
        "ml2_type_vxlan": {"vni_ranges": "1:100000"},
        "oslo_concurrency": {"lock_path": str(workdir / "lock")},
    }
    for section, opts in (extra or {}).items():
        conf[section] = {**conf.get(section, {}), **opts}
    return conf


def migrate(venv: Path, conf: Path, log: Path) -> None:
    _run([str(venv / "bin" / "neutron-db-manage"), "--config-file", str(conf),
          "upgrade", "heads"], log=log)


def uwsgi_args(venv: Path, port: int, threads: int) -> list[str]:
    """uWSGI serving Neutron's API as DevStack's uwsgi ini does, on HTTP directly."""
    return [str(venv / "bin" / "uwsgi"), "--http-socket", f"127.0.0.1:{port}",
            "--module", WSGI_APP, "--virtualenv", str(venv), "--master",
            "--processes", "1", "--threads", str(threads), "--enable-threads",
            "--lazy-apps", "--thunder-lock", "--die-on-term", "--exit-on-reload",
            "--buffer-size", "65535", "--add-header", "Connection: close"]


@contextlib.contextmanager
def neutron_api(venv: Path, conf: Path, port: int, threads: int,
                log: Path) -> Iterator[subprocess.Popen[Any]]:
    """Neutron's API under uWSGI (its own process group), stopped at the end."""
    env = dict(os.environ, OS_NEUTRON_CONFIG_DIR=str(conf.parent),
               OS_NEUTRON_CONFIG_FILES=conf.name)
    with open(log, "wb") as out:
        proc = subprocess.Popen(uwsgi_args(venv, port, threads), stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=conf.parent,
                                start_new_session=True)
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/", deadline_s=180, proc=proc)
        except (RuntimeError, TimeoutError) as e:
            raise NeutronError(f"{e}; log tail:\n{log.read_text()[-3000:]}") from None
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)  # uWSGI: SIGINT stops at once
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers left behind, if any
    proc.wait()


# ----------------------------------------------------------------------- measuring


def check_port_create(base: str, ids: Any) -> dict[str, Any]:
    """A member makes a network, a subnet and a port: the port must answer 201 with
    an address (Neutron really serves; nothing is mocked)."""
    _, member = ids.project("sanity", "member")
    with api.make_client("stdlib", base, member) as http:
        net_id = api._bench_network(http)
        port = http.post("/v2.0/ports", json={"port": {"network_id": net_id}})
    body = port.json()
    fixed = body.get("port", {}).get("fixed_ips") if port.status_code == 201 else None
    if not fixed:
        raise NeutronError(f"port create answered {port.status_code}: {body}")
    return {"status": port.status_code, "fixed_ips": fixed}


@contextlib.contextmanager
def serving(args: argparse.Namespace, backend: str, ids: Any, tmp: Path,
            extra: dict[str, dict[str, Any]] | None = None
            ) -> Iterator[tuple[str, str, subprocess.Popen[Any]]]:
    """(base URL, database URL, uWSGI process) of a Neutron on a fresh database and
    RabbitMQ vhost."""
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    # An empty database (Neutron migrates it with its own neutron-db-manage below).
    with make_database(backend, workdir, migrate=False) as db_url, \
            private_vhost("neutrino-bench") as vhost:
        conf = write_config(workdir / "neutron.conf", neutron_conf(
            ids.server_conf(), db_url=db_url, transport_url=broker_url(vhost),
            workdir=workdir, venv=args.venv, extra=extra))
        migrate(args.venv, conf, workdir / "db-manage.log")
        port = free_port()
        with neutron_api(args.venv, conf, port, args.threads,
                         workdir / "neutron-api.log") as proc:
            yield f"http://127.0.0.1:{port}", db_url, proc


def measure_backend(args: argparse.Namespace, backend: str, ids: Any,
                    tmp: Path) -> dict[str, Any]:
    """bench/api.py's figures for real Neutron on ``backend``."""
    load = api.load_1min()
    with serving(args, backend, ids, tmp) as (base, db_url, proc):
        check = check_port_create(base, ids)
        sampler = api.RssSampler(proc.pid)
        sampler.start()
        result = api._measure("stdlib", base, db_url, ids, args.ports, args.list)
        sampler.stop_event.set()
        sampler.join()
        result["server_peak_rss_mb"] = round(sampler.peak / 2**20, 1)
    off = {"quotas": {"quota_driver": api.NULL_QUOTA_DRIVER}}
    with serving(args, backend, ids, tmp, off) as (base, _, _proc):
        result["quotas"]["ports_per_s_serial_off"] = api._quotas_off(
            "stdlib", base, ids, min(args.ports, 200))
    result["quotas"] = {k: round(v, 4) for k, v in result["quotas"].items()}
    result["port_create_check"] = check
    result["load_avg_1min"] = {"before": load, "after": api.load_1min()}
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"load_avg_1min": {"before": api.load_1min()},
                           "neutron_version": neutron_version(args.venv),
                           "server": {"wsgi": f"uwsgi {WSGI_APP}", "processes": 1,
                                      "threads": args.threads, "api_workers": 1,
                                      "rpc_workers": 0, "auth": "keystone"},
                           "cpus": os.cpu_count()}
    first, *others = args.backends
    with api.identities("keystone") as ids, tempfile.TemporaryDirectory() as tmp:
        out["neutron_29_this_machine"] = {
            "backend": first, **measure_backend(args, first, ids, Path(tmp))}
        for backend in others:
            try:
                figures = measure_backend(args, backend, ids, Path(tmp))
            except NeutronError as e:  # e.g. a migration that only MySQL runs
                figures = {"error": str(e)[-1500:]}
            out.setdefault("other_backends", {})[backend] = figures
    out["load_avg_1min"]["after"] = api.load_1min()
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="Neutron's virtualenv (default: %(default)s)")
    parser.add_argument("--install", action="store_true",
                        help="create the virtualenv if it is missing")
    parser.add_argument("--backends", default="mariadb",
                        help="comma-separated: mariadb, postgresql (the first one's "
                             "figures are neutron_29_this_machine, the others' "
                             "other_backends)")
    parser.add_argument("--ports", type=int, default=300)
    parser.add_argument("--list", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of the one uWSGI process (DevStack: 1)")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown or not args.backends:
        parser.error(f"--backends: unknown backend(s) {', '.join(sorted(unknown))}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.install:
        install(args.venv)
    if not venv_ready(args.venv):
        sys.exit(f"no Neutron {NEUTRON_VERSION} venv at {args.venv}: run with --install")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
