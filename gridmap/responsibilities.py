"""Handing over a responsibility (包保) or a catchment: the old row ends, a new one starts, nothing is
overwritten, and the audit log keeps who did it with before and after.

Used by the cell card's forms and by the admin, so both keep the same history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from gridmap import access, audit
from gridmap.models import (
    Area,
    AreaLevel,
    AuditAction,
    CatchmentAssignment,
    Child,
    Person,
    Responsibility,
    Role,
    School,
    Stage,
)
from gridmap.models.people import ROLE_TARGET, SINGLE_HOLDER_ROLES


def describe(row: Responsibility | None) -> dict[str, Any] | None:
    """A responsibility as the audit log keeps it (names and codes, readable without joins)."""
    if row is None:
        return None
    holder = row.responsible_school or row.person
    target = row.area or row.school or row.school_class or row.child
    return {"role": row.role, "holder": str(holder), "holder_id": getattr(holder, "pk", None),
            "target": getattr(target, "code", None) or str(getattr(target, "id_masked", "") or target),
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat() if row.end_date else None}


def hand_over(user: Any, role: Role, target: Area | Child, holder: Person | School, on: date,
              request: HttpRequest | None = None) -> Responsibility | None:
    """Make `holder` the current holder of `role` for `target` from `on`; None if it already is.

    The current row (if any) ends the day before `on` (or on `on` when it started that day), so the
    history reads without overlap.
    """
    if role not in SINGLE_HOLDER_ROLES:
        raise ValueError(f"{role} may have several holders at once")
    if not access.may_assign(user, role, target):
        raise PermissionDenied
    target_field, holder_field = ROLE_TARGET[role]
    with transaction.atomic():
        current = _current(role, target)
        if current is not None and getattr(current, f"{holder_field}_id") == holder.pk:
            return None
        before = _end(current, on)
        new = Responsibility.objects.create(role=role, start_date=on, **{target_field: target,
                                                                         holder_field: holder})
        record_hand_over(request, user, new, before)
    return new


def _current(role: str, target: Any) -> Responsibility | None:
    """The current row of a single-holder role for `target`, locked until the transaction ends."""
    target_field, _holder = ROLE_TARGET[Role(role)]
    return (Responsibility.objects.select_for_update()
            .filter(role=role, end_date__isnull=True, **{target_field: target}).first())


def holder(role: str, target: Any) -> Person | School | None:
    """Who holds a single-holder role for `target` now (no lock: for display)."""
    target_field, holder_field = ROLE_TARGET[Role(role)]
    row = (Responsibility.objects.filter(role=role, end_date__isnull=True, **{target_field: target})
           .select_related(holder_field).first())
    return getattr(row, holder_field) if row else None


def end_current(role: str, target: Any, on: date) -> dict[str, Any] | None:
    """End the current holder of a single-holder role for `target` before `on`; what it was."""
    return _end(_current(role, target), on)


def _end(current: Responsibility | None, on: date) -> dict[str, Any] | None:
    if current is None:
        return None
    if on < current.start_date:
        raise ValueError("a hand-over cannot start before the current holder's start")
    before = describe(current)
    current.end_date = max(on - timedelta(days=1), current.start_date)
    current.save(update_fields=["end_date"])
    return before


def record_hand_over(request: HttpRequest | None, user: Any, new: Responsibility,
                     before: dict[str, Any] | None) -> None:
    target = new.area or new.school or new.school_class or new.child
    holder = new.responsible_school or new.person
    label = target_label(target) if isinstance(target, Area | Child) else str(target)
    audit.record(request, AuditAction.CHANGE, new, user=user, summary=f"{Role(new.role).label}：{label} → {holder}",
                 before=before, after=describe(new))


def target_label(target: Area | Child) -> str:
    return f"{target.name}（{target.code}）" if isinstance(target, Area) else f"{target.name} {target.id_masked}"


def stages_of(school: School) -> list[Stage]:
    return [stage for stage, served in [(Stage.PRIMARY, school.first_grade <= 6),
                                        (Stage.JUNIOR, school.last_grade >= 7)] if served]


def assign_catchment(user: Any, groups: list[Area], school: School, stages: list[Stage],
                     request: HttpRequest | None = None) -> int:
    """Put village groups in `school`'s catchment for `stages`; the catchment polygons follow by
    trigger. Returns how many (group, stage) assignments changed."""
    if not all(access.may_assign(user, access.CATCHMENT, g) for g in groups):
        raise PermissionDenied
    if any(g.level != AreaLevel.GROUP for g in groups):
        raise ValueError("catchments are made of village groups")
    changed: list[dict[str, Any]] = []
    with transaction.atomic():
        for stage in stages:
            current = {a.area_id: a for a in CatchmentAssignment.objects.select_for_update()
                       .filter(area__in=groups, stage=stage).select_related("school")}
            for group in groups:
                row = current.get(group.pk)
                if row is not None and row.school_id == school.pk:
                    continue
                changed.append({"group": group.code, "stage": stage,
                                "from": row.school.code if row else None, "to": school.code})
                CatchmentAssignment.objects.update_or_create(area=group, stage=stage,
                                                             defaults={"school": school})
        if changed:
            audit.record(request, AuditAction.CHANGE, school, user=user,
                         summary=f"学区划片：{len(changed)} 项划入 {school.name}",
                         before=[{"group": c["group"], "stage": c["stage"], "school": c["from"]} for c in changed],
                         after=[{"group": c["group"], "stage": c["stage"], "school": c["to"]} for c in changed])
    return len(changed)


def assign_responsible_school(user: Any, area: Area, school: School, on: date, redraw_catchment: bool,
                              request: HttpRequest | None = None) -> tuple[Responsibility | None, int]:
    """A village (or group) gets a responsible school; with `redraw_catchment`, its groups also
    join that school's catchment for the stages the school teaches."""
    with transaction.atomic():
        row = hand_over(user, Role.RESPONSIBLE_SCHOOL, area, school, on, request)
        moved = 0
        if redraw_catchment:
            groups = list(Area.objects.filter(code__startswith=area.code, level=AreaLevel.GROUP))
            moved = assign_catchment(user, groups, school, stages_of(school), request)
    return row, moved


