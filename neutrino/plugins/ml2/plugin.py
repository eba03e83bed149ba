"""The ML2 core plugin: networks, subnets and ports over type and mechanism drivers."""

from __future__ import annotations

from neutrino.plugins.ml2.networks import NetworkMixin
from neutrino.plugins.ml2.ports import PortMixin
from neutrino.plugins.ml2.subnets import SubnetMixin
from neutrino.plugins.ml2.tags import TagMixin


class Ml2Plugin(NetworkMixin, SubnetMixin, PortMixin, TagMixin):
    """The core plugin. Resource methods follow Neutron's plugin interface:
    ``create_<r>(ctx, body)``, ``create_<r>_bulk``, ``update_<r>(ctx, id, body)``,
    ``delete_<r>(ctx, id)``, ``get_<r>(ctx, id)``, ``get_<r>s(ctx, filters, page)``.
    """

    # In Neutron ML2 itself serves agents and security groups.
    implicit_service_plugins = ("agents", "security_groups", "dhcp_agent_scheduler",
                                "nova_notifier", "quotas", "rbac", "subnetpools",
                                "availability_zones", "network_ip_availability",
                                "service_providers")

    supported_extension_aliases = [
        "allowed-address-pairs", "binding", "extra_dhcp_opt", "external-net",
        "filter-validation", "multi-provider", "net-mtu", "net-mtu-writable",
        "pagination", "port-security", "project-id",
        "provider", "revision-if-match", "sorting", "standard-attr-description",
        "standard-attr-revisions", "standard-attr-tag", "standard-attr-timestamp",
        "tag-ports-during-bulk-creation", "empty-string-filtering",
    ]

