"""HTTP details shared by the simulated services: absolute URLs built from
the incoming request, JSON answers, ETags, pagination and rate windows.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sandbox.models import RateWindow


def origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def other_host(request: HttpRequest) -> str:
    """The same server under its other name, standing in for a storage host.

    GitHub redirects downloads to objects.githubusercontent.com; the sandbox
    swaps 127.0.0.1 and localhost so the client really changes host.
    """
    host = request.get_host()
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    swapped = "localhost" if name in {"127.0.0.1", "[::1]"} else "127.0.0.1"
    return f"{request.scheme}://{swapped}{':' + port if port else ''}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_response(
    data: Any, status: int = 200, content_type: str = "application/json; charset=utf-8"
) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode(), status=status, content_type=content_type)


def request_id() -> str:
    return uuid.uuid4().hex[:20].upper()


def etag_for(response: HttpResponse, vary: str = "") -> str:
    digest = hashlib.sha256(response.content + vary.encode()).hexdigest()
    return f'W/"{digest[:40]}"'


def matches(request: HttpRequest, etag: str) -> bool:
    wanted = request.headers.get("If-None-Match", "")
    candidates = {tag.strip() for tag in wanted.split(",")}
    bare = etag.removeprefix("W/")
    return bool(candidates & {etag, bare, "*"})


def query_int(
    request: HttpRequest, name: str, default: int, low: int, high: int
) -> int:
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        value = default
    return max(low, min(high, value))


@dataclass
class Page:
    items: list
    links: str


def paginate(request: HttpRequest, items: list, per_page_max: int = 100) -> Page:
    """GitHub-style page/per_page slicing with a Link header."""
    per_page = query_int(request, "per_page", 30, 1, per_page_max)
    page = query_int(request, "page", 1, 1, 10**6)
    last = max(1, math.ceil(len(items) / per_page))
    chosen = items[(page - 1) * per_page : page * per_page]
    rels = []
    if page < last:
        rels += [("next", page + 1), ("last", last)]
    if page > 1:
        rels = [("prev", page - 1), *rels, ("first", 1)]
    links = ", ".join(f'<{page_url(request, n)}>; rel="{rel}"' for rel, n in rels)
    return Page(chosen, links)


def page_url(request: HttpRequest, page: int, param: str = "page") -> str:
    params = request.GET.copy()
    params[param] = str(page)
    return (
        f"{origin(request)}{request.path}?{urlencode(list(params.lists()), doseq=True)}"
    )


@dataclass
class Quota:
    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _window_start(period: int) -> datetime:
    now = timezone.now().timestamp()
    return datetime.fromtimestamp(now - now % period, tz=UTC)


def quota(resource: str, client: str, limit: int, period: int, *, spend: bool) -> Quota:
    """The client's window for `resource`, spending one request if asked."""
    start = _window_start(period)
    key = {"resource": resource, "client": client[:100], "window_start": start}
    if spend and not RateWindow.objects.filter(**key).update(used=F("used") + 1):
        try:
            with transaction.atomic():
                RateWindow.objects.create(**key, used=1)
        except IntegrityError:
            RateWindow.objects.filter(**key).update(used=F("used") + 1)
    window = RateWindow.objects.filter(**key).first()
    used = window.used if window else 0
    return Quota(limit, used, int(start.timestamp()) + period)
