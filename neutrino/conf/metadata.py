"""metadata_agent.ini options (and the metadata options the DHCP agent shares), Neutron's names.

``make_metadata_agent_conf()`` builds the metadata agent's configuration from
``--config-file neutron.conf --config-file metadata_agent.ini``: these options, the
[agent] heartbeat options and the server's [DEFAULT] options, so an operator's Neutron
files load unchanged. ``register_shared()`` gives the DHCP (and later L3) agent the
socket path its namespace proxies forward to.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from neutrino.conf import make_conf, register_missing

# Read by the metadata agent and by the agents that run a proxy in their namespaces.
SHARED_OPTS = [
    cfg.StrOpt("metadata_proxy_socket", default="$state_path/metadata_proxy",
               help="The unix socket the metadata agent listens on and the namespace "
                    "proxies forward to."),
    cfg.StrOpt("metadata_proxy_user", default="",
               help="Accepted for compatibility; the proxy runs as the agent's user."),
    cfg.StrOpt("metadata_proxy_group", default="",
               help="Accepted for compatibility; the proxy runs as the agent's group."),
]

PROXY_HANDLER_OPTS = [
    cfg.HostAddressOpt("nova_metadata_host", default="127.0.0.1",
                       help="Host of Nova's metadata API."),
    cfg.PortOpt("nova_metadata_port", default=8775, help="Port of Nova's metadata API."),
    cfg.StrOpt("nova_metadata_protocol", default="http", choices=["http", "https"],
               help="Protocol of Nova's metadata API."),
    cfg.StrOpt("metadata_proxy_shared_secret", default="", secret=True,
               help="Secret shared with Nova; signs the instance id of each request."),
    cfg.BoolOpt("nova_metadata_insecure", default=False,
                help="Do not verify Nova's certificate (https)."),
    cfg.StrOpt("auth_ca_cert", help="CA bundle that verifies Nova's certificate (https)."),
    cfg.StrOpt("nova_client_cert", default="",
               help="Client certificate presented to Nova (https)."),
    cfg.StrOpt("nova_client_priv_key", default="",
               help="Private key of the client certificate (https)."),
]

UNIX_SOCKET_OPTS = [
    cfg.StrOpt("metadata_proxy_socket_mode", default="deduce",
               choices=["deduce", "user", "group", "all"],
               help="Who may write to the socket; Neutrino makes it 0666 for 'all', "
                    "0660 for 'group', 0644 otherwise."),
    cfg.IntOpt("metadata_workers", default=0, min=0,
               help="Requests served at once (threads); 0 means twice the CPUs. "
                    "Neutron forks processes; one process with threads serves the same "
                    "I/O-bound load."),
    cfg.IntOpt("metadata_backlog", default=4096, min=1,
               help="Listen backlog of the unix socket."),
]

# The port lookup cache. Neutron uses oslo.cache's [cache] section; the in-memory TTL
# cache is Neutrino's only backend, and the expiry defaults to Neutron's old 5 s
# (cache_url memory://?default_ttl=5): long enough for one cloud-init burst, short
# enough that a reused address soon maps to its new instance.
CACHE_OPTS = [
    cfg.BoolOpt("enabled", default=True, help="Cache port lookups."),
    cfg.StrOpt("backend", default="dogpile.cache.memory",
               help="Accepted for compatibility; the cache is always in memory."),
    cfg.IntOpt("expiration_time", default=5, min=0,
               help="Seconds a port lookup stays cached."),
]

AGENT_OPTS = [
    cfg.FloatOpt("report_interval", default=30.0, min=0.1,
                 help="Seconds between heartbeats."),
    cfg.BoolOpt("log_agent_heartbeats", default=False, help="Log every heartbeat."),
]


def register_shared(conf: cfg.ConfigOpts) -> None:
    """The options an agent running namespace proxies needs (the socket path)."""
    register_missing(conf, SHARED_OPTS)


def register(conf: cfg.ConfigOpts) -> None:
    """Register every option of the metadata agent on ``conf``."""
    register_shared(conf)
    register_missing(conf, PROXY_HANDLER_OPTS)
    register_missing(conf, UNIX_SOCKET_OPTS)
    register_missing(conf, CACHE_OPTS, group="cache")
    register_missing(conf, AGENT_OPTS, group="agent")


def make_metadata_agent_conf(args: Sequence[str] = (), *,
                             prog: str = "neutrino-metadata-agent",
                             overrides: dict[str, dict[str, object]] | None = None
                             ) -> cfg.ConfigOpts:
    """Parse the metadata agent's ``--config-file`` arguments into a validated ConfigOpts."""
    return make_conf(args, prog=prog, overrides=overrides, extra=register)
