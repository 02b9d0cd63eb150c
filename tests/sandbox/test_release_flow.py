"""The whole release flow through PyGithub: dispatch, run, draft, publish."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import github
import pytest
import requests

from sandbox.models import WorkflowRun
from tests.sandbox.conftest import LIVE
from tests.sandbox.helpers import checksum_lines, draft_of, release_now, sha256

pytestmark = LIVE

EXPECTED_JOBS = [
    "Bump version",
    "Build binaries (linux, amd64)",
    "Build binaries (linux, arm64)",
    "Build binaries (darwin, amd64)",
    "Build binaries (darwin, arm64)",
    "Build and push image (avika-gateway)",
    "Build and push image (avika-frontend)",
    "Build and push image (avika-agent)",
    "Package Helm chart",
    "Create release",
]
BINARIES = [
    f"{c}-{os}-{arch}"
    for c in ("gateway", "agent")
    for os in ("linux", "darwin")
    for arch in ("amd64", "arm64")
]


def test_the_bot_token_belongs_to_avika_bot(gh):
    assert gh.get_user().login == "avika-bot"


def test_seeded_repository_is_at_1_110_0(repo):
    assert repo.default_branch == "master"
    version = repo.get_contents("VERSION", ref="master")
    assert version.decoded_content == b"1.110.0\n"
    assert repo.get_latest_release().tag_name == "v1.110.0"
    assert [r.tag_name for r in repo.get_releases()] == [
        "v1.110.0",
        "v1.109.0",
        "v1.108.0",
    ]


def test_contents_read_at_a_tag(repo):
    old = repo.get_contents("VERSION", ref="v1.109.0")
    assert old.decoded_content.strip() == b"1.109.0"
    changelog = repo.get_contents("CHANGELOG.md").decoded_content.decode()
    assert "## [1.110.0]" in changelog


def test_dispatch_returns_the_run_it_created(repo):
    run = release_now(repo)

    assert run.id == WorkflowRun.objects.latest("pk").gid
    assert urlsplit(run.url).path.endswith(f"/actions/runs/{run.id}")
    run.update()
    assert run.event == "workflow_dispatch"
    assert run.head_branch == "master"
    assert run.actor.login == "avika-bot"
    assert run.triggering_actor.login == "avika-bot"
    assert (run.status, run.conclusion) == ("completed", "success")


def test_run_numbers_and_ids_increase(repo):
    first, second = release_now(repo), release_now(repo, bump_type="patch")
    first.update()
    second.update()
    assert second.id > first.id
    assert second.run_number == first.run_number + 1


def test_jobs_have_steps_and_times(repo):
    run = repo.get_workflow_run(release_now(repo).id)
    jobs = list(run.jobs())
    assert [j.name for j in jobs] == EXPECTED_JOBS
    for job in jobs:
        assert job.status == "completed"
        assert job.conclusion == "success"
        assert job.steps[0].name == "Set up job"
        assert job.steps[-1].name == "Complete job"
        assert job.started_at <= job.completed_at


def test_finished_run_leaves_a_draft_with_every_asset(repo):
    release_now(repo)

    draft = draft_of(repo, "1.111.0")
    assert draft.draft
    assert not draft.prerelease
    assert draft.name == "Avika v1.111.0"
    names = sorted(a.name for a in draft.get_assets())
    assert names == sorted([*BINARIES, "avika-1.111.0.tgz", "checksums.txt"])
    assert "feat(gateway): per-route rate limiting" in draft.body
    assert "**Full Changelog**" in draft.body
    assert "v1.110.0...v1.111.0" in draft.body


def test_draft_is_not_found_by_tag(repo):
    release_now(repo)
    with pytest.raises(github.UnknownObjectException):
        repo.get_release("v1.111.0")


def test_release_commit_and_tag_exist_after_the_run(repo):
    release_now(repo)
    tag = repo.get_git_ref("tags/v1.111.0")
    commit = repo.get_commit(tag.object.sha)
    assert commit.commit.message == "chore(release): v1.111.0"
    assert draft_of(repo, "1.111.0").target_commitish == tag.object.sha
    assert repo.get_branch("master").commit.sha == tag.object.sha
    version = repo.get_contents("VERSION", ref="v1.111.0").decoded_content
    assert version == b"1.111.0\n"


def test_prerelease_suffix_makes_a_prerelease(repo):
    release_now(repo, prerelease="rc.1")
    draft = draft_of(repo, "1.111.0-rc.1")
    assert draft.prerelease


def test_explicit_bump_wins_over_commits(repo):
    release_now(repo, bump_type="major")
    assert draft_of(repo, "2.0.0").draft


def test_anonymous_callers_see_no_drafts(repo, api):
    release_now(repo)
    anonymous = requests.get(f"{api}/repos/hellodk/avika/releases", timeout=10)
    assert [r["tag_name"] for r in anonymous.json()] == [
        "v1.110.0",
        "v1.109.0",
        "v1.108.0",
    ]
    draft_id = draft_of(repo, "1.111.0").id
    hidden = requests.get(f"{api}/repos/hellodk/avika/releases/{draft_id}", timeout=10)
    assert hidden.status_code == 404


def test_asset_download_redirects_to_another_host(repo, http):
    release_now(repo)
    asset = next(
        a
        for a in draft_of(repo, "1.111.0").get_assets()
        if a.name == "gateway-linux-amd64"
    )

    response = http.get(
        asset.url,
        headers={"Accept": "application/octet-stream"},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).hostname != urlsplit(asset.url).hostname
    assert urlsplit(location).port == urlsplit(asset.url).port
    data = requests.get(location, timeout=10)
    assert data.headers["Content-Length"] == str(asset.size)
    assert f"sha256:{sha256(data.content)}" == asset.digest


def test_storage_refuses_a_leaked_token(repo, http):
    release_now(repo)
    asset = draft_of(repo, "1.111.0").get_assets()[0]
    response = http.get(
        asset.url,
        headers={"Accept": "application/octet-stream"},
        allow_redirects=False,
        timeout=10,
    )
    leaked = requests.get(
        response.headers["Location"],
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=10,
    )
    assert leaked.status_code == 400


def test_requests_drops_the_token_when_following_the_redirect(repo, http):
    release_now(repo)
    asset = draft_of(repo, "1.111.0").get_assets()[0]
    response = http.get(
        asset.url, headers={"Accept": "application/octet-stream"}, timeout=10
    )
    assert response.status_code == 200
    assert len(response.content) == asset.size


def test_checksums_match_the_assets(repo, http):
    release_now(repo)
    assets = {a.name: a for a in draft_of(repo, "1.111.0").get_assets()}
    sums = _download(http, assets.pop("checksums.txt")).decode()
    assert checksum_lines(sums) == {
        name: sha256(_download(http, asset)) for name, asset in assets.items()
    }


def _download(http, asset) -> bytes:
    response = http.get(
        asset.url, headers={"Accept": "application/octet-stream"}, timeout=10
    )
    response.raise_for_status()
    return response.content


def test_publishing_creates_the_tag_and_makes_it_latest(repo):
    release_now(repo)
    draft = draft_of(repo, "1.111.0")

    published = draft.update_release(
        name=draft.name,
        message=draft.body,
        draft=False,
        prerelease=False,
        make_latest="true",
    )

    assert not published.draft
    assert published.published_at is not None
    assert repo.get_release("v1.111.0").id == draft.id
    assert repo.get_latest_release().id == draft.id


def test_make_latest_false_keeps_the_old_latest(repo):
    release_now(repo)
    draft = draft_of(repo, "1.111.0")
    draft.update_release(
        name=draft.name,
        message=draft.body,
        draft=False,
        prerelease=False,
        make_latest="false",
    )
    assert repo.get_latest_release().tag_name == "v1.110.0"


def test_published_release_refuses_new_assets(repo, http):
    release_now(repo)
    draft = draft_of(repo, "1.111.0")
    draft.update_release(
        name=draft.name,
        message=draft.body,
        draft=False,
        prerelease=False,
        make_latest="true",
    )
    upload = http.post(
        f"{draft.url}/assets?name=extra.txt",
        data=b"late",
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert upload.status_code == 422
    assert upload.json()["message"] == "Cannot upload assets to an immutable release"


def test_notes_edit_keeps_the_draft_when_asked(repo):
    release_now(repo)
    draft = draft_of(repo, "1.111.0")
    edited = draft.update_release(
        name=draft.name, message="Edited notes", draft=True, prerelease=False
    )
    assert edited.draft
    assert edited.body == "Edited notes"


def test_generated_notes_group_commits_between_tags(repo):
    notes = repo.generate_release_notes("v1.111.0", previous_tag_name="v1.110.0")
    assert notes.name == "v1.111.0"
    assert notes.body.startswith("## What's Changed")
    assert "### New Features" in notes.body
    assert "fix(agent): reconnect after a gateway restart" in notes.body
    assert "docs: document the Helm values" in notes.body
    assert notes.body.rstrip().endswith("/compare/v1.110.0...v1.111.0")


def test_compare_lists_commits_since_the_last_tag(repo):
    comparison = repo.compare("v1.110.0", "master")
    assert comparison.status == "ahead"
    assert [c.commit.message.split(" (#")[0] for c in comparison.commits] == [
        "feat(gateway): per-route rate limiting",
        "fix(agent): reconnect after a gateway restart",
        "docs: document the Helm values",
    ]


def test_master_head_is_green_through_check_runs(repo):
    head = repo.get_branch("master").commit
    combined = head.get_combined_status()
    assert (combined.state, combined.total_count) == ("pending", 0)
    checks = list(head.get_check_runs())
    assert checks
    assert {c.conclusion for c in checks} == {"success"}


def test_tags_list_newest_version_first(repo):
    assert [t.name for t in repo.get_tags()][:3] == ["v1.110.0", "v1.109.0", "v1.108.0"]


def test_workflow_file_declares_the_inputs(repo):
    text = base64.b64decode(
        repo.get_contents(".github/workflows/release.yml").content
    ).decode()
    assert "bump_type:" in text
    assert "prerelease:" in text
    assert "concurrency:" in text


def test_pygithub_follows_link_pagination(api):
    small_pages = github.Github(
        base_url=api,
        auth=github.Auth.Token("sandbox-token"),
        retry=None,
        per_page=4,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    repo = small_pages.get_repo("hellodk/avika")
    runs = repo.get_workflow_runs()
    ids = [r.id for r in runs]
    assert len(ids) == runs.totalCount == WorkflowRun.objects.count()
    assert ids == sorted(ids, reverse=True)
    assert len(list(repo.get_commits())) > 4


def test_concurrent_requests_materialise_a_run_once(repo, api, http):
    from concurrent.futures import ThreadPoolExecutor

    release_now(repo)  # finished at once; its effects wait for the next request
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(
                lambda _: http.get(f"{api}/repos/hellodk/avika", timeout=20), range(6)
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert [r.tag_name for r in repo.get_releases()].count("v1.111.0") == 1
    assert [t.name for t in repo.get_tags()].count("v1.111.0") == 1


def test_pygithub_download_asset_refuses_the_storage_host(repo):
    """PyGithub only follows redirects within its base host's domain, so the
    console downloads assets with requests (which drops the token)."""
    release_now(repo)
    asset = draft_of(repo, "1.111.0").get_assets()[0]
    with pytest.raises(AssertionError):
        asset.download_asset(chunk_size=65536)
