"""Following transfers until they arrive: the lists of an area or a school (流转未到 with its escalation,
in transit, arrived lately) and where 流转未到 children live (the map's home cells).

The rules (open, late, arrival) are gridmap.transfers'; this module reads them for the pages. Transfers
are those of the children the login may see (gridmap.access): a township's registered children, a
school's (those who left it too: a transfer out stays the sending school's to follow).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from gridmap import access, ledgers, transfers
from gridmap.models import Area, Person, Responsibility, Role, School, Transfer

RECENT_DAYS = 90  # arrivals listed


@dataclass
class Step:
    day: int
    who: str
    person: Person | None
    due: date
    reached: bool


@dataclass
class Followed:
    transfer: Transfer
    days: int  # since the transfer out
    late: bool
    late_from: date
    escalation: list[Step]


def visible_transfers(user: Any) -> QuerySet[Transfer]:
    """Transfers of the children this login may see, and, for school staff, those out of its schools."""
    scope = access.scope_of(user)
    q = Q(child__in=access.visible_children(user).values("pk"))
    if scope.school_ids:
        q |= Q(from_school__in=scope.school_ids)
    return Transfer.objects.filter(q) if scope.individual_children else Transfer.objects.none()


def of_area(transfers_: QuerySet[Transfer], area: Area | None = None, school: School | None = None) -> QuerySet[Transfer]:
    if school is not None:
        return transfers_.filter(from_school=school)
    assert area is not None
    return transfers_.filter(child__group__code__startswith=area.code)


def escalation(t: Transfer, on: date) -> list[Step]:
    """Who follows a 流转未到 up, as for a suspected dropout (gridmap.ledgers.escalation): day 1 the head
    teacher, day 2 a middle-level leader, day 3 the school's leader — of the school the child left —
    on the school days from the day it became late."""
    start = transfers.late_from(t)
    days = ledgers.school_days(start, start + timedelta(days=21))[:3]
    school = t.from_school
    head = principal = middle = None
    if school is not None:
        klass = t.child.school_class
        if klass is not None and klass.school_id == school.pk:
            row = Responsibility.objects.filter(role=Role.HEAD_TEACHER, school_class=klass, end_date__isnull=True) \
                .select_related("person").first()
            head = row.person if row else None
        row = Responsibility.objects.filter(role=Role.PRINCIPAL, school=school, end_date__isnull=True) \
            .select_related("person").first()
        principal = row.person if row else None
        middle = Person.objects.filter(school=school, title__contains="主任").first()
    duties = [(1, "班主任联系家长、核实去向", head), (2, "中层干部家访", middle), (3, "学校领导家访并报乡镇", principal)]
    return [Step(n, who, person, days[n - 1], days[n - 1] <= on) for n, who, person in duties if n <= len(days)]


def follow(transfers_: QuerySet[Transfer], on: date) -> tuple[list[Followed], list[Followed], list[Transfer]]:
    """(流转未到, in transit, arrived in the last RECENT_DAYS days) on the day, oldest first."""
    rows = (transfers_.select_related("child__group__parent", "child__school_class__school", "from_school",
                                      "to_school", "arrived_school"))
    late, waiting = [], []
    for t in transfers.open_on(rows, on).order_by("date", "pk"):
        item = Followed(t, (on - t.date).days, transfers.is_late(t, on), transfers.late_from(t), [])
        if item.late:
            item.escalation = escalation(t, on)
            late.append(item)
        else:
            waiting.append(item)
    arrived = list(rows.filter(completed_on__isnull=False, completed_on__lte=on,
                               completed_on__gt=on - timedelta(days=RECENT_DAYS)).order_by("-completed_on", "-pk"))
    return late, waiting, arrived


def late_by_cell(user: Any, root: Area, on: date) -> dict[int, int]:
    """流转未到 children per home cell (village group) under `root`, among the children this login may
    see (logins that see aggregates only get none: the protected decision has no such count per cell)."""
    if not access.scope_of(user).individual_children:
        return {}  # counts per cell are not in the protected decision (gridmap.published): none for these logins
    cells = access.visible_cells(user).filter(code__startswith=root.code)
    rows = transfers.late_on(visible_transfers(user).filter(child__group__in=cells), on)
    return dict(Counter(rows.values_list("child__group_id", flat=True)))
