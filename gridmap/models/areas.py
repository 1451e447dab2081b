"""The household-registry line: county → township → village → village group, one model (mapit's Area)."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import IsEmpty, PointOnSurface
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")
    GROUP = "group", _("village group")


LEVELS = [AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE, AreaLevel.GROUP]
PARENT_LEVEL = {child: parent for parent, child in zip(LEVELS, LEVELS[1:], strict=False)}
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}
# National statistical division codes: 6-digit county, 9 township, 12 village; a village group
# is its village's code plus a 3-digit suffix.
CODE_LENGTH = {
    AreaLevel.COUNTY: 6,
    AreaLevel.TOWNSHIP: 9,
    AreaLevel.VILLAGE: 12,
    AreaLevel.GROUP: 15,
}


class AreaQuerySet(models.QuerySet["Area"]):
    def at_level(self, level: str) -> AreaQuerySet:
        return self.filter(level=level)

    def containing(self, point: GEOSGeometry) -> AreaQuerySet:
        return self.filter(geom__contains=point)

    def descendants_of(self, area: Area) -> AreaQuerySet:
        # Codes are hierarchical (the database enforces the prefix), so a prefix scan on the
        # unique code index finds a whole subtree without recursion.
        return self.filter(code__startswith=area.code).exclude(pk=area.pk)

    def ancestors_of(self, area: Area) -> AreaQuerySet:
        prefixes = [area.code[:n] for n in CODE_LENGTH.values() if n < len(area.code)]
        return self.filter(code__in=prefixes)


class Area(models.Model):
    level = models.CharField(_("level"), max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    code = models.CharField(_("statistical code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    geom = models.MultiPolygonField(_("boundary"), srid=4326)
    label_point = models.GeneratedField(
        expression=PointOnSurface("geom"),
        output_field=models.PointField(srid=4326),
        db_persist=True,
    )
    population = models.PositiveIntegerField(_("registered population"), null=True, blank=True)
    households = models.PositiveIntegerField(_("registered households"), null=True, blank=True)
    urban_rural_code = models.CharField(
        _("urban-rural class (NBS)"), max_length=3, blank=True,
        help_text=_("111 main city ... 220 village, as in the NBS division list"),
    )
    synthetic = models.BooleanField(
        _("generated data"), default=False,
        help_text=_("Generated for the demo, not surveyed: shown as such on the map."),
    )
    source = models.CharField(_("data source"), max_length=200, blank=True)

    objects: ClassVar[AreaQuerySet] = AreaQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="area_parent_only_county_lacks",
                condition=Q(level=AreaLevel.COUNTY, parent__isnull=True)
                | (~Q(level=AreaLevel.COUNTY) & Q(parent__isnull=False)),
                violation_error_message=_("A county has no parent; every other area has one."),
            ),
            models.CheckConstraint(
                name="area_code_format",
                condition=Q(level=AreaLevel.COUNTY, code__regex=r"^\d{6}$")
                | Q(level=AreaLevel.TOWNSHIP, code__regex=r"^\d{9}$")
                | Q(level=AreaLevel.VILLAGE, code__regex=r"^\d{12}$")
                | Q(level=AreaLevel.GROUP, code__regex=r"^\d{15}$"),
                violation_error_message=_(
                    "Codes have 6 (county), 9 (township), 12 (village) or 15 (group) digits."
                ),
            ),
            models.CheckConstraint(
                name="area_geom_valid",
                condition=Q(geom__isvalid=True),
                violation_error_message=_("The boundary is not a valid polygon."),
            ),
            models.CheckConstraint(
                name="area_geom_not_empty",
                condition=Exact(IsEmpty("geom"), False),
                violation_error_message=_("The boundary is empty."),
            ),
        ]
        indexes = [
            models.Index(fields=["level", "code"]),
            # text_pattern_ops lets `code LIKE '330783005%'` (descendants_of) use an index
            # whatever the database's collation.
            models.Index(fields=["code"], name="area_code_prefix_idx", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        """Same rules as the database trigger (migration 0002), with messages for forms."""
        super().clean()
        expected = PARENT_LEVEL.get(AreaLevel(self.level)) if self.level else None
        parent = self.parent
        if parent is None:
            return
        if expected is None or parent.level != expected:
            raise ValidationError(
                {"parent": _("A %(level)s must lie in a %(expected)s, not a %(actual)s.") % {
                    "level": AreaLevel(self.level).label,
                    "expected": AreaLevel(expected).label if expected else "-",
                    "actual": AreaLevel(parent.level).label,
                }}
            )
        if self.code and not self.code.startswith(parent.code):
            raise ValidationError(
                {"code": _("The code must begin with the parent's code %(code)s.")
                 % {"code": parent.code}}
            )

    def descendants(self) -> AreaQuerySet:
        return Area.objects.descendants_of(self)

    def ancestors(self) -> AreaQuerySet:
        return Area.objects.ancestors_of(self)
