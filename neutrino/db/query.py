"""List queries: filters, tag filters, project scope, sorting and keyset pagination.

A ``Listing`` describes one resource table: which API attribute is which column,
and how the filters that are not plain columns (``fixed_ips``,
``provider:network_type`` …) become SQL. Pagination is by keyset on the sort keys
plus ``id``, so a page costs the same wherever it starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from neutrino import exceptions as exc
from neutrino.db.models import Tag

IN_CHUNK = 500  # ids per IN (…) list; keeps every backend's parameter limits happy


def in_chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    """``ids`` in slices of at most ``IN_CHUNK``: one bounded IN (…) list each."""
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i:i + IN_CHUNK]

Clause = ColumnElement[bool]
SpecialFilter = Callable[[list[Any]], Clause]


class PageIds(list[str]):
    """The ids of one page, in order, with the query that selects them.

    Loaders use ``query`` as a subquery for a large page instead of sending
    thousands of ids back to the database once per child table. Only an unlimited
    listing carries it: re-running a LIMIT query could select another window if rows
    were inserted meanwhile, while an unlimited one only gains rows the loaders ignore.
    """

    def __init__(self, ids: list[str], query: Select[Any] | None) -> None:
        super().__init__(ids)
        self.query = query


@dataclasses.dataclass
class Page:
    """One page request: sort keys with directions, limit, marker and direction."""

    sorts: list[tuple[str, bool]] = dataclasses.field(default_factory=list)  # (attr, asc)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


@dataclasses.dataclass
class Listing:
    model: Any
    columns: dict[str, Any]
    special: dict[str, SpecialFilter] = dataclasses.field(default_factory=dict)

    def filter_clause(self, attr: str, values: list[Any]) -> Clause:
        if attr in self.special:
            return self.special[attr](values)
        column = self.columns[attr]
        if not values:
            return false()
        if len(values) == 1:
            return column == values[0] if values[0] is not None else column.is_(None)
        return column.in_(values)

    def where(self, filters: dict[str, list[Any]]) -> list[Clause]:
        clauses = []
        for attr, values in filters.items():
            if attr in TAG_FILTERS:
                clauses.append(tag_clause(self.model.id, attr, values))
            else:
                clauses.append(self.filter_clause(attr, values))
        return clauses

    def select_ids(self, session: Session, filters: dict[str, list[Any]],
                   scope: Clause | None, page: Page) -> PageIds:
        """Ids of the rows that match, in page order."""
        query: Select[Any] = select(self.model.id)
        clauses = self.where(filters)
        if scope is not None:
            clauses.append(scope)
        if clauses:
            query = query.where(and_(*clauses))
        keys = self._sort_columns(page)
        if page.marker:
            query = query.where(self._after_marker(session, keys, page, scope))
        query = query.order_by(*[(c.asc() if asc else c.desc()) for c, asc in keys])
        if page.limit:
            query = query.limit(page.limit)
        # Plain rows on the session's connection: the ORM result layer costs more
        # per id than the query itself on a long list.
        session.flush()  # as session.execute would: rows added through the ORM show
        ids = list(session.connection().execute(query).scalars().all())
        return PageIds(ids[::-1] if page.page_reverse else ids,
                       None if page.limit else query)

    def _sort_columns(self, page: Page) -> list[tuple[Any, bool]]:
        keys = [(self.columns[attr], asc) for attr, asc in page.sorts]
        if not any(c is self.model.id for c, _ in keys):
            keys.append((self.model.id, keys[-1][1] if keys else True))
        if page.page_reverse:
            keys = [(c, not asc) for c, asc in keys]
        return keys

    def _after_marker(self, session: Session, keys: list[tuple[Any, bool]],
                      page: Page, scope: Clause | None = None) -> Clause:
        # Looked up within the caller's scope: a marker must not reveal whether an
        # id the caller may not see exists.
        query = select(*[c for c, _ in keys]).where(self.model.id == page.marker)
        if scope is not None:
            query = query.where(scope)
        row = session.execute(query).first()
        if row is None:
            # As Neutron: restarting from the first page would loop a client forever.
            raise exc.not_found(self.model.__tablename__.rstrip("s"), page.marker or "")
        # (k1 > v1) OR (k1 = v1 AND k2 > v2) OR … — works for mixed directions.
        alternatives = []
        for i, (column, asc) in enumerate(keys):
            equal = [keys[j][0] == row[j] for j in range(i)]
            beyond = column > row[i] if asc else column < row[i]
            alternatives.append(and_(*equal, beyond))
        return or_(*alternatives)


TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def _split_tags(values: Sequence[str]) -> list[str]:
    return [t for v in values for t in str(v).split(",") if t]


def tag_clause(id_column: Any, kind: str, values: Sequence[str]) -> Clause:
    """Neutron's tag filters: all (tags), any (tags-any) and their negations."""
    tags = _split_tags(values)
    if not tags:
        return true()

    def has(tag: str) -> Clause:
        return exists().where(Tag.resource_id == id_column, Tag.tag == tag)

    if kind == "tags":
        return and_(*[has(t) for t in tags])
    if kind == "tags-any":
        return or_(*[has(t) for t in tags])
    if kind == "not-tags":
        return ~and_(*[has(t) for t in tags])
    return ~or_(*[has(t) for t in tags])
