"""The one place where the planning pages, exports and the command turn counts of children into what a
login may read: gridmap.access.suppress ("<5" for 1-4 to the aggregate-only roles). A complementary
suppression, when gridmap.access offers one, replaces `shown_for` here and nowhere else."""

from __future__ import annotations

from typing import Any

from gridmap import access
from gridmap.models import UserRole
from planning.report import Count, Shown


def shown_for(user: Any) -> Shown:
    scope = access.scope_of(user)

    def shown(n: int) -> Count:
        return access.suppress(int(n), scope)

    return shown


def aggregate_only() -> Shown:
    """Counts as an aggregate-only login (a county planner) reads them: the command line's default."""
    scope = access.Scope(UserRole.COUNTY_PLANNER, True, (), (), False, False)
    return lambda n: access.suppress(int(n), scope)


def individual(user: Any) -> bool:
    """May this login read individual children (names, masked IDs)? Planners and inspectors never."""
    return access.scope_of(user).individual_children
