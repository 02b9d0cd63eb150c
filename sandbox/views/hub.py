"""The simulated Docker Hub web API: tags of a repository with push times."""

from __future__ import annotations

import math
import zlib

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults, images, simulation
from sandbox.http import iso, json_response, origin, page_url, query_int, quota
from sandbox.models import ImageTag, Manifest

HUB_LIMIT = 180
HUB_WINDOW = 60


def _number(text: str) -> int:
    return zlib.crc32(text.encode()) % 10_000_000


def _image(entry: dict, child: Manifest | None, pushed: str | None) -> dict:
    platform = entry.get("platform", {})
    return {
        "architecture": platform.get("architecture", ""),
        "features": "",
        "variant": platform.get("variant"),
        "digest": entry["digest"],
        "os": platform.get("os", ""),
        "os_features": "",
        "os_version": None,
        "size": images.compressed_size(child) if child else entry.get("size", 0),
        "status": "active",
        "last_pulled": None,
        "last_pushed": pushed,
    }


def _images(tag: ImageTag, pushed: str | None) -> list[dict]:
    index = tag.manifest
    if index.media_type not in images.INDEX_TYPES:
        entry = {
            "digest": index.digest,
            "platform": {"os": "linux", "architecture": "amd64"},
        }
        return [_image(entry, index, pushed)]
    entries = images.platform_entries(index)
    digests = [e["digest"] for e in entries]
    children = {
        m.digest: m
        for m in Manifest.objects.filter(
            repository=index.repository, digest__in=digests
        )
    }
    return [_image(e, children.get(e["digest"]), pushed) for e in entries]


def tag_json(tag: ImageTag) -> dict:
    pushed = iso(tag.pushed_at)
    found = _images(tag, pushed)
    return {
        "creator": _number("hellodk"),
        "id": _number(f"{tag.repository}:{tag.name}"),
        "images": found,
        "last_updated": pushed,
        "last_updater": _number("hellodk"),
        "last_updater_username": "hellodk",
        "name": tag.name,
        "repository": _number(tag.repository),
        "full_size": sum(i["size"] for i in found),
        "v2": True,
        "tag_status": "active",
        "tag_last_pulled": None,
        "tag_last_pushed": pushed,
        "media_type": tag.manifest.media_type,
        "content_type": "image",
        "digest": tag.manifest.digest,
    }


def _limited(until: float) -> HttpResponse:
    response = json_response(
        {
            "message": "Too Many Requests",
            "errinfo": {},
            "detail": "rate limit exceeded",
        },
        status=429,
    )
    response["X-RateLimit-Limit"] = str(HUB_LIMIT)
    response["X-RateLimit-Remaining"] = "0"
    response["X-RateLimit-Reset"] = str(int(until) + 1)
    response["X-Retry-After"] = str(int(until) + 1)
    return response


@csrf_exempt
def tags(request: HttpRequest, namespace: str, repository: str) -> HttpResponse:
    simulation.advance(origin(request))
    if until := faults.rate_limited_until():
        return _limited(until)
    client = f"ip:{request.META.get('REMOTE_ADDR', '')}"
    window = quota("hub", client, HUB_LIMIT, HUB_WINDOW, spend=True)
    if window.used > HUB_LIMIT:
        return _limited(window.reset)
    response = _tags_page(request, f"{namespace}/{repository}")
    response["X-RateLimit-Limit"] = str(HUB_LIMIT)
    response["X-RateLimit-Remaining"] = str(window.remaining)
    response["X-RateLimit-Reset"] = str(window.reset)
    return response


def _tags_page(request: HttpRequest, name: str) -> HttpResponse:
    found = ImageTag.objects.filter(repository=name).select_related("manifest")
    if not found.exists():
        errinfo = {"namespace": name.split("/")[0], "repository": name.split("/")[1]}
        return json_response(
            {"message": "httperror 404: object not found", "errinfo": errinfo},
            status=404,
        )
    ordered = list(found.order_by("-pushed_at", "name"))
    size = query_int(request, "page_size", 10, 1, 100)
    page = query_int(request, "page", 1, 1, 10**6)
    last = max(1, math.ceil(len(ordered) / size))
    if page > last:
        return json_response({"message": "page not found", "errinfo": {}}, status=404)
    chosen = ordered[(page - 1) * size : page * size]
    body = {
        "count": len(ordered),
        "next": page_url(request, page + 1) if page < last else None,
        "previous": page_url(request, page - 1) if page > 1 else None,
        "results": [tag_json(t) for t in chosen],
    }
    return json_response(body)
