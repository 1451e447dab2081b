from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from gridmap.models import Area, AreaLevel, School
from layers.maps import area_map
from layers.maps import render as render_map


@login_required
def home(request: HttpRequest) -> HttpResponse:
    county = (Area.objects.at_level(AreaLevel.COUNTY).filter(code=settings.GRIDMAP_COUNTY_CODE).first()
              or Area.objects.at_level(AreaLevel.COUNTY).first())
    if county is None:
        return render(request, "gridmap/home.html", {})
    counts = dict(county.descendants().values_list("level").annotate(n=Count("pk")))
    counts["schools"] = School.objects.filter(township__code__startswith=county.code).count()
    return render(request, "gridmap/home.html",
                  {"county": county, "counts": counts, "map": render_map(area_map(county))})
