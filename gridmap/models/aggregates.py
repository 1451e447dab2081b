"""Month-end counts per village (gridmap.month_ends keeps them): what the county dashboard, the
county report and the trend read instead of walking 90,000 status histories on every request."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area


class Measure(models.TextChoices):
    LEDGER = "ledger", _("on the ledger at the month's end")  # by status then
    ENTERED = "entered", _("status entries during the month")  # by the status entered
    # the safety net (gridmap.aid, gridmap.transfers), on the as-of day
    AID_ELIGIBLE = "aid_elig", _("on the ledger and eligible for aid")
    AID_GIVEN = "aid_given", _("eligible and aided this term")
    TRANSFER_OPEN = "xfer_open", _("transfers not completed")
    TRANSFER_LATE = "xfer_late", _("transfers overdue")


class MonthEndCount(models.Model):
    """Children of one village for one month: on the school-age ledger at the month's end (or on the
    as-of day of the month in progress) by due grade, status and disability; and the status entries
    of the month by the status entered. Rebuilt per (village, month), never edited by hand."""

    month = models.DateField(_("month"), help_text=_("first day of the month"))
    village = models.ForeignKey(Area, verbose_name=_("village"), on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    grade = models.SmallIntegerField(_("grade due"))
    status = models.CharField(_("status"), max_length=20)
    disabled = models.BooleanField(_("disabled"))
    children = models.PositiveIntegerField(_("children"))

    class Meta:
        verbose_name = _("month-end count")
        verbose_name_plural = _("month-end counts")
        constraints = [models.UniqueConstraint(fields=["month", "village", "measure", "grade", "status", "disabled"],
                                               name="one_month_end_count")]
        indexes = [models.Index(fields=["month", "village"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.village_id} {self.measure} {self.grade} {self.status}: {self.children}"


GRADES = 9
SEXES = ("M", "F")


def slot(grade: int, sex: str) -> int:
    """Where a (due grade, sex) count sits in MonthEndGroupCount.children."""
    return 2 * (grade - 1) + SEXES.index(sex)


class MonthEndGroupCount(models.Model):
    """Children of one village group in one status on the school-age ledger at a month's end (or the
    as-of day of the month in progress), by due grade and sex — one row per status, the 18 counts in
    an array (`slot`): ~1 row per group and month, where a row per grade and sex took ~11 (and 8 times
    the disk at a province's scale). What the hotspot layer reads instead of every child's status
    history; built and kept up to date with MonthEndCount, village by village (gridmap.month_ends),
    never edited by hand."""

    month = models.DateField(_("month"), help_text=_("first day of the month"))
    group = models.ForeignKey(Area, verbose_name=_("village group"), on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=20)
    children = ArrayField(models.IntegerField(), size=GRADES * len(SEXES), verbose_name=_("children"),
                          help_text=_("by due grade and sex: grade 1 male, grade 1 female, grade 2 male, …"))

    class Meta:
        verbose_name = _("month-end count of a village group")
        verbose_name_plural = _("month-end counts of village groups")
        constraints = [models.UniqueConstraint(fields=["month", "group", "status"], name="one_month_end_group_count")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.group_id} {self.status}: {sum(self.children)}"


class MonthEndBuild(models.Model):
    """A month whose counts are built for a county, and the day they are counted as of."""

    month = models.DateField(_("month"))
    county_code = models.CharField(_("county code"), max_length=6)
    as_of = models.DateField(_("as of"))
    # The settings the counts were built under (gridmap.month_ends.definitions): a build under other
    # ones (the aid eligibility table, the transfer deadline) is rebuilt before it is read.
    definitions = models.CharField(_("definitions"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("month-end build")
        verbose_name_plural = _("month-end builds")
        constraints = [models.UniqueConstraint(fields=["month", "county_code"], name="one_month_end_build")]

    def __str__(self) -> str:
        return f"{self.county_code} {self.month:%Y-%m} @ {self.as_of}"


class MonthEndDirty(models.Model):
    """A village whose counts from `since` on are out of date: written by database triggers when a
    status change, or a child's birth date, village group or disability, is written or removed."""

    village = models.OneToOneField(Area, verbose_name=_("village"), on_delete=models.CASCADE, related_name="+")
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("out-of-date month-end counts")
        verbose_name_plural = _("out-of-date month-end counts")

    def __str__(self) -> str:
        return f"{self.village_id} since {self.since}"
