"""Named people and what they answer for (包保责任)."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area
from gridmap.models.schools import School, SchoolClass


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Person(models.Model):
    """An official, cadre or teacher (not necessarily a gridmap user)."""

    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    unit = models.CharField(_("unit"), max_length=100, blank=True, help_text=_("employer or office"))
    title = models.CharField(_("post"), max_length=50, blank=True)
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.SET_NULL,
                               null=True, blank=True, related_name="staff")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("login"),
                                on_delete=models.SET_NULL, null=True, blank=True)
    synthetic = models.BooleanField(_("generated data"), default=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit}）" if self.unit else self.name


class Role(models.TextChoices):
    VILLAGE_LEADER = "village_leader", _("township leader for a village")  # 包村领导
    GROUP_CADRE = "group_cadre", _("cadre for a village group")  # 包组干部
    RESPONSIBLE_SCHOOL = "responsible_school", _("responsible school")  # 包保学校
    PRINCIPAL = "principal", _("principal")  # 校长包校
    HEAD_TEACHER = "head_teacher", _("head teacher")  # 班主任包班
    CHILD_TEACHER = "child_teacher", _("teacher responsible for a child")  # 教师包人
    HOME_TEACHER = "home_teacher", _("send-teaching-home teacher")  # 送教教师


# What each role answers for: (target field, who answers: "person" or "school").
ROLE_TARGET = {
    Role.VILLAGE_LEADER: ("area", "person"),
    Role.GROUP_CADRE: ("area", "person"),
    Role.RESPONSIBLE_SCHOOL: ("area", "responsible_school"),
    Role.PRINCIPAL: ("school", "person"),
    Role.HEAD_TEACHER: ("school_class", "person"),
    Role.CHILD_TEACHER: ("child", "person"),
    Role.HOME_TEACHER: ("child", "person"),
}
TARGET_FIELDS = ("area", "school", "school_class", "child")
# Roles that one person/school holds alone at a time for a target.
SINGLE_HOLDER_ROLES = [Role.VILLAGE_LEADER, Role.GROUP_CADRE, Role.RESPONSIBLE_SCHOOL,
                       Role.PRINCIPAL, Role.HEAD_TEACHER, Role.CHILD_TEACHER]


def _role_shape(role: Role) -> Q:
    target, holder = ROLE_TARGET[role]
    q = Q(role=role, **{f"{holder}__isnull": False})
    for field in TARGET_FIELDS:
        q &= Q(**{f"{field}__isnull": field != target})
    other_holder = "responsible_school" if holder == "person" else "person"
    return q & Q(**{f"{other_holder}__isnull": True})


class Responsibility(models.Model):
    """Who answers for which area, school, class or child, in which role, from when to when."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               null=True, blank=True, related_name="responsibilities")
    responsible_school = models.ForeignKey(School, verbose_name=_("responsible school"),
                                           on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="responsible_for")
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.CASCADE,
                             null=True, blank=True, related_name="responsibilities")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.CASCADE,
                               null=True, blank=True, related_name="responsibilities")
    school_class = models.ForeignKey(SchoolClass, verbose_name=_("class"), on_delete=models.CASCADE,
                                     null=True, blank=True, related_name="responsibilities")
    child = models.ForeignKey("gridmap.Child", verbose_name=_("child"), on_delete=models.CASCADE,
                              null=True, blank=True, related_name="responsibilities")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        constraints = [
            models.CheckConstraint(
                name="responsibility_shape",
                condition=_role_shape(Role.VILLAGE_LEADER) | _role_shape(Role.GROUP_CADRE)
                | _role_shape(Role.RESPONSIBLE_SCHOOL) | _role_shape(Role.PRINCIPAL)
                | _role_shape(Role.HEAD_TEACHER) | _role_shape(Role.CHILD_TEACHER)
                | _role_shape(Role.HOME_TEACHER),
                violation_error_message=_("This role needs exactly its own kind of target and holder."),
            ),
            models.CheckConstraint(
                name="responsibility_dates",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
            # One current holder per single-holder role and target: a village has one responsible
            # school, a group one cadre, a child one responsible teacher. History rows have end_date.
            *[
                models.UniqueConstraint(
                    fields=["role", field], condition=Q(end_date__isnull=True, role__in=roles),
                    name=f"one_current_{field}_holder",
                )
                for field, roles in [
                    ("area", [Role.VILLAGE_LEADER, Role.GROUP_CADRE, Role.RESPONSIBLE_SCHOOL]),
                    ("school", [Role.PRINCIPAL]),
                    ("school_class", [Role.HEAD_TEACHER]),
                    ("child", [Role.CHILD_TEACHER]),
                ]
            ],
        ]
        indexes = [models.Index(fields=["role", "end_date"])]

    def __str__(self) -> str:
        target = self.area or self.school or self.school_class or self.child
        holder = self.person or self.responsible_school
        return f"{self.get_role_display()}: {holder} → {target}"

    # Set by the admin's add form: the current holder is ended in the same transaction just before
    # this row is saved (gridmap.responsibilities.end_current), so "one current holder" holds.
    hands_over = False

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        if not self.hands_over:
            return super().validate_constraints(exclude)
        errors = []
        for constraint in self._meta.constraints:
            if constraint.name.startswith("one_current_"):
                continue
            try:
                constraint.validate(type(self), self, exclude=set(exclude or ()))
            except ValidationError as error:
                errors.append(error)
        if errors:
            raise ValidationError(errors)
