"""The simulated GitHub REST API: repository, git data, Actions and status."""

from __future__ import annotations

import json
import time
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sandbox import dispatch, faults, git, github_json, timeline
from sandbox.http import json_response, paginate, quota
from sandbox.models import Commit, Ref, Workflow, WorkflowRun
from sandbox.simulation import RUN_FAULTS, status_at
from sandbox.views.api import (
    ANONYMOUS_LIMIT,
    AUTHENTICATED_LIMIT,
    HOUR,
    Caller,
    error,
    github_api,
    not_found,
    requires_auth,
    validation_failed,
)

DOCS_REPOS = "https://docs.github.com/rest/repos/repos#get-a-repository"
DOCS_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"
DOCS_COMMITS = "https://docs.github.com/rest/commits/commits#get-a-commit"
DOCS_WORKFLOWS = "https://docs.github.com/rest/actions/workflows#get-a-workflow"
DOCS_DISPATCH = (
    "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
)
DOCS_RUNS = "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run"
DOCS_REFS = "https://docs.github.com/rest/git/refs#get-a-reference"
DOCS_BRANCH = "https://docs.github.com/rest/branches/branches#get-a-branch"


def paged(
    request: HttpRequest,
    items: list,
    wrapper: str | None = None,
    total: int | None = None,
) -> HttpResponse:
    page = paginate(request, items)
    if wrapper:
        body: object = {
            "total_count": len(items) if total is None else total,
            wrapper: page.items,
        }
    else:
        body = page.items
    response = json_response(body)
    if page.links:
        response["Link"] = page.links
    return response


@github_api("GET")
def user(request: HttpRequest, who: Caller) -> HttpResponse:
    if not who.login:
        return requires_auth(
            "https://docs.github.com/rest/users/users#get-the-authenticated-user"
        )
    return json_response(github_json.private_user(who.urls, who.login))


@github_api("GET", counted=False)
def rate_limit(request: HttpRequest, who: Caller) -> HttpResponse:
    limit = AUTHENTICATED_LIMIT if who.login else ANONYMOUS_LIMIT
    client = (
        f"user:{who.login}"
        if who.login
        else f"ip:{request.META.get('REMOTE_ADDR', '')}"
    )
    window = quota("core", client, limit, HOUR, spend=False)
    core = {
        "limit": limit,
        "used": window.used,
        "remaining": window.remaining,
        "reset": window.reset,
    }
    if until := faults.rate_limited_until():
        core = {"limit": limit, "used": limit, "remaining": 0, "reset": int(until) + 1}
    reset = int(time.time()) + 60
    search = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
    graphql = {"limit": limit, "used": 0, "remaining": limit, "reset": window.reset}
    body = {
        "resources": {"core": core, "search": search, "graphql": graphql},
        "rate": core,
    }
    return json_response(body)


@github_api("GET")
def repository(request: HttpRequest, who: Caller) -> HttpResponse:
    return json_response(
        github_json.repository(who.urls, authenticated=who.authenticated)
    )


@github_api("GET")
def branch(request: HttpRequest, who: Caller, name: str) -> HttpResponse:
    found = git.branch(name)
    if found is None:
        return error(404, "Branch not found", DOCS_BRANCH)
    return json_response(github_json.branch(who.urls, name, found.commit))


def _directory(who: Caller, commit: Commit, path: str, ref: str) -> list[dict] | None:
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    entries: dict[str, str] = {}
    for file_path in commit.files:
        if file_path.startswith(prefix):
            name, _, rest = file_path[len(prefix) :].partition("/")
            entries[prefix + name] = "dir" if rest else "file"
    if not entries:
        return None
    return [
        github_json.directory_entry(who.urls, p, kind, ref, commit.files.get(p, ""))
        for p, kind in sorted(
            entries.items(), key=lambda item: (item[1] != "dir", item[0])
        )
    ]


