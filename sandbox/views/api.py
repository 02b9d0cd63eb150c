"""What every simulated GitHub API request goes through: advancing the runs,
authentication, rate limits, conditional requests and GitHub's headers.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults, git, simulation
from sandbox.github_json import Urls
from sandbox.http import etag_for, json_response, matches, origin, quota, request_id

TOKENS = {"sandbox-token": "avika-bot"}
DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
AUTHENTICATED_LIMIT = 5000
ANONYMOUS_LIMIT = 60
HOUR = 3600


@dataclass
class Caller:
    login: str | None
    urls: Urls
    request: HttpRequest

    @property
    def authenticated(self) -> bool:
        return self.login is not None


class BadCredentials(Exception):
    pass


def error(status: int, message: str, doc: str = DOCS, **extra: Any) -> HttpResponse:
    body = {
        "message": message,
        "documentation_url": doc,
        **extra,
        "status": str(status),
    }
    return json_response(body, status=status)


def not_found(doc: str = DOCS) -> HttpResponse:
    return error(404, "Not Found", doc)


def validation_failed(
    message: str, doc: str = DOCS, errors: list | None = None
) -> HttpResponse:
    extra = {"errors": errors} if errors is not None else {}
    return error(422, message, doc, **extra)


def requires_auth(doc: str = DOCS) -> HttpResponse:
    return error(401, "Requires authentication", doc)


def _token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme in {"token", "bearer"}:
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value).decode()
        except ValueError:
            raise BadCredentials
        return decoded.partition(":")[2]
    raise BadCredentials


def caller(request: HttpRequest) -> Caller:
    token = _token(request)
    if token is not None and token not in TOKENS:
        raise BadCredentials
    return Caller(TOKENS.get(token or ""), Urls.of(request), request)


def _client(request: HttpRequest, who: Caller | None) -> str:
    if who and who.login:
        return f"user:{who.login}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def _rate_headers(
    response: HttpResponse, limit: int, remaining: int, reset: int, used: int
) -> None:
    response["X-RateLimit-Limit"] = str(limit)
    response["X-RateLimit-Remaining"] = str(remaining)
    response["X-RateLimit-Reset"] = str(reset)
    response["X-RateLimit-Used"] = str(used)
    response["X-RateLimit-Resource"] = "core"


def _github_headers(response: HttpResponse, who: Caller | None) -> HttpResponse:
    response["X-GitHub-Media-Type"] = "github.v3; format=json"
    response["X-GitHub-Api-Version-Selected"] = "2022-11-28"
    response["X-GitHub-Request-Id"] = request_id()
    response["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
    private = "private" if who and who.authenticated else "public"
    response.setdefault("Cache-Control", f"{private}, max-age=60, s-maxage=60")
    response["Access-Control-Expose-Headers"] = (
        "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, "
        "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, "
        "X-RateLimit-Reset"
    )
    return response


def rate_limited(reset: float, limit: int) -> HttpResponse:
    response = error(
        403,
        "API rate limit exceeded for user ID 190000001. If you reach out to "
        "GitHub Support for help, please include the request ID "
        f"{request_id()}.",
        RATE_DOCS,
    )
    _rate_headers(response, limit, 0, int(reset) + 1, limit)
    return response


View = Callable[..., HttpResponse]


def github_api(*methods: str, counted: bool = True) -> Callable[[View], View]:
    """Wrap a view answering the simulated GitHub REST API."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            return _handle(request, view, methods, counted, kwargs)

        return wrapper

    return decorate


def _handle(
    request: HttpRequest, view: View, methods: tuple, counted: bool, kwargs: dict
) -> HttpResponse:
    simulation.advance(origin(request))
    try:
        who = caller(request)
    except BadCredentials:
        anonymous = Caller(None, Urls.of(request), request)
        client = _client(request, anonymous)
        denied = error(401, "Bad credentials", DOCS)
        return _finish(request, denied, anonymous, ANONYMOUS_LIMIT, client, True)
    limit = AUTHENTICATED_LIMIT if who.authenticated else ANONYMOUS_LIMIT
    client = _client(request, who)
    if request.method not in methods or not _is_sandbox_repo(kwargs):
        return _finish(request, not_found(), who, limit, client, counted)
    if counted and (until := faults.rate_limited_until()):
        return _github_headers(rate_limited(until, limit), who)
    if counted and quota("core", client, limit, HOUR, spend=False).remaining == 0:
        window = quota("core", client, limit, HOUR, spend=False)
        return _github_headers(rate_limited(window.reset, limit), who)
    kwargs.pop("owner", None)
    kwargs.pop("repo", None)
    response = view(request, who, **kwargs)
    return _finish(request, response, who, limit, client, counted)


def _is_sandbox_repo(kwargs: dict) -> bool:
    if "owner" not in kwargs:
        return True
    full = f"{kwargs['owner']}/{kwargs['repo']}".lower()
    return full == git.FULL_NAME.lower()


def _finish(
    request: HttpRequest,
    response: HttpResponse,
    who: Caller,
    limit: int,
    client: str,
    counted: bool,
) -> HttpResponse:
    if (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
    ):
        etag = response.get("ETag") or etag_for(response, who.login or "")
        response["ETag"] = etag
        if matches(request, etag):
            # A conditional hit costs nothing against the limit.
            window = quota("core", client, limit, HOUR, spend=False)
            not_modified = HttpResponse(status=304)
            not_modified["ETag"] = etag
            _rate_headers(
                not_modified, limit, window.remaining, window.reset, window.used
            )
            return _github_headers(not_modified, who)
    window = quota("core", client, limit, HOUR, spend=counted)
    _rate_headers(response, limit, window.remaining, window.reset, window.used)
    response["Date"] = timezone.now().strftime("%a, %d %b %Y %H:%M:%S GMT")
    return _github_headers(response, who)
