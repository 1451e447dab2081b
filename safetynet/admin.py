"""The safety net's records in the admin, scoped like every other (gridmap.admin.ScopedAdmin): aid
records editable (corrections; imports are the normal way in), transfers, term-start checks and
reports to read — they change through their pages, which keep their rules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet

from gridmap import access
from gridmap.admin import ScopedAdmin
from gridmap.models import AidRecord, Transfer
from safetynet.models import TermCheck, TermReport


class ReadOnly:
    def has_add_permission(self, request: Any, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AidRecord)
class AidRecordAdmin(ScopedAdmin[AidRecord]):
    list_display = ["child", "school_year", "term", "kind", "amount", "date", "source"]
    list_filter = ["school_year", "term", "kind"]
    raw_id_fields = ["child"]
    readonly_fields = ["imported_from", "recorded_at"]

    def scope(self, request: Any, qs: QuerySet[AidRecord]) -> QuerySet[AidRecord]:
        return qs.filter(child__in=access.visible_children(request.user))


@admin.register(Transfer)
class TransferAdmin(ReadOnly, ScopedAdmin[Transfer]):
    list_display = ["child", "date", "scope", "from_school", "to_school", "destination", "completed_on", "arrival"]
    list_filter = ["scope", "arrival"]
    raw_id_fields = ["child", "status_change"]

    def scope(self, request: Any, qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
        return qs.filter(child__in=access.visible_children(request.user))


@admin.register(TermCheck)
class TermCheckAdmin(ReadOnly, ScopedAdmin[TermCheck]):
    list_display = ["school", "school_year", "term", "checked_on", "expected", "reported", "submitted_at"]
    list_filter = ["school_year", "term"]

    def scope(self, request: Any, qs: QuerySet[TermCheck]) -> QuerySet[TermCheck]:
        return qs.filter(school__in=access.visible_schools(request.user))


@admin.register(TermReport)
class TermReportAdmin(ReadOnly, ScopedAdmin[TermReport]):
    list_display = ["area", "school_year", "term", "submitted_by", "submitted_at"]
    list_filter = ["school_year", "term"]

    def scope(self, request: Any, qs: QuerySet[TermReport]) -> QuerySet[TermReport]:
        scope = access.scope_of(request.user)
        if scope.everywhere:
            return qs
        return qs.filter(Q(area__code__in=scope.area_codes) if not scope.school_ids else Q(pk__in=[]))
