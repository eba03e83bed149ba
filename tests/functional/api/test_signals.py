"""Stopping the servers: Ctrl-C and SIGTERM end them cleanly, without a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from tests.fixtures.servers import REPO, free_port, wait_http, write_config

pytestmark = [pytest.mark.functional]


@pytest.mark.parametrize("command", ["neutrino.cmd.neutrino", "neutrino.cmd.server"])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_signal_stops_the_server_cleanly(tmp_path, command, sig, code) -> None:
    port = free_port()
    conf = write_config(tmp_path / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "transport_url": "fake://", "api_workers": 0},
        "database": {"connection": f"sqlite:///{tmp_path / 'n.sqlite'}"}})
    args = [sys.executable, "-m", command, "--config-file", str(conf)]
    if command == "neutrino.cmd.neutrino":
        args[3:3] = ["run", "--no-agent"]
    else:
        subprocess.run([sys.executable, "-m", "neutrino.cmd.neutrino", "db", "upgrade",
                        "--config-file", str(conf)], check=True, cwd=REPO,
                       capture_output=True)
    # A child of a non-interactive shell may start with SIGINT ignored; restore it.
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc=proc)
        resp = httpx.post(f"http://127.0.0.1:{port}/v2.0/networks",
                          json={"network": {"name": "n"}})
        assert resp.status_code == 201, resp.text
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, out.decode(errors="replace")[-2000:]
    assert b"Traceback" not in out, out.decode(errors="replace")[-2000:]
