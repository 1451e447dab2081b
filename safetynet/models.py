"""The term-start check (开学初核查): each school's check as submitted, the children it found missing,
and each township's report of its schools' checks (safetynet.termcheck has the rules).

Aid records and transfers are the core's (gridmap.models.safetynet): the monthly report counts them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from gridmap.models import Area, Child, ChildStatusChange, School, Term


class TermCheck(models.Model):
    """A school's check of the children expected at the start of a term against those who reported."""

    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="term_checks")
    school_year = models.PositiveSmallIntegerField(_("school year"))
    term = models.CharField(_("term"), max_length=1, choices=Term.choices)
    checked_on = models.DateField(_("checked on"), help_text=_("the statuses and the same-day rule of this day"))
    expected = models.PositiveIntegerField(_("expected"))
    entrants = models.PositiveIntegerField(_("of them grade-1 entrants"))
    reported = models.PositiveIntegerField(_("reported"))
    figures = models.JSONField(_("figures"), default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"),
                                     on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     help_text=_("empty for the demo county's generated checks"))
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("term-start check")
        verbose_name_plural = _("term-start checks")
        ordering = ["-school_year", "-term", "school"]
        constraints = [models.UniqueConstraint(fields=["school", "school_year", "term"], name="one_term_check")]

    def __str__(self) -> str:
        return f"{self.school} {self.school_year}-{self.term}"

    @property
    def missing_count(self) -> int:
        return self.expected - self.reported


class MissingReason(models.TextChoices):
    UNEXCUSED = "unexcused", _("not reported, no reason given")  # 无故未报到: the suspected ledger, same day
    ILLNESS = "illness", _("ill, on sick leave")  # 病假
    LEAVE = "leave", _("on leave for a stated reason")  # 事假
    MOVED = "moved", _("moved away: transfer to be recorded")  # 已随家长外出，待办转学


EXCUSED = [MissingReason.ILLNESS, MissingReason.LEAVE, MissingReason.MOVED]


class TermCheckEntry(models.Model):
    """An expected child who did not report, with the reason the school gave."""

    term_check = models.ForeignKey(TermCheck, verbose_name=_("check"), on_delete=models.CASCADE,
                                   related_name="missing")
    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="+")
    grade = models.PositiveSmallIntegerField(_("grade due"))
    entrant = models.BooleanField(_("grade-1 entrant"))
    reason = models.CharField(_("reason"), max_length=10, choices=MissingReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    suspected = models.OneToOneField(ChildStatusChange, verbose_name=_("entry on the suspected ledger"),
                                     on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("child missing at the term-start check")
        verbose_name_plural = _("children missing at the term-start check")
        ordering = ["term_check", "grade", "child"]
        constraints = [models.UniqueConstraint(fields=["term_check", "child"], name="one_entry_per_child_and_check")]

    def __str__(self) -> str:
        return f"{self.term_check} {self.child}"


class TermReport(models.Model):
    """A township's report of its schools' term-start checks, submitted by the deadline (15 March /
    15 September, GRIDMAP_TERM_CHECK_DEADLINES); submitting again replaces it."""

    area = models.ForeignKey(Area, verbose_name=_("township"), on_delete=models.PROTECT, related_name="+")
    school_year = models.PositiveSmallIntegerField(_("school year"))
    term = models.CharField(_("term"), max_length=1, choices=Term.choices)
    figures = models.JSONField(_("figures"), default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"),
                                     on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     help_text=_("empty for the demo county's generated reports"))
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("term-start check report")
        verbose_name_plural = _("term-start check reports")
        ordering = ["-school_year", "-term", "area"]
        constraints = [models.UniqueConstraint(fields=["area", "school_year", "term"], name="one_term_report")]

    def __str__(self) -> str:
        return f"{self.area} {self.school_year}-{self.term}"
