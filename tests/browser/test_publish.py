"""A maintainer publishes a verified draft in a real browser; the sandbox
then has it published with exactly the notes the page showed."""

import pytest
from playwright.sync_api import expect

from releases import actions
from releases.models import Release
from sandbox.models import Release as GitHubRelease
from tests.test_release_flow import plan_for

pytestmark = pytest.mark.browser


def test_maintainer_publishes_a_verified_draft(
    page, sign_in, shoot, maintainer, project, github_sandbox
):
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    body = release.revisions.get().body
    assert body

    sign_in("maya")
    page.goto(release.get_absolute_url())
    panel = page.locator("section.publish")
    expect(panel.locator(".publish-facts")).to_contain_text("passes")
    expect(panel.locator(".publish-facts")).to_contain_text("becomes Latest")
    expect(panel.locator(".revision")).to_have_text("1")
    shoot("publish-panel")

    panel.get_by_role("button", name="Publish…").click()
    expect(page.get_by_role("heading", name="v1.111.0")).to_be_visible()
    expect(page.locator("pre.notes-body")).to_contain_text(body.splitlines()[0])
    shoot("publish-confirm")
    page.get_by_role("button", name="Publish v1.111.0").click()

    expect(page).to_have_title("v1.111.0 published · Avika Console")
    expect(page.locator(".messages")).to_contain_text("v1.111.0 is published.")
    published = page.locator("section.publish")
    expect(published.locator(".published-by")).to_contain_text("Published by maya")
    expect(published.locator(".published-by")).to_contain_text("Latest")
    published.locator("details.notes-preview summary").click()
    expect(published.locator("pre.notes-body")).to_contain_text(body.splitlines()[0])
    shoot("published")

    remote = GitHubRelease.objects.get(tag_name="v1.111.0")
    assert remote.draft is False
    assert remote.is_latest is True
    assert remote.body == body
    release.refresh_from_db()
    assert release.state == Release.State.PUBLISHED
    assert release.published_by == maintainer


def test_reviewer_approves_and_the_panel_counts_it(
    page, sign_in, shoot, maintainer, reviewer, project, github_sandbox
):
    project.required_approvals = 1
    project.save()
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    sign_in("rene")
    page.goto(release.get_absolute_url())
    panel = page.locator("section.publish")
    expect(panel.locator(".approvals")).to_contain_text("0 of 1")
    expect(panel.locator(".blockers")).to_contain_text("1 more needed")
    expect(panel.get_by_role("button", name="Publish…")).to_have_count(0)
    panel.get_by_role("button", name="Approve revision 1").click()

    expect(page.locator(".messages")).to_contain_text("You approved v1.111.0.")
    expect(panel.locator(".approvals")).to_contain_text("1 of 1")
    expect(panel.locator(".approver")).to_contain_text("rene")
    expect(panel.locator(".blockers")).to_have_count(0)
    shoot("publish-approved")
