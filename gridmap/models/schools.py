"""The school line: schools, classes, and the village groups each school serves (catchments)."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area, AreaLevel


class SchoolKind(models.TextChoices):
    TEACHING_POINT = "teaching_point", _("teaching point")  # 教学点
    VILLAGE_PRIMARY = "village_primary", _("village primary school")  # 村小
    FULL_PRIMARY = "full_primary", _("full primary school")  # 完小
    CENTRAL_PRIMARY = "central_primary", _("central primary school")  # 中心小学
    JUNIOR_MIDDLE = "junior_middle", _("junior middle school")  # 初中
    NINE_YEAR = "nine_year", _("nine-year school")  # 九年一贯制


class SchoolStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    PLANNED = "planned", _("planned")


class Stage(models.TextChoices):
    PRIMARY = "primary", _("primary (grades 1-6)")
    JUNIOR = "junior", _("junior middle (grades 7-9)")


class SchoolQuerySet(models.QuerySet["School"]):
    def touching_pairs(self, schools: SchoolQuerySet | None = None) -> list[tuple[int, int]]:
        """Pairs of schools (of this queryset) whose catchments touch or overlap.

        A self-join on the catchment's spatial index: the ORM cannot express it, so it is one raw
        query over the ids the queryset selects.
        """
        ids = list((schools if schools is not None else self).filter(catchment__isnull=False)
                   .values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.id, b.id FROM gridmap_school a JOIN gridmap_school b"
                " ON a.id < b.id AND ST_Intersects(a.catchment, b.catchment)"
                " WHERE a.id = ANY(%s) AND b.id = ANY(%s)", [ids, ids])
            return [(a, b) for a, b in cursor.fetchall()]


class School(models.Model):
    code = models.CharField(_("school code"), max_length=10, unique=True,
                            help_text=_("10-digit national school identification code (学校标识码)"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=SchoolKind.choices)
    first_grade = models.PositiveSmallIntegerField(_("first grade served"))
    last_grade = models.PositiveSmallIntegerField(_("last grade served"))
    capacity = models.PositiveIntegerField(_("approved places"), null=True, blank=True)
    boarding = models.BooleanField(_("boarding"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=SchoolStatus.choices,
                              default=SchoolStatus.OPEN)
    location = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=200, blank=True)
    township = models.ForeignKey(Area, verbose_name=_("township"), on_delete=models.PROTECT,
                                 related_name="schools", limit_choices_to={"level": AreaLevel.TOWNSHIP})
    # Derived: union of the village groups assigned to the school, kept in step by database
    # triggers on CatchmentAssignment and Area (migration 0002), so bulk loads stay consistent.
    catchment = models.MultiPolygonField(_("catchment"), srid=4326, null=True, blank=True,
                                         editable=False)
    synthetic = models.BooleanField(_("generated data"), default=False)
    source = models.CharField(_("data source"), max_length=200, blank=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="school_grades_in_range",
                condition=Q(first_grade__gte=1, last_grade__lte=9, first_grade__lte=F("last_grade")),
                violation_error_message=_("Grades served must lie within 1-9, first before last."),
            ),
            models.CheckConstraint(name="school_code_format", condition=Q(code__regex=r"^\d{10}$"),
                                   violation_error_message=_("School codes have 10 digits.")),
        ]

    def __str__(self) -> str:
        return self.name

    def serves_grade(self, grade: int) -> bool:
        return self.first_grade <= grade <= self.last_grade

    def clean(self) -> None:
        super().clean()
        if self.township_id and self.township.level != AreaLevel.TOWNSHIP:
            raise ValidationError({"township": _("Choose a township.")})


class CatchmentAssignment(models.Model):
    """A village group served by a school for one stage (学区划片)."""

    area = models.ForeignKey(Area, verbose_name=_("village group"), on_delete=models.CASCADE,
                             related_name="catchment_assignments",
                             limit_choices_to={"level": AreaLevel.GROUP})
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.CASCADE,
                               related_name="catchment_assignments")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)

    class Meta:
        verbose_name = _("catchment assignment")
        verbose_name_plural = _("catchment assignments")
        constraints = [
            models.UniqueConstraint(fields=["area", "stage"], name="one_school_per_group_and_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.area} → {self.school} ({self.get_stage_display()})"

    def clean(self) -> None:
        super().clean()
        if self.area_id and self.area.level != AreaLevel.GROUP:
            raise ValidationError({"area": _("Catchments are made of village groups.")})


class SchoolClass(models.Model):
    """A class (班级): the smallest cell of the school line."""

    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.CASCADE,
                               related_name="classes")
    school_year = models.PositiveSmallIntegerField(_("school year"),
                                                   help_text=_("year in which it began on 1 September"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    number = models.PositiveSmallIntegerField(_("class number"))

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["school", "school_year", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "school_year", "grade", "number"],
                                    name="unique_class"),
            models.CheckConstraint(name="class_grade_1_9", condition=Q(grade__gte=1, grade__lte=9)),
        ]

    def __str__(self) -> str:
        return _("%(school)s grade %(grade)s class %(number)s") % {
            "school": self.school.name, "grade": self.grade, "number": self.number}
