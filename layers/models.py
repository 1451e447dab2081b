"""Data versions of the map layers (issue 17).

Every write to a table a map layer draws from — an import, a hand-over, a status change, whatever the
path (the ORM, COPY, the admin, a management command) — adds a row here by a statement-level
database trigger (migration 0001): the county it touched, which source of data, and a random token.
The newest token of a (county, source) is that source's version there; a layer's version is the
tokens of the sources it draws (layers.versions), so a hand-over in one county changes the layers
that show responsibilities in that county and nothing else. Tokens are random, not counters, so that
a restored backup or a recreated test database never reuses a version a cache still holds.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    AREAS = "areas", _("boundaries")
    SCHOOLS = "schools", _("schools")
    CATCHMENTS = "catchments", _("catchments")
    RESPONSIBILITIES = "responsibilities", _("responsibilities")
    CHILDREN = "children", _("children and their statuses")
    CASES = "cases", _("cases")
    VISITS = "visits", _("send-teaching-home plans and visits")
    CLASSES = "classes", _("school classes")
    CALENDAR = "calendar", _("school calendar")
    ROADS = "roads", _("roads")
    FEATURES = "features", _("rivers and other features")
    PEOPLE = "people", _("responsible people")
    AID = "aid", _("aid records")


class DataChange(models.Model):
    county = models.CharField(_("county code"), max_length=6, blank=True,
                              help_text=_("empty: every county (roads, rivers, the calendar, a truncated table)"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    token = models.UUIDField(_("version token"))
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("map data change")
        verbose_name_plural = _("map data changes")
        indexes = [models.Index(fields=["source", "county", "-id"], name="layers_change_newest")]

    def __str__(self) -> str:
        return f"{self.county or '*'} {self.source} {self.changed_at:%Y-%m-%d %H:%M:%S}"
