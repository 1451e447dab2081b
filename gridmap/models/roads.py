"""Roads as drawn and routed. The routable topology (pgRouting) is built by the road importer."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class RoadClass(models.TextChoices):
    """OpenStreetMap `highway` values, named as Chinese road classes (公路等级) roughly correspond."""

    MOTORWAY = "motorway", _("expressway")  # 高速公路
    MOTORWAY_LINK = "motorway_link", _("expressway ramp")
    TRUNK = "trunk", _("trunk road")  # 国道/一级公路
    TRUNK_LINK = "trunk_link", _("trunk road ramp")
    PRIMARY = "primary", _("primary road")  # 省道
    PRIMARY_LINK = "primary_link", _("primary road ramp")
    SECONDARY = "secondary", _("secondary road")  # 县道
    SECONDARY_LINK = "secondary_link", _("secondary road ramp")
    TERTIARY = "tertiary", _("tertiary road")  # 乡道
    TERTIARY_LINK = "tertiary_link", _("tertiary road ramp")
    UNCLASSIFIED = "unclassified", _("village road")  # 村道
    RESIDENTIAL = "residential", _("residential street")
    LIVING_STREET = "living_street", _("living street")
    SERVICE = "service", _("service road")
    TRACK = "track", _("farm track")  # 机耕路
    PEDESTRIAN = "pedestrian", _("pedestrian street")
    FOOTWAY = "footway", _("footway")
    PATH = "path", _("path")
    CYCLEWAY = "cycleway", _("cycleway")
    STEPS = "steps", _("steps")
    CONSTRUCTION = "construction", _("road under construction")


class Road(models.Model):
    osm_id = models.BigIntegerField(_("OpenStreetMap way id"), null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    ref = models.CharField(_("road number"), max_length=50, blank=True)
    highway = models.CharField(_("road class"), max_length=30, choices=RoadClass.choices)
    oneway = models.BooleanField(_("one-way"), default=False)
    geom = models.LineStringField(_("geometry"), srid=4326)
    source = models.CharField(_("data source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("road")
        verbose_name_plural = _("roads")

    def __str__(self) -> str:
        return self.name or self.ref or f"{self.get_highway_display()} {self.osm_id or self.pk}"


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


class RoadVertex(models.Model):
    """A node of the routable network: a junction, a way's end, or a snapped dangling end."""

    geom = models.PointField(_("location"), srid=4326)
    component = models.PositiveIntegerField(_("network component"), null=True, blank=True,
                                            help_text=_("pgr_connectedComponents id; one piece = one id"))

    class Meta:
        verbose_name = _("road vertex")
        verbose_name_plural = _("road vertices")


class RoadEdge(models.Model):
    """A road piece between two vertices, with its cost for pgRouting (seconds; -1 = no way)."""

    road = models.ForeignKey(Road, verbose_name=_("road"), on_delete=models.CASCADE, related_name="edges")
    source = models.ForeignKey(RoadVertex, on_delete=models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(RoadVertex, on_delete=models.CASCADE, related_name="edges_in")
    length_m = models.FloatField(_("length (m)"))
    speed_kmh = models.FloatField(_("speed (km/h)"))
    cost_s = models.FloatField(_("travel time forward (s)"))
    reverse_cost_s = models.FloatField(_("travel time backward (s)"),
                                       help_text=_("-1 where the road is one-way"))
    geom = models.LineStringField(_("geometry"), srid=4326)

    class Meta:
        verbose_name = _("road edge")
        verbose_name_plural = _("road edges")

    # pgRouting reads edges through this query (integer ids, costs in seconds).
    PGR_EDGES_SQL = ("SELECT id, source_id AS source, target_id AS target, cost_s AS cost, "
                     "reverse_cost_s AS reverse_cost FROM gridmap_roadedge")
