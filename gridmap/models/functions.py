"""PostGIS functions Django lacks, as small GeoFunc subclasses (django.contrib.gis style)."""

from django.contrib.gis.db.models.functions import GeoFunc
from django.db.models import BooleanField


class IsEmpty(GeoFunc):
    function = "ST_IsEmpty"
    output_field = BooleanField()
    geom_param_pos = (0,)
