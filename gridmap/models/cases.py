"""Dropout cases with the four-step procedure (四步法), and send-teaching-home (送教上门).

Models only for now; their workflows come with the ledger and routing features.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridmap.models.areas import Area
from gridmap.models.children import Child
from gridmap.models.people import Person
from gridmap.models.schools import School


class CaseStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("cases", "open")  # 在办 (a school's "open" is 开办)
    CLOSED = "closed", _("closed (struck off)")  # 销号


class Case(models.Model):
    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.PROTECT,
                              related_name="cases")
    opened_on = models.DateField(_("opened on"))
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices,
                              default=CaseStatus.OPEN)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    township = models.ForeignKey(Area, verbose_name=_("township"), on_delete=models.PROTECT,
                                 related_name="cases_as_township")
    village = models.ForeignKey(Area, verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="cases_as_village")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT,
                               null=True, blank=True, related_name="cases")
    members = models.ManyToManyField(Person, verbose_name=_("working group"), blank=True,
                                     related_name="cases")
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("dropout case")
        verbose_name_plural = _("dropout cases")
        ordering = ["-opened_on"]
        constraints = [
            models.CheckConstraint(
                name="case_closed_has_date",
                condition=Q(status=CaseStatus.OPEN, closed_on__isnull=True)
                | Q(status=CaseStatus.CLOSED, closed_on__isnull=False),
            ),
            models.UniqueConstraint(fields=["child"], condition=Q(status=CaseStatus.OPEN),
                                    name="one_open_case_per_child"),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.opened_on}"


class CaseSchoolChange(models.Model):
    """The school a case is charged to, changed by hand from what the rule chose (gridmap.cases.
    due_school), with the reason; kept, never edited."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="school_changes")
    from_school = models.ForeignKey(School, verbose_name=_("previous school"), on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    to_school = models.ForeignKey(School, verbose_name=_("new school"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"),
                                   on_delete=models.PROTECT, null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("change of a case's school")
        verbose_name_plural = _("changes of cases' schools")
        ordering = ["case", "changed_at"]

    def __str__(self) -> str:
        return f"{self.case}: {self.from_school} → {self.to_school}"


class Step(models.IntegerChoices):
    PERSUASION = 1, _("publicity, education and persuasion")  # 宣传教育/劝返
    ORDER_TO_CORRECT = 2, _("written order to return by a deadline")  # 限期复学通知书
    PENALTY = 3, _("administrative penalty")  # 行政处罚决定书
    LAWSUIT = 4, _("lawsuit or court enforcement")  # 提起诉讼/申请强制执行


class CaseStep(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="steps")
    step = models.PositiveSmallIntegerField(_("step"), choices=Step.choices)
    date = models.DateField(_("date"))
    person = models.ForeignKey(Person, verbose_name=_("responsible person"),
                               on_delete=models.PROTECT)
    document_number = models.CharField(_("document number"), max_length=50, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("case step")
        verbose_name_plural = _("case steps")
        ordering = ["case", "step", "date"]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {self.date}"


class TeachingPlace(models.TextChoices):
    HOME = "home", _("at home")
    WELFARE_HOME = "welfare_home", _("welfare home")
    REHAB = "rehab", _("rehabilitation institution")


class HomeTeachingPlan(models.Model):
    """An individual send-teaching-home plan: at least one visit a week by two teachers."""

    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.PROTECT,
                              related_name="home_teaching_plans")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT,
                               related_name="home_teaching_plans")
    place = models.CharField(_("taught"), max_length=15, choices=TeachingPlace.choices,
                             default=TeachingPlace.HOME)
    teachers = models.ManyToManyField(Person, verbose_name=_("teachers"),
                                      related_name="home_teaching_plans")
    visits_per_week = models.PositiveSmallIntegerField(_("visits per week"), default=1)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    plan = models.TextField(_("individual plan"), blank=True)

    class Meta:
        verbose_name = _("send-teaching-home plan")
        verbose_name_plural = _("send-teaching-home plans")
        constraints = [
            models.CheckConstraint(name="at_least_weekly", condition=Q(visits_per_week__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.child} / {self.school}"


class HomeVisit(models.Model):
    plan = models.ForeignKey(HomeTeachingPlan, verbose_name=_("plan"), on_delete=models.CASCADE,
                             related_name="visits")
    date = models.DateField(_("date"))
    teachers = models.ManyToManyField(Person, verbose_name=_("teachers"), related_name="home_visits")
    minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), null=True, blank=True)
    content = models.TextField(_("content"), blank=True)

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["plan", "date"]

    def __str__(self) -> str:
        return f"{self.plan} {self.date}"
