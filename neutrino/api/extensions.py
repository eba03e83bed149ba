"""Extension descriptors, and the ``/v2.0/extensions`` resource over what is loaded."""

from __future__ import annotations

from typing import Any

import falcon

from neutrino import exceptions as exc

UPDATED = "2026-11-21T00:00:00-00:00"

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "allowed-address-pairs": ("Allowed Address Pairs",
                              "Provides allowed address pairs"),
    "availability_zone": ("Availability Zone", "The availability zone extension."),
    "network_availability_zone": ("Network Availability Zone",
                                  "Availability zone support for network."),
    "network-ip-availability": ("Network IP Availability",
                                "Provides IP availability data for each network and subnet."),
    "security-groups-default-rules": ("Default rules for security groups",
                                      "Configure set of security group rules used as "
                                      "default rules for every new security group"),
    "service-type": ("Neutron Service Type Management",
                     "API for retrieving service providers for Neutron advanced services"),
    "address-scope": ("Address scope", "Address scopes extension."),
    "auto-allocated-topology": ("Auto Allocated Topology Services",
                                "Auto Allocated Topology Services."),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a "
                                                   "subnetpool as the default."),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a "
                                               "subnet pool"),
    "subnetpool-prefix-ops": ("Subnet Pool Prefix Operations",
                              "Provides support for adjusting the prefix list of subnet "
                              "pools"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external "
                                "application"),
    "empty-string-filtering": ("Empty String Filtering Extension",
                               "Allow filtering by attributes with empty string value"),
    "external-net": ("Neutron external network", "Adds external network attribute to "
                                                 "network resource."),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra options configuration for "
                                                     "DHCP. For example PXE boot options to "
                                                     "DHCP clients can be specified"),
    "filter-validation": ("Filter parameters validation",
                          "Provides validation on filter parameters."),
    "multi-provider": ("Multi Provider Network", "Expose mapping of virtual networks to "
                                                 "multiple physical networks"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute "
                                                   "for a network resource."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is "
                                         "enabled."),
    "port-security": ("Port Security", "Provides port security"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id "
                                               "field is enabled."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical "
                                     "networks"),
    "revision-if-match": ("If-Match constraints based on revision_number",
                          "Extension indicating that If-Match based on revision_number "
                          "is supported."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "standard-attr-description": ("standard-attr-description",
                                  "Extension to add descriptions to standard attributes"),
    "standard-attr-revisions": ("Resource revision numbers",
                                "This extension will display the revision number of "
                                "neutron resources."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, "
                          "trunk, network_segment_range, router, network, policy, "
                          "subnetpool, port, security_group, floatingip",
                          "Enables to set tag on resources with standard attribute."),
    "standard-attr-timestamp": ("Resource timestamps",
                                "Adds created_at and updated_at fields to all Neutron "
                                "resources that have Neutron standard attributes."),
    "tag-ports-during-bulk-creation": ("Tag Ports During Bulk Creation",
                                       "Allow to tag ports during bulk creation"),
}


def describe(alias: str) -> dict[str, Any]:
    name, description = DESCRIPTIONS.get(alias, (alias, alias))
    return {"alias": alias, "name": name, "description": description,
            "updated": UPDATED, "links": []}


class ExtensionsResource:
    def __init__(self, aliases: list[str]) -> None:
        self.aliases = sorted(set(aliases))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"extensions": [describe(a) for a in self.aliases]}

    def on_get_alias(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        if alias not in self.aliases:
            raise exc.ExtensionNotFound(alias=alias)
        resp.media = {"extension": describe(alias)}
