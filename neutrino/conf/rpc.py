"""[DEFAULT] messaging options (oslo.messaging's own, plus Neutron's RPC tuning knobs).

``transport_url`` and ``rpc_response_timeout`` are oslo.messaging's options,
registered here with the library's own definitions so that the library can
register them again on the same ConfigOpts without a DuplicateOptError; only the
default transport changes, to the in-process ``fake://`` bus of the all-in-one.
"""

from __future__ import annotations

import importlib

from oslo_config import cfg

OPTS = [
    cfg.IntOpt("rpc_resources_processing_step", default=20, min=1,
               help="Devices per update_device_list / device details RPC call; bigger "
                    "lists are sent in chunks so that no single call times out."),
    cfg.IntOpt("rpc_response_max_timeout", default=600,
               help="Largest timeout an agent's RPC call may back off to (seconds)."),
    cfg.IntOpt("rpc_state_report_workers", default=1, min=0,
               help="Threads serving q-reports-plugin (heartbeats); 0 serves them on the "
                    "q-plugin server."),
    cfg.IntOpt("rpc_workers", default=1, min=0,
               help="RPC servers started by the API process (0: none)."),
]


# What oslo.messaging's own ConfFixture registers on a ConfigOpts. The library reads
# several of these groups ([oslo_messaging_metrics], [oslo_messaging_tracing]) from
# whatever ConfigOpts it is given but registers them only on the global cfg.CONF, so
# a private ConfigOpts (ours) must register them itself.
_MESSAGING_OPTS = (
    ("oslo_messaging._drivers.impl_rabbit", "rabbit_opts", "oslo_messaging_rabbit"),
    ("oslo_messaging._drivers.amqp", "amqp_opts", "oslo_messaging_rabbit"),
    ("oslo_messaging.rpc.client", "_client_opts", None),
    ("oslo_messaging.transport", "_transport_opts", None),
    ("oslo_messaging.rpc.dispatcher", "_dispatcher_opts", None),
    ("oslo_messaging.notify.notifier", "_notifier_opts", "oslo_messaging_notifications"),
    ("oslo_messaging._metrics.client", "oslo_messaging_metrics", "oslo_messaging_metrics"),
    ("oslo_messaging._tracing.client", "oslo_messaging_tracing", "oslo_messaging_tracing"),
)


def _messaging_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    groups: list[tuple[str | None, list[cfg.Opt]]] = []
    for module_name, attr, group in _MESSAGING_OPTS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an older oslo.messaging without this feature
            continue
        opts = getattr(module, attr, None)
        if opts is not None:
            groups.append((group, list(opts)))
    return groups


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
    for group, opts in _messaging_opts():
        conf.register_opts(opts, group=group)
    conf.set_default("transport_url", "fake://")
    conf.set_default("control_exchange", "neutron")
