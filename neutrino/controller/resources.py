"""The resource types the controller stores, their URLs and their references.

Names follow networking-odl: the journal's ``object_type`` (``security_group``)
is the JSON body key, the URL collection replaces ``_`` with ``-`` and adds an
``s`` (``security-groups``), and a listing is keyed by ``object_type + "s"``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Resource = dict[str, Any]


class OnDelete(enum.Enum):
    """What deleting a referenced resource does to the resources referring to it."""

    RESTRICT = "restrict"  # refuse the delete while a referrer exists
    CASCADE = "cascade"  # delete the referrers too (ODL drops the rules of a group)
    IGNORE = "ignore"  # allow it; the referrer keeps a dangling id


@dataclass(frozen=True)
class Reference:
    """One field of a resource that names another resource by id."""

    field: str
    target: str
    extract: Callable[[Resource], list[str]]
    on_delete: OnDelete = OnDelete.RESTRICT


@dataclass(frozen=True)
class ResourceType:
    """A synced Neutron resource type as the controller's northbound API sees it."""

    object_type: str
    references: tuple[Reference, ...] = ()

    @property
    def collection(self) -> str:
        return self.object_type.replace("_", "-") + "s"

    @property
    def plural(self) -> str:
        return self.object_type + "s"


def _field(name: str) -> Callable[[Resource], list[str]]:
    def extract(obj: Resource) -> list[str]:
        value = obj.get(name)
        return [value] if isinstance(value, str) and value else []

    return extract


def _fixed_ip_subnets(obj: Resource) -> list[str]:
    ips = obj.get("fixed_ips") or []
    return [ip["subnet_id"] for ip in ips if isinstance(ip, dict) and ip.get("subnet_id")]


def _gateway_network(obj: Resource) -> list[str]:
    gateway = obj.get("external_gateway_info") or {}
    network_id = gateway.get("network_id") if isinstance(gateway, dict) else None
    return [network_id] if network_id else []


def _subnet_ids(obj: Resource) -> list[str]:
    return [s for s in obj.get("subnet_ids") or [] if isinstance(s, str) and s]


# Only the references a correct journal must respect are checked: the create
# dependencies of networking-odl's dependency_validations that exist in Neutron.
# Deletes are restricted only where Neutron itself refuses (network with
# subnets or ports, subnet with ports); a group's rules go with the group as
# they do in OpenDaylight, and so do the rules of other groups that name it as
# their remote group (Neutron's foreign key cascades the same way). A port's
# ``security_groups`` are not checked: the journal orders a port after its
# groups, but a project's default group is made implicitly, and a controller
# that refused ports for it would stall every port behind it.
RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("network"),
    ResourceType("subnet", (Reference("network_id", "network", _field("network_id")),)),
    ResourceType(
        "port",
        (
            Reference("network_id", "network", _field("network_id")),
            Reference("fixed_ips.subnet_id", "subnet", _fixed_ip_subnets),
        ),
    ),
    ResourceType(
        "router",
        (
            Reference(
                "external_gateway_info.network_id", "network", _gateway_network, OnDelete.IGNORE
            ),
        ),
    ),
    # An interface names its router and subnets (journal/l3.py): the router cannot
    # go while it has interfaces, nor a subnet a router is on (Neutron's 409s).
    ResourceType(
        "router_interface",
        (
            Reference("router_id", "router", _field("router_id")),
            Reference("subnet_ids", "subnet", _subnet_ids),
        ),
    ),
    ResourceType(
        "floatingip",
        (
            Reference(
                "floating_network_id", "network", _field("floating_network_id"), OnDelete.IGNORE
            ),
        ),
    ),
    ResourceType("security_group"),
    ResourceType(
        "security_group_rule",
        (
            Reference(
                "security_group_id",
                "security_group",
                _field("security_group_id"),
                OnDelete.CASCADE,
            ),
            Reference(
                "remote_group_id",
                "security_group",
                _field("remote_group_id"),
                OnDelete.CASCADE,
            ),
        ),
    ),
)

BY_OBJECT_TYPE: dict[str, ResourceType] = {rt.object_type: rt for rt in RESOURCE_TYPES}
BY_COLLECTION: dict[str, ResourceType] = {rt.collection: rt for rt in RESOURCE_TYPES}


def references_of(rtype: ResourceType, obj: Resource) -> Iterator[tuple[Reference, str]]:
    """Yield every (reference, target id) that ``obj`` holds."""
    for ref in rtype.references:
        for target_id in ref.extract(obj):
            yield ref, target_id
