"""The thin adapter between rendered dnsmasq state and the host: files, the process, leases.

Files are written temp-then-rename and only when their text differs; dnsmasq is started
(daemonised, inside the network's namespace) when it is not running, restarted when its
command line changed (a subnet added or removed), and sent SIGHUP when only its files
changed, so re-applying an unchanged model touches nothing. A dnsmasq is known by its pid
file and by its ``/proc/<pid>/cmdline`` naming the network's directory, which also finds
the processes of a previous run of the agent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

LOG = logging.getLogger(__name__)

DHCP_RELEASE = "dhcp_release"


class ProcessError(RuntimeError):
    """dnsmasq could not be started or a helper failed."""


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically make ``path`` hold ``text``; False (nothing written) if it already does."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)  # dnsmasq re-reads its files as an unprivileged user
    os.replace(tmp, path)
    return True


def read_pid(conf_dir: Path) -> int | None:
    try:
        return int((conf_dir / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def running_cmdline(conf_dir: Path) -> list[str] | None:
    """The argv of the dnsmasq serving ``conf_dir``, or None when none is running."""
    pid = read_pid(conf_dir)
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
    args = [a.decode() for a in argv if a]
    if state == "Z" or f"--pid-file={conf_dir / 'pid'}" not in args:
        return None  # a zombie, or the pid was reused by another process
    return args


def leased(conf_dir: Path) -> set[tuple[str, str]]:
    """(ip, mac) of the leases in dnsmasq's lease file."""
    found = set()
    with contextlib.suppress(OSError):
        for line in (conf_dir / "leases").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("duid"):
                found.add((fields[2], fields[1].lower()))
    return found


class DnsmasqProcess:
    """One network's dnsmasq and its files under ``conf_dir``, run inside ``namespace``."""

    def __init__(self, conf_dir: Path, namespace: str, interface: str,
                 start_timeout: float = 10.0) -> None:
        self.conf_dir = conf_dir
        self.namespace = namespace
        self.interface = interface
        self.start_timeout = start_timeout

    def apply(self, cmd: Sequence[str], files: Mapping[str, str], leases: str) -> str:
        """Converge files and process; what was done: 'unchanged', 'reloaded', 'started'."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.conf_dir, 0o755)
        changed = [kind for kind, text in files.items()
                   if write_if_changed(self.conf_dir / kind, text)]
        write_if_changed(self.conf_dir / "interface", f"{self.interface}\n")
        running = running_cmdline(self.conf_dir)
        if running == list(cmd):
            if not changed:
                return "unchanged"
            self._signal(signal.SIGHUP)
            return "reloaded"
        if running is not None:
            self.stop(keep_files=True)
        # only a fresh dnsmasq reads the lease file we write: a running one owns it
        write_if_changed(self.conf_dir / "leases", leases)
        self._start(cmd)
        return "started"

    def alive(self) -> bool:
        return running_cmdline(self.conf_dir) is not None

    def _start(self, cmd: Sequence[str]) -> None:
        # dnsmasq daemonises once it is listening; a start-up error is its exit status
        proc = subprocess.run(["ip", "netns", "exec", self.namespace, *cmd],
                              capture_output=True, text=True, check=False,
                              timeout=self.start_timeout)
        if proc.returncode != 0:
            raise ProcessError(f"dnsmasq for {self.conf_dir.name} failed to start "
                               f"({proc.returncode}): {proc.stderr.strip()}")
        LOG.info("dnsmasq started for network %s in %s", self.conf_dir.name, self.namespace)

    def _signal(self, signum: int) -> None:
        pid = read_pid(self.conf_dir)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self, keep_files: bool = False) -> None:
        """Stop dnsmasq (SIGTERM, then SIGKILL) and, unless ``keep_files``, remove its files."""
        pid = read_pid(self.conf_dir) if self.alive() else None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.alive():
                os.kill(pid, signal.SIGKILL)
        if not keep_files:
            shutil.rmtree(self.conf_dir, ignore_errors=True)

    def release(self, leases: AbstractSet[tuple[str, str]]) -> None:
        """Tell dnsmasq these (ip, mac) leases are gone (``dhcp_release``, IPv4 only)."""
        for ip, mac in sorted(leases):
            if ":" in ip:
                continue
            proc = subprocess.run(["ip", "netns", "exec", self.namespace, DHCP_RELEASE,
                                   self.interface, ip, mac], capture_output=True, text=True,
                                  check=False)
            if proc.returncode != 0:
                LOG.warning("dhcp_release %s %s failed: %s", ip, mac, proc.stderr.strip())
