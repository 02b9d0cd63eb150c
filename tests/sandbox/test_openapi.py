"""Sandbox answers validated against GitHub's own OpenAPI description.

The description is OpenAPI 3.0 (`nullable`), so each schema is turned into
plain JSON Schema first. Extracting the schemas from the 70 MB file takes a
few seconds: the result is kept in pytest's cache, keyed by the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings

from sandbox.models import WorkflowRun

SPEC = (
    Path(settings.BASE_DIR)
    / "node_modules/@octokit/openapi/generated/api.github.com.deref.json"
)
REPO = "/repos/{owner}/{repo}"
# name -> (path, method, status)
OPERATIONS = {
    "private-user": ("/user", "get", "200"),
    "rate-limit-overview": ("/rate_limit", "get", "200"),
    "full-repository": (REPO, "get", "200"),
    "branch-with-protection": (f"{REPO}/branches/{{branch}}", "get", "200"),
    "content": (f"{REPO}/contents/{{path}}", "get", "200"),
    "commits": (f"{REPO}/commits", "get", "200"),
    "commit": (f"{REPO}/commits/{{ref}}", "get", "200"),
    "commit-comparison": (f"{REPO}/compare/{{basehead}}", "get", "200"),
    "tags": (f"{REPO}/tags", "get", "200"),
    "git-ref": (f"{REPO}/git/ref/{{ref}}", "get", "200"),
    "workflows": (f"{REPO}/actions/workflows", "get", "200"),
    "workflow": (f"{REPO}/actions/workflows/{{workflow_id}}", "get", "200"),
    "workflow-dispatch-response": (
        f"{REPO}/actions/workflows/{{workflow_id}}/dispatches",
        "post",
        "200",
    ),
    "workflow-runs": (f"{REPO}/actions/runs", "get", "200"),
    "workflow-run": (f"{REPO}/actions/runs/{{run_id}}", "get", "200"),
    "jobs": (f"{REPO}/actions/runs/{{run_id}}/jobs", "get", "200"),
    "releases": (f"{REPO}/releases", "get", "200"),
    "release": (f"{REPO}/releases/{{release_id}}", "get", "200"),
    "release-asset": (f"{REPO}/releases/assets/{{asset_id}}", "get", "200"),
    "release-notes-content": (f"{REPO}/releases/generate-notes", "post", "200"),
    "combined-commit-status": (f"{REPO}/commits/{{ref}}/status", "get", "200"),
    "check-runs": (f"{REPO}/commits/{{ref}}/check-runs", "get", "200"),
}
DROPPED = {
    "nullable",
    "example",
    "examples",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
}

A = "/sandbox/github/repos/hellodk/avika"
BOT = {"HTTP_AUTHORIZATION": "token sandbox-token"}


def to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in DROPPED}
    if not node.get("nullable"):
        return out
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def _extract() -> dict:
    spec = json.loads(SPEC.read_text())
    schemas = {}
    for name, (path, method, status) in OPERATIONS.items():
        content = spec["paths"][path][method]["responses"][status]["content"]
        schemas[name] = to_json_schema(content["application/json"]["schema"])
    # /user answers one of two shapes; the token's own user is the private one.
    schemas["private-user"] = schemas["private-user"]["oneOf"][0]
    return schemas


@pytest.fixture(scope="session")
def schemas(request) -> dict:
    if not SPEC.exists():
        pytest.skip("npm package @octokit/openapi is not installed (make assets)")
    stat = SPEC.stat()
    key = f"sandbox/openapi/{stat.st_size}-{int(stat.st_mtime)}"
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    cached = cache.get(key, None) if cache else None
    if cached is None:
        cached = _extract()
        if cache:
            cache.set(key, cached)
    return cached


def check(schemas, name: str, data) -> None:
    jsonschema.Draft4Validator(schemas[name]).validate(data)


def test_to_json_schema_turns_nullable_into_null():
    converted = to_json_schema({"type": "string", "nullable": True})
    assert converted == {"type": ["string", "null"]}
    jsonschema.validate(None, converted)


@pytest.mark.django_db
def test_repository_user_and_limits(client, schemas):
    check(schemas, "private-user", client.get("/sandbox/github/user", **BOT).json())
    check(
        schemas,
        "rate-limit-overview",
        client.get("/sandbox/github/rate_limit", **BOT).json(),
    )
    check(schemas, "full-repository", client.get(A, **BOT).json())
    check(schemas, "full-repository", client.get(A).json())
    check(
        schemas,
        "branch-with-protection",
        client.get(f"{A}/branches/master", **BOT).json(),
    )


@pytest.mark.django_db
def test_git_data(client, schemas):
    check(
        schemas,
        "content",
        client.get(f"{A}/contents/VERSION", {"ref": "v1.109.0"}).json(),
    )
    check(schemas, "content", client.get(f"{A}/contents/.github/workflows").json())
    check(schemas, "commits", client.get(f"{A}/commits", {"sha": "master"}).json())
    check(schemas, "commit", client.get(f"{A}/commits/master").json())
    check(
        schemas,
        "commit-comparison",
        client.get(f"{A}/compare/v1.109.0...master").json(),
    )
    check(schemas, "tags", client.get(f"{A}/tags").json())
    check(schemas, "git-ref", client.get(f"{A}/git/ref/tags/v1.110.0").json())
    check(
        schemas,
        "combined-commit-status",
        client.get(f"{A}/commits/master/status").json(),
    )
    check(schemas, "check-runs", client.get(f"{A}/commits/master/check-runs").json())


def _dispatch(client) -> dict:
    body = {
        "ref": "master",
        "inputs": {"bump_type": "auto"},
        "return_run_details": True,
    }
    response = client.post(
        f"{A}/actions/workflows/release.yml/dispatches",
        json.dumps(body),
        content_type="application/json",
        **BOT,
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_actions(client, schemas, settings):
    settings.SANDBOX_RUN_SECONDS = 0
    created = _dispatch(client)
    check(schemas, "workflow-dispatch-response", created)
    run = f"{A}/actions/runs/{created['workflow_run_id']}"
    check(schemas, "workflows", client.get(f"{A}/actions/workflows").json())
    check(schemas, "workflow", client.get(f"{A}/actions/workflows/release.yml").json())
    check(
        schemas,
        "workflow-runs",
        client.get(f"{A}/actions/runs", {"per_page": 100}).json(),
    )
    check(schemas, "workflow-run", client.get(run, **BOT).json())
    check(schemas, "jobs", client.get(f"{run}/jobs", **BOT).json())


@pytest.mark.django_db
def test_running_and_failed_runs(client, schemas, settings):
    from sandbox import faults

    settings.SANDBOX_RUN_SECONDS = 100
    faults.arm("failed-job")
    created = _dispatch(client)
    gid = created["workflow_run_id"]
    run = WorkflowRun.objects.get(pk=WorkflowRun.pk_from_gid(gid))
    for _ in range(2):
        url = f"{A}/actions/runs/{gid}"
        check(schemas, "workflow-run", client.get(url, **BOT).json())
        check(schemas, "jobs", client.get(f"{url}/jobs", **BOT).json())
        # Half-way, then the end.
        WorkflowRun.objects.filter(pk=run.pk).update(
            started_at=run.started_at - (run.finishes_at - run.started_at) / 2
        )


@pytest.mark.django_db
def test_releases(client, schemas, settings):
    settings.SANDBOX_RUN_SECONDS = 0
    _dispatch(client)
    listing = client.get(f"{A}/releases", **BOT).json()
    check(schemas, "releases", listing)
    draft = listing[0]
    assert draft["draft"]
    check(schemas, "release", client.get(f"{A}/releases/{draft['id']}", **BOT).json())
    asset = client.get(f"{A}/releases/assets/{draft['assets'][0]['id']}", **BOT).json()
    check(schemas, "release-asset", asset)
    notes = client.post(
        f"{A}/releases/generate-notes",
        json.dumps({"tag_name": "v1.111.0", "previous_tag_name": "v1.110.0"}),
        content_type="application/json",
        **BOT,
    )
    check(schemas, "release-notes-content", notes.json())


@pytest.mark.django_db
def test_the_schemas_do_catch_a_wrong_answer(client, schemas):
    repository = client.get(A).json()
    del repository["default_branch"]
    with pytest.raises(jsonschema.ValidationError):
        check(schemas, "full-repository", repository)
