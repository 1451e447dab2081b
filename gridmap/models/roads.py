"""Roads as drawn and routed. The routable topology (pgRouting) is built by the road importer."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Road(models.Model):
    osm_id = models.BigIntegerField(_("OpenStreetMap way id"), null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    ref = models.CharField(_("road number"), max_length=50, blank=True)
    highway = models.CharField(_("road class"), max_length=30)
    oneway = models.BooleanField(_("one-way"), default=False)
    geom = models.LineStringField(_("geometry"), srid=4326)
    source = models.CharField(_("data source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("road")
        verbose_name_plural = _("roads")

    def __str__(self) -> str:
        return self.name or self.ref or f"{self.highway} {self.osm_id or self.pk}"


class Feature(models.Model):
    """Other mapped features shown for orientation (rivers, landmarks)."""

    kind = models.CharField(_("kind"), max_length=30)
    name = models.CharField(_("name"), max_length=200, blank=True)
    geom = models.GeometryField(_("geometry"), srid=4326)
    source = models.CharField(_("data source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("map feature")
        verbose_name_plural = _("map features")

    def __str__(self) -> str:
        return self.name or self.kind
