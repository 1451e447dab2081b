"""Included under /hotspots/ by gridmap/urls.py. Codes are digits only (a NUL byte or any other
character is a 404 from the resolver, never a database error)."""

from django.urls import re_path

from hotspots import views

app_name = "hotspots"
urlpatterns = [
    re_path(r"^(?P<code>\d{6,12})/layer\.geojson$", views.layer, name="layer"),
    re_path(r"^(?P<code>\d{6,12})/homes\.json$", views.homes, name="homes"),
    re_path(r"^(?P<code>\d{6,12})/timeline/$", views.timeline_page, name="timeline"),
    re_path(r"^cell/(?P<code>\d{15})/cases/$", views.cell_cases, name="cell-cases"),
]
