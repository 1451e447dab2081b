"""The data versions of a county's map layers, and the cache keys built from them.

A layer's version is the newest change token (layers.models.DataChange, written by database
triggers) of each source it draws, in its county and everywhere; one query reads them all for a
request. Keys of the server-side cache (layers.cache) hold that version and the login's scope, so that
a cached tile never crosses roles or areas and a write is never served stale:

- the scope: what the login sees (gridmap.access.Scope: everywhere or which areas and schools, exact
  children or published figures only) — every township official of one township shares tiles, and
  no one else does;
- for aggregate-only logins (planners, inspectors), whose counts are the month's published figures
  (gridmap.published), also the month and the day the decision is taken on, and the sources it reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from gridmap import access
from layers.models import Source

# What the month's published figures read (gridmap.published.STAMP_TABLES, as sources).
PUBLISHED_SOURCES = (Source.CHILDREN, Source.CASES, Source.VISITS, Source.SCHOOLS, Source.CLASSES, Source.AREAS,
                     Source.CALENDAR)


@dataclass(frozen=True)
class Versions:
    county: str
    tokens: dict[str, str]  # source → "<county token>/<token of every county>"

    def of(self, sources: Iterable[str]) -> str:
        """One version string for the given sources."""
        text = "|".join(f"{s}={self.tokens.get(s, '')}" for s in sorted(set(sources)))
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def read(county: str) -> Versions:
    """Every source's newest change token in the county and in every county (one query of ~22 index
    probes: the index on (source, county, -id) gives each newest row directly)."""
    sources = [str(s) for s in Source]
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT k.source, k.county, d.token::text
            FROM unnest(%s::text[], %s::text[]) AS k(source, county)
            LEFT JOIN LATERAL (SELECT c.token FROM layers_datachange c WHERE c.source = k.source AND c.county = k.county
                               ORDER BY c.id DESC LIMIT 1) d ON true""",
                       [sources * 2, [county] * len(sources) + [""] * len(sources)])
        rows = cursor.fetchall()
    found = {(source, place): token or "" for source, place, token in rows}
    return Versions(county, {s: f"{found.get((s, county), '')}/{found.get((s, ''), '')}" for s in sources})


def scope_key(user: Any) -> str:
    """What decides the content for this login: the areas and schools it sees and how it sees children;
    for aggregate-only logins also the month and day of the published figures."""
    scope = access.scope_of(user)
    # the role and the right to edit too: the cached parts of pages hold the forms a role may use
    parts: list[Any] = [scope.everywhere, scope.individual_children, scope.area_codes, scope.school_ids,
                        scope.role, scope.can_edit]
    if not scope.individual_children:
        parts.append(f"{timezone.localdate():%Y-%m-%d}")
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def layer_sources(user: Any, sources: Iterable[str], counts: bool) -> set[str]:
    """The sources a layer's content depends on for this login: its own, and for a layer that shows
    counts to an aggregate-only login, everything the published figures read."""
    out = set(sources)
    if counts and not access.scope_of(user).individual_children:
        out |= set(PUBLISHED_SOURCES)
    return out
