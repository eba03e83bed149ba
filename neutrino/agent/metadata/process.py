"""Supervision of one namespace's metadata proxy: start if missing, find, stop.

The proxy daemonises like dnsmasq (``proxy --daemonize`` returns once it listens), so a
start error is an exit status and a running proxy outlives an agent restart. It is known
by its pid file and by ``/proc/<pid>/cmdline`` naming that pid file, which tells it from
an unrelated process that reused the pid.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

NETWORK_HEADER_OPTION = "--network-id"
ROUTER_HEADER_OPTION = "--router-id"


class ProxyError(RuntimeError):
    """The metadata proxy could not be started."""


def proxy_command(socket_path: Path, pid_file: Path, *, network_id: str | None = None,
                  router_id: str | None = None, bind_address: str = "169.254.169.254",
                  port: int = 80) -> list[str]:
    """The proxy's command line for a network's (or a router's) namespace."""
    which = [NETWORK_HEADER_OPTION, network_id] if network_id else \
        [ROUTER_HEADER_OPTION, str(router_id)]
    return [sys.executable, "-m", "neutrino.agent.metadata.proxy", "--socket",
            str(socket_path), *which, "--bind-address", bind_address, "--port", str(port),
            f"--pid-file={pid_file}", "--daemonize"]


def running_pid(pid_file: Path) -> int | None:
    """The pid of the live proxy that ``pid_file`` names, or None."""
    try:
        pid = int(pid_file.read_text().strip())
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return None
    if state == "Z" or f"--pid-file={pid_file}".encode() not in args:
        return None  # a zombie, or the pid now belongs to another process
    return pid


class MetadataProxyProcess:
    """The proxy of ``namespace`` whose pid file is ``pid_file``."""

    def __init__(self, namespace: str, pid_file: Path, start_timeout: float = 10.0) -> None:
        self.namespace = namespace
        self.pid_file = pid_file
        self.start_timeout = start_timeout

    def alive(self) -> bool:
        return running_pid(self.pid_file) is not None

    def ensure(self, cmd: list[str]) -> bool:
        """Start the proxy unless it runs; True when it was started."""
        if self.alive():
            return False
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["ip", "netns", "exec", self.namespace, *cmd],
                              capture_output=True, text=True, check=False,
                              timeout=self.start_timeout)
        if proc.returncode != 0 or not self.alive():
            raise ProxyError(f"metadata proxy in {self.namespace} failed to start "
                             f"({proc.returncode}): {proc.stderr.strip()}")
        LOG.info("metadata proxy started in %s", self.namespace)
        return True

    def stop(self) -> None:
        """SIGTERM (then SIGKILL) the proxy if it runs; remove its pid file."""
        pid = running_pid(self.pid_file)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
