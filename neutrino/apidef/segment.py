"""Segments: the ``segments`` collection (extensions ``segment``, ``standard-attr-segment``,
``ip_allocation``) and the errors of routed provider networks (Neutron's names).

A segment is one L2 domain of a network (``network_type``, ``physical_network``,
``segmentation_id``). On a routed provider network each subnet belongs to one segment
(its ``segment_id``) and a port takes its addresses from the segment its host reaches.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource

# A port's ``ip_allocation`` (Neutron's ip_allocation extension).
IP_ALLOCATION_IMMEDIATE = "immediate"
IP_ALLOCATION_DEFERRED = "deferred"
IP_ALLOCATION_NONE = "none"


# --- errors (neutron's services/segments/exceptions) ------------------------------------

class SegmentNotFound(exc.NotFound):
    message = "Segment %(segment_id)s could not be found."


class SegmentInUse(exc.InUse):
    message = "Segment '%(segment_id)s' cannot be deleted: %(reason)s."


class SubnetsNotAllAssociatedWithSegments(exc.BadRequest):
    message = ("All of the subnets on network '%(network_id)s' must either all be "
               "associated with segments or all not associated with any segment.")


class NetworkIdsDontMatch(exc.BadRequest):
    message = ("The subnet's network id, '%(subnet_network)s', doesn't match the "
               "segment's network id, '%(segment_id)s'")


class HostConnectedToMultipleSegments(exc.Conflict):
    message = ("Host %(host)s is connected to multiple segments on routed provider "
               "network '%(network_id)s'.  It should be connected to one.")


class HostNotConnectedToAnySegment(exc.Conflict):
    message = ("Host %(host)s is not connected to any segments on routed provider "
               "network '%(network_id)s'.  It should be connected to one.")


class HostNotCompatibleWithFixedIps(exc.Conflict):
    message = ("Host %(host)s is not connected to a segment where the existing "
               "fixed_ips on port %(port_id)s will function given the routed network "
               "topology.")


class FixedIpsSubnetsNotOnSameSegment(exc.BadRequest):
    message = "Cannot allocate addresses from different segments."


exc.register_not_found("segment", SegmentNotFound, "segment_id")


SEGMENTS = Resource("segments", "segment", {a.name: a for a in (
    Attr("id", is_filter=True, is_sort_key=True),
    # Segments belong to no project: Neutron takes one on POST and never shows it.
    Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
         validate=v.string(255), is_visible=False),
    Attr("tenant_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
         validate=v.string(255), is_visible=False),
    Attr("network_id", allow_post=True, validate=v.is_uuid, is_filter=True,
         is_sort_key=True),
    Attr("name", allow_post=True, allow_put=True, default=None,
         validate=v.string_or_none(255), is_filter=True),
    Attr("description", allow_post=True, allow_put=True, default="",
         validate=v.string(255), is_filter=True, is_sort_key=True),
    Attr("network_type", allow_post=True, validate=v.string(32), is_filter=True,
         is_sort_key=True),
    Attr("physical_network", allow_post=True, default=None,
         validate=v.string_or_none(64), is_filter=True),
    Attr("segmentation_id", allow_post=True, default=None, convert=v.to_int_or_none,
         validate=v.int_or_none, is_filter=True, convert_filter=v.to_int_filter),
    Attr("created_at", is_filter=True, is_sort_key=True),
    Attr("updated_at", is_filter=True, is_sort_key=True),
    Attr("revision_number", is_filter=True, is_sort_key=True,
         convert_filter=v.to_int_filter),
    Attr("tags"),
)})
