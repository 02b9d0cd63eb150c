"""The console's pages.

Every view checks the permission it needs on the server, renders one page
template and, for htmx requests, just the fragment that changed
(`"page.html#fragment"`).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from releases import actions, checklist, display, notes_views, publish_views
from releases.actions import ReleaseRefused, request_release
from releases.forms import ReleaseForm
from releases.ghclient import (
    GitHubError,
    RateLimited,
    client_for,
    recent_release_context,
)
from releases.models import (
    Heartbeat,
    Project,
    RegistryStatus,
    Release,
    TagObservation,
)
from releases.registry import registry_url

# The worker beats every minute or so; twice that and more means it is gone.
WORKER_SILENT_AFTER = timedelta(minutes=3)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """An htmx request for part of a page (not a boosted link or form)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def keep_polling_while(live: bool, fragment: HttpResponse) -> HttpResponse:
    """The polled fragment; once nothing moves, htmx swaps it in and stops."""
    if live:
        return fragment
    return HttpResponseStopPolling(fragment.content)


def require_perm(request: HttpRequest, perm: str, why: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(why)


@login_required
@require_GET
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    project = Project.objects.first()
    can_view = request.user.has_perm("releases.view_release")
    releases = list(Release.objects.for_dashboard()) if can_view else []
    context: dict[str, Any] = {
        "project": project,
        "releases": releases,
        "can_view": can_view,
        "can_start": request.user.has_perm("releases.start_release"),
        "live": any(r.is_in_flight for r in releases),
        "attention": _attention(releases),
    }
    if wants_fragment(request):
        page = "releases/dashboard.html#releases"
        fragment = render(request, page, context | {"fragment": True})
        return keep_polling_while(context["live"], fragment)
    if project is not None:
        context["current_version"], context["github_error"] = _current_version(project)
    return render(request, "releases/dashboard.html", context)


def _attention(releases: list[Release]) -> str:
    """Bad news for the tab title: what is running or broken, newest first."""
    running = sum(r.is_in_flight for r in releases)
    failed = sum(r.state == Release.State.FAILED for r in releases)
    parts = [f"{running} running"] if running else []
    parts += [f"{failed} failed"] if failed else []
    return ", ".join(parts)


def _current_version(project: Project) -> tuple[str, str]:
    try:
        return client_for(project).current_version(), ""
    except GitHubError as exc:
        return "", str(exc)


@login_required
@require_GET
def release_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    require_perm(
        request, "releases.view_release", "Seeing releases needs a role in the console."
    )
    queryset = Release.objects.select_related("project", "requested_by")
    release = get_object_or_404(queryset, pk=pk)
    shown = request.GET.get("shown")
    if wants_fragment(request) and shown and shown != release.state:
        # The notes and publish sections, outside the fragment, change with
        # the state: show the page afresh.
        return HttpResponseClientRefresh()
    context = _release_context(request, release)
    if not wants_fragment(request):
        context |= notes_views.notes_context(request, release)
        return render(request, "releases/release.html", context)
    page = "releases/release.html#live"
    fragment = render(request, page, context | {"fragment": True})
    return keep_polling_while(release.follows_run, fragment)


def _release_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    jobs = display.run_jobs(release.run_jobs)
    run_state = display.run_state(release.run_status, release.run_conclusion)
    artifacts = list(release.artifacts.all())
    items = checklist.latest(release)
    tags = display.release_tags(
        release.project, list(TagObservation.objects.filter(release=release))
    )
    return {
        "release": release,
        "jobs": jobs,
        "failed_job": next((job for job in jobs if job.state == "failed"), None),
        "run_state": run_state if release.run_status else "",
        "artifacts": artifacts,
        "checks": items,
        "checks_summary": display.checks_summary(items, release.is_verifying),
        "assets_done": sum(a.verification not in display.UNFINISHED for a in artifacts),
        "image_tags": display.group_by_image(tags),
        "drifted": [t for t in tags if t.state == TagObservation.State.DRIFTED],
        "can_rerun": request.user.has_perm("releases.run_checks")
        and release.state in Release.SHIPPED,
    } | publish_views.panel_context(request, release, items=items, artifacts=artifacts)


@login_required
@require_http_methods(["POST"])
def rerun_checks(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    require_perm(
        request, "releases.run_checks", "Re-running checks needs the Maintainers role."
    )
    release = get_object_or_404(Release.objects.select_related("project"), pk=pk)
    try:
        queued = actions.request_checks(release=release, user=request.user)
    except ReleaseRefused as exc:
        messages.error(request, str(exc))
        return redirect(release)
    release.refresh_from_db()
    if wants_fragment(request):
        context = _release_context(request, release) | {"fragment": True}
        return render(request, "releases/release.html#live", context)
    if queued:
        messages.success(request, f"Checks of {release.tag} queued.")
    else:
        messages.info(request, f"The checks of {release.tag} are already running.")
    return redirect(release)


@login_required
@require_http_methods(["GET", "POST"])
def new_release(request: HtmxHttpRequest) -> HttpResponse:
    require_perm(
        request,
        "releases.start_release",
        "Starting a release needs the Maintainers role.",
    )
    project = Project.objects.first()
    page: dict[str, Any] = {"project": project}
    if project is None:
        return render(request, "releases/new.html", page)
    page["in_flight"] = Release.objects.in_flight().filter(project=project).first()
    if page["in_flight"]:
        if wants_fragment(request):
            return HttpResponseClientRefresh()  # the page then says why
        # Looking is fine; trying to start a second release is a conflict.
        status = 409 if request.method == "POST" else 200
        return render(request, "releases/new.html", page, status=status)
    try:
        if request.method == "POST":
            release_context = client_for(project).release_context()
        else:
            fresh = not wants_fragment(request)
            release_context = recent_release_context(project, fresh=fresh)
    except GitHubError as exc:
        page["github_error"] = str(exc)
        return render(request, "releases/new.html", page, status=502)

    data = request.POST if request.method == "POST" else (request.GET or None)
    form = ReleaseForm(context=release_context, data=data)
    page |= {"form": form, "plan": form.preview(), "current": release_context}
    if wants_fragment(request):
        return render(request, "releases/new.html#preview", page)
    previewing = request.method == "GET" or "preview" in request.POST
    if previewing or not form.is_valid():
        return render(request, "releases/new.html", page)
    return _confirm_or_start(request, project, form, page)


def _confirm_or_start(
    request: HttpRequest, project: Project, form: ReleaseForm, page: dict[str, Any]
) -> HttpResponse:
    """Start the release only when confirmed for the version it will have now."""
    plan = form.plan
    assert plan is not None
    confirmed = request.POST.get("confirmed") == "1"
    expected = request.POST.get("expected_version", "")
    if not confirmed or expected != plan.version:
        page |= {"plan": plan, "changed_from": expected if confirmed else ""}
        return render(request, "releases/confirm.html", page)
    try:
        release = request_release(project=project, user=request.user, plan=plan)
    except ReleaseRefused as exc:
        page["refused"] = str(exc)
        page["in_flight"] = Release.objects.in_flight().filter(project=project).first()
        return render(request, "releases/new.html", page, status=409)
    messages.success(request, f"Release {release.tag} requested.")
    return redirect(release)


@login_required
@require_GET
def system(request: HttpRequest) -> HttpResponse:
    project = Project.objects.first()
    context: dict[str, Any] = {
        "project": project,
        "api_url": settings.GITHUB_API_URL,
        "sandbox": settings.SANDBOX,
        "heartbeat": Heartbeat.last(),
    }
    context["worker_alive"] = (
        context["heartbeat"] is not None
        and timezone.now() - context["heartbeat"] < WORKER_SILENT_AFTER
    )
    context["registry_status"] = RegistryStatus.objects.order_by("-observed_at").first()
    if project is not None:
        context["registry_url"] = registry_url(project.registry)
    if project is not None:
        try:
            context["connection"] = client_for(project).connection_info()
        except GitHubError as exc:
            context["github_error"] = str(exc)
            context["github_rate_limited"] = isinstance(exc, RateLimited)
    return render(request, "releases/system.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


SORTS = {
    "problems": "problems first",
    "newest": "newest push first",
    "tag": "tag",
    "size": "largest first",
}


@login_required
@require_GET
def images_page(request: HtmxHttpRequest) -> HttpResponse:
    require_perm(
        request,
        "releases.view_images",
        "Seeing images needs the Auditors or Maintainers role.",
    )
    project = Project.objects.first()
    rows = list(
        TagObservation.objects.filter(project=project).select_related("release")
    )
    filters = display.ImageFilters.from_query(request.GET, SORTS)
    states = TagObservation.State.choices
    filter_error = ""
    if filters.state and filters.state not in dict(states):
        filter_error = (
            f"“{filters.state}” is not a state of a tag: showing every state."
        )
        filters = dataclasses.replace(filters, state="")
    shown = [row for row in rows if filters.matches(row)]
    groups = display.image_groups(project, shown, sort=filters.sort) if project else []
    problems = display.count_problems(rows)
    context = {
        "project": project,
        "groups": groups,
        "rows_total": len(rows),
        "rows_shown": len(shown),
        "filters": filters,
        "sorts": SORTS,
        "states": states,
        "filter_error": filter_error,
        "image_names": project.image_names if project else [],
        "problems": problems,
        "attention": display.problem_words(problems),
        "registry_status": RegistryStatus.objects.order_by("-observed_at").first(),
        "audit_minutes": settings.IMAGE_AUDIT_MINUTES,
        "charts": display.size_charts(project, rows) if project else [],
    }
    if wants_fragment(request):
        fragment = context | {"fragment": True}
        return render(request, "releases/images.html#image-list", fragment)
    return render(request, "releases/images.html", context)


@login_required
@require_http_methods(["POST"])
def inspect_images(request: HtmxHttpRequest) -> HttpResponse:
    require_perm(
        request,
        "releases.view_images",
        "Inspecting images needs the Auditors or Maintainers role.",
    )
    actions.request_image_audit(user=request.user)
    messages.success(
        request, "Inspection queued: every tag is read again in the background."
    )
    return redirect("images")
