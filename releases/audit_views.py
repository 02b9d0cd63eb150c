"""The audit log page, its exports, and the trail of refused requests."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from releases import audit, auditlog
from releases.views import HtmxHttpRequest, require_perm, wants_fragment

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
EXPORTS = {
    "csv": ("text/csv; charset=utf-8", auditlog.csv_lines),
    "json": ("application/json", auditlog.json_chunks),
}


@login_required
@require_GET
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    require_perm(
        request, "releases.view_auditevent", "The audit log is for the Auditors role."
    )
    filters = auditlog.filtered(request.GET)
    invalid = filters.is_bound and not filters.is_valid()
    events = filters.queryset.none() if invalid else filters.qs
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
    }
    if wants_fragment(request):
        return render(request, "releases/audit.html#events", context)
    return render(request, "releases/audit.html", context)


@login_required
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    require_perm(
        request, "releases.view_auditevent", "The audit log is for the Auditors role."
    )
    filters = auditlog.filtered(request.GET)
    if filters.is_bound and not filters.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in filters.errors.items()
        )
        return HttpResponse(
            f"The filters are not valid: {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    content_type, writer = EXPORTS[fmt]
    response = StreamingHttpResponse(
        writer(auditlog.stream(filters.qs)), content_type=content_type
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    audit.record(
        "audit.exported",
        actor=request.user,
        format=fmt,
        filters={k: v for k, v in request.GET.items() if v and k != "page"},
    )
    return response


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 403 page, with the refusal written to the audit trail."""
    reason = str(exception) if isinstance(exception, PermissionDenied) else ""
    signed_in = (
        getattr(request, "user", None) is not None and request.user.is_authenticated
    )
    if signed_in and not getattr(exception, "audited", False):
        try:
            audit.record_refusal(request, reason)
        except Exception:
            logger.exception("Could not record a refused request to %s.", request.path)
    context = {"exception": reason}
    return render(request, "403.html", context, status=403)
