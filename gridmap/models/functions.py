"""PostGIS functions Django lacks, as small GeoFunc subclasses (django.contrib.gis style)."""

from django.contrib.gis.db.models.functions import GeomOutputGeoFunc


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    """ST_SimplifyPreserveTopology(geom, tolerance): lighter geometry for drawing, never invalid."""

    function = "ST_SimplifyPreserveTopology"
    geom_param_pos = (0,)
