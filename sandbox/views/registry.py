"""The simulated registry (distribution v2 read API, as Docker Hub answers
it) and its token service.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults, images, simulation
from sandbox.http import iso, json_response, origin, quota
from sandbox.models import ImageTag, Manifest

SERVICE = "sandbox-registry"
TOKEN_SALT = "sandbox.registry"
TOKEN_SECONDS = 300
# Docker Hub's window for anonymous pulls; the limit is a setting.
PULL_WINDOW = 21600


def _realm(request: HttpRequest) -> str:
    return f"{origin(request)}/sandbox/registry/token"


def _errors(
    status: int, code: str, message: str, detail: object = None
) -> HttpResponse:
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    response = json_response(body, status=status)
    response["Docker-Distribution-Api-Version"] = "registry/2.0"
    return response


def _challenge(request: HttpRequest, scope: str = "") -> HttpResponse:
    detail = None
    if scope:
        _kind, name, action = scope.split(":")
        detail = [{"Type": "repository", "Class": "", "Name": name, "Action": action}]
    response = _errors(401, "UNAUTHORIZED", "authentication required", detail)
    challenge = f'Bearer realm="{_realm(request)}",service="{SERVICE}"'
    if scope:
        challenge += f',scope="{scope}"'
    response["WWW-Authenticate"] = challenge
    return response


@csrf_exempt
def base(request: HttpRequest) -> HttpResponse:
    simulation.advance(origin(request))
    if _claims(request) is None:
        return _challenge(request)
    response = json_response({})
    response["Docker-Distribution-Api-Version"] = "registry/2.0"
    return response


def _repositories() -> set[str]:
    return set(ImageTag.objects.values_list("repository", flat=True).distinct())


def _granted(scope: str) -> list[dict]:
    """The access a token gets: pull on existing repositories only, as Hub."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if kind != "repository" or name not in _repositories():
        return []
    allowed = [a for a in actions.split(",") if a == "pull"]
    return [{"type": "repository", "name": name, "actions": allowed}] if allowed else []


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """Anonymous or Basic-authenticated pull tokens, like auth.docker.io."""
    simulation.advance(origin(request))
    access = [grant for s in request.GET.getlist("scope") for grant in _granted(s)]
    claims = {"access": access, "service": request.GET.get("service", SERVICE)}
    issued = timezone.now()
    value = signing.dumps({**claims, "jti": secrets.token_hex(8)}, salt=TOKEN_SALT)
    body = {
        "token": value,
        "access_token": value,
        "expires_in": TOKEN_SECONDS,
        "issued_at": iso(issued).replace("Z", ".000000Z"),
    }
    return json_response(body)


def _claims(request: HttpRequest) -> dict | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        return signing.loads(value.strip(), salt=TOKEN_SALT, max_age=TOKEN_SECONDS)
    except signing.BadSignature:
        return None


def _may_pull(request: HttpRequest, name: str) -> bool:
    claims = _claims(request) or {}
    return any(
        g.get("name") == name and "pull" in g.get("actions", [])
        for g in claims.get("access", [])
    )


def _accepted(request: HttpRequest) -> set[str]:
    values = request.headers.get("Accept", "")
    return {part.split(";")[0].strip() for part in values.split(",") if part.strip()}


def _find(name: str, reference: str) -> Manifest | None:
    if reference.startswith("sha256:"):
        return Manifest.objects.filter(repository=name, digest=reference).first()
    found = ImageTag.objects.select_related("manifest").filter(
        repository=name, name=reference
    )
    tagged = found.first()
    return tagged.manifest if tagged else None


