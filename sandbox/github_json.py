"""GitHub REST API representations of the sandbox's objects.

Field names and shapes follow GitHub's OpenAPI description; every URL is
absolute on the host the request came to.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from sandbox import git, simulation, timeline
from sandbox.http import iso, origin
from sandbox.models import (
    Commit,
    Ref,
    Release,
    ReleaseAsset,
    Workflow,
    WorkflowRun,
)

REPO_ID = 612_345_678
REPO_CREATED = "2023-03-14T09:26:53Z"
USERS = {
    "hellodk": (1_234_567, "User", "DK"),
    "avika-bot": (190_000_001, "User", "Avika release bot"),
    "someone-else": (190_000_002, "User", "Someone Else"),
    "github-actions[bot]": (41_898_282, "Bot", None),
    "priya-dev": (190_000_003, "User", "Priya"),
    "marco-ops": (190_000_004, "User", "Marco"),
}
ACTIONS_APP_ID = 15368


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Urls:
    api: str
    html: str

    @classmethod
    def of(cls, request: HttpRequest) -> Urls:
        base = origin(request)
        return cls(api=f"{base}/sandbox/github", html=f"{base}/sandbox/github/ui")

    @property
    def repo(self) -> str:
        return f"{self.api}/repos/{git.FULL_NAME}"

    @property
    def repo_html(self) -> str:
        return f"{self.html}/{git.FULL_NAME}"


def user(urls: Urls, login: str) -> dict[str, Any]:
    number, kind, _name = USERS.get(login, (190_000_099, "User", None))
    api = f"{urls.api}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": node_id("User", number),
        "avatar_url": f"{urls.html}/avatars/{number}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.html}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user(urls: Urls, login: str) -> dict[str, Any]:
    _number, _kind, name = USERS.get(login, (0, "User", None))
    return {
        **user(urls, login),
        "name": name,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "notification_email": None,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2024-01-08T10:00:00Z",
        "updated_at": "2025-06-01T10:00:00Z",
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {
            "name": "free",
            "space": 976562499,
            "collaborators": 0,
            "private_repos": 10000,
        },
    }


_REPO_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def minimal_repository(urls: Urls) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": REPO_ID,
        "node_id": node_id("Repository", REPO_ID),
        "name": git.NAME,
        "full_name": git.FULL_NAME,
        "private": False,
        "owner": user(urls, git.OWNER),
        "html_url": urls.repo_html,
        "description": "API gateway with a node agent and a web console",
        "fork": False,
        "url": urls.repo,
    }
    data.update({key: urls.repo + path for key, path in _REPO_TEMPLATES.items()})
    return data


def repository(urls: Urls, *, authenticated: bool) -> dict[str, Any]:
    pushed = git.head().committed_at
    host = urls.html.split("://", 1)[1].split("/", 1)[0]
    data = {
        **minimal_repository(urls),
        "git_url": f"git://{host}/{git.FULL_NAME}.git",
        "ssh_url": f"git@{host}:{git.FULL_NAME}.git",
        "clone_url": f"{urls.repo_html}.git",
        "svn_url": urls.repo_html,
        "mirror_url": None,
        "homepage": None,
        "language": "Go",
        "forks_count": 3,
        "forks": 3,
        "stargazers_count": 42,
        "watchers_count": 42,
        "watchers": 42,
        "size": 2048,
        "default_branch": git.DEFAULT_BRANCH,
        "open_issues_count": 5,
        "open_issues": 5,
        "is_template": False,
        "topics": ["api-gateway", "go", "helm", "nextjs"],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "pushed_at": iso(pushed),
        "created_at": REPO_CREATED,
        "updated_at": iso(pushed),
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "license": {
            "key": "apache-2.0",
            "name": "Apache License 2.0",
            "spdx_id": "Apache-2.0",
            "url": f"{urls.api}/licenses/apache-2.0",
            "node_id": "MDc6TGljZW5zZTI=",
        },
        "subscribers_count": 4,
        "network_count": 3,
    }
    if authenticated:
        # The bot can push: that is what lets it see drafts and dispatch.
        data["permissions"] = {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        }
    return data


def _person(commit: Commit) -> dict[str, Any]:
    return {
        "name": commit.author_name,
        "email": commit.author_email,
        "date": iso(commit.committed_at),
    }


def commit(urls: Urls, c: Commit, *, files: bool = False) -> dict[str, Any]:
    api = f"{urls.repo}/commits/{c.sha}"
    parents = [c.parent] if c.parent_id else []
    author = user(urls, c.author_login) if c.author_login else None
    data: dict[str, Any] = {
        "sha": c.sha,
        "node_id": node_id("Commit", c.sha),
        "url": api,
        "html_url": f"{urls.repo_html}/commit/{c.sha}",
        "comments_url": f"{api}/comments",
        "commit": {
            "url": f"{urls.repo}/git/commits/{c.sha}",
            "author": _person(c),
            "committer": {
                **_person(c),
                "name": "GitHub",
                "email": "noreply@github.com",
            },
            "message": c.message,
            "comment_count": 0,
            "tree": {"sha": c.tree_sha, "url": f"{urls.repo}/git/trees/{c.tree_sha}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": author,
        "committer": user(urls, "web-flow") if author else None,
        "parents": [
            {
                "sha": p.sha,
                "url": f"{urls.repo}/commits/{p.sha}",
                "html_url": f"{urls.repo_html}/commit/{p.sha}",
            }
            for p in parents
            if p is not None
        ],
    }
    if files:
        data["stats"] = {"additions": 0, "deletions": 0, "total": 0}
        data["files"] = [_file_change(urls, c, path) for path in c.changed_paths]
        changes = sum(f["changes"] for f in data["files"])
        data["stats"] = {
            "additions": changes,
            "deletions": changes // 2,
            "total": changes,
        }
    return data


def _file_change(urls: Urls, c: Commit, path: str) -> dict[str, Any]:
    text = c.files.get(path, "")
    before = c.parent.files.get(path) if c.parent else None
    lines = text.count("\n") or 1
    return {
        "sha": git.blob_sha(text),
        "filename": path,
        "status": "modified" if before is not None else "added",
        "additions": lines if before is None else 1,
        "deletions": 0 if before is None else 1,
        "changes": lines if before is None else 2,
        "blob_url": f"{urls.repo_html}/blob/{c.sha}/{path}",
        "raw_url": f"{urls.repo_html}/raw/{c.sha}/{path}",
        "contents_url": f"{urls.repo}/contents/{path}?ref={c.sha}",
    }


def branch(urls: Urls, name: str, c: Commit) -> dict[str, Any]:
    return {
        "name": name,
        "commit": commit(urls, c),
        "_links": {
            "self": f"{urls.repo}/branches/{name}",
            "html": f"{urls.repo_html}/tree/{name}",
        },
        "protected": name == git.DEFAULT_BRANCH,
        "protection": {
            "enabled": name == git.DEFAULT_BRANCH,
            "required_status_checks": {
                "enforcement_level": "non_admins",
                "contexts": [],
                "checks": [],
            },
        },
        "protection_url": f"{urls.repo}/branches/{name}/protection",
    }


def content_file(urls: Urls, path: str, text: str, ref: str) -> dict[str, Any]:
    sha = git.blob_sha(text)
    self_url = f"{urls.repo}/contents/{path}?ref={ref}"
    html = f"{urls.repo_html}/blob/{ref}/{path}"
    git_url = f"{urls.repo}/git/blobs/{sha}"
    encoded = base64.encodebytes(text.encode()).decode()
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode()),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": encoded,
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": f"{urls.repo_html}/raw/{ref}/{path}",
        "_links": {"self": self_url, "git": git_url, "html": html},
    }


def directory_entry(urls: Urls, path: str, kind: str, ref: str, text: str = "") -> dict:
    sha = git.blob_sha(text if kind == "file" else f"tree {path}")
    self_url = f"{urls.repo}/contents/{path}?ref={ref}"
    html = f"{urls.repo_html}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
    git_url = f"{urls.repo}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    return {
        "type": kind,
        "size": len(text.encode()) if kind == "file" else 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": f"{urls.repo_html}/raw/{ref}/{path}"
        if kind == "file"
        else None,
        "_links": {"self": self_url, "git": git_url, "html": html},
    }


def tag(urls: Urls, ref: Ref) -> dict[str, Any]:
    return {
        "name": ref.name,
        "commit": {
            "sha": ref.commit.sha,
            "url": f"{urls.repo}/commits/{ref.commit.sha}",
        },
        "zipball_url": f"{urls.repo}/zipball/refs/tags/{ref.name}",
        "tarball_url": f"{urls.repo}/tarball/refs/tags/{ref.name}",
        "node_id": node_id("Tag", ref.name),
    }


def git_ref(urls: Urls, ref: Ref) -> dict[str, Any]:
    full = f"refs/{'heads' if ref.kind == 'branch' else 'tags'}/{ref.name}"
    return {
        "ref": full,
        "node_id": node_id("Ref", full),
        "url": f"{urls.repo}/git/{full}",
        "object": {
            "sha": ref.commit.sha,
            "type": "commit",
            "url": f"{urls.repo}/git/commits/{ref.commit.sha}",
        },
    }


def workflow(urls: Urls, w: Workflow) -> dict[str, Any]:
    return {
        "id": w.gid,
        "node_id": node_id("Workflow", w.gid),
        "name": w.name,
        "path": w.path,
        "state": w.state,
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
        "url": f"{urls.repo}/actions/workflows/{w.gid}",
        "html_url": f"{urls.repo_html}/blob/{git.DEFAULT_BRANCH}/{w.path}",
        "badge_url": f"{urls.repo_html}/workflows/{w.name}/badge.svg",
    }


def _simple_commit(c: Commit) -> dict[str, Any]:
    person = {"name": c.author_name, "email": c.author_email}
    return {
        "id": c.sha,
        "tree_id": c.tree_sha,
        "message": c.message,
        "timestamp": iso(c.committed_at),
        "author": person,
        "committer": {"name": "GitHub", "email": "noreply@github.com"},
    }


def run_updated_at(
    run: WorkflowRun, jobs: list[timeline.JobTimes], now: datetime
) -> datetime:
    """The last moment anything in the run changed, up to now."""
    moments = [run.created_at, min(run.started_at, now)]
    if run.cancelled_at and run.cancelled_at <= now:
        moments.append(run.cancelled_at)
    for job in jobs:
        for step in job.steps:
            moments += [step.start, step.end]
        moments += [job.queued, job.start, job.end]
    return max(m for m in moments if m <= now)


def workflow_run(urls: Urls, run: WorkflowRun, now: datetime) -> dict[str, Any]:
    api = f"{urls.repo}/actions/runs/{run.gid}"
    jobs = [] if run.cancelled_at else timeline.compute(run)
    status, conclusion = simulation.status_at(run, now)
    head = git.resolve(run.head_sha)
    repo = minimal_repository(urls)
    return {
        "id": run.gid,
        "name": run.workflow.name,
        "node_id": node_id("WorkflowRun", run.gid),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.workflow.path,
        "display_title": run.display_title,
        "run_number": run.run_number,
        "event": run.event,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": run.workflow.gid,
        "check_suite_id": run.gid + 7_000_000_000,
        "check_suite_node_id": node_id("CheckSuite", run.gid + 7_000_000_000),
        "url": api,
        "html_url": f"{urls.repo_html}/actions/runs/{run.gid}",
        "pull_requests": [],
        "created_at": iso(run.created_at),
        "updated_at": iso(run_updated_at(run, jobs, now)),
        "actor": user(urls, run.actor),
        "triggering_actor": user(urls, run.actor),
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": iso(
            min(run.started_at, now) if status != "pending" else run.created_at
        ),
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{urls.repo}/check-suites/{run.gid + 7_000_000_000}",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{urls.repo}/actions/workflows/{run.workflow.gid}",
        "head_commit": _simple_commit(head) if head else None,
        "repository": repo,
        "head_repository": repo,
    }


def job_id(run: WorkflowRun, index: int) -> int:
    return 52_000_000_000 + run.pk * 100 + index


def job(urls: Urls, run: WorkflowRun, times: timeline.JobTimes, now: datetime) -> dict:
    number = job_id(run, times.index)
    status, conclusion = _state(times.start, times.end, now, times.conclusion)
    steps = [_step(step, now) for step in times.steps if times.conclusion != "skipped"]
    runner = times.index % 4 + 1
    started = status != "queued"
    return {
        "id": number,
        "run_id": run.gid,
        "workflow_name": run.workflow.name,
        "head_branch": run.head_branch,
        "run_url": f"{urls.repo}/actions/runs/{run.gid}",
        "run_attempt": 1,
        "node_id": node_id("CheckRun", number),
        "head_sha": run.head_sha,
        "url": f"{urls.repo}/actions/jobs/{number}",
        "html_url": f"{urls.repo_html}/actions/runs/{run.gid}/job/{number}",
        "status": status,
        "conclusion": conclusion,
        "created_at": iso(times.queued),
        "started_at": iso(times.start if started else times.queued),
        "completed_at": iso(times.end) if status == "completed" else None,
        "name": times.name,
        "steps": steps,
        "check_run_url": f"{urls.repo}/check-runs/{number}",
        "labels": ["ubuntu-latest"],
        "runner_id": runner if started else None,
        "runner_name": f"GitHub Actions {runner}" if started else None,
        "runner_group_id": 2 if started else None,
        "runner_group_name": "GitHub Actions" if started else None,
    }


def _state(
    start: datetime, end: datetime, now: datetime, final: str
) -> tuple[str, str | None]:
    if now >= end:
        return "completed", final
    if now >= start:
        return "in_progress", None
    return "queued", None


def _step(step: timeline.StepTimes, now: datetime) -> dict[str, Any]:
    status, conclusion = _state(step.start, step.end, now, step.conclusion)
    return {
        "name": step.name,
        "status": status,
        "conclusion": conclusion,
        "number": step.number,
        "started_at": iso(step.start) if status != "queued" else None,
        "completed_at": iso(step.end) if status == "completed" else None,
    }


def visible_jobs(run: WorkflowRun, now: datetime) -> list[timeline.JobTimes]:
    """Jobs GitHub lists at `now`: those whose needs have finished."""
    if run.cancelled_at or now < run.started_at:
        return []
    return [j for j in timeline.compute(run) if j.queued <= now]


def asset(urls: Urls, a: ReleaseAsset) -> dict[str, Any]:
    release = a.release
    download = f"{urls.repo_html}/releases/download/{release.tag_name}/{a.name}"
    if release.draft:
        # Drafts have no tag yet: GitHub uses an untagged-… placeholder.
        download = (
            f"{urls.repo_html}/releases/download/untagged-{_untagged(release)}/{a.name}"
        )
    return {
        "url": f"{urls.repo}/releases/assets/{a.gid}",
        "browser_download_url": download,
        "id": a.gid,
        "node_id": node_id("ReleaseAsset", a.gid),
        "name": a.name,
        "label": a.label or "",
        "state": "uploaded",
        "content_type": a.content_type,
        "size": len(bytes(a.data)),
        "digest": f"sha256:{a.sha256}",
        "download_count": a.download_count,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "uploader": user(urls, a.uploader_login),
    }


def _untagged(release: Release) -> str:
    return hashlib.sha1(str(release.pk).encode(), usedforsecurity=False).hexdigest()[
        :20
    ]


def release(urls: Urls, r: Release, assets: list[ReleaseAsset]) -> dict[str, Any]:
    api = f"{urls.repo}/releases/{r.gid}"
    html_tag = f"untagged-{_untagged(r)}" if r.draft else r.tag_name
    return {
        "url": api,
        "assets_url": f"{api}/assets",
        "upload_url": f"{urls.repo}/releases/{r.gid}/assets{{?name,label}}",
        "html_url": f"{urls.repo_html}/releases/tag/{html_tag}",
        "id": r.gid,
        "author": user(urls, r.author_login),
        "node_id": node_id("Release", r.gid),
        "tag_name": r.tag_name,
        "target_commitish": r.target_commitish,
        "name": r.name,
        "draft": r.draft,
        "immutable": r.immutable,
        "prerelease": r.prerelease,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "published_at": iso(r.published_at),
        "assets": [asset(urls, a) for a in assets],
        "tarball_url": f"{urls.repo}/tarball/{r.tag_name}",
        "zipball_url": f"{urls.repo}/zipball/{r.tag_name}",
        "body": r.body,
    }


def check_run(
    urls: Urls, run: WorkflowRun, times: timeline.JobTimes, now: datetime
) -> dict:
    number = job_id(run, times.index)
    status, conclusion = _state(times.start, times.end, now, times.conclusion)
    html = f"{urls.repo_html}/actions/runs/{run.gid}/job/{number}"
    return {
        "id": number,
        "name": times.name,
        "node_id": node_id("CheckRun", number),
        "head_sha": run.head_sha,
        "external_id": hashlib.md5(
            str(number).encode(), usedforsecurity=False
        ).hexdigest(),
        "url": f"{urls.repo}/check-runs/{number}",
        "html_url": html,
        "details_url": html,
        "status": status,
        "conclusion": conclusion,
        "started_at": iso(times.start),
        "completed_at": iso(times.end) if status == "completed" else None,
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{urls.repo}/check-runs/{number}/annotations",
        },
        "check_suite": {"id": run.gid + 7_000_000_000},
        "app": _actions_app(urls),
        "pull_requests": [],
    }


def _actions_app(urls: Urls) -> dict[str, Any]:
    return {
        "id": ACTIONS_APP_ID,
        "slug": "github-actions",
        "node_id": node_id("App", ACTIONS_APP_ID),
        "client_id": "Iv1.05c79e9ad1f6bdfa",
        "owner": {**user(urls, "github"), "type": "Organization"},
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": f"{urls.html}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"actions": "write", "checks": "write", "contents": "write"},
        "events": ["check_run", "check_suite", "push", "workflow_dispatch"],
    }
