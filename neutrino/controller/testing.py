"""Client for the controller's ``/_test`` API, for test rigs and demos."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

WRITE_METHODS = ("POST", "PUT", "DELETE")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; return that.

    Raises ``TimeoutError`` naming ``message`` once ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class ControllerTestApi:
    """Talks to ``/_test`` of a reference controller at root URL ``url``."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), transport=transport, timeout=timeout)

    def health(self) -> dict[str, Any]:
        return self._checked("GET", "/_test/health").json()

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Every logged northbound request after ``since``, oldest first."""
        return self._checked("GET", "/_test/log", params={"since": since}).json()["log"]

    def applied(self, since: int = 0) -> list[tuple[str, str, str]]:
        """(method, object_type, id) of each change the controller accepted."""
        return [
            (e["method"], e["object_type"], e["resource_id"])
            for e in self.log(since)
            if e["method"] in WRITE_METHODS and 200 <= e["status"] < 300
        ]

    def clear_log(self) -> None:
        self._checked("DELETE", "/_test/log")

    def faults(self) -> dict[str, Any]:
        return self._checked("GET", "/_test/faults").json()

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Change fault settings (see ``neutrino.controller.faults``)."""
        return self._checked("PUT", "/_test/faults", json=settings).json()

    def clear_faults(self) -> dict[str, Any]:
        return self._checked("DELETE", "/_test/faults").json()

    def wipe(self) -> None:
        """Make the controller forget every resource."""
        self._checked("POST", "/_test/wipe")

    def close(self) -> None:
        self._http.close()

    def _checked(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response

    def __enter__(self) -> ControllerTestApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
