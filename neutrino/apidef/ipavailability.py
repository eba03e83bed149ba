"""The ``network-ip-availability`` extension: per network and subnet IP usage (admin).

``/v2.0/network-ip-availabilities[/<network id>]``: ``total_ips`` (the addresses of
the subnets' allocation pools, or of the whole CIDR for a subnet without pools, as
Neutron counts them) and ``used_ips`` (addresses allocated to ports), summed per
network. ``ip_version`` is a filter only: it keeps the subnets of that version.
"""

from __future__ import annotations

from neutrino.apidef import validators as v
from neutrino.apidef.attributes import Attr, Resource

ALIAS = "network-ip-availability"
# JSON integers beyond 64 bits are not representable by our encoder nor by most
# clients (Go's SDK decodes into int64): a total larger than this is shown as this.
MAX_COUNT = 2**64 - 1

POLICY_RULES: dict[str, str] = {"get_network_ip_availability": "rule:admin_only"}

NETWORK_IP_AVAILABILITIES = Resource(
    "network_ip_availabilities", "network_ip_availability", {a.name: a for a in (
        Attr("network_id", is_filter=True, is_sort_key=True),
        Attr("network_name", is_filter=True),
        Attr("project_id", is_filter=True),
        Attr("tenant_id", is_filter=True),
        Attr("total_ips"),
        Attr("used_ips"),
        Attr("subnet_ip_availability"),
        Attr("ip_version", is_visible=False, is_filter=True,
             convert_filter=v.to_int_filter),
    )}, allow_bulk=False, has_tags=False, path="network-ip-availabilities")
