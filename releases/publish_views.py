"""Publishing and approving a draft: the panel on the release page, the
confirm step that repeats the tag, and the actions behind them.

Every action checks its permission on the server; a refusal is audited as
permission.denied.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from releases import actions, approvals, audit, checklist, publishing
from releases.actions import PublishInProgress, PublishRefused, PublishStale
from releases.models import Artifact, AuditEvent, Release

PUBLISH = "releases.publish_release"
OVERRIDE = "releases.override_checklist"


def _deny(request: HttpRequest, release: Release, permission: str, why: str) -> None:
    audit.record(
        "permission.denied",
        actor=request.user,
        release=release,
        permission=permission,
        path=request.path,
    )
    refusal = PermissionDenied(why)
    refusal.audited = True  # type: ignore[attr-defined]  # not twice in the trail
    raise refusal


def _get_release(pk: int) -> Release:
    queryset = Release.objects.select_related("project", "requested_by")
    return get_object_or_404(queryset, pk=pk)


def _revision_number(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return None


def panel_context(
    request: HttpRequest,
    release: Release,
    *,
    items: list[checklist.Item] | None = None,
    artifacts: list[Artifact] | None = None,
) -> dict[str, Any]:
    """What the release page's publish panel needs; the page passes the
    checklist and assets it has read already."""
    user = request.user
    context: dict[str, Any] = {
        "can_publish": user.has_perm(PUBLISH),
        "can_override": user.has_perm(OVERRIDE),
    }
    if release.state == Release.State.PUBLISHED:
        context["override_event"] = _override_event(release)
        if release.published_latest:
            siblings = Release.objects.filter(project_id=release.project_id)
            highest = siblings.highest_stable_version()
            if highest is not None and str(highest) != release.version:
                context["latest_now"] = str(highest)
        return context
    if release.state != Release.State.DRAFT:
        return context
    approvals.lapse_stale(release)
    names = None if artifacts is None else {a.name for a in artifacts}
    plan = publishing.plan(release, items=items, asset_names=names)
    context["plan"] = plan
    # Offered only when it can succeed: nothing in the way that no override
    # sets aside, and a passing checklist or the right to override it.
    context["offer_publish"] = (
        context["can_publish"]
        and not plan.blockers
        and (plan.passes or context["can_override"])
    )
    context["can_approve"] = approvals.may_approve(release, user) and not any(
        a.user_id == user.pk for a in plan.approvals.approvals
    )
    return context


def _override_event(release: Release) -> AuditEvent | None:
    if not release.publish_override_reason:
        return None
    events = AuditEvent.objects.filter(
        release=release, action="release.publish_override"
    )
    return events.order_by("-created_at", "-pk").first()


@login_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    release = _get_release(pk)
    if not request.user.has_perm(PUBLISH):
        _deny(request, release, PUBLISH, "Publishing needs the Maintainers role.")
    override = request.POST.get("override_reason", "").strip()
    if override and not request.user.has_perm(OVERRIDE):
        _deny(request, release, OVERRIDE, "Overriding the checklist needs permission.")
    if release.state == Release.State.PUBLISHED:
        messages.info(request, f"{release.tag} is published already.")
        return redirect(release)
    if request.method == "GET":
        return _confirm(request, release)
    try:
        release = actions.publish_release(
            release=release,
            user=request.user,
            revision_number=_revision_number(request),
            evidence=request.POST.get("evidence", ""),
            override_reason=override,
        )
    except PublishStale as exc:
        return _confirm(request, release, changes=exc.changes, status=409)
    except PublishInProgress as exc:
        # Someone else's publish is under way: the release page follows it.
        messages.info(request, str(exc))
        return redirect(release)
    except PublishRefused as exc:
        return _confirm(request, release, refused=str(exc), status=409)
    if release.state == Release.State.PUBLISHED:
        messages.success(request, f"{release.tag} is published.")
    else:
        messages.warning(
            request,
            f"GitHub's answer did not come: whether {release.tag} is published is "
            "not known yet. The console reads it back before anything is sent again.",
        )
    return redirect(release)


def _confirm(
    request: HttpRequest,
    release: Release,
    *,
    changes: list[str] | None = None,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    release.refresh_from_db()
    if release.state != Release.State.DRAFT:
        if refused:
            messages.error(request, refused)
        return redirect(release)
    if release.publish_in_progress:
        messages.info(request, f"{release.tag} is being published right now.")
        return redirect(release)
    context = panel_context(request, release) | {
        "release": release,
        "changes": changes or [],
        "refused": refused,
        "override_reason": request.POST.get("override_reason", ""),
        "min_reason": publishing.MIN_OVERRIDE_REASON,
    }
    return render(request, "releases/publish.html", context, status=status)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    release = _get_release(pk)
    permission = approvals.PERMISSION
    if not request.user.has_perm(permission):
        _deny(request, release, permission, "Approving needs the Reviewers role.")
    try:
        actions.approve_release(
            release=release,
            user=request.user,
            revision_number=_revision_number(request),
            evidence=request.POST.get("evidence", ""),
        )
    except PublishStale as exc:
        messages.warning(
            request, " ".join(exc.changes) + " Approve again if it is fine."
        )
    except PublishRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You approved {release.tag}.")
    return redirect(release)


@login_required
@require_POST
def check_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Read back a publish whose answer never came."""
    release = _get_release(pk)
    if not request.user.has_perm(PUBLISH):
        _deny(request, release, PUBLISH, "Publishing needs the Maintainers role.")
    release = actions.settle_publish(release)
    if release.state == Release.State.PUBLISHED:
        messages.success(request, f"GitHub has {release.tag} published: recorded.")
    elif release.publish_claimed_at is None:
        messages.info(
            request, f"GitHub still has {release.tag} as a draft: publish it again."
        )
    else:
        messages.warning(request, "GitHub could not be asked; try again in a moment.")
    return redirect(release)
