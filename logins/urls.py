from django.urls import path

from logins import views

urlpatterns = [
    path("", views.login_list, name="login-list"),
    path("new/", views.new_login, name="login-new"),
    path("<int:pk>/", views.edit_login, name="login-edit"),
    path("<int:pk>/password/", views.reset_password, name="login-password"),
    path("<int:pk>/active/", views.set_active, name="login-active"),
]
