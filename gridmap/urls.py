from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gridmap import views
from importers import views as import_views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/import/", import_views.upload, name="import-upload"),
    path("admin/import/<str:token>/errors.xlsx", import_views.error_workbook, name="import-errors"),
    path("admin/", admin.site.urls),
]
