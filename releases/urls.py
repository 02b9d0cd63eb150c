from django.contrib.auth import views as auth_views
from django.urls import path

from releases import publish_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/new/", views.new_release, name="new_release"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/checks/", views.rerun_checks, name="rerun_checks"),
    path("releases/<int:pk>/publish/", publish_views.publish, name="publish"),
    path(
        "releases/<int:pk>/publish/check/",
        publish_views.check_publish,
        name="check_publish",
    ),
    path("releases/<int:pk>/approve/", publish_views.approve, name="approve_release"),
    path("images/", views.images_page, name="images"),
    path("images/inspect/", views.inspect_images, name="inspect_images"),
    path("system/", views.system, name="system"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
]