@github_api("GET")
def contents(request: HttpRequest, who: Caller, path: str = "") -> HttpResponse:
    ref = request.GET.get("ref") or git.DEFAULT_BRANCH
    commit = git.resolve(ref)
    if commit is None:
        return error(404, f"No commit found for the ref {ref}", DOCS_CONTENTS)
    path = path.strip("/")
    if path in commit.files:
        return json_response(
            github_json.content_file(who.urls, path, commit.files[path], ref)
        )
    listing = _directory(who, commit, path, ref)
    if listing is None:
        return not_found(DOCS_CONTENTS)
    return json_response(listing)


@github_api("GET")
def commits(request: HttpRequest, who: Caller) -> HttpResponse:
    ref = request.GET.get("sha") or git.DEFAULT_BRANCH
    start = git.resolve(ref)
    if start is None:
        return not_found("https://docs.github.com/rest/commits/commits#list-commits")
    history = start.history()
    if path := request.GET.get("path"):
        history = [c for c in history if path in c.changed_paths]
    if author := request.GET.get("author"):
        history = [c for c in history if author in {c.author_login, c.author_email}]
    return paged(request, [github_json.commit(who.urls, c) for c in history])


@github_api("GET")
def commit(request: HttpRequest, who: Caller, ref: str) -> HttpResponse:
    found = git.resolve(ref)
    if found is None:
        return validation_failed(f"No commit found for SHA: {ref}", DOCS_COMMITS)
    return json_response(github_json.commit(who.urls, found, files=True))


@github_api("GET")
def compare(request: HttpRequest, who: Caller, basehead: str) -> HttpResponse:
    base_ref, sep, head_ref = basehead.partition("...")
    if not sep:
        base_ref, _, head_ref = basehead.partition("..")
    base, head = git.resolve(base_ref), git.resolve(head_ref)
    if base is None or head is None:
        return not_found(
            "https://docs.github.com/rest/commits/commits#compare-two-commits"
        )
    ahead = list(reversed(git.between(base, head)))
    behind = git.between(head, base)
    status = {
        (False, False): "identical",
        (True, False): "ahead",
        (False, True): "behind",
    }.get((bool(ahead), bool(behind)), "diverged")
    compare_html = f"{who.urls.repo_html}/compare/{base_ref}...{head_ref}"
    changed = sorted({p for c in ahead for p in c.changed_paths})
    page = paginate(request, ahead, per_page_max=250)
    body = {
        "url": f"{who.urls.repo}/compare/{base_ref}...{head_ref}",
        "html_url": compare_html,
        "permalink_url": f"{who.urls.repo_html}/compare/{base.sha[:7]}...{head.sha[:7]}",
        "diff_url": f"{compare_html}.diff",
        "patch_url": f"{compare_html}.patch",
        "base_commit": github_json.commit(who.urls, base),
        "merge_base_commit": github_json.commit(who.urls, base if not behind else head),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [github_json.commit(who.urls, c) for c in page.items],
        "files": [
            github_json._file_change(who.urls, head, p)
            for p in changed
            if p in head.files
        ],
    }
    response = json_response(body)
    if page.links:
        response["Link"] = page.links
    return response


@github_api("GET")
def tags(request: HttpRequest, who: Caller) -> HttpResponse:
    # GitHub lists tags newest version first.
    ordered = [ref for _v, ref in reversed(git.version_tags())]
    others = Ref.objects.filter(kind="tag").exclude(pk__in=[r.pk for r in ordered])
    everything = ordered + list(others.select_related("commit"))
    return paged(request, [github_json.tag(who.urls, ref) for ref in everything])


@github_api("GET")
def git_ref(request: HttpRequest, who: Caller, ref: str) -> HttpResponse:
    found = _ref(ref)
    if found is None:
        return not_found(DOCS_REFS)
    return json_response(github_json.git_ref(who.urls, found))


@github_api("GET")
def git_refs(request: HttpRequest, who: Caller, ref: str = "") -> HttpResponse:
    if exact := _ref(ref):
        return json_response(github_json.git_ref(who.urls, exact))
    every = [
        github_json.git_ref(who.urls, r) for r in Ref.objects.select_related("commit")
    ]
    matching = sorted(
        (r for r in every if r["ref"].startswith(f"refs/{ref}")), key=lambda r: r["ref"]
    )
    if not matching:
        return not_found(DOCS_REFS)
    return paged(request, matching)


