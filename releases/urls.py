from django.contrib.auth import views as auth_views
from django.urls import path

from releases import audit_views, notes_views, publish_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/new/", views.new_release, name="new_release"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/checks/", views.rerun_checks, name="rerun_checks"),
    path("releases/<int:pk>/notes/", notes_views.save, name="notes_save"),
    path(
        "releases/<int:pk>/notes/preview/",
        notes_views.preview,
        name="notes_preview",
    ),
    path(
        "releases/<int:pk>/notes/history/",
        notes_views.history,
        name="notes_history",
    ),
    path(
        "releases/<int:pk>/notes/restore/<int:number>/",
        notes_views.restore,
        name="notes_restore",
    ),
    path(
        "releases/<int:pk>/notes/regenerate/",
        notes_views.regenerate,
        name="notes_regenerate",
    ),
    path("releases/<int:pk>/notes/push/", notes_views.push, name="notes_push"),
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
