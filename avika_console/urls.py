from django.conf import settings
from django.contrib import admin
from django.urls import include, path

handler403 = "releases.audit_views.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("releases.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
