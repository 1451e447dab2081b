from django.urls import path, re_path

from planning import views

app_name = "planning"

urlpatterns = [
    path("schools/<str:code>/", views.school_page, name="school"),
    path("planning/", views.scenario_list, name="list"),
    path("planning/compare/", views.compare, name="compare"),
    path("planning/suggest/", views.suggest_page, name="suggest"),
    path("planning/<int:pk>/", views.scenario_page, name="scenario"),
    path("planning/<int:pk>/map.json", views.scenario_map, name="map"),
    re_path(r"^planning/(?P<pk>\d+)/report\.(?P<fmt>xlsx|pdf)$", views.scenario_export, name="export"),
    path("planning/<int:pk>/change/", views.change_add, name="change-add"),
    path("planning/<int:pk>/change/<int:change>/delete/", views.change_delete, name="change-delete"),
    path("planning/<int:pk>/copy/", views.scenario_copy, name="copy"),
    path("planning/<int:pk>/delete/", views.scenario_delete, name="delete"),
]
