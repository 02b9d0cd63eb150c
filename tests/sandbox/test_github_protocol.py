"""HTTP behaviour of the simulated GitHub API: auth, limits, caching,
pagination, validation and a run's progress over time.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sandbox import repo_files, seed
from sandbox.models import WorkflowRun

pytestmark = pytest.mark.django_db

REPO = "/sandbox/github/repos/hellodk/avika"
BOT = {"HTTP_AUTHORIZATION": "token sandbox-token"}
DISPATCH = f"{REPO}/actions/workflows/release.yml/dispatches"


def dispatch(client, body: dict, auth: dict = BOT):
    return client.post(
        DISPATCH, json.dumps(body), content_type="application/json", **auth
    )


def test_unknown_token_is_bad_credentials(client):
    response = client.get("/sandbox/github/user", HTTP_AUTHORIZATION="token nope")
    assert response.status_code == 401
    body = response.json()
    assert body["message"] == "Bad credentials"
    assert body["status"] == "401"
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert response["X-RateLimit-Limit"] == "60"


def test_anonymous_may_read_but_not_dispatch(client):
    assert client.get(REPO).status_code == 200
    response = dispatch(client, {"ref": "master"}, auth={})
    assert response.status_code == 401
    assert response.json()["message"] == "Requires authentication"


def test_other_repositories_are_not_found(client):
    response = client.get("/sandbox/github/repos/hellodk/other", **BOT)
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_rate_limit_counts_down_per_token(client):
    first = client.get(REPO, **BOT)
    second = client.get(f"{REPO}/tags", **BOT)
    assert first["X-RateLimit-Limit"] == "5000"
    assert (
        int(second["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1
    )
    assert int(second["X-RateLimit-Used"]) == int(first["X-RateLimit-Used"]) + 1
    assert second["X-RateLimit-Resource"] == "core"
    anonymous = client.get(REPO)
    assert anonymous["X-RateLimit-Limit"] == "60"


def test_matching_etag_is_304_and_free(client):
    run_id = WorkflowRun.objects.filter(workflow__name="Release").first().gid
    url = f"{REPO}/actions/runs/{run_id}"
    first = client.get(url, **BOT)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"], **BOT)
    assert again.status_code == 304
    assert again["X-RateLimit-Remaining"] == first["X-RateLimit-Remaining"]
    assert again.content == b""


def test_rate_limit_overview_does_not_count(client):
    client.get(REPO, **BOT)
    one = client.get("/sandbox/github/rate_limit", **BOT).json()
    two = client.get("/sandbox/github/rate_limit", **BOT).json()
    assert (
        one["resources"]["core"]["remaining"] == two["resources"]["core"]["remaining"]
    )
    assert one["rate"] == one["resources"]["core"]


def test_lists_paginate_with_absolute_links(client):
    response = client.get(f"{REPO}/actions/runs", {"per_page": 5}, **BOT)
    body = response.json()
    assert len(body["workflow_runs"]) == 5
    assert body["total_count"] > 5
    link = response["Link"]
    assert "<http://testserver/sandbox/github/repos/hellodk/avika/actions/runs?" in link
    assert 'page=2>; rel="next"' in link
    assert 'rel="last"' in link


def test_runs_filter_by_event_and_actor(client):
    runs = client.get(
        f"{REPO}/actions/runs",
        {"event": "workflow_dispatch", "actor": "hellodk"},
        **BOT,
    ).json()["workflow_runs"]
    assert runs
    assert {(r["event"], r["actor"]["login"]) for r in runs} == {
        ("workflow_dispatch", "hellodk")
    }
    assert {r["name"] for r in runs} == {"Release"}


def test_seeded_history_keeps_a_failed_attempt(client):
    runs = client.get(
        f"{REPO}/actions/workflows/release.yml/runs", {"status": "failure"}, **BOT
    ).json()
    assert runs["total_count"] == 1


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"bump_type": "huge"},
            "Provided value 'huge' for input 'bump_type' not in the list of allowed values",
        ),
        ({"bump": "minor"}, 'Unexpected inputs provided: ["bump"]'),
        ({f"x{i}": "1" for i in range(26)}, "you may only define up to 25 `inputs`"),
    ],
)
def test_dispatch_validates_inputs_like_github(client, inputs, message):
    before = WorkflowRun.objects.count()
    response = dispatch(client, {"ref": "master", "inputs": inputs})
    assert response.status_code == 422
    assert response.json()["message"].startswith(message)
    assert WorkflowRun.objects.count() == before


def test_dispatch_refuses_an_unknown_ref(client):
    response = dispatch(client, {"ref": "nope", "inputs": {}})
    assert response.status_code == 422
    assert response.json()["message"] == "No ref found for: nope"


def test_dispatch_without_run_details_is_204(client):
    response = dispatch(client, {"ref": "master", "inputs": {"bump_type": "minor"}})
    assert response.status_code == 204
    assert response.content == b""
    run = WorkflowRun.objects.latest("pk")
    assert run.inputs == {"bump_type": "minor", "prerelease": ""}


def test_old_single_version_input_is_accepted_when_declared(client):
    old = repo_files.LEGACY_RELEASE_WORKFLOW
    seed.commit_file(".github/workflows/release.yml", old, "ci: single version input")
    missing = dispatch(client, {"ref": "master", "inputs": {}})
    assert missing.json()["message"] == "Required input 'version' not provided"
    response = dispatch(
        client,
        {"ref": "master", "inputs": {"version": "1.120.0"}, "return_run_details": True},
    )
    assert response.status_code == 200
    client.get(REPO, **BOT)  # the run is over at once: materialise it
    tags = client.get(f"{REPO}/git/ref/tags/v1.120.0", **BOT)
    assert tags.status_code == 200


def _age(run_gid: int, seconds: float) -> None:
    """Pretend `seconds` have passed since the run was created."""
    run = WorkflowRun.objects.get(pk=WorkflowRun.pk_from_gid(run_gid))
    shift = timedelta(seconds=seconds)
    WorkflowRun.objects.filter(pk=run.pk).update(
        created_at=run.created_at - shift,
        started_at=run.started_at - shift,
        finishes_at=run.finishes_at - shift,
    )


def test_run_progresses_with_time(client, settings):
    settings.SANDBOX_RUN_SECONDS = 100
    created = dispatch(
        client,
        {"ref": "master", "inputs": {"bump_type": "auto"}, "return_run_details": True},
    ).json()
    url = f"{REPO}/actions/runs/{created['workflow_run_id']}"

    fresh = client.get(url, **BOT).json()
    assert (fresh["status"], fresh["conclusion"]) == ("queued", None)
    waiting = client.get(f"{url}/jobs", **BOT).json()["jobs"]
    assert [(j["name"], j["status"]) for j in waiting] == [("Bump version", "queued")]

    _age(created["workflow_run_id"], 30)
    middle = client.get(url, **BOT).json()
    jobs = client.get(f"{url}/jobs", **BOT).json()["jobs"]
    assert middle["status"] == "in_progress"
    assert middle["updated_at"] > middle["created_at"]
    assert jobs[0]["name"] == "Bump version"
    assert jobs[0]["conclusion"] == "success"
    assert {j["status"] for j in jobs[1:]} == {"in_progress"}
    assert len(jobs) == 9
    assert "Create release" not in [j["name"] for j in jobs]
    assert client.get(f"{REPO}/releases", **BOT).json()[0]["tag_name"] == "v1.110.0"

    _age(created["workflow_run_id"], 80)
    done = client.get(url, **BOT).json()
    assert (done["status"], done["conclusion"]) == ("completed", "success")
    assert client.get(f"{REPO}/releases", **BOT).json()[0]["tag_name"] == "v1.111.0"


def test_concurrency_group_keeps_the_second_run_pending(client, settings):
    settings.SANDBOX_RUN_SECONDS = 100
    body = {
        "ref": "master",
        "inputs": {"bump_type": "auto"},
        "return_run_details": True,
    }
    first = dispatch(client, body).json()["workflow_run_id"]
    second = dispatch(client, body).json()["workflow_run_id"]
    third = dispatch(client, body).json()["workflow_run_id"]
    status = {
        run: client.get(f"{REPO}/actions/runs/{run}", **BOT).json()
        for run in (first, second, third)
    }
    assert status[first]["status"] == "queued"
    assert (status[second]["status"], status[second]["conclusion"]) == (
        "completed",
        "cancelled",
    )
    assert status[third]["status"] == "pending"


def test_effects_are_applied_once(client):
    dispatch(client, {"ref": "master", "inputs": {"bump_type": "auto"}})
    for _ in range(3):
        client.get(REPO, **BOT)
    releases = client.get(f"{REPO}/releases", **BOT).json()
    assert [r["tag_name"] for r in releases].count("v1.111.0") == 1


def test_asset_json_and_redirect(client):
    dispatch(client, {"ref": "master", "inputs": {"bump_type": "auto"}})
    draft = client.get(f"{REPO}/releases", **BOT).json()[0]
    asset = draft["assets"][0]
    assert asset["digest"].startswith("sha256:")
    path = asset["url"].removeprefix("http://testserver")
    redirect = client.get(path, HTTP_ACCEPT="application/octet-stream", **BOT)
    assert redirect.status_code == 302
    assert redirect["Location"].startswith("http://127.0.0.1/sandbox/storage/")


def test_a_workflow_without_dispatch_trigger_is_refused(client):
    url = f"{REPO}/actions/workflows/ci.yml/dispatches"
    response = client.post(
        url, json.dumps({"ref": "master"}), content_type="application/json", **BOT
    )
    assert response.status_code == 422
    assert (
        response.json()["message"]
        == "Workflow does not have 'workflow_dispatch' trigger"
    )


def test_dispatch_on_a_tag_runs_at_that_tag(client):
    body = {
        "ref": "v1.110.0",
        "inputs": {"bump_type": "patch"},
        "return_run_details": True,
    }
    created = dispatch(client, body).json()
    run = client.get(f"{REPO}/actions/runs/{created['workflow_run_id']}", **BOT).json()
    assert run["head_branch"] == "v1.110.0"
    assert run["conclusion"] == "success"


def test_html_pages_for_a_run_and_a_release(client):
    created = dispatch(
        client,
        {"ref": "master", "inputs": {"bump_type": "auto"}, "return_run_details": True},
    ).json()
    page = client.get(created["html_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    assert b"Create release" in page.content
    draft = client.get(f"{REPO}/releases", **BOT).json()[0]
    page = client.get(draft["html_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    assert b"checksums.txt" in page.content
    published = client.get(f"{REPO}/releases/latest").json()
    download = published["assets"][0]["browser_download_url"]
    redirect = client.get(download.removeprefix("http://testserver"))
    assert redirect.status_code == 302
    assert "/sandbox/storage/" in redirect["Location"]


def test_unknown_api_path_answers_json_404_like_github(client, db):
    response = client.get("/sandbox/github/repos/hellodk/avika/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"] == "Not Found"
