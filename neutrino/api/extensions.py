"""Extension descriptors, and the ``/v2.0/extensions`` resource over what is loaded."""

from __future__ import annotations

from typing import Any

import falcon

from neutrino import exceptions as exc

UPDATED = "2026-11-21T00:00:00-00:00"

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "agent": ("agent", "Agents report their state; admins list, show, update and delete them."),
    "dhcp_agent_scheduler": ("DHCP Agent Scheduler",
                             "Which DHCP agents serve a network, and moving networks "
                             "between them."),
    "l3_agent_scheduler": ("L3 Agent Scheduler",
                           "Which L3 agent hosts a router, and moving routers between them."),
    "router": ("Neutron L3 Router", "Routers between networks, with gateways to external "
                                    "networks and floating IPs."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode",
                    "Turn source NAT on a router's external gateway on or off."),
    "extraroute": ("Neutron Extra Route", "Static routes on routers."),
    "extraroute-atomic": ("Atomically add/remove extra routes",
                          "Add or remove extra routes without resending the whole list."),
    "fip-port-details": ("Floating IP Port Details Extension",
                         "Show the associated port's details on a floating IP."),
    "floating-ip-port-forwarding": ("Floating IP Port Forwarding",
                                    "Forward a floating IP's port to a fixed IP's port."),
    "expose-port-forwarding-in-fip": ("Expose port forwardings in a floating IP",
                                      "A floating IP lists its port forwardings."),
    "router_availability_zone": ("Router Availability Zone",
                                 "Availability zone hints and zones of routers."),
    "quotas": ("Quota management support", "Per-project limits on resources."),
    "quota_details": ("Quota details management support",
                      "Used, limit and reserved amounts of each quota."),
    "rbac-policies": ("RBAC Policies", "Share objects with other projects through "
                                       "access policies."),
    "rbac-security-groups": ("Add security_group type to network RBAC",
                             "Security groups shared through RBAC policies."),
    "rbac-subnetpool": ("Add subnetpool type to RBAC", "Subnet pools shared through RBAC "
                                                      "policies."),
    "rbac-address-scope": ("Add address_scope type to RBAC",
                           "Address scopes shared through RBAC policies."),
    "segment": ("Segment", "Segments of networks, and subnets bound to them."),
    "standard-attr-segment": ("Standard Attribute Segment Extension",
                              "Standard attributes on segments."),
    "ip_allocation": ("IP Allocation", "Whether a port's addresses are immediate, "
                                       "deferred or none."),
    "network-segment-range": ("Neutron Network Segment Range",
                              "Ranges of segmentation ids for tenant networks, changed at "
                              "run time."),
    "security-group": ("security-group", "Security groups and their rules."),
    "security-groups-rules-belongs-to-default-sg": (
        "Security group rules belongs to default security group",
        "Rules show whether their group is a project's default one."),
    "security-groups-shared-filtering": ("Security group filtering on the shared field",
                                         "Filter security groups by shared."),
    "stateful-security-group": ("Stateful security group",
                                "Security groups may be stateless."),
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
