"""Each fault the console must survive, produced on demand."""

from __future__ import annotations

import time

import github
import pytest
import requests
from django.core.management import CommandError, call_command

from sandbox import faults, seed
from sandbox.models import Fault, WorkflowRun
from tests.sandbox.conftest import LIVE
from tests.sandbox.helpers import checksum_lines, draft_of, release_now, sha256

pytestmark = LIVE


def _runs_count() -> int:
    return WorkflowRun.objects.count()


def test_failed_job_fails_the_run_at_its_step_and_makes_no_release(repo):
    faults.arm("failed-job")
    run = repo.get_workflow_run(release_now(repo).id)

    assert (run.status, run.conclusion) == ("completed", "failure")
    jobs = {j.name: j for j in run.jobs()}
    failed = jobs["Build and push image (avika-agent)"]
    assert failed.conclusion == "failure"
    step = next(s for s in failed.steps if s.conclusion == "failure")
    assert step.name == "Run docker/build-push-action@v6"
    assert jobs["Create release"].conclusion == "skipped"
    assert jobs["Build binaries (linux, amd64)"].conclusion == "success"
    assert [r.tag_name for r in repo.get_releases()][0] == "v1.110.0"


def test_failed_job_can_name_another_job_and_step(repo):
    faults.arm("failed-job", job="Package Helm chart", step="Package chart")
    run = repo.get_workflow_run(release_now(repo).id)
    failed = next(j for j in run.jobs() if j.conclusion == "failure")
    assert failed.name == "Package Helm chart"
    assert [s.name for s in failed.steps if s.conclusion == "failure"] == [
        "Package chart"
    ]


def test_faults_apply_once(repo):
    faults.arm("failed-job")
    release_now(repo)
    second = repo.get_workflow_run(release_now(repo).id)
    assert second.conclusion == "success"


def _assets(repo, http, version: str) -> dict[str, bytes]:
    found = {}
    for asset in draft_of(repo, version).get_assets():
        response = http.get(
            asset.url, headers={"Accept": "application/octet-stream"}, timeout=10
        )
        found[asset.name] = response.content
    return found


def test_bad_checksum_breaks_one_line(repo, http):
    faults.arm("bad-checksum")
    release_now(repo)
    files = _assets(repo, http, "1.111.0")
    sums = checksum_lines(files.pop("checksums.txt").decode())
    wrong = [name for name, data in files.items() if sums[name] != sha256(data)]
    assert wrong == ["gateway-linux-amd64"]


def test_missing_asset_is_neither_uploaded_nor_summed(repo, http):
    faults.arm("missing-asset")
    release_now(repo)
    files = _assets(repo, http, "1.111.0")
    assert "agent-darwin-arm64" not in files
    assert len(files) == 9  # 7 binaries, the chart, checksums.txt
    assert "agent-darwin-arm64" not in checksum_lines(files["checksums.txt"].decode())


def test_missing_arm64_leaves_one_index_short(repo, live_server):
    faults.arm("missing-arm64")
    release_now(repo)
    registry = f"{live_server.url}/sandbox/registry"
    platforms = {}
    for image in ("avika-gateway", "avika-agent"):
        name = f"hellodk/{image}"
        token = requests.get(
            f"{registry}/token",
            params={"scope": f"repository:{name}:pull", "service": "sandbox-registry"},
            timeout=10,
        ).json()["token"]
        index = requests.get(
            f"{registry}/v2/{name}/manifests/1.111.0",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.oci.image.index.v1+json",
            },
            timeout=10,
        ).json()
        platforms[image] = sorted(
            m["platform"]["architecture"]
            for m in index["manifests"]
            if m["platform"]["os"] != "unknown"
        )
    assert platforms == {"avika-gateway": ["amd64", "arm64"], "avika-agent": ["amd64"]}


def test_dispatch_error_creates_no_run(repo):
    before = _runs_count()
    faults.arm("dispatch-error")
    with pytest.raises(github.GithubException) as failure:
        release_now(repo)
    assert failure.value.status == 502
    assert _runs_count() == before


