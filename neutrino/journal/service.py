"""The journal threads of one server process: sync workers plus the maintenance loop.

``JournalService.start`` starts them, ``wake`` is what postcommit calls, ``stop``
asks them to finish the row in hand and joins them. Every started service is
stopped at interpreter exit too, so a server shut down by SIGTERM does not leave
rows in processing. Each process (each gunicorn worker) runs its own service;
they share the work only through the database.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref

from neutrino.db.api import Database
from neutrino.journal.client import BaseControllerClient
from neutrino.journal.maintenance import Maintenance
from neutrino.journal.worker import Backoff, SyncSettings, SyncWorker, Waker

LOG = logging.getLogger(__name__)

_RUNNING: weakref.WeakSet[JournalService] = weakref.WeakSet()


class JournalService:
    """Sync workers and maintenance for one database and one controller."""

    def __init__(self, db: Database, client: BaseControllerClient,
                 settings: SyncSettings) -> None:
        self.db, self.client, self.settings = db, client, settings
        self.waker = Waker()
        self.backoff = Backoff()
        self.stopping = threading.Event()
        self.maintenance = Maintenance(db, client, settings, on_change=self.waker.wake_all)
        self.threads: list[threading.Thread] = []

    def start(self) -> JournalService:
        for i in range(self.settings.workers):
            worker = SyncWorker(i, self.db, self.client, self.settings, self.backoff,
                                self.waker, self.stopping)
            self._spawn(worker.run, f"journal-sync-{i}")
        if self.settings.enable_maintenance:
            self._spawn(self._maintenance_loop, "journal-maintenance")
        _RUNNING.add(self)
        return self

    def _spawn(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self.threads.append(thread)

    def wake(self) -> None:
        """Tell the workers that rows were committed."""
        self.waker.wake()

    def _maintenance_loop(self) -> None:
        force = True  # once at start, as networking-odl does
        while not self.stopping.is_set():
            try:
                self.maintenance.run(force=force)
                force = False
            except Exception:
                LOG.exception("journal maintenance failed; next run in %ss",
                              self.settings.maintenance_interval)
            self.stopping.wait(self.settings.maintenance_interval)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every thread (each finishes its current row first); idempotent."""
        self.stopping.set()
        self.waker.wake_all()
        for thread in self.threads:
            thread.join(timeout)
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            LOG.warning("journal threads still running after %ss: %s", timeout, alive)
        self.threads = []
        _RUNNING.discard(self)


def stop_all() -> None:
    """Stop every service this process started."""
    for service in list(_RUNNING):
        service.stop()


atexit.register(stop_all)
