"""Households and school-age children: the school-age children ledger (适龄儿童台账)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap import schooling
from gridmap.models.areas import Area, AreaLevel
from gridmap.models.people import Sex
from gridmap.models.schools import SchoolClass


class Household(models.Model):
    """A registered household (户): the unit that door-to-door surveys walk."""

    group = models.ForeignKey(Area, verbose_name=_("village group"), on_delete=models.PROTECT,
                              related_name="households_in",
                              limit_choices_to={"level": AreaLevel.GROUP})
    number = models.CharField(_("household number"), max_length=10,
                              help_text=_("number within the village group"))
    head_name = models.CharField(_("head of household"), max_length=50)
    address = models.CharField(_("address / house number"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    synthetic = models.BooleanField(_("generated data"), default=False)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["group", "number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "number"], name="household_number_in_group"),
        ]

    def __str__(self) -> str:
        return f"{self.group.name} {self.number} {self.head_name}"


class ChildStatus(models.TextChoices):
    ENROLLED = "enrolled", _("enrolled")  # 在校
    SUSPECTED = "suspected", _("suspected dropout")  # 疑似辍学
    DROPPED_OUT = "dropped_out", _("dropped out")  # 辍学
    RETURNED = "returned", _("returned to school")  # 劝返复学
    HOME_TAUGHT = "home_taught", _("taught at home")  # 送教上门
    INCLUDED = "included", _("disabled, in a regular class")  # 随班就读
    SUSPENDED = "suspended", _("suspended")  # 休学
    TRANSFERRED_OUT = "transferred_out", _("transferred out")  # 转出
    GRADUATED = "graduated", _("graduated")  # 毕业


class ResidenceBasis(models.TextChoices):
    REGISTRY = "registry", _("household registration")  # 户籍
    PERMIT = "permit", _("residence permit")  # 居住证


class DisabilityCategory(models.TextChoices):
    VISUAL = "visual", _("visual")
    HEARING = "hearing", _("hearing")
    SPEECH = "speech", _("speech")
    PHYSICAL = "physical", _("physical")
    INTELLECTUAL = "intellectual", _("intellectual")
    MENTAL = "mental", _("mental")
    MULTIPLE = "multiple", _("multiple")


# Key groups (重点人群), one boolean each so that ledgers filter and count them in SQL.
KEY_GROUPS = {
    "kg_poverty_relief": _("poverty-relief household"),  # 脱贫户
    "kg_at_risk": _("household at risk of poverty"),  # 边缘易致贫户
    "kg_sudden_hardship": _("household in sudden hardship"),  # 突发严重困难户
    "kg_min_allowance": _("minimum living allowance"),  # 低保
    "kg_disabled": _("disabled"),  # 残疾
    "kg_disabled_parents": _("child of disabled parents"),  # 残疾人子女
    "kg_left_behind": _("left-behind child"),  # 留守
    "kg_migrant": _("migrant child"),  # 随迁
    "kg_orphan": _("orphan or de facto unsupported"),  # 孤儿/事实无人抚养
    "kg_in_difficulty": _("child in difficulty"),  # 困境儿童
}


# At-risk children (each needs a responsible teacher, 教师包人): off school or recently back, taught
# at home, suspended, or from a household that poverty or loss of care puts at risk.
AT_RISK_STATUSES = ["suspected", "dropped_out", "returned", "home_taught", "suspended"]
AT_RISK_KEY_GROUPS = ["kg_orphan", "kg_in_difficulty", "kg_poverty_relief", "kg_at_risk",
                      "kg_sudden_hardship"]


def at_risk_q(prefix: str = "") -> Q:
    q = Q(**{f"{prefix}status__in": AT_RISK_STATUSES})
    for field in AT_RISK_KEY_GROUPS:
        q |= Q(**{f"{prefix}{field}": True})
    return q


class ChildQuerySet(models.QuerySet["Child"]):
    def school_age_on(self, on: date) -> ChildQuerySet:
        earliest, latest = schooling.school_age_birth_range(on)
        return self.filter(birth_date__range=(earliest, latest))

    def at_risk(self) -> ChildQuerySet:
        return self.filter(at_risk_q())


class Child(models.Model):
    # Looked up whole only: migration 0017 dropped the pattern index Django adds beside a unique
    # varchar (an AlterField here would add it again: drop it in the same migration).
    id_hash = models.CharField(_("ID number hash"), max_length=64, unique=True, editable=False,
                               help_text=_("keyed hash of the ID number, for matching"))
    id_masked = models.CharField(_("ID number (masked)"), max_length=18, editable=False)
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    household = models.ForeignKey(Household, verbose_name=_("household"), on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="children")
    group = models.ForeignKey(Area, verbose_name=_("household village group"),
                              on_delete=models.PROTECT, related_name="children_registered",
                              limit_choices_to={"level": AreaLevel.GROUP})
    residence_basis = models.CharField(_("on the ledger by"), max_length=10,
                                       choices=ResidenceBasis.choices, default=ResidenceBasis.REGISTRY)
    home = models.PointField(_("home location"), srid=4326, null=True, blank=True)
    school_class = models.ForeignKey(SchoolClass, verbose_name=_("class"), on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="children")
    status = models.CharField(_("status"), max_length=20, choices=ChildStatus.choices,
                              default=ChildStatus.ENROLLED)
    disability_category = models.CharField(_("disability category"), max_length=15,
                                           choices=DisabilityCategory.choices, blank=True)
    kg_poverty_relief = models.BooleanField(KEY_GROUPS["kg_poverty_relief"], default=False)
    kg_at_risk = models.BooleanField(KEY_GROUPS["kg_at_risk"], default=False)
    kg_sudden_hardship = models.BooleanField(KEY_GROUPS["kg_sudden_hardship"], default=False)
    kg_min_allowance = models.BooleanField(KEY_GROUPS["kg_min_allowance"], default=False)
    kg_disabled = models.BooleanField(KEY_GROUPS["kg_disabled"], default=False)
    kg_disabled_parents = models.BooleanField(KEY_GROUPS["kg_disabled_parents"], default=False)
    kg_left_behind = models.BooleanField(KEY_GROUPS["kg_left_behind"], default=False)
    kg_migrant = models.BooleanField(KEY_GROUPS["kg_migrant"], default=False)
    kg_orphan = models.BooleanField(KEY_GROUPS["kg_orphan"], default=False)
    kg_in_difficulty = models.BooleanField(KEY_GROUPS["kg_in_difficulty"], default=False)
    synthetic = models.BooleanField(_("generated data"), default=False)

    objects = ChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("child")
        verbose_name_plural = _("children")
        ordering = ["group", "name"]
        constraints = [
            models.CheckConstraint(
                name="child_disability_category_iff_disabled",
                condition=Q(kg_disabled=True) | Q(disability_category=""),
                violation_error_message=_("Only a disabled child has a disability category."),
            ),
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["birth_date"])]

    def __str__(self) -> str:
        return f"{self.name} {self.id_masked}"

    def expected_grade(self, on: date) -> int:
        return schooling.expected_grade(self.birth_date, on)

    def is_school_age(self, on: date) -> bool:
        return schooling.is_school_age(self.birth_date, on)

    def key_groups(self) -> list[str]:
        return [str(label) for field, label in KEY_GROUPS.items() if getattr(self, field)]


class ChildStatusChange(models.Model):
    """Every change of a child's status, with date, who and why (never edited afterwards)."""

    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE,
                              related_name="status_history")
    date = models.DateField(_("date"))
    from_status = models.CharField(_("from"), max_length=20, choices=ChildStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=ChildStatus.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"),
                                   on_delete=models.PROTECT, null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    destination = models.CharField(_("transferred to"), max_length=200, blank=True, db_default="")
    until = models.DateField(_("suspended until"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["child", "date", "recorded_at"]

    def __str__(self) -> str:
        before = self.get_from_status_display() if self.from_status else "-"
        return f"{self.date} {before} → {self.get_to_status_display()}"
