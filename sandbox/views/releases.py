"""The simulated GitHub releases API and the storage host for downloads."""

from __future__ import annotations

import json

import semver
from django.core import signing
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import git, github_json, notes, simulation
from sandbox.http import json_response, origin, other_host, paginate
from sandbox.models import Commit, Ref, Release, ReleaseAsset
from sandbox.views.api import Caller, error, github_api, not_found, requires_auth

DOCS = "https://docs.github.com/rest/releases/releases"
DOCS_ASSETS = "https://docs.github.com/rest/releases/assets"
MAX_BODY = 125_000
STORAGE_SALT = "sandbox.storage"
STORAGE_SECONDS = 300


def _visible(who: Caller) -> QuerySet[Release]:
    releases = Release.objects.prefetch_related("assets")
    return releases if who.authenticated else releases.filter(draft=False)


def _json(who: Caller, release: Release) -> dict:
    return github_json.release(who.urls, release, list(release.assets.all()))


def _release(who: Caller, release_id: str) -> Release | None:
    pk = Release.pk_from_gid(release_id)
    return _visible(who).filter(pk=pk).first()


@github_api("GET")
def releases(request: HttpRequest, who: Caller) -> HttpResponse:
    found = [_json(who, r) for r in _visible(who).order_by("-created_at", "-pk")]
    page = paginate(request, found)
    response = json_response(page.items)
    if page.links:
        response["Link"] = page.links
    return response


@github_api("GET", "PATCH", "DELETE")
def release(request: HttpRequest, who: Caller, release_id: str) -> HttpResponse:
    found = _release(who, release_id)
    if found is None:
        return not_found(f"{DOCS}#get-a-release")
    if request.method == "GET":
        return json_response(_json(who, found))
    if not who.authenticated:
        return requires_auth(f"{DOCS}#update-a-release")
    if request.method == "DELETE":
        found.delete()
        return HttpResponse(status=204)
    return _update(request, who, found)


@github_api("GET")
def release_by_tag(request: HttpRequest, who: Caller, tag: str) -> HttpResponse:
    # Drafts have no tag yet, so they are never found by tag.
    found = _visible(who).filter(tag_name=tag, draft=False).first()
    if found is None:
        return not_found(f"{DOCS}#get-a-release-by-tag-name")
    return json_response(_json(who, found))


@github_api("GET")
def latest_release(request: HttpRequest, who: Caller) -> HttpResponse:
    found = _visible(who).filter(is_latest=True, draft=False, prerelease=False).first()
    if found is None:
        return not_found(f"{DOCS}#get-the-latest-release")
    return json_response(_json(who, found))


def _invalid(field: str, message: str, code: str = "custom") -> HttpResponse:
    errors = [{"resource": "Release", "code": code, "field": field, "message": message}]
    return error(422, "Validation Failed", f"{DOCS}#update-a-release", errors=errors)


def _parse_patch(request: HttpRequest) -> dict | HttpResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "Problems parsing JSON", f"{DOCS}#update-a-release")
    if not isinstance(body, dict):
        return error(400, "Problems parsing JSON", f"{DOCS}#update-a-release")
    if len(str(body.get("body") or "")) > MAX_BODY:
        return _invalid("body", f"body is too long (maximum is {MAX_BODY} characters)")
    latest = body.get("make_latest", "true")
    if str(latest).lower() not in {"true", "false", "legacy"}:
        return _invalid(
            "make_latest", "make_latest must be one of true, false, legacy", "invalid"
        )
    body["make_latest"] = str(latest).lower()
    return body


def _update(request: HttpRequest, who: Caller, found: Release) -> HttpResponse:
    body = _parse_patch(request)
    if isinstance(body, HttpResponse):
        return body
    if found.immutable and "tag_name" in body and body["tag_name"] != found.tag_name:
        return _invalid("tag_name", "Cannot change the tag of an immutable release")
    if found.immutable and body.get("draft") is True:
        return _invalid("draft", "Cannot convert an immutable release to a draft")
    with transaction.atomic():
        found = Release.objects.select_for_update().get(pk=found.pk)
        for field in ("name", "body", "tag_name", "target_commitish"):
            if field in body and body[field] is not None:
                setattr(found, field, str(body[field]))
        if "prerelease" in body:
            found.prerelease = bool(body["prerelease"])
        publishing = found.draft and body.get("draft") is False
        if publishing:
            problem = _publish(found)
            if problem:
                return problem
        found.updated_at = timezone.now()
        found.save()
        if not found.draft:
            _set_latest(found, body["make_latest"])
    found.refresh_from_db()
    return json_response(_json(who, found))


def _publish(found: Release) -> HttpResponse | None:
    """Create the tag at target_commitish (a branch means its head, now)."""
    tagged = git.tag(found.tag_name)
    if tagged is None:
        target = git.resolve(found.target_commitish)
        if target is None:
            return _invalid(
                "target_commitish", "target_commitish is invalid", "invalid"
            )
        git.create_tag(found.tag_name, target)
    now = timezone.now()
    found.draft = False
    found.published_at = now
    # The repository has immutable releases on: assets and tag are frozen.
    found.immutable = True
    return None


def _set_latest(found: Release, make_latest: str) -> None:
    if make_latest == "false" or found.prerelease:
        return
    if make_latest == "legacy":
        stable = Release.objects.filter(draft=False, prerelease=False)
        found = max(stable, key=lambda r: (_version(r.tag_name), r.created_at))
    Release.objects.exclude(pk=found.pk).update(is_latest=False)
    Release.objects.filter(pk=found.pk).update(is_latest=True)


