"""The console's pages, seen by each persona.

GitHub is replaced at the client module (`releases.views.client_for`) by a
fake that answers like the real client; releases are made directly as rows.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import semver
from django.urls import reverse
from django.utils import timezone

from releases.ghclient import ConnectionInfo, GitHubError
from releases.models import Artifact, Heartbeat, Project, RegistryStatus, Release
from releases.planning import ReleaseContext
from releases.workflow import WorkflowInput

AVIKA_INPUTS = [
    WorkflowInput(
        name="bump_type",
        type="choice",
        description="Which part of VERSION to bump",
        required=True,
        default="auto",
        options=["auto", "patch", "minor", "major"],
    ),
    WorkflowInput(name="prerelease", description="Pre-release suffix, e.g. rc.1"),
]


class FakeGitHub:
    """Answers like `releases.ghclient.GitHubClient` for the pages' questions."""

    def __init__(self, *, version: str = "1.110.0", error: str = "") -> None:
        self.version = version
        self.error = error
        self.commits = ["feat: gateway speaks HTTP/3", "fix: agent reconnects"]
        self.tags = {"v1.109.0", "v1.110.0"}

    def release_context(self) -> ReleaseContext:
        if self.error:
            raise GitHubError(self.error)
        return ReleaseContext(
            current_version=semver.Version.parse(self.version),
            inputs=AVIKA_INPUTS,
            head_sha="c0ffee1234567890c0ffee1234567890c0ffee12",
            last_tag=f"v{self.version}",
            commits_since_last_tag=self.commits,
            tags=frozenset(self.tags),
        )

    def current_version(self) -> str:
        return str(self.release_context().current_version)

    def connection_info(self) -> ConnectionInfo:
        if self.error:
            raise GitHubError(self.error)
        return ConnectionInfo(
            api_url="https://api.github.com",
            login="avika-release-bot",
            rate_limit=5000,
            rate_remaining=4321,
            rate_reset=timezone.now() + timedelta(minutes=20),
        )


@pytest.fixture
def github(monkeypatch) -> FakeGitHub:
    fake = FakeGitHub()
    monkeypatch.setattr("releases.views.client_for", lambda project: fake)
    monkeypatch.setattr("releases.ghclient.client_for", lambda project: fake)
    return fake


def make_release(project: Project, version: str, state: str, **fields) -> Release:
    fields.setdefault("tag", f"v{version}")
    return Release.objects.create(
        project=project, version=version, state=state, **fields
    )


