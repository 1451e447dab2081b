from django.urls import re_path

from layers import views

app_name = "layers"
urlpatterns = [
    re_path(r"^(?P<code>\d{6,12})/(?P<layer>[a-z_]{1,32})/(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.pbf$",
            views.tile, name="tile"),
    re_path(r"^(?P<code>\d{6,12})/extent\.json$", views.extent, name="extent"),
]
