"""Who sees and does what in send-teaching-home, on top of gridmap.access (which decides every read).

- plans, routes and the route layer: logins that may see children (access.scope_of(...)
  .individual_children: a school's staff, the township's officials and village cadres, the county
  administrator) — within access.visible_children / visible_schools; planners and inspectors (counts
  only) see none of it;
- a school's weekly routes (page, layer, sheets, phone page) show every child the school teaches at
  home that week, with address and guardian: only to a login that sees every one of those children
  (`may_see_routes`) — a village cadre sees the school serving the village, not the children of the
  school's other villages, so not its routes;
- creating a plan (一人一案) for a disabled school-age child without one: the county administrator,
  the township officials of the child's township, and the staff of the child's responsible school
  (when they see the child) — `may_create_plan`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from gridmap import access
from gridmap import visits as weekly
from gridmap.models import Child, HomeTeachingPlan, School, SchoolStatus, UserRole
from gridmap.models.areas import CODE_LENGTH, AreaLevel


def may_see(user: Any) -> bool:
    return access.scope_of(user).individual_children


def visible_plans(user: Any) -> QuerySet[HomeTeachingPlan]:
    scope = access.scope_of(user)
    plans = HomeTeachingPlan.objects.filter(child__in=access.visible_children(user).values("pk"))
    return plans.filter(school__in=scope.school_ids) if scope.school_ids else plans


def in_force(plans: QuerySet[HomeTeachingPlan], week: weekly.Week) -> QuerySet[HomeTeachingPlan]:
    mon = weekly.monday(week)
    return plans.filter(Q(start_date__lte=mon + timedelta(days=6)), Q(end_date__isnull=True) | Q(end_date__gte=mon))


def route_schools(user: Any, root_code: str, week: weekly.Week) -> QuerySet[School]:
    """The schools whose weekly routes this login may see on the map of an area (root_code): those
    it sees with a plan in force that week for a child of the area, or located in the area."""
    if not may_see(user):
        return School.objects.none()
    plans = in_force(visible_plans(user), week)
    township = root_code[:CODE_LENGTH[AreaLevel.TOWNSHIP]]
    here = plans.filter(Q(child__group__code__startswith=root_code) | Q(school__township__code__startswith=township)
                        if len(root_code) >= CODE_LENGTH[AreaLevel.TOWNSHIP]
                        else Q(school__township__code__startswith=root_code))
    return (access.visible_schools(user).filter(pk__in=here.values("school"))
            .exclude(pk__in=_hidden_plans(user, week).values("school")).order_by("code"))


def _hidden_plans(user: Any, week: weekly.Week) -> QuerySet[HomeTeachingPlan]:
    """Plans in force that week whose child this login may not see. NOT EXISTS, an anti-join: NOT IN
    over the visible children (a province's 10 million) cannot be one and ran for over ten minutes."""
    visible = access.visible_children(user).filter(pk=OuterRef("child_id"))
    return in_force(HomeTeachingPlan.objects.filter(~Exists(visible)), week)


def may_see_routes(user: Any, school: School, week: weekly.Week) -> bool:
    """May this login see the school's routes of the week (every child on them)?"""
    return may_see(user) and not _hidden_plans(user, week).filter(school=school).exists()


def may_create_plan(user: Any, child: Child, responsible_school_id: int | None) -> bool:
    """May this login create a send-teaching-home plan for this child (whose eligibility is checked
    elsewhere: hometeaching.forms.eligible)?"""
    scope = access.scope_of(user)
    if not scope.can_edit or not access.visible_children(user).filter(pk=child.pk).exists():
        return False
    if scope.everywhere:
        return scope.role == UserRole.COUNTY_ADMIN
    if scope.role == UserRole.SCHOOL_STAFF:
        return responsible_school_id is not None and responsible_school_id in scope.school_ids
    if scope.role == UserRole.TOWNSHIP_OFFICIAL:
        return access.writable(user, Child).filter(pk=child.pk).exists()
    return False


def plan_schools(user: Any, child: Child, responsible_school_id: int | None) -> QuerySet[School]:
    """The schools this login may name as the plan's school: its own schools for school staff, else
    the open schools of the child's township it sees (the responsible school first in the form)."""
    scope = access.scope_of(user)
    if scope.role == UserRole.SCHOOL_STAFF:
        return School.objects.filter(pk__in=[s for s in scope.school_ids if s == responsible_school_id])
    township = child.group.code[:CODE_LENGTH[AreaLevel.TOWNSHIP]]
    return (access.visible_schools(user)
            .filter((Q(township__code=township) & ~Q(status=SchoolStatus.CLOSED)) | Q(pk=responsible_school_id or 0))
            .order_by("code"))
