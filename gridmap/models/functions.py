"""PostGIS functions Django lacks, as small GeoFunc subclasses (django.contrib.gis style)."""

from django.contrib.gis.db.models.functions import GeomOutputGeoFunc


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    """ST_SimplifyPreserveTopology(geom, tolerance): lighter geometry for drawing, never invalid."""

    function = "ST_SimplifyPreserveTopology"
    geom_param_pos = (0,)


class PolygonalPart(GeomOutputGeoFunc):
    """ST_CollectionExtract(geom, 3): the polygons of a result, without the lines and points an
    intersection leaves where shapes only touch."""

    function = "ST_CollectionExtract"
    geom_param_pos = (0,)
    template = "%(function)s(%(expressions)s, 3)"
