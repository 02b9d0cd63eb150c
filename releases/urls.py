from django.contrib.auth import views as auth_views
from django.urls import path

from releases import audit_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/new/", views.new_release, name="new_release"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/checks/", views.rerun_checks, name="rerun_checks"),
    path("images/", views.images_page, name="images"),
    path("images/inspect/", views.inspect_images, name="inspect_images"),
    path("system/", views.system, name="system"),
    path("audit/", audit_views.audit_log, name="audit"),
    path(
        "audit/export.csv",
        audit_views.audit_export,
        {"fmt": "csv"},
        name="audit_export_csv",
    ),
    path(
        "audit/export.json",
        audit_views.audit_export,
        {"fmt": "json"},
        name="audit_export_json",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
]
