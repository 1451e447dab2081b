from django.urls import path

from safetynet import views

app_name = "safetynet"
urlpatterns = [
    path("aid/<str:code>/", views.aid_page, name="aid"),
    path("transfers/child/<int:pk>/new/", views.transfer_new, name="transfer-new"),
    path("transfers/<int:pk>/receipt/", views.receipt, name="transfer-receipt"),
    path("transfers/<int:pk>/suspect/", views.suspect, name="transfer-suspect"),
    path("transfers/<str:code>/", views.transfers_page, name="transfers"),
    path("termcheck/<str:code>/submit/", views.termcheck_submit, name="termcheck-submit"),
    path("termcheck/<str:code>/", views.termcheck_page, name="termcheck"),
    path("risk/<str:code>/", views.risk_page, name="risk"),
    path("<str:code>/", views.overview, name="overview"),
]