def negotiate(manifest: Manifest, accepted: set[str]) -> Manifest | None:
    """What Hub serves for `manifest` given the client's Accept types.

    An index is served when its own type is accepted. With no index type
    accepted at all, Hub quietly serves the linux/amd64 child; accepting
    only the other index type gets a 404.
    """
    if manifest.media_type not in images.INDEX_TYPES or manifest.media_type in accepted:
        return manifest
    if accepted & images.INDEX_TYPES:
        return None
    for entry in images.platform_entries(manifest):
        platform = entry.get("platform", {})
        if (platform.get("os"), platform.get("architecture")) == ("linux", "amd64"):
            return Manifest.objects.filter(
                repository=manifest.repository, digest=entry["digest"]
            ).first()
    return None


def _pull_limit() -> int:
    return settings.SANDBOX_REGISTRY_PULL_LIMIT


def _pull_headers(response: HttpResponse, remaining: int) -> None:
    response["ratelimit-limit"] = f"{_pull_limit()};w={PULL_WINDOW}"
    response["ratelimit-remaining"] = f"{remaining};w={PULL_WINDOW}"
    response["docker-ratelimit-source"] = "sandbox"


def _too_many(request: HttpRequest) -> HttpResponse:
    response = _errors(
        429,
        "TOOMANYREQUESTS",
        "You have reached your unauthenticated pull rate limit. "
        "https://www.docker.com/increase-rate-limit",
    )
    _pull_headers(response, 0)
    return response


@csrf_exempt
def manifest(request: HttpRequest, name: str, reference: str) -> HttpResponse:
    simulation.advance(origin(request))
    if request.method not in {"GET", "HEAD"}:
        return _errors(405, "UNSUPPORTED", "The operation is unsupported.")
    scope = f"repository:{name}:pull"
    if not _may_pull(request, name):
        # Hub answers 401, not 404, for a repository that does not exist.
        return _challenge(request, scope)
    counted = request.method == "GET"
    if counted and faults.rate_limited_until():
        return _too_many(request)
    client = f"ip:{request.META.get('REMOTE_ADDR', '')}"
    window = quota("pulls", client, _pull_limit(), PULL_WINDOW, spend=False)
    if counted and window.remaining == 0:
        return _too_many(request)
    return _serve(request, name, reference, client, counted)


def _serve(
    request: HttpRequest, name: str, reference: str, client: str, counted: bool
) -> HttpResponse:
    found = _find(name, reference)
    chosen = negotiate(found, _accepted(request)) if found else None
    if chosen is None:
        message = "manifest unknown"
        detail = {"Tag": reference} if not reference.startswith("sha256:") else None
        return _errors(404, "MANIFEST_UNKNOWN", message, detail)
    window = quota("pulls", client, _pull_limit(), PULL_WINDOW, spend=counted)
    data = bytes(chosen.data)
    response = HttpResponse(data if request.method == "GET" else b"")
    response["Content-Type"] = chosen.media_type
    response["Content-Length"] = str(len(data))
    response["Docker-Content-Digest"] = chosen.digest
    response["ETag"] = f'"{chosen.digest}"'
    response["Docker-Distribution-Api-Version"] = "registry/2.0"
    _pull_headers(response, window.remaining)
    return response


@csrf_exempt
def tags_list(request: HttpRequest, name: str) -> HttpResponse:
    simulation.advance(origin(request))
    if not _may_pull(request, name):
        return _challenge(request, f"repository:{name}:pull")
    names = sorted(
        ImageTag.objects.filter(repository=name).values_list("name", flat=True)
    )
    if last := request.GET.get("last"):
        names = [n for n in names if n > last]
    response_tags = names
    link = ""
    if size := request.GET.get("n"):
        count = max(0, int(size)) if size.isdigit() else len(names)
        response_tags = names[:count]
        if len(names) > count and response_tags:
            after = quote(response_tags[-1])
            path = f"/sandbox/registry/v2/{name}/tags/list?last={after}&n={count}"
            link = f'<{path}>; rel="next"'
    response = json_response({"name": name, "tags": response_tags})
    response["Docker-Distribution-Api-Version"] = "registry/2.0"
    if link:
        response["Link"] = link
    return response
