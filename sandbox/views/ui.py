"""Plain pages behind the html_url links, and browser downloads."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from sandbox import git, github_json, simulation
from sandbox.http import origin
from sandbox.models import Release, ReleaseAsset, WorkflowRun
from sandbox.views.releases import storage_url


def _context(request: HttpRequest, **extra: object) -> dict:
    urls = github_json.Urls.of(request)
    return {"repo_url": urls.repo_html, **extra}


def run(
    request: HttpRequest, owner: str, repo: str, run_id: int, job_id: int = 0
) -> HttpResponse:
    simulation.advance(origin(request))
    found = WorkflowRun.objects.select_related("workflow").filter(
        pk=WorkflowRun.pk_from_gid(run_id)
    )
    if not found.exists():
        raise Http404("No such run")
    urls = github_json.Urls.of(request)
    now = timezone.now()
    the_run = found.get()
    jobs = [
        github_json.job(urls, the_run, j, now)
        for j in github_json.visible_jobs(the_run, now)
    ]
    data = github_json.workflow_run(urls, the_run, now)
    context = _context(request, run=data, jobs=jobs, inputs=the_run.inputs)
    return render(request, "sandbox/run.html", context)


def release(request: HttpRequest, owner: str, repo: str, tag: str) -> HttpResponse:
    simulation.advance(origin(request))
    urls = github_json.Urls.of(request)
    found = Release.objects.filter(tag_name=tag, draft=False).first()
    if found is None and tag.startswith("untagged-"):
        found = next(
            (r for r in Release.objects.filter(draft=True) if _untagged(r) == tag), None
        )
    if found is None:
        raise Http404("No such release")
    data = github_json.release(urls, found, list(found.assets.all()))
    return render(request, "sandbox/release.html", _context(request, release=data))


def _untagged(found: Release) -> str:
    return github_json.release(_NO_URLS, found, [])["html_url"].rsplit("/", 1)[-1]


_NO_URLS = github_json.Urls(api="", html="")


def download(
    request: HttpRequest, owner: str, repo: str, tag: str, name: str
) -> HttpResponse:
    """github.com/…/releases/download/<tag>/<name>: a redirect to storage."""
    simulation.advance(origin(request))
    found = ReleaseAsset.objects.filter(
        release__tag_name=tag, release__draft=False, name=name
    ).first()
    if found is None:
        raise Http404("No such asset")
    return HttpResponseRedirect(storage_url(request, found))


def page(request: HttpRequest, path: str = "") -> HttpResponse:
    context = _context(request, path=f"{git.FULL_NAME} / {path}" if path else "")
    return render(request, "sandbox/page.html", context)
