from django.urls import path

from hometeaching import views

urlpatterns = [
    path("child/<int:pk>/plan/new/", views.new_plan, name="hometeaching-new-plan"),
    path("plan/<int:pk>/", views.plan_page, name="hometeaching-plan"),
    path("plan/<int:pk>/visit/", views.record_visit, name="hometeaching-visit"),
    path("plan/<int:pk>/goal/", views.add_goal, name="hometeaching-goal"),
    path("plan/<int:pk>/handbook.pdf", views.handbook, name="hometeaching-handbook"),
    path("school/<str:code>/routes/", views.routes_page, name="hometeaching-routes"),
    path("school/<str:code>/routes/layer.json", views.routes_layer, name="hometeaching-routes-layer"),
    path("school/<str:code>/routes/sheet.pdf", views.route_sheet, name="hometeaching-route-sheet"),
    path("school/<str:code>/routes/phone/", views.route_phone, name="hometeaching-route-phone"),
    path("<str:code>/", views.overview, name="hometeaching"),
]
