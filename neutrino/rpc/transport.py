"""oslo.messaging transports: ``rabbit://`` for multi-host, ``fake://`` in-process.

The in-process ``fake://`` bus only connects parties that share one ``Transport``
object, so the all-in-one server hands its transport to the agents it embeds and
tests pass one transport to the server and to every simulated agent. Everything
that talks RPC therefore takes a transport argument; ``get_transport(conf)`` is the
default, one transport per ConfigOpts (a private ConfigOpts per server, so two test
servers in one process never share a fake bus by accident).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import oslo_messaging
from oslo_config import cfg

from neutrino.conf import rpc as rpc_conf

Transport = Any  # oslo_messaging.Transport (the library ships no type information)

_LOCK = threading.Lock()
_CACHE: dict[int, Transport] = {}


def ensure_opts(conf: cfg.ConfigOpts) -> None:
    """Register the messaging options on ``conf`` if its owner did not."""
    try:
        conf.transport_url  # noqa: B018 - probing for the option
    except cfg.NoSuchOptError:
        rpc_conf.register(conf)


def make_transport(conf: cfg.ConfigOpts, url: str | None = None) -> Transport:
    """A new RPC transport for ``url`` (default ``conf.transport_url``)."""
    ensure_opts(conf)
    return oslo_messaging.get_rpc_transport(conf, url=url or conf.transport_url)


def get_transport(conf: cfg.ConfigOpts) -> Transport:
    """The transport of ``conf``: made on first use, then shared by everything using it."""
    key = id(conf)
    with _LOCK:
        transport = _CACHE.get(key)
        if transport is None:
            transport = make_transport(conf)
            _CACHE[key] = transport
            weakref.finalize(conf, _CACHE.pop, key, None)
        return transport


def set_transport(conf: cfg.ConfigOpts, transport: Transport) -> None:
    """Make ``transport`` the one ``get_transport(conf)`` returns (tests, all-in-one)."""
    with _LOCK:
        if id(conf) not in _CACHE:
            weakref.finalize(conf, _CACHE.pop, id(conf), None)
        _CACHE[id(conf)] = transport


def is_fake(transport: Any) -> bool:
    """True for the in-process bus (no broker: every party must share the transport)."""
    return "fake" in type(getattr(transport, "_driver", None)).__name__.lower()


def cleanup(transport: Transport) -> None:
    """Close the transport's connections; it must not be used afterwards."""
    with _LOCK:
        for key in [k for k, t in _CACHE.items() if t is transport]:
            del _CACHE[key]
    transport.cleanup()
