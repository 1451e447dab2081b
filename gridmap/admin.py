"""Admin for every model, with map widgets that load nothing from outside."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.contrib import admin
from django.contrib.gis import admin as gis_admin
from django.contrib.gis.forms.widgets import OSMWidget
from django.db.models import Model

from gridmap import models as m

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
        return context


class MapAdmin(gis_admin.GISModelAdmin[_M]):
    gis_widget = OfflineMapWidget


@admin.register(m.Area)
class AreaAdmin(MapAdmin[m.Area]):
    list_display = ["code", "name", "level", "parent", "synthetic"]
    list_filter = ["level", "synthetic"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["source"]


class CatchmentInline(admin.TabularInline[m.CatchmentAssignment, m.School]):
    model = m.CatchmentAssignment
    raw_id_fields = ["area"]
    extra = 0


@admin.register(m.School)
class SchoolAdmin(MapAdmin[m.School]):
    list_display = ["code", "name", "kind", "first_grade", "last_grade", "capacity", "status", "township"]
    list_filter = ["kind", "status", "boarding", "township"]
    search_fields = ["code", "name"]
    inlines = [CatchmentInline]


@admin.register(m.CatchmentAssignment)
class CatchmentAssignmentAdmin(admin.ModelAdmin[m.CatchmentAssignment]):
    list_display = ["area", "school", "stage"]
    list_filter = ["stage"]
    raw_id_fields = ["area", "school"]
    search_fields = ["area__code", "area__name", "school__name"]


@admin.register(m.SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin[m.SchoolClass]):
    list_display = ["school", "school_year", "grade", "number"]
    list_filter = ["school_year", "grade"]
    search_fields = ["school__name"]
    raw_id_fields = ["school"]


@admin.register(m.Person)
class PersonAdmin(admin.ModelAdmin[m.Person]):
    list_display = ["name", "sex", "phone", "unit", "title", "synthetic"]
    search_fields = ["name", "phone", "unit"]
    raw_id_fields = ["school", "user"]


@admin.register(m.Responsibility)
class ResponsibilityAdmin(admin.ModelAdmin[m.Responsibility]):
    list_display = ["role", "person", "responsible_school", "area", "school", "school_class",
                    "start_date", "end_date"]
    list_filter = ["role"]
    raw_id_fields = ["person", "responsible_school", "area", "school", "school_class", "child"]
    search_fields = ["person__name", "area__name", "area__code", "school__name"]


@admin.register(m.Household)
class HouseholdAdmin(MapAdmin[m.Household]):
    list_display = ["group", "number", "head_name", "address"]
    search_fields = ["head_name", "address", "group__code"]
    raw_id_fields = ["group"]


class StatusHistoryInline(admin.TabularInline[m.ChildStatusChange, m.Child]):
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


class CaseStepInline(admin.TabularInline[m.CaseStep, m.Case]):
    model = m.CaseStep
    extra = 0
    raw_id_fields = ["person"]


@admin.register(m.Case)
class CaseAdmin(admin.ModelAdmin[m.Case]):
    list_display = ["child", "opened_on", "status", "township", "village", "school"]
    list_filter = ["status", "township"]
    raw_id_fields = ["child", "township", "village", "school", "members"]
    inlines = [CaseStepInline]


class HomeVisitInline(admin.TabularInline[m.HomeVisit, m.HomeTeachingPlan]):
    model = m.HomeVisit
    extra = 0
    raw_id_fields = ["teachers"]


@admin.register(m.HomeTeachingPlan)
class HomeTeachingPlanAdmin(admin.ModelAdmin[m.HomeTeachingPlan]):
    list_display = ["child", "school", "place", "visits_per_week", "start_date"]
    raw_id_fields = ["child", "school", "teachers"]
    inlines = [HomeVisitInline]


@admin.register(m.Road)
class RoadAdmin(MapAdmin[m.Road]):
    list_display = ["name", "ref", "highway", "oneway", "osm_id"]
    list_filter = ["highway", "oneway"]
    search_fields = ["name", "ref"]


@admin.register(m.Feature)
class FeatureAdmin(MapAdmin[m.Feature]):
    list_display = ["kind", "name", "source"]


@admin.register(m.Profile)
class ProfileAdmin(admin.ModelAdmin[m.Profile]):
    list_display = ["user", "role"]
    list_filter = ["role"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    filter_horizontal = ["areas", "schools"]


@admin.register(m.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[m.AuditEvent]):
    """Searchable, never editable: the audit trail is append-only."""

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
