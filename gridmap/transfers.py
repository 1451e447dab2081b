"""Transferred pupils followed until they arrive (流转学生动态监测).

A transfer out (转出) names its destination: a school of the county, or a place (province, county,
school) outside it. It is complete
- within the county, when a school roll of the county shows the child again: the child is in a class
  of a county school and its status history has come back to school (在校, 劝返复学, 随班就读) after the
  transfer — normally the receiving school's roll; a child found on another county roll (or back on
  the one it left) is found too, and the transfer says on which;
- outside the county, when the receipt of the registry transfer (学籍转接回执) is recorded — or when
  the child turns up on a county roll after all.
A transfer open on a day: dated on or before it and not completed by then. One still open more than
GRIDMAP_TRANSFER_DAYS days after it is 流转未到: listed, escalated like a suspected dropout (day 1 the
head teacher, day 2 a middle-level leader, day 3 the school's leader of the school the child left)
and shown on the map at the child's home cell.

Status changes to 转出 made without this form (the child page's plain status change, an import of a
roll that says 转出) are adopted by `settle`, which runs before anything counts transfers
(gridmap.month_ends.ensure, the safety-net pages, `manage.py settle_transfers`): their free-text
destination is read as a county school when it names one (its 10-digit code or its name), else as a
place outside the county.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gridmap import audit, ledgers
from gridmap.models import (
    Arrival,
    AuditAction,
    Child,
    ChildStatus,
    ChildStatusChange,
    School,
    SchoolStatus,
    Transfer,
    TransferScope,
)

DEFAULT_DAYS = 30
ON_ROLL = [ChildStatus.ENROLLED, ChildStatus.RETURNED, ChildStatus.INCLUDED]  # back in a class


class TransferError(ValueError):
    pass


def late_days() -> int:
    return int(getattr(settings, "GRIDMAP_TRANSFER_DAYS", DEFAULT_DAYS))


def open_on(transfers: QuerySet[Transfer], day: date) -> QuerySet[Transfer]:
    """Transfers dated on or before `day` and not completed by then."""
    return transfers.filter(date__lte=day).filter(Q(completed_on__isnull=True) | Q(completed_on__gt=day))


def late_on(transfers: QuerySet[Transfer], day: date) -> QuerySet[Transfer]:
    """流转未到 on `day`: open, and more than GRIDMAP_TRANSFER_DAYS days old (dated before day − N)."""
    return open_on(transfers, day).filter(date__lt=day - timedelta(days=late_days()))


def late_from(transfer: Transfer) -> date:
    """The first day the transfer counts as 流转未到 if it is still open then."""
    return transfer.date + timedelta(days=late_days() + 1)


def is_late(transfer: Transfer, day: date) -> bool:
    return (transfer.date <= day and (transfer.completed_on is None or transfer.completed_on > day)
            and day >= late_from(transfer))


def county_schools(county_code: str) -> QuerySet[School]:
    return School.objects.filter(township__code__startswith=county_code[:6])


@transaction.atomic
def record_transfer(child: Child, on: date, by: Any, reason: str, to_school: School | None = None,
                    destination: str = "", request: Any = None) -> Transfer:
    """Transfer a child out (the status change and the transfer, together): to a school of the county,
    or to a place outside it."""
    destination = destination.strip()
    county = settings.GRIDMAP_COUNTY_CODE
    from_school = child.school_class.school if child.school_class_id else None  # type: ignore[union-attr]
    if to_school is not None:
        if not county_schools(county).filter(pk=to_school.pk).exists():
            raise TransferError("转入学校不是本县学校；县外转学请填写转入地")
        if to_school.status != SchoolStatus.OPEN:
            raise TransferError(f"「{to_school.name}」未开办，不能转入")
        if from_school is not None and to_school.pk == from_school.pk:
            raise TransferError("转入学校与转出学校相同")
        text = f"{to_school.name}（{to_school.code}）"
    elif not destination:
        raise TransferError("转出须写明转入学校（县内）或转入地（县外的省、县和学校）")
    else:
        text = destination
    change = ledgers.change_status(child, ChildStatus.TRANSFERRED_OUT, on, by, reason or "转学", destination=text,
                                   request=request)
    transfer = Transfer.objects.create(
        child=child, date=on, from_school=from_school,
        scope=TransferScope.WITHIN if to_school is not None else TransferScope.OUTSIDE,
        to_school=to_school, destination="" if to_school is not None else destination[:200],
        reason=(reason or "转学")[:300], status_change=change,
        recorded_by=by if getattr(by, "is_authenticated", False) else None)
    audit.record(request, AuditAction.CHANGE, child, user=by, summary=f"登记转出 {child.id_masked} → {text}"[:300],
                 after={"transfer": transfer.pk, "date": on.isoformat(), "to": text})
    return transfer


@transaction.atomic
def record_receipt(transfer: Transfer, on: date, number: str, by: Any, request: Any = None) -> Transfer:
    """The receipt of the registry transfer (学籍转接回执) of a transfer out of the county."""
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if transfer.scope != TransferScope.OUTSIDE:
        raise TransferError("县内转学以转入学校的名册为准，不登记回执")
    if transfer.completed_on is not None:
        raise TransferError(f"该流转已于 {transfer.completed_on} 完成")
    if on < transfer.date:
        raise TransferError(f"回执日期 {on} 早于转出日期 {transfer.date}")
    if on > timezone.localdate():
        raise TransferError("回执日期不能晚于今天")
    if not number.strip():
        raise TransferError("请填写学籍转接回执编号（或转入学校出具的接收证明编号）")
    transfer.completed_on, transfer.arrival = on, Arrival.RECEIPT
    transfer.receipt_number = number.strip()[:60]
    transfer.receipt_by = by if getattr(by, "is_authenticated", False) else None
    transfer.save(update_fields=["completed_on", "arrival", "receipt_number", "receipt_by"])
    audit.record(request, AuditAction.CHANGE, transfer.child, user=by,
                 summary=f"登记学籍转接回执 {transfer.child.id_masked}（{transfer.destination}）"[:300],
                 after={"transfer": transfer.pk, "receipt": transfer.receipt_number, "date": on.isoformat()})
    return transfer


_CODE = re.compile(r"(?<!\d)(\d{10})(?!\d)")


def _read_destination(text: str, schools: dict[str, School], names: list[tuple[str, School]]) -> School | None:
    """The county school a free-text destination names (its code, else its full name), if any."""
    for code in _CODE.findall(text):
        if code in schools:
            return schools[code]
    for name, school in names:
        if name in text:
            return school
    return None


SETTLED = "gm:transfers-settled:{county}"


def settle_if_changed(county_code: str | None = None) -> None:
    """`settle`, unless nothing it reads has changed since it last ran in this process (the layers'
    change tokens of children, statuses, transfers, schools, classes and areas). The pages and the
    month-end reads settle before they read; settling every time cost ~190 ms on the province's data
    set (its queries cross the county's children and the province's schools) and almost always found
    nothing. The token is read before settling, so that a change made meanwhile makes the next read
    settle again (a settle's own writes do too, once); it is kept only once the settle is committed.
    Per process (the default cache): another worker settles once itself. The daily settle_transfers
    command settles in full."""
    from django.core.cache import cache

    from layers import versions
    from layers.models import Source

    county = (county_code or settings.GRIDMAP_COUNTY_CODE)[:6]
    token = versions.read(county).of([Source.CHILDREN, Source.SCHOOLS, Source.CLASSES, Source.AREAS])
    key = SETTLED.format(county=county)
    if cache.get(key) == token:
        return
    settle(county)
    transaction.on_commit(lambda: cache.set(key, token, 86400))


@transaction.atomic
def settle(county_code: str | None = None) -> tuple[int, int]:
    """Adopt status changes to 转出 that have no transfer yet, and complete the transfers a county roll
    now shows. Returns (adopted, completed). Idempotent; cheap when nothing is new."""
    county = (county_code or settings.GRIDMAP_COUNTY_CODE)[:6]
    adopted = completed = 0
    with connection.cursor() as cursor:  # one settler per county at a time: two page loads would adopt a
        # 转出 entry twice (its transfer is one-to-one with it: the second would fail on the constraint)
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gridmap_transfers:' || %s))", [county])
    orphans = list(ChildStatusChange.objects.filter(
        to_status=ChildStatus.TRANSFERRED_OUT, transfer__isnull=True, child__group__code__startswith=county)
        .select_related("child__school_class").order_by("pk"))
    if orphans:
        schools = {s.code: s for s in county_schools(county)}
        names = sorted(((s.name, s) for s in schools.values()), key=lambda p: -len(p[0]))
        made = []
        for change in orphans:
            school = _read_destination(change.destination, schools, names)
            roll = change.child.school_class.school_id if change.child.school_class_id else None  # type: ignore[union-attr]
            made.append(Transfer(
                child_id=change.child_id, date=change.date, from_school_id=roll,
                scope=TransferScope.WITHIN if school is not None else TransferScope.OUTSIDE,
                to_school=school, destination="" if school is not None else (change.destination or "（去向未写明）")[:200],
                reason=change.reason[:300], status_change=change, recorded_by=change.changed_by))
        Transfer.objects.bulk_create(made)
        adopted = len(made)
    # Arrival on a county roll: the first return to school in the history after the transfer out.
    waiting = list(Transfer.objects.filter(completed_on__isnull=True, child__group__code__startswith=county,
                                           child__status__in=ON_ROLL, child__school_class__isnull=False,
                                           child__school_class__school__township__code__startswith=county)
                   .select_related("child__school_class", "status_change"))
    for t in waiting:
        later = ChildStatusChange.objects.filter(child=t.child_id, to_status__in=ON_ROLL, date__gte=t.date)
        if t.status_change is not None:
            change = t.status_change
            later = later.filter(Q(date__gt=change.date) | Q(recorded_at__gt=change.recorded_at)
                                 | Q(recorded_at=change.recorded_at, pk__gt=change.pk))
        else:
            later = later.filter(date__gt=t.date)
        back = later.order_by("date", "recorded_at", "pk").values_list("date", flat=True).first()
        if back is None:
            continue
        t.completed_on, t.arrival = back, Arrival.ROLL
        t.arrived_school_id = t.child.school_class.school_id  # type: ignore[union-attr]
        t.save(update_fields=["completed_on", "arrival", "arrived_school"])
        completed += 1
    return adopted, completed