def iso(minutes_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


def run_jobs(*, failing: bool = False) -> list[dict]:
    build_steps = [
        {
            "name": "Set up job",
            "number": 1,
            "status": "completed",
            "conclusion": "success",
            "started_at": iso(3),
            "completed_at": iso(2.9),
        },
        {
            "name": "Build gateway",
            "number": 2,
            "status": "completed" if failing else "in_progress",
            "conclusion": "failure" if failing else None,
            "started_at": iso(2.9),
            "completed_at": iso(1) if failing else None,
        },
        {
            "name": "Upload assets",
            "number": 3,
            "status": "completed" if failing else "queued",
            "conclusion": "skipped" if failing else None,
            "started_at": None,
            "completed_at": None,
        },
    ]
    return [
        {
            "id": 1,
            "name": "bump-version",
            "status": "completed",
            "conclusion": "success",
            "started_at": iso(5),
            "completed_at": iso(3.5),
            "html_url": "https://github.com/hellodk/avika/actions/runs/7/job/1",
            "steps": [],
        },
        {
            "id": 2,
            "name": "build-binaries",
            "status": "completed" if failing else "in_progress",
            "conclusion": "failure" if failing else None,
            "started_at": iso(3),
            "completed_at": iso(1) if failing else None,
            "html_url": "https://github.com/hellodk/avika/actions/runs/7/job/2",
            "steps": build_steps,
        },
    ]


# Sign in ---------------------------------------------------------------------


def test_login_page_renders_with_sandbox_banner(client, db, settings):
    settings.SANDBOX = True
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content
    assert b"Sandbox mode" in response.content


def test_wrong_password_is_named(client, maintainer):
    response = client.post(reverse("login"), {"username": "maya", "password": "no"})
    assert b"do not match" in response.content


def test_pages_need_sign_in(client, db):
    for url in [reverse("new_release"), reverse("system"), "/releases/1/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_signed_out_poll_sends_the_whole_page_to_sign_in(client, db):
    """A session that ends while a release page polls must not swap the
    sign-in form into the page: htmx is told to load the sign-in page, which
    brings the reader back to where they were."""
    response = client.get(
        "/releases/7/",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver/releases/7/",
        },
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/releases/7/"
    assert response.content == b""


# Dashboard -------------------------------------------------------------------


def test_dashboard_shows_version_start_button_and_releases(
    client, maintainer, project, github
):
    make_release(project, "1.110.0", "published", requested_by=maintainer)
    client.force_login(maintainer)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "1.110.0" in page
    assert "Start a release" in page
    assert 'class="chip tone-good">published' in page
    assert "maya" in page
    assert '<time datetime="' in page


def test_reviewer_sees_no_start_button(client, reviewer, project, github):
    client.force_login(reviewer)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"Start a release" not in response.content
    assert b"New release" not in response.content


def test_dashboard_shows_github_error_in_place(client, maintainer, project, github):
    github.error = "GitHub answered 503: Service unavailable"
    client.force_login(maintainer)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"GitHub answered 503: Service unavailable" in response.content


def test_dashboard_says_when_there_is_no_project(client, maintainer, db, github):
    Project.objects.all().delete()
    client.force_login(maintainer)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"No project yet" in response.content


def test_dashboard_puts_running_and_fresh_failures_first(
    client, maintainer, project, github
):
    make_release(project, "1.108.0", "published")
    make_release(project, "1.109.0", "failed")  # superseded by later releases
    make_release(project, "1.110.0", "published")
    make_release(project, "1.111.0", "failed")  # the latest news
    make_release(project, "1.112.0", "running")
    client.force_login(maintainer)

    page = client.get(reverse("dashboard")).content.decode()

    versions = ["1.112.0", "1.111.0", "1.110.0", "1.109.0", "1.108.0"]
    order = [page.index(f"v{v}<") for v in versions]
    assert order == sorted(order)
    assert "<title>1 running, 2 failed · Releases" in page


def test_dashboard_empty_state_says_what_will_appear(
    client, maintainer, project, github
):
    client.force_login(maintainer)
    response = client.get(reverse("dashboard"))
    assert b"No releases yet" in response.content


def test_outsider_is_told_they_have_no_role(client, outsider, project, github):
    make_release(project, "1.110.0", "published")
    client.force_login(outsider)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"no role" in response.content
    assert b"v1.110.0" not in response.content


@pytest.mark.parametrize("count", [3, 30])
def test_dashboard_queries_do_not_grow_with_releases(
    client, maintainer, project, github, django_assert_num_queries, count
):
    for minor in range(count):
        make_release(project, f"1.{minor}.0", "published", requested_by=maintainer)
    client.force_login(maintainer)
    # session, user, user and group permissions, project, releases
    with django_assert_num_queries(6):
        client.get(reverse("dashboard"))


def test_dashboard_fragment_polls_while_a_release_runs(
    client, maintainer, project, github
):
    release = make_release(project, "1.111.0", "running")
    client.force_login(maintainer)

    response = client.get(reverse("dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'hx-trigger="every 5s"' in response.content
    assert b"<html" not in response.content

    release.advance("built")
    release.advance("draft")
    response = client.get(reverse("dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert b"hx-trigger" not in response.content


# Release page ----------------------------------------------------------------


def test_release_page_shows_header_inputs_and_jobs(client, maintainer, project):
    release = make_release(
        project,
        "1.111.0",
        "running",
        requested_by=maintainer,
        bump_inputs={"bump_type": "minor", "prerelease": ""},
        run_id=7,
        run_url="https://github.com/hellodk/avika/actions/runs/7",
        run_jobs=run_jobs(),
    )
    client.force_login(maintainer)

    response = client.get(release.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>v1.111.0 running · Avika Console</title>" in page
    assert "Started by <strong>maya</strong>" in page
    assert 'href="https://github.com/hellodk/avika/actions/runs/7"' in page
    assert "bump_type=minor" in page
    assert "build-binaries" in page
    assert "2. Build gateway" in page
    assert "1m 30s" in page  # bump-version ran from 5 to 3.5 minutes ago
    assert "step 2: Build gateway" in page
    assert 'hx-trigger="every 2s"' in page
    assert 'hx-get="/releases/' in page


def test_release_fragment_keeps_polling_while_running(client, maintainer, project):
    release = make_release(project, "1.111.0", "running", run_jobs=run_jobs())
    client.force_login(maintainer)

    response = client.get(release.get_absolute_url(), headers={"HX-Request": "true"})

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<title>v1.111.0 running")
    assert 'id="live"' in page
    assert "<nav" not in page


def test_final_release_fragment_stops_polling(client, maintainer, project):
    release = make_release(project, "1.111.0", "draft", run_jobs=run_jobs())
    client.force_login(maintainer)

    response = client.get(release.get_absolute_url(), headers={"HX-Request": "true"})

    assert response.status_code == 286
    assert b"v1.111.0 draft" in response.content
    assert b"hx-trigger" not in response.content


def test_a_poll_that_finds_a_new_state_reloads_the_whole_page(
    client, maintainer, project
):
    # The notes and publish sections outside the polled fragment change with
    # the state: a running page that sees its draft appear is reloaded whole.
    release = make_release(project, "1.111.0", "running", run_jobs=run_jobs())
    client.force_login(maintainer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert f'hx-get="/releases/{release.pk}/?shown=running"' in page

    poll = release.get_absolute_url() + "?shown=running"
    same = client.get(poll, headers={"HX-Request": "true"})
    assert same.status_code == 200
    assert "HX-Refresh" not in same

    Release.objects.filter(pk=release.pk).update(state="draft")
    moved = client.get(poll, headers={"HX-Request": "true"})
    assert moved["HX-Refresh"] == "true"


def test_failed_release_names_job_step_and_reason(client, maintainer, project):
    release = make_release(
        project,
        "1.111.0",
        "failed",
        run_jobs=run_jobs(failing=True),
        failure_reason="go: module lookup disabled by GOPROXY=off",
    )
    client.force_login(maintainer)

    page = client.get(release.get_absolute_url()).content.decode()

    assert "build-binaries failed at step 2, “Build gateway”" in page
    assert "go: module lookup disabled by GOPROXY=off" in page
    assert "<title>v1.111.0 failed" in page
    assert 'hx-trigger="every 2s"' not in page


def test_release_without_run_says_what_will_appear(client, maintainer, project):
    release = make_release(project, "1.111.0", "requested")
    client.force_login(maintainer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "appear here as soon as GitHub starts the run" in page
    assert "appear here once the workflow has created it" in page


def test_release_page_lists_assets(client, maintainer, project):
    release = make_release(project, "1.111.0", "draft")
    Artifact.objects.create(
        release=release,
        name="gateway-linux-amd64",
        kind="binary",
        size=31_457_280,
        verification="verified",
    )
    Artifact.objects.create(
        release=release,
        name="checksums.txt",
        kind="checksums",
        size=900,
        verification="mismatch",
        verification_detail="sha256 differs from checksums.txt",
    )
    client.force_login(maintainer)

    page = client.get(release.get_absolute_url()).content.decode()

    assert "gateway-linux-amd64" in page
    assert "30.0\xa0MB" in page
    assert 'tone-good">verified' in page
    assert "sha256 differs from checksums.txt" in page


@pytest.mark.parametrize("count", [1, 20])
def test_release_page_queries_do_not_grow_with_assets(
    client, maintainer, project, django_assert_num_queries, count
):
    release = make_release(project, "1.111.0", "draft", run_jobs=run_jobs())
    for n in range(count):
        Artifact.objects.create(release=release, name=f"asset-{n}", size=n)
    client.force_login(maintainer)
    # session, user, user and group permissions, release, artifacts,
    # checklist, image tags; the notes section's current revision; the
    # publish panel: standing and all approvals, notes revision, verified
    # digests and pinned tags (the evidence), the highest published
    # version (the latest rule, for GitHub and the tags)
    with django_assert_num_queries(16):
        client.get(release.get_absolute_url())


def test_reviewer_and_auditor_may_read_a_release(client, reviewer, auditor, project):
    release = make_release(project, "1.111.0", "draft")
    for person in (reviewer, auditor):
        client.force_login(person)
        assert client.get(release.get_absolute_url()).status_code == 200


def test_outsider_may_not_read_a_release(client, outsider, project):
    release = make_release(project, "1.111.0", "draft")
    client.force_login(outsider)
    response = client.get(release.get_absolute_url())
    assert response.status_code == 403
    assert b"needs a role" in response.content


def test_unknown_release_is_404(client, maintainer, db):
    client.force_login(maintainer)
    assert client.get(reverse("release", args=[999])).status_code == 404


# New release -------------------------------------------------------------------


def test_reviewer_may_not_start_a_release(client, reviewer, project, github):
    client.force_login(reviewer)

    assert client.get(reverse("new_release")).status_code == 403
    response = client.post(reverse("new_release"), {"bump_type": "minor"})

    assert response.status_code == 403
    assert b"needs the Maintainers role" in response.content
    assert not Release.objects.exists()


def test_new_release_form_is_built_from_the_declared_inputs(
    client, maintainer, project, github
):
    client.force_login(maintainer)
    page = client.get(reverse("new_release")).content.decode()
    assert 'name="bump_type"' in page
    assert 'name="prerelease"' in page
    assert "Which part of VERSION to bump" in page
    assert 'hx-target="#preview"' in page


def test_preview_shows_the_exact_next_version(client, maintainer, project, github):
    client.force_login(maintainer)
    response = client.get(
        reverse("new_release"),
        {"bump_type": "minor", "prerelease": "rc.1"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<aside id="preview"')
    assert "1.111.0-rc.1" in page
    assert "prerelease=rc.1" in page


def test_preview_works_without_javascript(client, maintainer, project, github):
    client.force_login(maintainer)
    response = client.get(reverse("new_release"), {"bump_type": "major"})
    page = response.content.decode()
    assert "<html" in page
    assert "2.0.0" in page


def test_the_no_script_preview_posts_and_keeps_the_token_out_of_the_address(
    client, maintainer, project, github
):
    client.force_login(maintainer)
    page = client.get(reverse("new_release")).content.decode()
    assert 'formmethod="get"' not in page
    assert 'name="preview"' in page

    response = client.post(
        reverse("new_release"), {"bump_type": "major", "prerelease": "", "preview": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2.0.0" in page
    assert "Start release" not in page  # still the form, not the confirm step
    assert not Release.objects.exists()


def test_new_release_page_reads_version_afresh_like_the_dashboard(
    client, maintainer, project, github
):
    client.force_login(maintainer)
    client.get(reverse("new_release"), {"bump_type": "minor"})
    github.version = "1.111.0"  # a release merged, or the sandbox was reset

    dashboard = client.get(reverse("dashboard")).content.decode()
    page = client.get(reverse("new_release"), {"bump_type": "minor"})
    typed = client.get(
        reverse("new_release"),
        {"bump_type": "patch"},
        headers={"HX-Request": "true"},
    )

    assert "1.111.0" in dashboard
    assert "1.112.0" in page.content.decode()
    assert "1.111.1" in typed.content.decode()


@pytest.mark.parametrize(
    ("choices", "problem"),
    [
        ({"bump_type": "minor", "prerelease": "rc 1"}, "is not a pre-release suffix"),
        ({"bump_type": "auto", "prerelease": ""}, "nothing releasable"),
    ],
)
def test_preview_names_the_problem(
    client, maintainer, project, github, choices, problem
):
    if choices["bump_type"] == "auto":
        github.commits = ["docs: typo", "chore: bump deps"]
    client.force_login(maintainer)
    response = client.get(
        reverse("new_release"), choices, headers={"HX-Request": "true"}
    )
    assert problem in response.content.decode()


def test_preview_names_an_existing_tag(client, maintainer, project, github):
    github.tags.add("v1.111.0")
    client.force_login(maintainer)
    response = client.get(reverse("new_release"), {"bump_type": "minor"})
    assert "The tag v1.111.0 already exists" in response.content.decode()


def test_unreadable_version_is_named(client, maintainer, project, github):
    github.error = "VERSION holds 'one', which is not a semantic version such as 1.2.3."
    client.force_login(maintainer)
    response = client.get(reverse("new_release"))
    assert response.status_code == 502
    assert "not a semantic version" in response.content.decode()


def test_continue_shows_the_confirm_step(client, maintainer, project, github):
    client.force_login(maintainer)

    response = client.post(
        reverse("new_release"), {"bump_type": "minor", "prerelease": ""}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "You are about to release" in page
    assert "v1.111.0" in page
    assert '<input type="hidden" name="expected_version" value="1.111.0">' in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    assert not Release.objects.exists()


def test_confirm_starts_the_release(client, maintainer, project, github):
    client.force_login(maintainer)

    response = client.post(
        reverse("new_release"),
        {
            "bump_type": "minor",
            "prerelease": "",
            "confirmed": "1",
            "expected_version": "1.111.0",
        },
    )

    release = Release.objects.get()
    assert response.status_code == 302
    assert response["Location"] == release.get_absolute_url()
    assert release.version == "1.111.0"
    assert release.requested_by == maintainer
    assert release.bump_inputs == {"bump_type": "minor", "prerelease": ""}


def test_confirm_step_comes_back_when_the_version_moved(
    client, maintainer, project, github
):
    github.version = "1.111.0"  # someone released while we looked
    client.force_login(maintainer)

    response = client.post(
        reverse("new_release"),
        {"bump_type": "minor", "confirmed": "1", "expected_version": "1.111.0"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The next version changed" in page
    assert "1.112.0" in page
    assert not Release.objects.exists()


def test_release_in_progress_is_named_and_linked(client, maintainer, project, github):
    running = make_release(project, "1.111.0", "running")
    client.force_login(maintainer)

    page = client.get(reverse("new_release")).content.decode()
    assert "A release is already in progress" in page
    assert f'href="{running.get_absolute_url()}"' in page

    response = client.post(
        reverse("new_release"),
        {"bump_type": "patch", "confirmed": "1", "expected_version": "1.110.1"},
    )
    assert response.status_code == 409
    assert Release.objects.count() == 1


def test_preview_reloads_the_page_once_a_release_is_in_flight(
    client, maintainer, project, github
):
    make_release(project, "1.111.0", "dispatched")
    client.force_login(maintainer)
    response = client.get(
        reverse("new_release"), {"bump_type": "minor"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Refresh"] == "true"


def test_refusal_from_the_action_is_shown(
    client, maintainer, project, github, monkeypatch
):
    from releases.actions import ReleaseRefused

    def refuse(**kwargs):
        raise ReleaseRefused("Another release was started a moment ago.")

    monkeypatch.setattr("releases.views.request_release", refuse)
    client.force_login(maintainer)
    response = client.post(
        reverse("new_release"),
        {"bump_type": "minor", "confirmed": "1", "expected_version": "1.111.0"},
    )
    assert response.status_code == 409
    assert b"Another release was started a moment ago." in response.content


# System ------------------------------------------------------------------------


def test_system_page_shows_connection_worker_and_mode(
    client, outsider, project, github, settings
):
    settings.SANDBOX = True
    Heartbeat.beat()
    client.force_login(outsider)

    page = client.get(reverse("system")).content.decode()

    assert "avika-release-bot" in page
    assert "4321 of 5000" in page
    assert 'tone-good">alive' in page
    assert 'tone-waiting">sandbox' in page


def test_system_page_shows_github_error_and_silent_worker(
    client, maintainer, project, github
):
    github.error = "GitHub refused the token (401 Bad credentials)."
    client.force_login(maintainer)

    response = client.get(reverse("system"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "401 Bad credentials" in page
    assert 'tone-bad">not running' in page
    assert "needs attention" in page


def test_system_page_says_rate_limited_not_unreachable(
    client, maintainer, project, github, monkeypatch
):
    from releases.ghclient import RateLimited

    def limited() -> None:
        raise RateLimited("GitHub's rate limit is used up until 07:36:59 UTC.", None)

    monkeypatch.setattr(github, "connection_info", limited)
    client.force_login(maintainer)
    page = client.get(reverse("system")).content.decode()
    assert 'tone-waiting">rate-limited' in page
    assert "unreachable" not in page
    assert "used up until 07:36:59 UTC" in page


def _limited_registry(until_seconds: int) -> None:
    now = timezone.now()
    RegistryStatus.objects.create(
        registry="https://registry.example",
        limit=100,
        remaining=0,
        window_seconds=21600,
        observed_at=now,
        limited_until=now + timedelta(seconds=until_seconds),
        limited_count=1,
        last_error="registry.example rate-limits us (429): pull limit",
    )


@pytest.mark.parametrize("page", ["system", "images"])
def test_a_back_off_under_a_minute_counts_its_seconds(
    client, maintainer, project, github, page
):
    _limited_registry(40)
    client.force_login(maintainer)

    text = client.get(reverse(page)).content.decode()

    assert not re.search(r"until <time[^>]*>just now", text)
    assert re.search(r"until <time[^>]*>[^<]*\(in (39|40) seconds\)</time>", text)


@pytest.mark.parametrize("page", ["system", "images"])
def test_a_back_off_that_has_passed_says_the_next_inspection_asks(
    client, maintainer, project, github, page
):
    _limited_registry(-90)
    client.force_login(maintainer)

    text = client.get(reverse(page)).content.decode()

    assert "nothing is asked until" not in text
    assert "the next inspection asks the registry again" in text
    assert 'tone-waiting">rate-limited' in text


def test_healthz_needs_no_sign_in(client, db):
    assert client.get(reverse("healthz")).json()["status"] == "ok"


def test_csrf_failure_page_says_what_happened(maintainer, project):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(maintainer)
    response = strict.post(reverse("new_release"), {"bump_type": "minor"})
    assert response.status_code == 403
    assert b"Form expired" in response.content
    assert not Release.objects.exists()


def test_error_page_renders_without_a_request(db):
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")


def test_favicon_ico_leads_to_the_console_svg_icon(client, maintainer, project, github):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    icon = Path(finders.find("favicon.svg")).read_text()
    assert icon.startswith("<svg")
    assert icon.rstrip().endswith("</svg>")
    client.force_login(maintainer)
    page = client.get(reverse("dashboard")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
