"""Loading the core plugin and the service plugins by entry point or ``module:Class``.

A service plugin implements ``neutrino.plugins.base.ServicePlugin`` (its resources,
member actions, sub-resources, extension aliases and policy rules); it is named in
``[DEFAULT] service_plugins`` as in Neutron, or brought along by the core plugin.
"""

from __future__ import annotations

from typing import Any

from neutrino.common.loading import load_class


def load_core_plugin(conf: Any, db: Any) -> Any:
    return load_class("neutrino.core_plugins", conf.core_plugin)(conf, db)


def load_service_plugins(conf: Any, db: Any, core: Any) -> list[Any]:
    """The configured service plugins plus those the core plugin always brings
    (``implicit_service_plugins``: ML2 serves the agents API, as in Neutron)."""
    names = [*getattr(core, "implicit_service_plugins", ()),
             *(n.strip() for n in conf.service_plugins if n.strip())]
    plugins = [load_class("neutrino.service_plugins", name)(conf, db, core)
               for name in dict.fromkeys(names)]
    # A plugin that calls another's methods (auto-allocation makes routers) finds it
    # here once all are loaded: ``plugins_loaded(plugins)``.
    for plugin in plugins:
        loaded = getattr(plugin, "plugins_loaded", None)
        if loaded is not None:
            loaded(plugins)
    return plugins
