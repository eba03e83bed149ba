"""Nova notifications: the [DEFAULT] switches and the ``[nova]`` section (keystoneauth).

``[nova]`` holds what keystoneauth1 reads from oslo.config for a session — the auth
plugin (``auth_type = password`` and its ``auth_url``, ``username``, ``password``,
``project_name``, ``user_domain_name``, ``project_domain_name`` …) and the session's
TLS/timeout options — plus Neutron's ``region_name`` and ``endpoint_type``, which pick
the ``compute`` endpoint from the service catalogue.
"""

from __future__ import annotations

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "nova"

DEFAULT_OPTS = [
    cfg.BoolOpt("notify_nova_on_port_status_changes", default=True,
                help="Send Nova network-vif-plugged/-unplugged/-deleted events when a "
                     "compute port's status changes or the port is deleted."),
    cfg.BoolOpt("notify_nova_on_port_data_changes", default=True,
                help="Send Nova network-changed events when a compute port's fixed IPs "
                     "or floating IPs change, so it refreshes its cache."),
    cfg.IntOpt("send_events_interval", default=2, min=0,
               help="Seconds over which events after the first are gathered into one "
                    "request to Nova."),
]

NOVA_OPTS = [
    cfg.StrOpt("region_name", help="Region of the compute endpoint in the catalogue."),
    cfg.StrOpt("endpoint_type", default="public", choices=["public", "admin", "internal"],
               help="Which compute endpoint of the catalogue to use."),
    cfg.ListOpt("valid_interfaces",
                help="Interfaces to try in order (keystoneauth's name); when set it wins "
                     "over endpoint_type."),
    cfg.StrOpt("endpoint_override",
               help="Nova's URL, skipping the catalogue (tests, unusual deployments)."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(NOVA_OPTS, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    # The password plugin's options, so a [nova] section written for Neutron is read
    # (and its options are not reported as ignored) before the plugin is loaded.
    # Not required here: without [nova] credentials the notifier is simply off.
    opts = [copy.copy(o) for o in ks_loading.get_auth_plugin_conf_options("password")]
    for opt in opts:
        opt.required = False
    conf.register_opts(opts, group=GROUP)
