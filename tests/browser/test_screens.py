"""The screens in a real browser: roles, live progress, CSP-clean pages."""

import pytest
from playwright.sync_api import expect

from releases.models import Artifact, Release
from tests.test_views import FakeGitHub, make_release, run_jobs

pytestmark = pytest.mark.browser


@pytest.fixture
def github(monkeypatch) -> FakeGitHub:
    fake = FakeGitHub()
    monkeypatch.setattr("releases.views.client_for", lambda project: fake)
    monkeypatch.setattr("releases.ghclient.client_for", lambda project: fake)
    return fake


def test_reviewer_sees_no_start_button_and_may_not_post(
    page, sign_in, shoot, reviewer, project, github
):
    sign_in("rene")

    expect(page.get_by_role("heading", name="Avika")).to_be_visible()
    expect(page.get_by_text("Start a release")).to_have_count(0)
    expect(page.get_by_role("link", name="New release")).to_have_count(0)
    shoot("dashboard-reviewer")

    response = page.request.post(
        "/releases/new/",
        form={"bump_type": "minor", "confirmed": "1", "expected_version": "1.111.0"},
        headers={"X-CSRFToken": csrf_token(page)},
    )
    assert response.status == 403
    assert "needs the Maintainers role" in response.text()
    assert not Release.objects.exists()

    page.goto("/releases/new/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shoot("forbidden")


def test_maintainer_sees_dashboard_and_a_release_with_jobs(
    page, sign_in, shoot, maintainer, project, github
):
    make_release(project, "1.109.0", "published", requested_by=maintainer)
    make_release(
        project,
        "1.110.0",
        "failed",
        requested_by=maintainer,
        run_jobs=run_jobs(failing=True),
        failure_reason="build-binaries: Build gateway exited with status 1",
    )
    release = make_release(
        project,
        "1.111.0-rc.1",
        "running",
        requested_by=maintainer,
        bump_inputs={"bump_type": "minor", "prerelease": "rc.1"},
        run_id=7,
        run_url="https://github.com/hellodk/avika/actions/runs/7",
        run_jobs=run_jobs(),
    )
    sign_in("maya")

    expect(page.get_by_role("button", name="Start a release")).to_be_visible()
    expect(page).to_have_title("1 running, 1 failed · Releases · Avika Console")
    rows = page.locator("table.releases tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("v1.111.0-rc.1")
    expect(rows.nth(1)).to_contain_text("failed")
    shoot("dashboard-maintainer")

    page.get_by_role("link", name="v1.111.0-rc.1").click()
    expect(page).to_have_title("v1.111.0-rc.1 running · Avika Console")
    expect(page.get_by_text("build-binaries")).to_be_visible()
    expect(page.get_by_text("2. Build gateway")).to_be_visible()
    shoot("release-running")

    # The run ends while the page is open: polling brings the final state
    # and the assets, then stops.
    release.advance("built", run_jobs=run_jobs(failing=False))
    release.advance("draft")
    Artifact.objects.create(
        release=release,
        name="gateway-linux-amd64",
        kind="binary",
        size=31_000_000,
        verification="verified",
    )
    expect(page).to_have_title("v1.111.0-rc.1 draft · Avika Console", timeout=8000)
    expect(page.get_by_text("gateway-linux-amd64")).to_be_visible()
    expect(page.locator("#live[hx-trigger]")).to_have_count(0)
    shoot("release-draft")

    page.goto(Release.objects.get(version="1.110.0").get_absolute_url())
    expect(page.get_by_role("alert")).to_contain_text("build-binaries failed at step 2")
    shoot("release-failed")


def csrf_token(page) -> str:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies["csrftoken"]


def test_maintainer_previews_confirms_and_lands_on_the_release(
    page, sign_in, shoot, maintainer, project, github
):
    sign_in("maya")
    page.get_by_role("button", name="Start a release").click()
    expect(page).to_have_title("New release · Avika Console")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("ask for minor: 1.110.0 → 1.111.0")

    page.get_by_label("bump_type").select_option("major")
    expect(preview.locator(".version")).to_have_text("2.0.0")
    page.get_by_label("prerelease").fill("rc 1")
    expect(preview.get_by_role("alert")).to_contain_text("not a pre-release suffix")
    shoot("new-release-problem")
    page.get_by_label("prerelease").fill("rc.1")
    expect(preview.locator(".version")).to_have_text("2.0.0-rc.1")
    expect(preview).to_contain_text("prerelease=rc.1")
    shoot("new-release-preview")

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="2.0.0-rc.1")).to_be_visible()
    expect(page.locator(".inputs-table")).to_contain_text("bump_type")
    shoot("confirm")

    page.get_by_role("button", name="Start release v2.0.0-rc.1").click()
    expect(page).to_have_title("v2.0.0-rc.1 requested · Avika Console")
    expect(page.get_by_text("Release v2.0.0-rc.1 requested.")).to_be_visible()
    release = Release.objects.get()
    assert release.bump_inputs == {"bump_type": "major", "prerelease": "rc.1"}
    assert page.url.endswith(release.get_absolute_url())
    shoot("release-requested")


def test_system_page_and_sign_in(page, sign_in, shoot, outsider, project, github):
    page.goto("/login/")
    shoot("login")
    sign_in("otto")
    expect(page.get_by_text("no role in the console")).to_be_visible()
    shoot("dashboard-no-role")
    page.get_by_role("link", name="System").click()
    expect(page.get_by_text("avika-release-bot")).to_be_visible()
    expect(page).to_have_title("System · needs attention · Avika Console")
    shoot("system")


def test_github_trouble_and_a_release_in_flight_are_said_in_place(
    page, sign_in, shoot, maintainer, project, github
):
    github.error = "GitHub answered 503: Service unavailable (while reading VERSION)."
    sign_in("maya")
    expect(page.locator(".project-version")).to_contain_text("GitHub answered 503")
    shoot("dashboard-github-down")

    page.get_by_role("button", name="Start a release").click()
    expect(page.get_by_role("alert")).to_contain_text("GitHub answered 503")
    shoot("new-release-github-down")

    running = make_release(project, "1.111.0", "running", requested_by=maintainer)
    page.reload()
    expect(page.get_by_text("A release is already in progress")).to_be_visible()
    shoot("new-release-in-flight")
    page.get_by_role("link", name="v1.111.0").click()
    assert page.url.endswith(running.get_absolute_url())


def test_htmx_adds_no_inline_style_and_the_indicator_is_ours(
    page, sign_in, maintainer, project, github
):
    sign_in("maya")
    for url in ["/", "/releases/new/", "/images/", "/system/"]:
        page.goto(url)
        assert page.evaluate("typeof htmx") == "object"
        # htmx's own indicator styles are an inline <style>: the CSP would
        # refuse it with a console error, which the page fixture fails on.
        assert page.locator("head style").count() == 0, url
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend',"
        " '<span id=probe class=htmx-indicator>…</span>')"
    )
    probe = page.locator("#probe")
    expect(probe).to_have_css("opacity", "0")
    probe.evaluate("e => e.classList.add('htmx-request')")
    expect(probe).to_have_css("opacity", "1")
    response = page.goto("/favicon.ico")
    assert response.ok
    assert "svg" in response.headers["content-type"]
