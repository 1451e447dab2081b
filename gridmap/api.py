"""The JSON/GeoJSON API (v1): areas, schools, cells and children, every queryset scoped by
gridmap.access; bbox filtering as drf-gis does it; child reads audited."""

from __future__ import annotations

import json
import math
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import filters, routers, serializers, viewsets
from rest_framework import views as drf_views
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import formatting
from rest_framework_gis.filters import InBBoxFilter
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gridmap import access, audit, numerals
from gridmap.models import Area, AreaLevel, AuditAction, Child, School


class AreaSerializer(GeoFeatureModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)

    class Meta:
        model = Area
        geo_field = "geom"
        fields = ["id", "code", "name", "level", "parent_code", "synthetic"]


class SchoolSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = School
        geo_field = "location"
        fields = ["id", "code", "name", "kind", "first_grade", "last_grade", "capacity", "boarding",
                  "status", "synthetic"]


class GeoJsonFromDatabase(serializers.Field):
    """A geometry the database already wrote as GeoJSON (ST_AsGeoJSON, 8 decimals: ~1 mm): drf-gis's
    field converts every polygon through GEOS and GDAL twice, ~40 % of a page of cells' time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class CellSerializer(GeoFeatureModelSerializer):
    geom = GeoJsonFromDatabase(source="geom_json")
    children = serializers.SerializerMethodField()
    off_school = serializers.SerializerMethodField()

    class Meta:
        model = Area
        geo_field = "geom"
        fields = ["id", "code", "name", "children", "off_school"]

    def _counts(self, cell: Area) -> dict[str, Any]:
        counts: dict[int, dict[str, Any]] = self.context["counts"]
        return counts.get(cell.pk, {"children": 0, "off_school": 0})

    def get_children(self, cell: Area) -> int | str:
        return self._counts(cell)["children"]  # type: ignore[no-any-return]

    def get_off_school(self, cell: Area) -> int | str:
        return self._counts(cell)["off_school"]  # type: ignore[no-any-return]


class ChildSerializer(serializers.ModelSerializer[Child]):
    group_code = serializers.CharField(source="group.code", read_only=True)
    school = serializers.CharField(source="school_class.school.name", default=None, read_only=True)
    grade = serializers.IntegerField(source="school_class.grade", default=None, read_only=True)

    class Meta:
        model = Child
        fields = ["id", "id_masked", "name", "sex", "birth_date", "group_code", "status", "school", "grade"]


class GeoPage(GeoJsonPagination):
    page_size = 500
    max_page_size = 5000


class ChildPage(PageNumberPagination):
    """Children come 100 to a page, at most 1,000 (a county has 90,000: never in one response)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class Search(filters.SearchFilter):
    search_param = "q"


