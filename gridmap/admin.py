"""Admin for every model, with map widgets that load nothing from outside."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.gis import admin as gis_admin
from django.contrib.gis.forms.widgets import OSMWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from gridmap import access, audit, responsibilities
from gridmap import models as m
from gridmap.middleware import csp_nonce
from gridmap.models import AuditAction
from gridmap.models.people import SINGLE_HOLDER_ROLES

_M = TypeVar("_M", bound=Model)


class OfflineMapWidget(OSMWidget):
    """Django's OpenLayers widget with OpenLayers served locally and the configured tiles (or
    none) instead of OpenStreetMap's servers; opens on the demo county."""

    template_name = "gis/gridmap-openlayers.html"
    default_lon = 120.40  # type: ignore[assignment]  # Django types these as int
    default_lat = 29.25  # type: ignore[assignment]
    default_zoom = 10

    class Media:
        extend = False  # the parent's Media loads OpenLayers from a CDN
        css = {"all": ("vendor/ol-7.2.2/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol-7.2.2/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, value, attrs)
        context["tile_url"] = settings.GRIDMAP_TILE_URL
        context["tile_attribution"] = settings.GRIDMAP_TILE_ATTRIBUTION
        context["csp_nonce"] = csp_nonce()  # the widget's inline script runs under the page's CSP
        return context


class ScopedWrites:
    """What every gridmap admin class shares with the pages: reads through its `scope` (a
    gridmap.access queryset), writes through gridmap.access — foreign-key choices from
    `access.choices`, and every save, inline save and delete checked against `access.writable`.
    A save whose result falls outside the login's scope is refused (403) inside the admin's own
    transaction, so nothing of it stays."""

    model: Any
    admin_site: Any

    def scope(self, request: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        return self.scope(request, super().get_queryset(request))  # type: ignore[misc]

    def get_changelist_instance(self, request: Any) -> Any:
        """A list filter the database cannot take (a year of 2147483648, a number too long for its
        column) is an "incorrect lookup", which the admin answers by showing the list unfiltered
        with a note, as it does for other bad filters — not a 500."""
        try:
            with transaction.atomic():  # a DataError must not poison the request's transaction
                return super().get_changelist_instance(request)  # type: ignore[misc]
        except (OverflowError, DataError, ValidationError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_field_queryset(self, db: Any, db_field: Any, request: Any) -> QuerySet[Any]:
        model = db_field.remote_field.model
        rows = access.choices(request.user, model)
        related_admin = self.admin_site._registry.get(model)
        ordering = related_admin.get_ordering(request) if related_admin is not None else ()
        return rows.order_by(*ordering) if ordering else rows

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        return (super().has_add_permission(request, *args)  # type: ignore[misc]
                and access.may_write_model(request.user, self.model))

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_write(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_write(request, obj)  # type: ignore[misc]

    def _may_write(self, request: Any, obj: Any) -> bool:
        if obj is None:
            return access.may_write_model(request.user, self.model)
        return access.may_write(request.user, obj)

    def _refuse_unless_writable(self, request: Any, obj: Any) -> None:
        if not access.may_write(request.user, obj):
            refuse(request, obj, f"后台越权写入被拒：{type(obj).__name__} {obj.pk}")

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if change:
            self._refuse_unless_writable(request, type(obj)._default_manager.get(pk=obj.pk))
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self._refuse_unless_writable(request, obj)  # where the new values put it

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        for inline_form in formset.initial_forms:
            if inline_form.has_changed() or inline_form in formset.deleted_forms:
                self._refuse_unless_writable(request, inline_form.instance)
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in [*formset.new_objects, *(o for o, _fields in formset.changed_objects)]:
            self._refuse_unless_writable(request, obj)

    def delete_model(self, request: Any, obj: Any) -> None:
        self._refuse_unless_writable(request, obj)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: Any, queryset: QuerySet[Any]) -> None:
        # NOT EXISTS (an anti-join), not NOT IN over every writable row
        if queryset.filter(~Exists(access.writable(request.user, self.model).filter(pk=OuterRef("pk")))).exists():
            refuse(request, None, f"后台越权删除被拒：{self.model.__name__}")
        super().delete_queryset(request, queryset)  # type: ignore[misc]


def refuse(request: Any, obj: Any, summary: str) -> NoReturn:
    """Refuse with a 403. The admin saves inside a transaction that the refusal rolls back, so the
    audit event is written after it, by gridmap.middleware.AuditRefusalMiddleware."""
    request.gridmap_refusal = (obj, summary)
    raise PermissionDenied


class ScopedInline:
    """Inlines choose foreign keys from gridmap.access too (their saves go through the parent's
    save_formset, which checks each row)."""

    admin_site: Any

    def get_field_queryset(self, db: Any, db_field: Any, request: Any) -> QuerySet[Any]:
        return access.choices(request.user, db_field.remote_field.model)


class ScopedAdmin(ScopedWrites, admin.ModelAdmin[_M]):
    """The admin shows a staff login only what gridmap.access lets it see (superusers: all)."""


class MapAdmin(ScopedWrites, gis_admin.GISModelAdmin[_M]):
    gis_widget = OfflineMapWidget


@admin.register(m.Area)
class AreaAdmin(MapAdmin[m.Area]):
    list_display = ["code", "name", "level", "parent", "synthetic"]
    list_filter = ["level", "synthetic"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["source"]

    def scope(self, request: Any, qs: QuerySet[m.Area]) -> QuerySet[m.Area]:
        return qs.filter(pk__in=access.visible_areas(request.user).values("pk"))


class CatchmentInline(ScopedInline, admin.TabularInline[m.CatchmentAssignment, m.School]):
    model = m.CatchmentAssignment
    raw_id_fields = ["area"]
    extra = 0


@admin.register(m.School)
class SchoolAdmin(MapAdmin[m.School]):
    list_display = ["code", "name", "kind", "first_grade", "last_grade", "capacity", "status", "township"]
    list_filter = ["kind", "status", "boarding", ("township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    inlines = [CatchmentInline]

    def scope(self, request: Any, qs: QuerySet[m.School]) -> QuerySet[m.School]:
        return qs.filter(pk__in=access.visible_schools(request.user).values("pk"))

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        before = [str(a) for a in formset.queryset] if hasattr(formset, "queryset") else None
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            audit.record(request, AuditAction.CHANGE, form.instance, summary=f"学区划片（后台）：{form.instance}",
                         before=before, after=[str(a) for a in formset.queryset.all()])


@admin.register(m.CatchmentAssignment)
class CatchmentAssignmentAdmin(ScopedAdmin[m.CatchmentAssignment]):
    list_display = ["area", "school", "stage"]
    list_filter = ["stage"]
    raw_id_fields = ["area", "school"]
    search_fields = ["area__code", "area__name", "school__name"]

    def scope(self, request: Any, qs: QuerySet[m.CatchmentAssignment]) -> QuerySet[m.CatchmentAssignment]:
        return qs.filter(area__in=access.visible_cells(request.user))

    def save_model(self, request: Any, obj: m.CatchmentAssignment, form: Any, change: bool) -> None:
        before = str(m.CatchmentAssignment.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit.record(request, AuditAction.CHANGE, obj, summary=f"学区划片（后台）：{obj}", before=before,
                     after=str(obj))

    def delete_model(self, request: Any, obj: m.CatchmentAssignment) -> None:
        audit.record(request, AuditAction.CHANGE, obj, summary=f"删除学区划片（后台）：{obj}", before=str(obj))
        super().delete_model(request, obj)


@admin.register(m.SchoolClass)
class SchoolClassAdmin(ScopedAdmin[m.SchoolClass]):
    list_display = ["school", "school_year", "grade", "number"]
    list_filter = ["school_year", "grade"]
    search_fields = ["school__name"]
    raw_id_fields = ["school"]

    def scope(self, request: Any, qs: QuerySet[m.SchoolClass]) -> QuerySet[m.SchoolClass]:
        return qs.filter(school__in=access.visible_schools(request.user))


@admin.register(m.Person)
class PersonAdmin(ScopedAdmin[m.Person]):
    list_display = ["name", "sex", "phone", "unit", "title", "synthetic"]
    search_fields = ["name", "phone", "unit"]
    raw_id_fields = ["school", "user"]

    def scope(self, request: Any, qs: QuerySet[m.Person]) -> QuerySet[m.Person]:
        return qs.filter(pk__in=access.visible_people(request.user).values("pk"))


class ResponsibilityForm(forms.ModelForm[m.Responsibility]):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.instance.hands_over = self.instance.pk is None  # a new holder replaces the current one
        return data


@admin.register(m.Responsibility)
class ResponsibilityAdmin(ScopedAdmin[m.Responsibility]):
    """Adding a holder hands the responsibility over (the current row ends); a saved row can only
    be ended, never rewritten, so the history stays true. Every save is in the audit log."""

    form = ResponsibilityForm
    list_display = ["role", "person", "responsible_school", "area", "school", "school_class",
                    "start_date", "end_date"]
    list_filter = ["role", ("end_date", admin.EmptyFieldListFilter)]
    raw_id_fields = ["person", "responsible_school", "area", "school", "school_class", "child"]
    search_fields = ["person__name", "area__name", "area__code", "school__name"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["role", "person", "responsible_school", "area", "school", "school_class", "child",
                "start_date"]

    def save_model(self, request: Any, obj: m.Responsibility, form: Any, change: bool) -> None:
        before = None
        if change:
            before = responsibilities.describe(m.Responsibility.objects.get(pk=obj.pk))
        elif obj.end_date is None and obj.role in SINGLE_HOLDER_ROLES:
            target = obj.area or obj.school or obj.school_class or obj.child
            before = responsibilities.end_current(obj.role, target, obj.start_date)
        super().save_model(request, obj, form, change)
        responsibilities.record_hand_over(request, request.user, obj, before)

    def scope(self, request: Any, qs: Any) -> Any:
        user = request.user
        return qs.filter(Q(area__in=access.visible_areas(user)) | Q(school__in=access.visible_schools(user))
                         | Q(school_class__school__in=access.visible_schools(user))
                         | Q(child__in=access.visible_children(user)))


@admin.register(m.Household)
class HouseholdAdmin(MapAdmin[m.Household]):
    list_display = ["group", "number", "head_name", "address"]
    search_fields = ["head_name", "address", "group__code"]
    raw_id_fields = ["group"]

    def scope(self, request: Any, qs: QuerySet[m.Household]) -> QuerySet[m.Household]:
        return qs.filter(pk__in=access.visible_children(request.user).values("household"))


class StatusHistoryInline(ScopedInline, admin.TabularInline[m.ChildStatusChange, m.Child]):
    model = m.ChildStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["date", "from_status", "to_status", "changed_by", "reason", "recorded_at"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # status changes go through ledger actions, never by hand here


@admin.register(m.Child)
class ChildAdmin(MapAdmin[m.Child]):
    list_display = ["name", "id_masked", "sex", "birth_date", "group", "status"]
    list_filter = ["status", "sex", "residence_basis", "kg_left_behind", "kg_migrant", "kg_disabled"]
    search_fields = ["name", "group__code", "group__name"]
    raw_id_fields = ["household", "group", "school_class"]
    readonly_fields = ["id_masked", "status"]
    exclude = ["id_hash"]
    inlines = [StatusHistoryInline]

    def scope(self, request: Any, qs: QuerySet[m.Child]) -> QuerySet[m.Child]:
        return qs.filter(pk__in=access.visible_children(request.user).values("pk"))

    def change_view(self, request: Any, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> Any:
        child = self.get_queryset(request).filter(pk=object_id).first()
        if child is not None:
            audit.record(request, AuditAction.VIEW, child, summary=f"查看儿童（后台）{child.id_masked}")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: Any, obj: m.Child, form: Any, change: bool) -> None:
        before = {f: str(form.initial.get(f, "")) for f in form.changed_data} if change else None
        super().save_model(request, obj, form, change)
        audit.record(request, AuditAction.CHANGE, obj, summary=f"修改儿童（后台）{obj.id_masked}", before=before,
                     after={f: str(form.cleaned_data.get(f, "")) for f in form.changed_data})


class CaseStepInline(ScopedInline, admin.TabularInline[m.CaseStep, m.Case]):
    model = m.CaseStep
    extra = 0
    raw_id_fields = ["person"]


@admin.register(m.Case)
class CaseAdmin(ScopedAdmin[m.Case]):
    list_display = ["child", "opened_on", "status", "township", "village", "school"]
    list_filter = ["status", ("township", admin.RelatedOnlyFieldListFilter)]
    raw_id_fields = ["child", "township", "village", "school", "members"]
    inlines = [CaseStepInline]

    def scope(self, request: Any, qs: QuerySet[m.Case]) -> QuerySet[m.Case]:
        return qs.filter(child__in=access.visible_children(request.user))


class HomeVisitInline(ScopedInline, admin.TabularInline[m.HomeVisit, m.HomeTeachingPlan]):
    model = m.HomeVisit
    extra = 0
    raw_id_fields = ["teachers"]


@admin.register(m.HomeTeachingPlan)
class HomeTeachingPlanAdmin(ScopedAdmin[m.HomeTeachingPlan]):
    list_display = ["child", "school", "place", "visits_per_week", "start_date"]
    raw_id_fields = ["child", "school", "teachers"]
    inlines = [HomeVisitInline]

    def scope(self, request: Any, qs: QuerySet[m.HomeTeachingPlan]) -> QuerySet[m.HomeTeachingPlan]:
        return qs.filter(child__in=access.visible_children(request.user))


@admin.register(m.Road)
class RoadAdmin(MapAdmin[m.Road]):
    list_display = ["name", "ref", "highway", "oneway", "osm_id"]
    list_filter = ["highway", "oneway"]
    search_fields = ["name", "ref"]

    def scope(self, request: Any, qs: QuerySet[m.Road]) -> QuerySet[m.Road]:
        return qs  # public OpenStreetMap data


@admin.register(m.Feature)
class FeatureAdmin(MapAdmin[m.Feature]):
    list_display = ["kind", "name", "source"]

    def scope(self, request: Any, qs: QuerySet[m.Feature]) -> QuerySet[m.Feature]:
        return qs  # public OpenStreetMap data


def county_admin_only(request: Any, qs: QuerySet[_M]) -> QuerySet[_M]:
    """Logins, scopes and the audit trail are for the county administrator alone."""
    return qs if access.scope_of(request.user).role == m.UserRole.COUNTY_ADMIN else qs.none()


@admin.register(m.Profile)
class ProfileAdmin(ScopedAdmin[m.Profile]):
    list_display = ["user", "role"]
    list_filter = ["role"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    filter_horizontal = ["areas", "schools"]

    def scope(self, request: Any, qs: QuerySet[m.Profile]) -> QuerySet[m.Profile]:
        return county_admin_only(request, qs)


@admin.register(m.AuditEvent)
class AuditEventAdmin(ScopedAdmin[m.AuditEvent]):
    """Searchable, never editable: the audit trail is append-only."""

    def scope(self, request: Any, qs: QuerySet[m.AuditEvent]) -> QuerySet[m.AuditEvent]:
        return county_admin_only(request, qs)

    list_display = ["at", "username", "action", "object_type", "object_id", "summary", "ip"]
    list_filter = ["action", "object_type", "at"]
    search_fields = ["username", "summary", "object_id", "ip"]
    date_hierarchy = "at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(m.CalendarDay)
class CalendarDayAdmin(ScopedAdmin[m.CalendarDay]):
    """The county's school calendar: every login reads it, the county administrator keeps it."""

    list_display = ["date", "school_day", "name"]
    list_filter = ["school_day"]

    def scope(self, request: Any, qs: QuerySet[m.CalendarDay]) -> QuerySet[m.CalendarDay]:
        return qs


@admin.register(m.Absence)
class AbsenceAdmin(ScopedAdmin[m.Absence]):
    list_display = ["child", "date", "excused", "reason", "recorded_by"]
    list_filter = ["excused", "date"]
    raw_id_fields = ["child", "recorded_by"]

    def scope(self, request: Any, qs: QuerySet[m.Absence]) -> QuerySet[m.Absence]:
        return qs.filter(child__in=access.visible_children(request.user))


class FollowUpReviewInline(ScopedInline, admin.TabularInline[m.FollowUpReview, m.FollowUpPlan]):
    model = m.FollowUpReview
    extra = 0


@admin.register(m.FollowUpPlan)
class FollowUpPlanAdmin(ScopedAdmin[m.FollowUpPlan]):
    list_display = ["child", "school", "start_date"]
    raw_id_fields = ["case", "child", "school"]
    inlines = [FollowUpReviewInline]

    def scope(self, request: Any, qs: QuerySet[m.FollowUpPlan]) -> QuerySet[m.FollowUpPlan]:
        return qs.filter(child__in=access.visible_children(request.user))


@admin.register(m.ReportSubmission)
class ReportSubmissionAdmin(ScopedAdmin[m.ReportSubmission]):
    list_display = ["month", "area", "school", "zero_report", "submitted_by", "submitted_at"]
    list_filter = ["zero_report", "month"]
    readonly_fields = ["figures", "submitted_by", "submitted_at"]

    def scope(self, request: Any, qs: QuerySet[m.ReportSubmission]) -> QuerySet[m.ReportSubmission]:
        user = request.user
        return qs.filter(Q(area__in=access.visible_areas(user)) | Q(school__in=access.visible_schools(user)))


# --- the admin's titles in the UI's language (not Django's "Django administration")
from django.utils.translation import gettext_lazy as _admin_title  # noqa: E402

admin.site.site_header = _admin_title("gridmap administration")
admin.site.site_title = _admin_title("gridmap administration")
admin.site.index_title = _admin_title("Data administration")
