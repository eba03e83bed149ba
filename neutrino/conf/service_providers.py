"""The ``[service_providers]`` section: Neutron's ``service_provider`` entries.

Each entry is ``<service_type>:<name>:<driver>[:default]`` and the option may be given
several times, as in ``neutron.conf`` and the ``neutron_*.conf`` files of advanced
services. ``/v2.0/service-providers`` lists them (``service-type`` extension).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from oslo_config import cfg

GROUP = "service_providers"
NAME_LEN = 255

OPTS = [
    cfg.MultiStrOpt("service_provider", default=[],
                    help="A service provider, <service_type>:<name>:<driver>[:default]; "
                         "repeat the option for several."),
]


@dataclasses.dataclass(frozen=True)
class ServiceProvider:
    service_type: str
    name: str
    driver: str
    default: bool


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def parse(entries: Iterable[str]) -> list[ServiceProvider]:
    """The entries as providers; ValueError naming the first bad one.

    Neutron's rules: three or four ``:``-separated parts, the fourth ``default`` or
    empty; names are case-insensitive (kept lower-case) and at most 255 characters;
    a (type, name) pair, a driver and a type's default may each appear once.
    """
    found: list[ServiceProvider] = []
    for entry in entries:
        parts = entry.split(":")
        if len(parts) not in (3, 4) or not all(parts[:3]):
            raise ValueError(f"invalid service provider format: {entry!r}")
        if len(parts) == 4 and parts[3] not in ("", "default"):
            raise ValueError(f"invalid provider format, the last part should be "
                             f"'default' or empty: {entry!r}")
        if len(parts[1]) > NAME_LEN:
            raise ValueError(f"provider name {parts[1]!r} is limited to {NAME_LEN} "
                             "characters")
        provider = ServiceProvider(parts[0], parts[1].lower(), parts[2],
                                   len(parts) == 4 and parts[3] == "default")
        _check_unique(found, provider)
        found.append(provider)
    return found


def _check_unique(found: list[ServiceProvider], new: ServiceProvider) -> None:
    for old in found:
        if old.driver == new.driver:
            raise ValueError(f"driver {new.driver} is not unique across providers")
        if (old.service_type, old.name) == (new.service_type, new.name):
            raise ValueError(f"multiple providers named {new.name} for service "
                             f"{new.service_type}")
        if old.service_type == new.service_type and old.default and new.default:
            raise ValueError(f"multiple default providers for service {new.service_type}")
