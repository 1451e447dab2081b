from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from atlas import views as atlas_views
from gridmap import api, casework_views, report_views, views
from gridmap.forms import RateLimitedAuthenticationForm
from importers import views as import_views

router = DefaultRouter()
router.APIRootView = api.APIRoot  # its name and description in the UI's language
router.register("areas", api.AreaViewSet, basename="area")
router.register("schools", api.SchoolViewSet, basename="school")
router.register("cells", api.CellViewSet, basename="cell")
router.register("children", api.ChildViewSet, basename="child")

urlpatterns = [
    path("", views.home, name="home"),
    path("ledgers/<str:code>/<str:which>/", views.ledger_page, name="ledger"),
    path("children/<int:pk>/", casework_views.child_page, name="child"),
    path("children/<int:pk>/absence/", casework_views.record_absence, name="child-absence"),
    path("children/<int:pk>/status/", casework_views.change_status, name="child-status"),
    path("children/<int:pk>/confirm-dropout/", casework_views.confirm_dropout, name="child-confirm"),
    path("case/<int:pk>/", casework_views.case_page, name="case"),
    path("case/<int:pk>/step/", casework_views.add_case_step, name="case-step"),
    path("case/<int:pk>/close/", casework_views.close_case, name="case-close"),
    path("case/<int:pk>/school/", casework_views.change_case_school, name="case-school"),
    path("case/<int:pk>/document/<int:step_pk>.pdf", casework_views.case_document, name="case-document"),
    path("cases/<str:code>/", casework_views.case_list, name="case-list"),
    path("discrepancies/<str:code>/", casework_views.discrepancy_page, name="discrepancies"),
    path("reports/<str:code>/", report_views.report_page, name="report"),
    path("reports/<str:code>/submit/", report_views.submit_report, name="report-submit"),
    path("dashboard/", report_views.dashboard, name="dashboard"),
    path("atlas/<str:code>/", atlas_views.atlas_page, name="atlas"),
    path("atlas/jobs/<int:pk>/status/", atlas_views.job_status, name="atlas-job-status"),
    path("atlas/jobs/<int:pk>/download/", atlas_views.job_download, name="atlas-job-download"),
    path("atlas/jobs/<int:pk>/retry/", atlas_views.job_retry, name="atlas-job-retry"),
    path("coverage/", include("gaps.urls")),
    path("hometeaching/", include("hometeaching.urls")),  # send-teaching-home (issue 15)
    path("", include("planning.urls")),  # /schools/<code>/ and /planning/ (issue 16)
    path("grid/cell/<str:code>/", views.cell_card, name="cell-card"),
    path("grid/cell/<str:code>/assign/<str:what>/", views.assign, name="grid-assign"),
    path("grid/<str:code>/", views.grid_page, name="grid"),
    re_path(r"^grid/(?P<code>\d+)/cells\.(?P<fmt>xlsx|csv)$", views.grid_export, name="grid-export"),
    path("login/", auth_views.LoginView.as_view(authentication_form=RateLimitedAuthenticationForm),
         name="login"),
    path("api/v1/", include(router.urls)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/import/", import_views.upload, name="import-upload"),
    path("admin/import/<str:token>/errors.xlsx", import_views.error_workbook, name="import-errors"),
    path("admin/", admin.site.urls),
    path("logins/", include("logins.urls")),
    path("hotspots/", include("hotspots.urls")),  # dropout hotspots (issue 14)
    path("tiles/", include("layers.urls")),  # the grid map's vector tiles (issue 17)
    path("safetynet/", include("safetynet.urls")),  # aid, transfers, term-start check, early warning (issue 18)
]

handler400 = "gridmap.errors.bad_request"
handler500 = "gridmap.errors.server_error"
