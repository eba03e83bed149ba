"""The metadata agent's settings, as one immutable value built from metadata_agent.ini."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MetadataAgentConfig:
    """Everything the metadata agent reads from its configuration files."""

    host: str
    socket_path: Path
    nova_url: str = "http://127.0.0.1:8775"
    shared_secret: str = ""
    insecure: bool = False  # https: do not verify Nova's certificate
    ca_cert: str | None = None
    client_cert: tuple[str, str] | None = None  # (certificate, private key)
    workers: int = 4
    backlog: int = 4096
    socket_mode: int = 0o644
    cache_ttl: float = 5.0  # 0: no cache
    report_interval: float = 30.0
    log_agent_heartbeats: bool = False
    nova_timeout: float = 60.0

    @classmethod
    def from_conf(cls, conf: Any) -> MetadataAgentConfig:
        """Build from an oslo.config object made by ``neutrino.conf.metadata``."""
        host = conf.nova_metadata_host
        if ":" in host:  # an IPv6 literal needs brackets in a URL
            host = f"[{host}]"
        cert = (conf.nova_client_cert, conf.nova_client_priv_key) \
            if conf.nova_client_cert else None
        return cls(
            host=conf.host, socket_path=Path(conf.metadata_proxy_socket).absolute(),
            nova_url=f"{conf.nova_metadata_protocol}://{host}:{conf.nova_metadata_port}",
            shared_secret=conf.metadata_proxy_shared_secret or "",
            insecure=conf.nova_metadata_insecure, ca_cert=conf.auth_ca_cert or None,
            client_cert=cert, workers=conf.metadata_workers or 2 * (os.cpu_count() or 1),
            backlog=conf.metadata_backlog,
            socket_mode=_SOCKET_MODES.get(conf.metadata_proxy_socket_mode, 0o644),
            cache_ttl=float(conf.cache.expiration_time) if conf.cache.enabled else 0.0,
            report_interval=float(conf.agent.report_interval),
            log_agent_heartbeats=conf.agent.log_agent_heartbeats)


# The proxies run as root here, so 'deduce' and 'user' need no more than the owner.
_SOCKET_MODES = {"all": 0o666, "group": 0o660, "user": 0o644, "deduce": 0o644}
