"""Which ids a project's tenant network may take: the order of the ranges (pure).

A project takes ids from its own ranges first, then from the shared ones. An id
inside another project's private range is that project's alone, so the shared
ranges are tried without the private ranges' ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Interval = tuple[int, int]
# (physical_network, first, last)
PoolRange = tuple[str | None, int, int]


def subtract(interval: Interval, holes: Iterable[Interval]) -> list[Interval]:
    """``interval`` without the ids of ``holes``, as sorted disjoint intervals."""
    pieces = [interval]
    for lo, hi in sorted(holes):
        rest = []
        for first, last in pieces:
            if hi < first or lo > last:
                rest.append((first, last))
                continue
            if first < lo:
                rest.append((first, lo - 1))
            if hi < last:
                rest.append((hi + 1, last))
        pieces = rest
    return pieces


def ordered(ranges: Iterable[Any], project_id: str | None) -> list[PoolRange]:
    """The ranges to try for a network of ``project_id``, in order.

    ``ranges`` are rows with ``shared``, ``project_id``, ``physical_network``,
    ``minimum`` and ``maximum``. ``project_id`` None (a partial provider segment an
    admin asks for) may take any id: the shared ranges first, then the private ones.
    """
    rows = sorted(ranges, key=lambda r: (r.physical_network or "", r.minimum, r.maximum))
    private = [r for r in rows if not r.shared]
    holes: dict[str | None, list[Interval]] = {}
    for r in private:
        holes.setdefault(r.physical_network, []).append((r.minimum, r.maximum))
    shared = [(r.physical_network, lo, hi) for r in rows if r.shared
              for lo, hi in subtract((r.minimum, r.maximum),
                                     holes.get(r.physical_network, []))]
    if project_id is None:
        return shared + [(r.physical_network, r.minimum, r.maximum) for r in private]
    own = [(r.physical_network, r.minimum, r.maximum) for r in private
           if r.project_id == project_id]
    return own + shared
