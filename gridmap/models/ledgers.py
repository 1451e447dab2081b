"""Daily ledger work: absences and the school calendar (the 3-day rule), follow-up plans after 销号,
and monthly report submissions (including zero reports)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area
from gridmap.models.cases import Case
from gridmap.models.children import Child
from gridmap.models.schools import School


class CalendarDay(models.Model):
    """An exception to "Monday-Friday are school days": a holiday on a weekday, or a weekend day
    with lessons (调休)."""

    date = models.DateField(_("date"), unique=True)
    school_day = models.BooleanField(_("school day"))
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("school calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Absence(models.Model):
    """A school day a child was not at school (recorded by the school, the same day)."""

    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="absences")
    date = models.DateField(_("date"))
    excused = models.BooleanField(_("with reason"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["child", "date"]
        constraints = [models.UniqueConstraint(fields=["child", "date"], name="one_absence_per_child_and_day")]

    def __str__(self) -> str:
        return f"{self.child} {self.date}"


class FollowUpPlan(models.Model):
    """一人一案: after 销号, how the returned child is kept in school, reviewed through the next term."""

    case = models.OneToOneField(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="follow_up")
    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE,
                              related_name="follow_up_plans")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, null=True, blank=True)
    start_date = models.DateField(_("from"))
    measures = models.TextField(_("measures"), blank=True)

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")

    def __str__(self) -> str:
        return f"{self.child} {self.start_date}"


class FollowUpReview(models.Model):
    plan = models.ForeignKey(FollowUpPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="reviews")
    due = models.DateField(_("due"))
    done_on = models.DateField(_("done on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("follow-up review")
        verbose_name_plural = _("follow-up reviews")
        ordering = ["plan", "due"]

    def __str__(self) -> str:
        return f"{self.plan} {self.due}"


class ReportSubmission(models.Model):
    """A township's (or school's) monthly report as submitted: who, when, the figures, zero or not."""

    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT, null=True, blank=True,
                             related_name="report_submissions")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, null=True,
                               blank=True, related_name="report_submissions")
    month = models.DateField(_("month"), help_text=_("first day of the month reported"))
    zero_report = models.BooleanField(_("zero report"))
    figures = models.JSONField(_("figures"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"),
                                     on_delete=models.PROTECT)
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("monthly report submission")
        verbose_name_plural = _("monthly report submissions")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["area", "month"], name="one_report_per_area_and_month"),
            models.UniqueConstraint(fields=["school", "month"], name="one_report_per_school_and_month"),
            models.CheckConstraint(name="report_for_area_or_school",
                                   condition=models.Q(area__isnull=False) ^ models.Q(school__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.area or self.school} {self.month:%Y-%m}"
