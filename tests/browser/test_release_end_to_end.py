"""A maintainer releases for real against the sandbox: the whole chain from
the form to the draft's assets, watched in the browser."""

import pytest
from playwright.sync_api import expect

from releases.models import Release

pytestmark = pytest.mark.browser


def test_maintainer_starts_a_minor_release_and_watches_it_to_a_draft(
    page, sign_in, shoot, maintainer, project, worker
):
    sign_in("maya")
    expect(page.locator(".project-version .version")).to_have_text("1.110.0")

    page.get_by_role("button", name="Start a release").click()
    page.get_by_label("bump_type").select_option("minor")
    expect(page.locator("#preview .version")).to_have_text("1.111.0")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="1.111.0")).to_be_visible()
    page.get_by_role("button", name="Start release v1.111.0").click()

    expect(page).to_have_title("v1.111.0 running · Avika Console", timeout=15_000)
    expect(page.locator("li.job").first).to_be_visible(timeout=15_000)
    shoot("e2e-running")

    expect(page).to_have_title("v1.111.0 draft · Avika Console", timeout=40_000)
    assets = page.locator(".assets tbody tr")
    expect(assets.filter(has_text="checksums.txt")).to_have_count(1)
    expect(assets.filter(has_text="gateway-linux-amd64")).to_have_count(1)
    expect(page.locator("#live[hx-trigger]")).to_have_count(0)
    shoot("e2e-draft")

    release = Release.objects.get(version="1.111.0")
    assert release.state == Release.State.DRAFT
    assert release.requested_by == maintainer
    assert release.bump_inputs == {"bump_type": "minor", "prerelease": ""}