def _ref(ref: str) -> Ref | None:
    kind, _, name = ref.partition("/")
    kinds = {"heads": "branch", "tags": "tag"}
    if kind not in kinds or not name:
        return None
    return (
        Ref.objects.select_related("commit").filter(kind=kinds[kind], name=name).first()
    )


def _workflow(id_or_file: str) -> Workflow | None:
    if id_or_file.isdigit():
        return Workflow.objects.filter(pk=Workflow.pk_from_gid(id_or_file)).first()
    return Workflow.objects.filter(path=f".github/workflows/{id_or_file}").first()


@github_api("GET")
def workflows(request: HttpRequest, who: Caller) -> HttpResponse:
    found = [github_json.workflow(who.urls, w) for w in Workflow.objects.order_by("pk")]
    return paged(request, found, wrapper="workflows")


@github_api("GET")
def workflow(request: HttpRequest, who: Caller, workflow_id: str) -> HttpResponse:
    found = _workflow(workflow_id)
    if found is None:
        return not_found(DOCS_WORKFLOWS)
    return json_response(github_json.workflow(who.urls, found))


def _dispatch_body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@github_api("POST")
def create_dispatch(
    request: HttpRequest, who: Caller, workflow_id: str
) -> HttpResponse:
    if not who.login:
        return requires_auth(DOCS_DISPATCH)
    found = _workflow(workflow_id)
    if found is None:
        return not_found(DOCS_DISPATCH)
    body = _dispatch_body(request)
    if body is None:
        return error(400, "Problems parsing JSON", DOCS_DISPATCH)
    if not isinstance(body.get("ref"), str):
        return validation_failed(
            "Invalid request.\n\nFor 'links/0/schema', nil is not an object.",
            DOCS_DISPATCH,
        )
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        return validation_failed(
            "Invalid request.\n\nFor 'properties/inputs', is not an object.",
            DOCS_DISPATCH,
        )
    return _dispatch(
        request, who, found, body["ref"], inputs, bool(body.get("return_run_details"))
    )


def _dispatch(
    request: HttpRequest,
    who: Caller,
    found: Workflow,
    ref: str,
    inputs: dict,
    details: bool,
) -> HttpResponse:
    taken = faults.take(
        "dispatch-error",
        "dispatch-timeout",
        "no-run-details",
        "concurrent-run",
        "concurrent-run-before",
        *RUN_FAULTS,
    )
    if "dispatch-error" in taken:
        failed = taken.pop("dispatch-error")
        _rearm(taken)
        return _dispatch_error(int(failed.get("status", 502)))
    try:
        started = dispatch.start(
            workflow=found, ref=ref, inputs=inputs, actor=who.login or "", faults=taken
        )
    except dispatch.DispatchRefused as exc:
        _rearm(taken)
        return validation_failed(str(exc), DOCS_DISPATCH)
    if "dispatch-timeout" in taken:
        # The run exists; the answer comes too late for the client.
        time.sleep(settings.SANDBOX_DISPATCH_HANG_SECONDS)
    if not details or "no-run-details" in taken:
        return HttpResponse(status=204)
    run = started.run
    return json_response(
        {
            "workflow_run_id": run.gid,
            "run_url": f"{who.urls.repo}/actions/runs/{run.gid}",
            "html_url": f"{who.urls.repo_html}/actions/runs/{run.gid}",
        }
    )


def _rearm(taken: dict[str, dict]) -> None:
    """A refused dispatch starts no run: the run faults wait for the next one."""
    for name, options in taken.items():
        faults.arm(name, **options)


def _dispatch_error(status: int) -> HttpResponse:
    if status == 500:
        return error(500, "Server Error", DOCS_DISPATCH)
    # GitHub's edge answers a 502 with an HTML page, not JSON.
    page = (
        "<!DOCTYPE html><html><head><title>Unicorn! · GitHub</title></head>"
        "<body><p>No server is currently available to service your request."
        "</p></body></html>"
    )
    return HttpResponse(page, status=502, content_type="text/html; charset=utf-8")


