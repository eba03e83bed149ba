"""Network segment ranges: the ``network_segment_ranges`` collection (extension
``network-segment-range``) and its errors (Neutron's names and messages).

A range is a pool of tenant segmentation ids of one network type (and physical
network, for VLAN), shared by every project or private to one. ``default`` ranges
come from the configuration and cannot be changed through the API.
"""

from __future__ import annotations

from neutrino import exceptions as exc
from neutrino.apidef import validators as v
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED, Attr, Resource, standard_attrs

RANGE_TYPES = ("vlan", "vxlan", "gre", "geneve")
# The largest id of each type (the smallest is 1).
MAX_IDS = {"vlan": 4094, "vxlan": 2**24 - 1, "geneve": 2**24 - 1, "gre": 2**32 - 1}


class NetworkSegmentRangeNotFound(exc.NotFound):
    message = "Network Segment Range %(range_id)s could not be found."


class NetworkSegmentRangeReferencedByProject(exc.InUse):
    message = ("Network Segment Range %(range_id)s is referenced by one or more tenant "
               "networks.")


class NetworkSegmentRangeDefaultReadOnly(exc.BadRequest):
    message = ("Network Segment Range %(range_id)s is a default segment range which "
               "could not be updated or deleted.")


class NetworkSegmentRangeOverlaps(exc.Conflict):
    message = "Network segment range overlaps with range(s) with id %(range_id)s"


class NetworkSegmentRangeNetTypeNotSupported(exc.BadRequest):
    message = "Network type %(type)s does not support network segment ranges."


exc.register_not_found("network_segment_range", NetworkSegmentRangeNotFound, "range_id")


def _segment_id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"'{value}' is not an integer"
    if not 1 <= value <= MAX_IDS["gre"]:
        return f"'{value}' is not in range 1 through {MAX_IDS['gre']}"
    return None


_STANDARD = {a.name: a for a in standard_attrs()}

NETWORK_SEGMENT_RANGES = Resource("network_segment_ranges", "network_segment_range", {
    **_STANDARD,
    "default": Attr("default", is_filter=True, is_sort_key=True,
                    convert_filter=v.to_boolean),
    "shared": Attr("shared", allow_post=True, default=True, convert=v.to_boolean,
                   validate=v.boolean, is_filter=True, is_sort_key=True,
                   convert_filter=v.to_boolean),
    "network_type": Attr("network_type", allow_post=True,
                         validate=v.in_values(*RANGE_TYPES), is_filter=True,
                         is_sort_key=True),
    "physical_network": Attr("physical_network", allow_post=True, default=None,
                             validate=v.string_or_none(64), is_filter=True),
    "minimum": Attr("minimum", allow_post=True, allow_put=True, convert=v.to_int,
                    validate=_segment_id, is_filter=True, is_sort_key=True,
                    convert_filter=v.to_int_filter),
    "maximum": Attr("maximum", allow_post=True, allow_put=True, convert=v.to_int,
                    validate=_segment_id, is_filter=True, is_sort_key=True,
                    convert_filter=v.to_int_filter),
    "used": Attr("used"),
    "available": Attr("available"),
    # Neutron's range shows its name only by ``name``; the standard one is fine.
    "name": Attr("name", allow_post=True, allow_put=True, default="",
                 validate=v.string(255), is_filter=True, is_sort_key=True),
    "project_id": Attr("project_id", allow_post=True, default=ATTR_NOT_SPECIFIED,
                       validate=v.string(255), is_filter=True, is_sort_key=True),
})
