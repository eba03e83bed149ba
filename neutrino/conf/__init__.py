"""Configuration: every option declared once, beside its section, in Neutron's names.

``make_conf()`` builds a private ``ConfigOpts`` (tests run several servers in one
process, each with its own configuration) with every section registered, parses
the given ``--config-file`` arguments and validates them.
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Callable, Sequence

from oslo_config import cfg
from oslo_policy import opts as policy_opts

from neutrino.conf import (
    common,
    database,
    dhcp_scheduler,
    journal,
    l3_scheduler,
    ml2,
    nova,
    quotas,
    rpc,
    service_providers,
)

LOG = logging.getLogger(__name__)

# Sections that libraries read themselves when they start (keystonemiddleware,
# oslo.messaging's drivers): their options are not registered here, and not ignored.
_LIBRARY_SECTIONS = frozenset({
    "keystone_authtoken", "oslo_messaging_rabbit", "oslo_messaging_notifications",
})
# Sections that real Neutron config files carry and that Neutrino accepts without
# implementing (each of their options is reported at start-up, see ``ignored``).
_FOREIGN_SECTIONS = _LIBRARY_SECTIONS | frozenset({
    "oslo_policy", "oslo_concurrency", "oslo_middleware", "nova", "placement",
    "agent", "ovs", "securitygroup", "experimental", "ironic", "designate",
    "ml2_type_vlan_transparent", "ovn", "oslo_messaging_amqp", "network_log",
})


class ConfigError(Exception):
    """A configuration file names an unknown section or holds a bad value."""


def register_all(conf: cfg.ConfigOpts) -> None:
    # oslo.policy registers [oslo_policy] only when an Enforcer is made; registering
    # it here lets files and overrides set policy_file like any other option.
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    common.register(conf)
    database.register(conf)
    ml2.register(conf)
    journal.register(conf)
    rpc.register(conf)
    dhcp_scheduler.register(conf)
    l3_scheduler.register(conf)
    nova.register(conf)
    quotas.register(conf)
    service_providers.register(conf)


def register_missing(conf: cfg.ConfigOpts, opts: Sequence[cfg.Opt],
                     group: str | None = None) -> None:
    """Register those of ``opts`` not registered yet: the agents share options with the
    server and with each other (the all-in-one holds them all), one definition wins."""
    known = conf._opts if group is None else (
        conf._groups[group]._opts if group in conf._groups else {})
    conf.register_opts([opt for opt in opts if opt.dest not in known], group=group)


def make_conf(args: Sequence[str] = (), *, prog: str = "neutrino-server",
              overrides: dict[str, dict[str, object]] | None = None,
              extra: Callable[[cfg.ConfigOpts], None] | None = None) -> cfg.ConfigOpts:
    """Parse ``args`` (``--config-file`` …) into a new, validated ConfigOpts.

    ``overrides`` maps a group (``"DEFAULT"`` for the default group) to
    option → value; they win over the files, as command-line options would.
    ``extra`` registers more sections (an agent's) before the files are read.
    """
    conf = cfg.ConfigOpts()
    register_all(conf)
    if extra is not None:
        extra(conf)
    conf(list(args), project="neutron", prog=prog, default_config_files=[],
         default_config_dirs=[])
    for group, opts in (overrides or {}).items():
        for name, value in opts.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    validate(conf)
    for path, section, name in ignored(conf):
        LOG.warning("%s: [%s] %s is accepted but not implemented by Neutrino; ignored",
                    path, section, name)
    return conf


def ignored(conf: cfg.ConfigOpts) -> list[tuple[str, str, str]]:
    """(file, section, option) of every setting in the files that nothing reads.

    Operators' Neutron files keep loading, but an option that would change
    Neutron's behaviour and silently changes nothing here must at least be said.
    """
    found = []
    for path in conf.config_file or []:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(path)
        defaults = set(parser.defaults())
        found += [(path, "DEFAULT", name) for name in sorted(defaults)
                  if name not in conf._opts]
        for section in parser.sections():
            if section.lower() in _LIBRARY_SECTIONS:
                continue
            group = conf._groups.get(section.lower())
            registered = group._opts if group is not None else {}
            found += [(path, section, name) for name in parser.options(section)
                      if name not in defaults and name not in registered]
    return found


def validate(conf: cfg.ConfigOpts) -> None:
    """Refuse unknown sections and unparseable values, naming file and option."""
    known = {g.name for g in conf._groups.values()} | _FOREIGN_SECTIONS | {"DEFAULT"}
    for path in conf.config_file or []:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(path)
        for section in parser.sections():
            # oslo.config reads [AGENT] as [agent]: group names are case-insensitive
            if section not in known and section.lower() not in known:
                raise ConfigError(f"{path}: unknown section [{section}]")
    for group_name in [None, *(g for g in conf._groups)]:
        group = conf if group_name is None else conf[group_name]
        opts = conf._opts if group_name is None else conf._groups[group_name]._opts
        for name in opts:
            try:
                getattr(group, name)
            except (cfg.ConfigFileValueError, ValueError) as exc:
                section = group_name or "DEFAULT"
                reason = str(exc).rsplit(" is not valid: ", 1)[-1]
                where = _file_setting(conf, section, name)
                raise ConfigError(f"{where}: bad value for [{section}] {name}: {reason}"
                                  ) from exc


def _file_setting(conf: cfg.ConfigOpts, section: str, name: str) -> str:
    """The last config file that sets ``[section] name`` (the one that wins)."""
    found = "command line"
    for path in conf.config_file or []:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(path)
        if parser.has_option(section, name) and (section != "DEFAULT"
                                                 or name in parser.defaults()):
            found = path
    return found
