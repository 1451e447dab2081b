from django.urls import path

from gaps import views

urlpatterns = [
    path("trip/<int:pk>/", views.trip_json, name="coverage-trip"),
    path("<str:code>/layer.json", views.layer_json, name="coverage-layer"),
    path("<str:code>/", views.coverage_page, name="coverage"),
]