def test_dispatch_error_can_be_a_json_500(repo):
    faults.arm("dispatch-error", status=500)
    with pytest.raises(github.GithubException) as failure:
        release_now(repo)
    assert failure.value.status == 500
    assert failure.value.data["message"] == "Server Error"


def test_dispatch_timeout_still_creates_the_run(api):
    faults.arm("dispatch-timeout")
    before = _runs_count()
    slow = github.Github(
        base_url=api,
        auth=github.Auth.Token("sandbox-token"),
        retry=None,
        timeout=1,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    workflow = slow.get_repo("hellodk/avika").get_workflow("release.yml")
    with pytest.raises(requests.exceptions.Timeout):
        workflow.create_dispatch("master", {"bump_type": "auto"}, throw=True)
    assert _runs_count() == before + 1
    time.sleep(1.2)  # let the hanging request finish before the database goes


def test_no_run_details_answers_204_like_enterprise_server(repo):
    faults.arm("no-run-details")
    answer = release_now(repo)
    assert answer is True
    latest = WorkflowRun.objects.latest("pk")
    assert latest.actor == "avika-bot"


def _bind(repo, highest_before: int):
    """The console's fallback: first newer dispatch run by our user on master."""
    runs = repo.get_workflow("release.yml").get_runs(
        event="workflow_dispatch", branch="master", actor="avika-bot"
    )
    return min((r for r in runs if r.id > highest_before), key=lambda r: r.id)


def test_concurrent_run_is_newer_than_ours(repo):
    highest = repo.get_workflow("release.yml").get_runs()[0].id
    faults.arm("concurrent-run")
    ours = release_now(repo)
    newest = repo.get_workflow("release.yml").get_runs()[0]
    assert newest.actor.login == "someone-else"
    assert newest.id > ours.id
    assert _bind(repo, highest).id == ours.id


def test_concurrent_run_before_ours_is_also_newer_than_the_mark(repo):
    highest = repo.get_workflow("release.yml").get_runs()[0].id
    faults.arm("concurrent-run-before")
    faults.arm("no-run-details")
    release_now(repo)
    newer = [r for r in repo.get_workflow("release.yml").get_runs() if r.id > highest]
    assert [r.actor.login for r in sorted(newer, key=lambda r: r.id)] == [
        "someone-else",
        "avika-bot",
    ]
    assert _bind(repo, highest).actor.login == "avika-bot"


def test_foreign_runs_leave_no_release_behind(repo):
    faults.arm("concurrent-run")
    release_now(repo)
    tags = [r.tag_name for r in repo.get_releases()]
    assert tags[:2] == ["v1.111.0", "v1.110.0"]


def test_rate_limit_fault_answers_403_then_lifts(repo, http, api):
    faults.arm("rate-limit")
    with pytest.raises(github.RateLimitExceededException):
        repo.get_branch("master")
    response = http.get(f"{api}/repos/hellodk/avika", timeout=10)
    assert response.status_code == 403
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    assert response.json()["message"].startswith("API rate limit exceeded")
    time.sleep(1.1)
    assert http.get(f"{api}/repos/hellodk/avika", timeout=10).status_code == 200


def test_command_arms_and_lists_faults(db, capsys):
    call_command(
        "sandbox", "fault", "missing-asset", "--option", "asset=gateway-darwin-amd64"
    )
    call_command("sandbox", "status")
    out = capsys.readouterr().out
    assert "missing-asset" in out
    assert "gateway-darwin-amd64" in out
    assert Fault.objects.get().options == {"asset": "gateway-darwin-amd64"}


def test_command_refuses_an_unknown_fault(db):
    with pytest.raises(CommandError, match="valid faults: bad-checksum"):
        call_command("sandbox", "fault", "meteor")


def test_reset_restores_the_seed_and_clears_faults(db):
    faults.arm("failed-job")
    seed.commit_file("VERSION", "9.9.9\n", "chore: wrong version")
    call_command("sandbox", "reset")
    assert not Fault.objects.exists()
    from sandbox import git

    assert git.head().files["VERSION"] == "1.110.0\n"
