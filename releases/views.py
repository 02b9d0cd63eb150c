from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from releases.models import Project, Release


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    project = Project.objects.first()
    releases = Release.objects.for_dashboard()
    return render(
        request, "releases/dashboard.html", {"project": project, "releases": releases}
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
