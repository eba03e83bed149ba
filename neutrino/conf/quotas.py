"""The ``[quotas]`` section: per-project resource limits, with Neutron's names and defaults.

A limit of −1 is unlimited. ``quota_driver`` takes Neutron's class paths: the two
database drivers (``DbQuotaNoLockDriver``, the default, and ``DbQuotaDriver``) both
select Neutrino's one driver, which counts and checks inside the creating
transaction under a per-(project, resource) lock row, so a project never ends above
its limit; ``DbQuotaDriverNull`` turns quotas off (nothing is checked or read).
"""

from __future__ import annotations

from oslo_config import cfg

GROUP = "quotas"

DB_DRIVERS = frozenset({
    "neutron.db.quota.driver_nolock.DbQuotaNoLockDriver",
    "neutron.db.quota.driver.DbQuotaDriver",
    "neutron.quota.DbQuotaNoLockDriver",
    "neutron.quota.DbQuotaDriver",
})
NULL_DRIVERS = frozenset({"neutron.db.quota.driver_null.DbQuotaDriverNull"})

# (resource, default) of the limits Neutron has a ``quota_<resource>`` option for.
LIMITS = (("network", 100), ("subnet", 100), ("port", 500), ("router", 10),
          ("floatingip", 50), ("security_group", 10), ("security_group_rule", 100),
          ("rbac_policy", 10))

OPTS = [
    cfg.IntOpt("default_quota", default=-1, min=-1,
               help="Default limit of a resource that has no quota_<resource> option; "
                    "-1 is unlimited."),
    *(cfg.IntOpt(f"quota_{name}", default=default, min=-1,
                 help=f"Number of {name} resources allowed per project; -1 is unlimited.")
      for name, default in LIMITS),
    cfg.StrOpt("quota_driver", default="neutron.db.quota.driver_nolock.DbQuotaNoLockDriver",
               choices=sorted(DB_DRIVERS | NULL_DRIVERS),
               help="Neutron's quota driver class paths; any database driver gives "
                    "Neutrino's locking driver, DbQuotaDriverNull turns quotas off."),
    cfg.BoolOpt("track_quota_usage", default=True,
                help="Accepted for compatibility: usage is always counted live in the "
                     "creating transaction, never from a cached usage table."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def enabled(conf: cfg.ConfigOpts) -> bool:
    """False when ``quota_driver`` is Neutron's null driver."""
    return conf.quotas.quota_driver not in NULL_DRIVERS


def default_limit(conf: cfg.ConfigOpts, resource: str) -> int:
    """``quota_<resource>`` if Neutron has that option, else ``default_quota``."""
    group = conf.quotas
    name = f"quota_{resource}"
    return int(group[name]) if name in group else int(group.default_quota)
