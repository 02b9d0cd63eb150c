"""/sandbox/: simulated GitHub API, storage host, registry and Docker Hub."""

from django.urls import include, path, re_path

from sandbox.views import github, hub, registry, releases, ui

REPO = "repos/<str:owner>/<str:repo>/"

repo_patterns = [
    path("", github.repository),
    path("branches/<path:name>", github.branch),
    path("contents/", github.contents),
    path("contents/<path:path>", github.contents),
    path("commits", github.commits),
    path("commits/<str:ref>/status", github.combined_status),
    path("commits/<str:ref>/check-runs", github.check_runs),
    path("commits/<str:ref>", github.commit),
    path("compare/<path:basehead>", github.compare),
    path("tags", github.tags),
    path("git/ref/<path:ref>", github.git_ref),
    path("git/refs", github.git_refs),
    path("git/refs/<path:ref>", github.git_refs),
    path("actions/workflows", github.workflows),
    path("actions/workflows/<str:workflow_id>", github.workflow),
    path("actions/workflows/<str:workflow_id>/dispatches", github.create_dispatch),
    path("actions/workflows/<str:workflow_id>/runs", github.workflow_runs),
    path("actions/runs", github.runs),
    path("actions/runs/<int:run_id>", github.run),
    path("actions/runs/<int:run_id>/jobs", github.run_jobs),
    path("releases", releases.releases),
    path("releases/generate-notes", releases.generate_notes),
    path("releases/latest", releases.latest_release),
    path("releases/tags/<path:tag>", releases.release_by_tag),
    path("releases/assets/<int:asset_id>", releases.asset),
    path("releases/<int:release_id>", releases.release),
    path("releases/<int:release_id>/assets", releases.release_assets),
]

ui_patterns = [
    path("<str:owner>/<str:repo>/actions/runs/<int:run_id>", ui.run),
    path("<str:owner>/<str:repo>/actions/runs/<int:run_id>/job/<int:job_id>", ui.run),
    path("<str:owner>/<str:repo>/releases/tag/<path:tag>", ui.release),
    path("<str:owner>/<str:repo>/releases/download/<str:tag>/<str:name>", ui.download),
    path("<path:path>", ui.page),
]

urlpatterns = [
    path("github/user", github.user),
    path("github/rate_limit", github.rate_limit),
    path(f"github/{REPO}", include(repo_patterns)),
    path(f"github/{REPO[:-1]}", github.repository),
    path("github/ui/", include(ui_patterns)),
    path("storage/<int:asset_id>/<str:name>", releases.storage),
    path("registry/token", registry.token),
    path("registry/v2/", registry.base),
    re_path(
        r"^registry/v2/(?P<name>[a-z0-9._/-]+)/manifests/(?P<reference>[^/]+)$",
        registry.manifest,
    ),
    re_path(r"^registry/v2/(?P<name>[a-z0-9._/-]+)/tags/list$", registry.tags_list),
    path(
        "hub/v2/namespaces/<str:namespace>/repositories/<str:repository>/tags",
        hub.tags,
    ),
    # Anything else under the API answers as GitHub does: JSON, not a page.
    re_path(r"^github/(?!ui/)", github.unknown_path),
]