class CellSearch(Search):
    """The sidebar's search for the API: every term must match the code, the group's or the village's
    name, a group number matching however the name writes it ("花园 3组" finds 花园村 第三村民小组)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        for term in self.get_search_terms(request):
            match = Q(code__icontains=term)
            for variant in numerals.group_variants(term):
                match |= Q(name__icontains=variant) | Q(parent__name__icontains=variant)
            queryset = queryset.filter(match)
        return queryset


class CheckedBBoxFilter(InBBoxFilter):
    """drf-gis's bbox filter, with the box checked first: four finite numbers, lon/lat in range,
    min < max (nan or inf used to reach GEOS and end in a 500)."""

    def get_filter_bbox(self, request: Request) -> Any:
        raw = request.query_params.get(self.bbox_param)
        if raw:
            try:
                values = [float(v) for v in raw.split(",")]
            except ValueError:
                raise ParseError("in_bbox 应为四个数：最小经度,最小纬度,最大经度,最大纬度") from None
            if (len(values) != 4 or not all(math.isfinite(v) for v in values)
                    or not (-180 <= values[0] < values[2] <= 180 and -90 <= values[1] < values[3] <= 90)):
                raise ParseError("in_bbox 无效：须为有限的经纬度，且最小值小于最大值")
        return super().get_filter_bbox(request)


class AreaViewSet(viewsets.ReadOnlyModelViewSet[Area]):
    serializer_class = AreaSerializer
    pagination_class = GeoPage
    bbox_filter_field = "geom"
    bbox_filter_include_overlapping = True
    filter_backends = [CheckedBBoxFilter, Search]
    search_fields = ["code", "name"]

    def get_queryset(self) -> QuerySet[Area]:
        areas = access.visible_areas(self.request.user).select_related("parent").order_by("code")
        level = self.request.query_params.get("level")
        if level and level not in AreaLevel.values:
            raise ParseError(f"level 应为 {'、'.join(AreaLevel.values)} 之一")
        return areas.filter(level=level) if level else areas


class SchoolViewSet(viewsets.ReadOnlyModelViewSet[School]):
    serializer_class = SchoolSerializer
    pagination_class = GeoPage
    bbox_filter_field = "location"
    filter_backends = [CheckedBBoxFilter, Search]
    search_fields = ["code", "name"]

    def get_queryset(self) -> QuerySet[School]:
        return access.visible_schools(self.request.user).order_by("code")


class CellViewSet(viewsets.ReadOnlyModelViewSet[Area]):
    """Village groups with their counts of school-age children and of those off school."""

    serializer_class = CellSerializer
    pagination_class = GeoPage
    bbox_filter_field = "geom"
    bbox_filter_include_overlapping = True
    filter_backends = [CheckedBBoxFilter, CellSearch]
    search_fields = ["code", "name", "parent__name"]  # CellSearch's fields (the schema reads them)

    def get_queryset(self) -> QuerySet[Area]:
        return (access.visible_cells(self.request.user).annotate(geom_json=AsGeoJSON("geom")).defer("geom")
                .order_by("code"))

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        """The counts of the cells being returned (a page, or one), not of every cell the filters
        select: counting all of a login's cells for each page of 100 was most of the list's cost."""
        instance = args[0] if args else kwargs.pop("instance", None)
        args = args[1:]
        if instance is not None:
            if kwargs.get("many"):
                instance = list(instance)
            shown = instance if kwargs.get("many") else [instance]
            kwargs["context"] = {**self.get_serializer_context(), "counts": access.child_counts(
                self.request.user, Area.objects.filter(pk__in=[cell.pk for cell in shown]))}
        return super().get_serializer(instance, *args, **kwargs)


class ChildViewSet(viewsets.ReadOnlyModelViewSet[Child]):
    serializer_class = ChildSerializer
    pagination_class = ChildPage
    filter_backends = [Search]
    search_fields = ["name", "group__code", "group__name"]

    def get_queryset(self) -> QuerySet[Child]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema: no user
            return Child.objects.none()
        if not access.scope_of(self.request.user).individual_children:
            audit.record(self.request, AuditAction.DENIED, summary="儿童明细（仅可查看汇总）")
            raise PermissionDenied("只能查看汇总数据")
        return (access.visible_children(self.request.user)
                .select_related("group", "school_class__school").order_by("group__code", "name"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit.record(request, AuditAction.LIST,
                     summary=f"儿童列表 {request.get_full_path()}"[:300])
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        child = self.get_object()
        audit.record(request, AuditAction.VIEW, child, summary=f"查看儿童 {child.id_masked}")
        return Response(self.get_serializer(child).data)


# --- names and descriptions shown by the browsable API, translated (settings.REST_FRAMEWORK) -------

class APIRoot(routers.APIRootView):
    """The API's index (DefaultRouter's root view under a translated name)."""


VIEW_TEXTS: dict[str, tuple[Any, Any, Any]] = {  # class: (list name, detail name, description)
    "APIRoot": (_("gridmap API"), _("gridmap API"),
                _("JSON and GeoJSON of areas, schools, grid cells and children, as far as your login may see.")),
    "AreaViewSet": (_("Areas"), _("Area"), _("Registry areas: county, townships, villages, village groups.")),
    "SchoolViewSet": (_("Schools"), _("School"), _("Schools with their kind, grades, places and status.")),
    "CellViewSet": (_("Grid cells"), _("Grid cell"),
                    _("Village groups with their school-age children and those off school (fewer than 5 shown "
                      "as “<5” to logins that see counts only).")),
    "ChildViewSet": (_("Children"), _("Child"), _("School-age children (ID numbers masked; every read is logged).")),
}


def view_name(view: Any) -> str:
    texts = VIEW_TEXTS.get(type(view).__name__)
    if texts is None:
        return str(drf_views.get_view_name(view))
    return str(texts[1] if getattr(view, "suffix", None) == "Instance" else texts[0])


def view_description(view: Any, html: bool = False) -> str:
    texts = VIEW_TEXTS.get(type(view).__name__)
    if texts is None:
        return str(drf_views.get_view_description(view, html))
    return str(formatting.markup_description(str(texts[2])) if html else texts[2])