def _version(tag: str) -> semver.Version:
    try:
        return semver.Version.parse(tag.removeprefix("v"))
    except ValueError:
        return semver.Version(0)


@github_api("GET", "POST")
def release_assets(request: HttpRequest, who: Caller, release_id: str) -> HttpResponse:
    found = _release(who, release_id)
    if found is None:
        return not_found(f"{DOCS_ASSETS}#list-release-assets")
    if request.method == "POST":
        return _upload(request, who, found)
    assets = [github_json.asset(who.urls, a) for a in found.assets.all()]
    page = paginate(request, assets)
    response = json_response(page.items)
    if page.links:
        response["Link"] = page.links
    return response


def _upload(request: HttpRequest, who: Caller, found: Release) -> HttpResponse:
    if not who.authenticated:
        return requires_auth(f"{DOCS_ASSETS}#upload-a-release-asset")
    if found.immutable:
        return error(
            422,
            "Cannot upload assets to an immutable release",
            f"{DOCS_ASSETS}#upload-a-release-asset",
        )
    name = request.GET.get("name", "")
    if not name or found.assets.filter(name=name).exists():
        errors = [
            {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
        ]
        return error(
            422,
            "Validation Failed",
            f"{DOCS_ASSETS}#upload-a-release-asset",
            errors=errors,
        )
    created = ReleaseAsset.objects.create(
        release=found,
        name=name,
        label=request.GET.get("label", ""),
        content_type=request.content_type or "application/octet-stream",
        data=request.body,
        uploader_login=who.login or "",
    )
    return json_response(github_json.asset(who.urls, created), status=201)


@github_api("GET")
def asset(request: HttpRequest, who: Caller, asset_id: str) -> HttpResponse:
    pk = ReleaseAsset.pk_from_gid(asset_id)
    found = ReleaseAsset.objects.select_related("release").filter(pk=pk).first()
    if found is None or (found.release.draft and not who.authenticated):
        return not_found(f"{DOCS_ASSETS}#get-a-release-asset")
    if "application/octet-stream" in request.headers.get("Accept", ""):
        return HttpResponseRedirect(storage_url(request, found))
    return json_response(github_json.asset(who.urls, found))


def storage_url(request: HttpRequest, found: ReleaseAsset) -> str:
    """A short-lived signed URL on the other host name, like GitHub's S3 links."""
    token = signing.dumps({"asset": found.pk}, salt=STORAGE_SALT)
    return (
        f"{other_host(request)}/sandbox/storage/{found.gid}/{found.name}?token={token}"
    )


def _s3_error(status: int, code: str, message: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{github_json.node_id('S3', code)}</RequestId></Error>"
    )
    return HttpResponse(body, status=status, content_type="application/xml")


@csrf_exempt
def storage(request: HttpRequest, asset_id: str, name: str) -> HttpResponse:
    """The storage host: raw bytes for a signed URL, never with a token."""
    simulation.advance(origin(request))
    if request.headers.get("Authorization"):
        return _s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
            "parameter, Signature query string parameter or the Authorization "
            "header should be specified",
        )
    try:
        claims = signing.loads(
            request.GET.get("token", ""), salt=STORAGE_SALT, max_age=STORAGE_SECONDS
        )
    except signing.BadSignature:
        return _s3_error(403, "AccessDenied", "Request has expired or is not signed")
    found = ReleaseAsset.objects.filter(pk=claims["asset"]).first()
    if found is None or found.gid != int(asset_id) or found.name != name:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    ReleaseAsset.objects.filter(pk=found.pk).update(
        download_count=F("download_count") + 1
    )
    data = bytes(found.data)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Length"] = str(len(data))
    response["Content-Disposition"] = f"attachment; filename={found.name}"
    response["ETag"] = f'"{found.sha256[:32]}"'
    return response


@github_api("POST")
def generate_notes(request: HttpRequest, who: Caller) -> HttpResponse:
    doc = f"{DOCS}#generate-release-notes-content-for-a-release"
    if not who.authenticated:
        return requires_auth(doc)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "Problems parsing JSON", doc)
    tag_name = body.get("tag_name") if isinstance(body, dict) else None
    if not isinstance(tag_name, str) or not tag_name:
        errors = [{"resource": "Release", "code": "missing_field", "field": "tag_name"}]
        return error(422, "Validation Failed", doc, errors=errors)
    tagged = git.tag(tag_name)
    head = (
        tagged.commit
        if tagged
        else git.resolve(body.get("target_commitish") or git.DEFAULT_BRANCH)
    )
    if head is None:
        return not_found(doc)
    previous_name = body.get("previous_tag_name")
    if previous_name:
        previous = git.tag(previous_name)
        if previous is None:
            return not_found(doc)
    else:
        previous = _previous_tag(head, tag_name)
    commits = git.between(previous.commit if previous else None, head)
    text = notes.generate(
        who.urls.html, tag_name, previous.name if previous else None, commits
    )
    return json_response({"name": tag_name, "body": text})


def _previous_tag(head: Commit, tag_name: str) -> Ref | None:
    """GitHub's own pick: the nearest older tag, pre-releases included."""
    candidates = [ref for _v, ref in git.version_tags() if ref.name != tag_name]
    ancestors = {c.pk for c in head.history()}
    reachable = [ref for ref in candidates if ref.commit_id in ancestors]
    return reachable[-1] if reachable else None
