"""Release notes in a real browser: the live preview, and two reviewers
saving the same notes."""

import pytest
from playwright.sync_api import expect

from releases import notes
from releases.models import Release
from tests.test_views import make_release

pytestmark = pytest.mark.browser


@pytest.fixture
def draft(project) -> Release:
    release = make_release(project, "1.111.0", "draft", github_release_id=41)
    notes.adopt_github_body(
        release,
        "## What's Changed\n\n### Features\n"
        "* gateway speaks HTTP/3 by @hellodk in "
        "https://github.com/hellodk/avika/pull/12\n\n"
        "**Full Changelog**: "
        "https://github.com/hellodk/avika/compare/v1.110.0...v1.111.0",
    )
    return release


def test_reviewer_edits_notes_and_sees_a_table_in_the_live_preview(
    page, sign_in, shoot, reviewer, draft
):
    sign_in("rene")
    page.goto(draft.get_absolute_url())
    editor = page.get_by_label("Markdown")
    expect(editor).to_be_visible()
    editor.fill(
        "## Images\n\n| image | size |\n|---|---|\n| avika-gateway | 42 MB |\n\n"
        "- [x] checksums verified\n- [ ] chart\n\n<script>alert(1)</script>"
    )
    preview = page.locator("#notes-preview")
    expect(preview.locator("table td").first).to_have_text("avika-gateway")
    expect(preview.locator("input[type=checkbox]")).to_have_count(2)
    expect(preview.locator("script")).to_have_count(0)
    expect(page.locator("#notes-count")).to_contain_text("of 125,000 characters")
    shoot("notes-editor")

    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("Saved revision 2.")).to_be_visible()
    expect(page.locator("#notes-preview table td").first).to_have_text("avika-gateway")
    assert notes.current_revision(draft).number == 2

    page.get_by_role("link", name="History (2)").click()
    expect(page.get_by_role("heading", name="Revision 1 → revision 2")).to_be_visible()
    shoot("notes-history")


def test_second_of_two_reviewers_saving_the_same_notes_sees_the_conflict(
    page, browser, live_server, sign_in, shoot, reviewer, maintainer, draft
):
    other = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    try:
        maya = other.new_page()
        maya.goto("/login/")
        maya.get_by_label("User name").fill("maya")
        maya.get_by_label("Password").fill("pw-maya")
        maya.get_by_role("button", name="Sign in").click()
        maya.wait_for_url("**/")
        maya.goto(draft.get_absolute_url())

        sign_in("rene")
        page.goto(draft.get_absolute_url())

        maya.get_by_label("Markdown").fill("Maya's notes: gateway speaks HTTP/3.")
        maya.get_by_role("button", name="Save notes").click()
        expect(maya.get_by_text("Saved revision 2.")).to_be_visible()

        page.get_by_label("Markdown").fill("Rene's notes: agent reconnects.")
        page.get_by_role("button", name="Save notes").click()
    finally:
        other.close()

    expect(
        page.get_by_role("heading", name="Someone else saved the notes")
    ).to_be_visible()
    expect(page.locator("pre[data-text=theirs]")).to_have_text(
        "Maya's notes: gateway speaks HTTP/3."
    )
    expect(page.locator("pre[data-text=mine]")).to_have_text(
        "Rene's notes: agent reconnects."
    )
    expect(page.locator("pre.diff .diff-add")).to_contain_text("Rene's notes")
    expect(page.locator("pre.diff .diff-del")).to_contain_text("Maya's notes")
    assert draft.revisions.count() == 2
    shoot("notes-conflict")

    page.get_by_role("button", name="Keep mine").click()
    expect(page.get_by_text("Saved revision 3.")).to_be_visible()
    assert notes.current_revision(draft).body == "Rene's notes: agent reconnects."


def test_auditor_reads_rendered_notes_without_any_editing_control(
    page, sign_in, shoot, auditor, draft
):
    sign_in("aude")
    page.goto(draft.get_absolute_url())
    notes_section = page.locator("#notes")
    expect(notes_section.get_by_role("heading", name="What's Changed")).to_be_visible()
    pull = notes_section.get_by_role("link", name="hellodk/avika/pull/12")
    expect(pull).to_have_attribute("href", "https://github.com/hellodk/avika/pull/12")
    expect(page.locator("textarea")).to_have_count(0)
    expect(page.get_by_role("button", name="Regenerate from GitHub")).to_have_count(0)
    expect(page.get_by_role("button", name="Save notes")).to_have_count(0)
    shoot("notes-read-only")


def test_a_published_release_whose_push_fails_offers_push_again(
    page, sign_in, shoot, github_sandbox, maintainer, project
):
    release = make_release(project, "1.110.0", "published", github_release_id=999)
    notes.adopt_github_body(release, "## What's Changed\n\n* the old text")
    sign_in("maya")
    page.goto(release.get_absolute_url())
    page.get_by_label("Markdown").fill("## What's Changed\n\n* the new text")
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("Not on GitHub: GitHub answered 404")).to_be_visible()
    expect(page.get_by_role("button", name="Push again")).to_be_visible()
    shoot("notes-push-failed")
    assert notes.current_revision(release).body == "## What's Changed\n\n* the new text"
