"""The starting state of the sandbox: hellodk/avika at 1.110.0.

Three published releases (1.108.0, 1.109.0, 1.110.0) with their commits,
tags, runs, assets and images, and three unreleased commits on master.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox import effects, git, images, notes, repo_files, simulation, timeline
from sandbox.models import (
    Commit,
    Fault,
    ImageTag,
    Manifest,
    RateWindow,
    Ref,
    Release,
    ReleaseAsset,
    Workflow,
    WorkflowRun,
)

PEOPLE = {
    "hellodk": ("DK", "dk@avika.dev"),
    "priya-dev": ("Priya", "priya@avika.dev"),
    "marco-ops": ("Marco", "marco@avika.dev"),
}
RELEASE_RUN_SECONDS = 1080
CI_RUN_SECONDS = 420

RELEASE_CONFIG = """\
changelog:
  exclude:
    authors:
      - github-actions[bot]
  categories:
    - title: Breaking Changes 🛠
      labels: [breaking-change]
    - title: New Features 🎉
      labels: [feature]
    - title: Bug Fixes 🐛
      labels: [bug]
    - title: Other Changes
      labels: ["*"]
"""

# (days ago, author, message, changed file) — oldest first. Versions mark
# where a release was cut.
HISTORY: list[tuple[float, str, str, str] | str] = [
    (
        130,
        "hellodk",
        "feat(gateway): route table with hot reload (#180)",
        "cmd/gateway/routes.go",
    ),
    (
        126,
        "priya-dev",
        "feat(frontend): dashboard of gateway routes (#182)",
        "frontend/app/page.tsx",
    ),
    (
        121,
        "marco-ops",
        "fix(agent): report memory in bytes, not KiB (#185)",
        "cmd/agent/metrics.go",
    ),
    (118, "hellodk", "ci: cache Go modules (#186)", ".github/workflows/ci.yml"),
    "1.108.0",
    (
        104,
        "priya-dev",
        "feat(agent): push metrics over gRPC (#191)",
        "cmd/agent/push.go",
    ),
    (
        99,
        "marco-ops",
        "fix(gateway): keep Host header on upstream retries (#194)",
        "cmd/gateway/proxy.go",
    ),
    (95, "hellodk", "chore(deps): bump golang.org/x/net to 0.38.0 (#196)", "go.mod"),
    (
        92,
        "priya-dev",
        "perf(gateway): reuse upstream connections (#198)",
        "cmd/gateway/proxy.go",
    ),
    "1.109.0",
    (
        70,
        "hellodk",
        "feat(helm): configurable agent DaemonSet tolerations (#205)",
        "deploy/helm/avika/values.yaml",
    ),
    (
        64,
        "marco-ops",
        "fix(frontend): show times in the viewer's time zone (#209)",
        "frontend/app/time.ts",
    ),
    (
        58,
        "priya-dev",
        "feat(gateway): OpenTelemetry tracing of upstream calls (#212)",
        "cmd/gateway/tracing.go",
    ),
    (55, "hellodk", "docs: upgrade notes for 1.110 (#214)", "README.md"),
    "1.110.0",
    (
        12,
        "hellodk",
        "feat(gateway): per-route rate limiting (#231)",
        "cmd/gateway/ratelimit.go",
    ),
    (
        6,
        "marco-ops",
        "fix(agent): reconnect after a gateway restart (#233)",
        "cmd/agent/conn.go",
    ),
    (
        2,
        "priya-dev",
        "docs: document the Helm values (#234)",
        "deploy/helm/avika/README.md",
    ),
]


def _initial_files(at: datetime) -> dict[str, str]:
    entry = ("1.107.0", at.date().isoformat(), ["Initial public release"])
    changelog = repo_files.changelog([entry])
    return {
        "VERSION": "1.107.0\n",
        "CHANGELOG.md": changelog,
        "README.md": repo_files.README,
        "go.mod": repo_files.GO_MOD,
        "deploy/helm/avika/Chart.yaml": repo_files.CHART.format(version="1.107.0"),
        timeline.RELEASE_PATH: repo_files.RELEASE_WORKFLOW,
        timeline.CI_PATH: repo_files.CI_WORKFLOW,
        ".github/release.yml": RELEASE_CONFIG,
        "cmd/gateway/main.go": "package main\n\nfunc main() { run() }\n",
        "cmd/agent/main.go": "package main\n\nfunc main() { serve() }\n",
        "frontend/package.json": '{\n  "name": "avika-frontend",\n  "private": true\n}\n',
    }


def _author(login: str) -> tuple[str, str, str]:
    name, email = PEOPLE[login]
    return name, email, login


def _html_base() -> str:
    base = getattr(settings, "SANDBOX_BASE_URL", "http://127.0.0.1:8000")
    return f"{base}/sandbox/github/ui"


def _workflows(at: datetime) -> tuple[Workflow, Workflow]:
    ci = Workflow.objects.create(
        name="CI", path=timeline.CI_PATH, created_at=at, updated_at=at
    )
    release = Workflow.objects.create(
        name="Release", path=timeline.RELEASE_PATH, created_at=at, updated_at=at
    )
    return ci, release


def _ci(ci: Workflow, at: datetime, actor: str) -> None:
    run = simulation.create_run(
        workflow=ci,
        branch=git.DEFAULT_BRANCH,
        actor=actor,
        inputs={},
        faults={},
        event="push",
        at=at,
        duration=CI_RUN_SECONDS,
    )
    _mark_applied(run)


def _mark_applied(run: WorkflowRun) -> None:
    WorkflowRun.objects.filter(pk=run.pk).update(effects_applied_at=run.finishes_at)


def _release_run(
    release_wf: Workflow, at: datetime, failure: dict | None = None
) -> WorkflowRun:
    run = simulation.create_run(
        workflow=release_wf,
        branch=git.DEFAULT_BRANCH,
        actor="hellodk",
        inputs={"bump_type": "auto", "prerelease": ""},
        faults={},
        failure=failure,
        at=at,
        duration=RELEASE_RUN_SECONDS,
    )
    _mark_applied(run)
    return run


def _cut_release(
    release_wf: Workflow, ci: Workflow, version: str, at: datetime
) -> None:
    run = _release_run(release_wf, at)
    jobs = timeline.compute(run)
    bump_end = next(j.end for j in jobs if j.name == timeline.BUMP.name)
    previous = git.last_tag_before(git.head())
    since = git.between(previous.commit if previous else None, git.head())
    target = effects.release_commit(version, bump_end, effects.changelog_items(since))
    git.create_tag(f"v{version}", target)
    effects.push_images(version, target.sha, run.finishes_at, {})
    body = notes.generate(
        _html_base(), f"v{version}", previous.name if previous else None, since
    )
    release = effects.create_release(
        version=version, target=target, body=body, at=run.finishes_at, faults={}
    )
    # Reviewed and published an hour after the run, as the maintainer does.
    published = run.finishes_at + timedelta(hours=1)
    Release.objects.filter(is_latest=True).update(is_latest=False)
    Release.objects.filter(pk=release.pk).update(
        draft=False,
        immutable=True,
        is_latest=True,
        published_at=published,
        updated_at=published,
    )
    WorkflowRun.objects.filter(pk=run.pk).update(
        version=version, release_sha=target.sha
    )
    _ci(ci, bump_end, "github-actions[bot]")


@transaction.atomic
def seed() -> None:
    """Build the starting state; expects empty sandbox tables."""
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(days=140)
    ci, release_wf = _workflows(start)
    root = git.commit(
        parent=None,
        message="chore: initial import",
        changes=_initial_files(start),
        author=_author("hellodk"),
        at=start,
    )
    git.create_tag("v1.107.0", root)
    for entry in HISTORY:
        if isinstance(entry, str):
            at = git.head().committed_at + timedelta(days=2)
            if entry == "1.109.0":
                # A first attempt that failed before the one that shipped.
                _release_run(release_wf, at - timedelta(hours=3), _FAILED_ATTEMPT)
            _cut_release(release_wf, ci, entry, at)
            continue
        days, login, message, path = entry
        at = now - timedelta(days=days)
        parent = git.head()
        text = parent.files.get(path, "") + f"// {message}\n"
        git.commit(
            parent=parent,
            message=message,
            changes={path: text},
            author=_author(login),
            at=at,
        )
        _ci(ci, at, login)


_FAILED_ATTEMPT = {
    "job": "Build and push image (avika-frontend)",
    "step": timeline.BUILD_PUSH,
    "message": "failed to solve: node:22-alpine: 429 Too Many Requests",
}

SANDBOX_MODELS = (
    ReleaseAsset,
    Release,
    ImageTag,
    Manifest,
    WorkflowRun,
    Workflow,
    Ref,
    Commit,
    Fault,
    RateWindow,
)


@transaction.atomic
def reset() -> None:
    """Throw away everything and seed again; armed faults are cleared too."""
    for model in SANDBOX_MODELS:
        model.objects.all().delete()
    seed()


def seed_if_empty(**_kwargs: object) -> None:
    """post_migrate hook: a fresh database gets a ready sandbox."""
    if not Commit.objects.exists():
        seed()


def commit_file(path: str, text: str, message: str, author: str = "hellodk") -> Commit:
    """Commit a change to master, e.g. a workflow file with other inputs."""
    return git.commit(
        parent=git.head(), message=message, changes={path: text}, author=_author(author)
    )


def image_tags(image: str) -> dict[str, str]:
    """tag -> digest of one image, for tests."""
    repository = f"{images.NAMESPACE}/{image}"
    return {
        t.name: t.manifest.digest
        for t in ImageTag.objects.filter(repository=repository).select_related(
            "manifest"
        )
    }