def _run_filters(
    request: HttpRequest, runs: list[WorkflowRun], now: datetime
) -> list[WorkflowRun]:
    params = request.GET
    if event := params.get("event"):
        runs = [r for r in runs if r.event == event]
    if branch_name := params.get("branch"):
        runs = [r for r in runs if r.head_branch == branch_name]
    if actor := params.get("actor"):
        runs = [r for r in runs if r.actor == actor]
    if head_sha := params.get("head_sha"):
        runs = [r for r in runs if r.head_sha == head_sha]
    if wanted := params.get("status"):
        runs = [r for r in runs if wanted in status_at(r, now)]
    return runs


def _runs(
    request: HttpRequest, who: Caller, queryset: QuerySet[WorkflowRun]
) -> HttpResponse:
    now = timezone.now()
    runs = _run_filters(
        request, list(queryset.select_related("workflow").order_by("-pk")), now
    )
    page = paginate(request, runs)
    body = {
        "total_count": len(runs),
        "workflow_runs": [
            github_json.workflow_run(who.urls, r, now) for r in page.items
        ],
    }
    response = json_response(body)
    if page.links:
        response["Link"] = page.links
    return response


@github_api("GET")
def workflow_runs(request: HttpRequest, who: Caller, workflow_id: str) -> HttpResponse:
    found = _workflow(workflow_id)
    if found is None:
        return not_found(DOCS_WORKFLOWS)
    return _runs(request, who, WorkflowRun.objects.filter(workflow=found))


@github_api("GET")
def runs(request: HttpRequest, who: Caller) -> HttpResponse:
    return _runs(request, who, WorkflowRun.objects.all())


def _run(run_id: str) -> WorkflowRun | None:
    return (
        WorkflowRun.objects.select_related("workflow")
        .filter(pk=WorkflowRun.pk_from_gid(run_id))
        .first()
    )


@github_api("GET")
def run(request: HttpRequest, who: Caller, run_id: str) -> HttpResponse:
    found = _run(run_id)
    if found is None:
        return not_found(DOCS_RUNS)
    return json_response(github_json.workflow_run(who.urls, found, timezone.now()))


@github_api("GET")
def run_jobs(request: HttpRequest, who: Caller, run_id: str) -> HttpResponse:
    found = _run(run_id)
    if found is None:
        return not_found(
            "https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run"
        )
    now = timezone.now()
    jobs = [
        github_json.job(who.urls, found, j, now)
        for j in github_json.visible_jobs(found, now)
    ]
    return paged(request, jobs, wrapper="jobs")


@github_api("GET")
def combined_status(request: HttpRequest, who: Caller, ref: str) -> HttpResponse:
    found = git.resolve(ref)
    if found is None:
        return validation_failed(f"No commit found for SHA: {ref}")
    # Actions report through check runs only, so this reads pending/0.
    body = {
        "state": "pending",
        "statuses": [],
        "sha": found.sha,
        "total_count": 0,
        "repository": github_json.minimal_repository(who.urls),
        "commit_url": f"{who.urls.repo}/commits/{found.sha}",
        "url": f"{who.urls.repo}/commits/{found.sha}/status",
    }
    return json_response(body)


@github_api("GET")
def check_runs(request: HttpRequest, who: Caller, ref: str) -> HttpResponse:
    found = git.resolve(ref)
    if found is None:
        return validation_failed(f"No commit found for SHA: {ref}")
    now = timezone.now()
    ci_runs = WorkflowRun.objects.filter(
        head_sha=found.sha, workflow__path=timeline.CI_PATH
    )
    checks = [
        github_json.check_run(who.urls, r, j, now)
        for r in ci_runs.select_related("workflow")
        for j in github_json.visible_jobs(r, now)
    ]
    if name := request.GET.get("check_name"):
        checks = [c for c in checks if c["name"] == name]
    return paged(request, checks, wrapper="check_runs")


def unknown_path(request: HttpRequest) -> HttpResponse:
    return not_found()
