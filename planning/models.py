"""Saved consolidation scenarios: a name and a list of changes to the county's schools.

A scenario never touches the live data: its changes are applied in memory by planning.evaluate.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridmap.models import Area, School
from planning import evaluate


class OverflowRule(models.TextChoices):
    NEXT = evaluate.NEXT, _("next nearest school with room")
    COUNT = evaluate.COUNT, _("nearest school; places beyond capacity counted as overflow")


class Origin(models.TextChoices):
    MANUAL = "manual", _("made by hand")
    COPY = "copy", _("copy")
    SUGGESTED = "suggested", _("suggested by the solver")


class Action(models.TextChoices):
    CLOSE = evaluate.CLOSE, _("close")
    MERGE = evaluate.MERGE, pgettext_lazy("scenario change", "merge")
    GRADES = evaluate.GRADES, _("change grades")
    CAPACITY = evaluate.CAPACITY, _("change capacity")
    BOARDING = evaluate.BOARDING, _("change boarding")
    OPEN = evaluate.OPEN, _("open a planned school")


class Scenario(models.Model):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    county = models.ForeignKey(Area, verbose_name=_("county"), on_delete=models.CASCADE, related_name="+")
    overflow_rule = models.CharField(_("when a receiving school is full"), max_length=10,
                                     choices=OverflowRule.choices, default=OverflowRule.NEXT)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    solver = models.JSONField(_("solver facts"), null=True, blank=True,
                              help_text=_("for a suggested plan: target, objective, lower bound, gap, time"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("made at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("consolidation scenario")
        verbose_name_plural = _("consolidation scenarios")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    def as_changes(self) -> list[evaluate.Change]:
        return [c.as_change() for c in self.changes.select_related("school", "into").order_by("pk")]


class ScenarioChange(models.Model):
    scenario = models.ForeignKey(Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE,
                                 related_name="changes")
    action = models.CharField(_("change"), max_length=10, choices=Action.choices)
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="+")
    into = models.ForeignKey(School, verbose_name=_("merged into"), on_delete=models.CASCADE, related_name="+",
                             null=True, blank=True)
    first_grade = models.PositiveSmallIntegerField(_("first grade"), null=True, blank=True)
    last_grade = models.PositiveSmallIntegerField(_("last grade"), null=True, blank=True)
    capacity = models.PositiveIntegerField(_("approved places"), null=True, blank=True)
    boarding = models.BooleanField(_("boarding"), null=True, blank=True)

    class Meta:
        verbose_name = _("scenario change")
        verbose_name_plural = _("scenario changes")
        constraints = [
            models.UniqueConstraint(fields=["scenario", "school", "action"], name="one_change_per_school_and_kind"),
            models.CheckConstraint(name="merge_names_a_school",
                                   condition=Q(action=evaluate.MERGE, into__isnull=False) | ~Q(action=evaluate.MERGE)),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.school}"

    def as_change(self) -> evaluate.Change:
        return evaluate.Change(self.action, self.school.code, self.into.code if self.into else "",
                               self.first_grade, self.last_grade, self.capacity, self.boarding)
