"""Dropout cases with the four-step procedure (四步法), and send-teaching-home (送教上门).

Models only for now; their workflows come with the ledger and routing features.
"""

from __future__ import annotations

from datetime import time

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


class DisabilityLevel(models.TextChoices):
    # 残疾等级 of the disability certificate (GB/T 26341-2010): 一级 the most severe
    ONE = "1", _("level 1")
    TWO = "2", _("level 2")
    THREE = "3", _("level 3")
    FOUR = "4", _("level 4")


class ContentArea(models.TextChoices):
    REHABILITATION = "rehabilitation", _("rehabilitation")  # 康复训练
    COGNITION = "cognition", _("cognition")  # 认知
    LANGUAGE = "language", _("language and communication")  # 语言沟通
    SELF_CARE = "self_care", _("self-care")  # 生活自理
    SOCIAL = "social", _("social adaptation")  # 社会适应
    ACADEMIC = "academic", _("school subjects")  # 学科知识
    ARTS = "arts", _("arts and leisure")  # 艺术休闲


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
    # A child taught in a welfare home or a rehabilitation institution is visited there: its name and
    # where it is (the weekly routes go there, not to the registered home).
    place_name = models.CharField(_("institution"), max_length=100, blank=True)
    place_location = models.PointField(_("institution's location"), srid=4326, null=True, blank=True)
    teachers = models.ManyToManyField(Person, verbose_name=_("teachers"),
                                      related_name="home_teaching_plans")
    visits_per_week = models.PositiveSmallIntegerField(_("visits per week"), default=1)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    plan = models.TextField(_("individual plan"), blank=True)
    # 一人一案 (issue 15): the load, when the child can be taught, what, and whom to call.
    disability_level = models.CharField(_("disability level"), max_length=1, choices=DisabilityLevel.choices,
                                        blank=True)
    hours_per_visit = models.PositiveSmallIntegerField(_("class hours per visit"), default=2)
    preferred_days = models.CharField(_("preferred weekdays"), max_length=13, blank=True,
                                      help_text=_("ISO weekdays, e.g. 1,3 for Monday and Wednesday; empty: any school day"))
    available_from = models.TimeField(_("available from"), default=time(8, 0))
    available_until = models.TimeField(_("available until"), default=time(17, 30))
    content_areas = models.CharField(_("content areas"), max_length=200, blank=True,
                                     help_text=_("comma-separated: rehabilitation, cognition, language, self_care, "
                                                 "social, academic, arts"))
    guardian_name = models.CharField(_("guardian"), max_length=50, blank=True)
    guardian_phone = models.CharField(_("guardian's phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("send-teaching-home plan")
        verbose_name_plural = _("send-teaching-home plans")
        constraints = [
            models.CheckConstraint(name="at_least_weekly", condition=Q(visits_per_week__gte=1)),
            models.CheckConstraint(name="home_plan_hours", condition=Q(hours_per_visit__gte=1)),
            models.CheckConstraint(name="home_plan_available",
                                   condition=Q(available_from__lt=models.F("available_until"))),
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
    # the visit handbook's record (送教手册, issue 15)
    start_time = models.TimeField(_("start"), null=True, blank=True)
    end_time = models.TimeField(_("end"), null=True, blank=True)
    class_hours = models.PositiveSmallIntegerField(_("class hours"), null=True, blank=True)
    progress = models.TextField(_("the child's progress"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    guardian_signed = models.BooleanField(_("guardian signed as received"), default=False)
    guardian_signature = models.CharField(_("signed by"), max_length=50, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True, auto_now_add=True)

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["plan", "date"]
        constraints = [
            models.CheckConstraint(name="home_visit_times", condition=Q(start_time__isnull=True)
                                   | Q(end_time__isnull=True) | Q(start_time__lt=models.F("end_time"))),
            models.CheckConstraint(name="home_visit_signed_by",
                                   condition=Q(guardian_signed=False) | ~Q(guardian_signature="")),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.date}"


class Term(models.TextChoices):
    AUTUMN = "1", _("autumn term")  # 第一学期 (September-January)
    SPRING = "2", _("spring term")  # 第二学期 (February-July)


class GoalResult(models.TextChoices):
    MET = "met", _("met")
    PARTLY = "partly", _("partly met")
    NOT_MET = "not_met", _("not met")


class PlanGoal(models.Model):
    """A goal of a send-teaching-home plan for one term, and its review at the term's end."""

    plan = models.ForeignKey(HomeTeachingPlan, verbose_name=_("plan"), on_delete=models.CASCADE,
                             related_name="goals")
    school_year = models.PositiveSmallIntegerField(_("school year"), help_text=_("year in which it began on 1 September"))
    term = models.CharField(_("term"), max_length=1, choices=Term.choices)
    area = models.CharField(_("content area"), max_length=20, choices=ContentArea.choices)
    goal = models.TextField(_("goal"))
    result = models.CharField(_("review"), max_length=10, choices=GoalResult.choices, blank=True)
    review = models.TextField(_("review notes"), blank=True)
    reviewed_on = models.DateField(_("reviewed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("term goal")
        verbose_name_plural = _("term goals")
        ordering = ["plan", "school_year", "term", "area", "pk"]

    def __str__(self) -> str:
        return f"{self.plan} {self.school_year}-{self.term} {self.get_area_display()}"
