"""Verification seen in a real browser against the sandbox: the checklist
goes green by itself after a release, a fault shows red with its reason, and
an overwritten tag shows red on the images page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releases import actions
from releases.models import Release
from sandbox import faults
from sandbox import images as sandbox_images
from tests.test_release_flow import plan_for

pytestmark = pytest.mark.browser


@pytest.fixture
def run_seconds() -> float:
    return 4


def test_the_checklist_goes_green_after_verification(
    page, sign_in, shoot, maintainer, project, worker
):
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    sign_in("maya")
    page.goto(release.get_absolute_url())

    chip = page.locator("#checklist-title .chip")
    expect(chip).to_have_text("all pass", timeout=40_000)
    checks = page.locator("li.check")
    expect(checks).to_have_count(8)
    expect(checks.filter(has_text="✕")).to_have_count(0)
    expect(page.locator("li.check[data-key='checksums']")).to_contain_text(
        "each matches checksums.txt and GitHub's digest"
    )
    expect(page.locator(".assets tbody tr").first).to_contain_text("verified")
    expect(page.locator("#live[hx-trigger]")).to_have_count(0)  # polling stopped
    shoot("checklist-green")
    release.refresh_from_db()
    assert release.checks_state == Release.Checks.DONE


def test_a_wrong_checksum_is_red_with_both_values(
    page, sign_in, shoot, maintainer, project, github_sandbox
):
    faults.arm("bad-checksum")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    sign_in("maya")
    page.goto(release.get_absolute_url())

    item = page.locator("li.check[data-key='checksums']")
    expect(item).to_have_class("check tone-text-bad")
    expect(item).to_contain_text("gateway-linux-amd64: checksums.txt says")
    row = page.locator(".assets tr[data-asset='gateway-linux-amd64']")
    expect(row.locator(".chip")).to_have_text("mismatch")
    bad = release.artifacts.get(name="gateway-linux-amd64")
    expect(row).to_contain_text(bad.expected_sha256)
    expect(row).to_contain_text(bad.computed_sha256)
    shoot("checklist-bad-checksum")


def test_the_images_page_shows_an_overwritten_tag_in_red(
    page, sign_in, shoot, auditor, project, github_sandbox
):
    actions.sync_project(project)  # imports and verifies the seeded releases
    sign_in("aude")
    page.get_by_role("link", name="Images").click()
    expect(page).to_have_title("Images · Avika Console")
    gateway = page.locator("#image-avika-gateway")
    expect(gateway.locator("tr[data-tag='1.110.0'] .chip")).to_have_text("verified")
    expect(page.locator("figure.size-chart svg")).to_have_count(3)
    shoot("images-verified")
    page.locator("section.size-charts").screenshot(path="/tmp/shots/images-charts.png")

    # Someone pushes over a released version tag (minutes ago, so there is
    # no fresh-push re-check to wait for).
    sandbox_images.push_image(
        "avika-gateway", ["1.110.0"], timezone.now() - timedelta(minutes=3)
    )
    page.get_by_role("button", name="Inspect now").click()

    drifted = gateway.locator("tr[data-tag='1.110.0']")
    expect(drifted.locator(".chip")).to_have_text("drifted")
    expect(drifted).to_have_class("state-drifted")
    expect(drifted).to_contain_text("image content changed")
    expect(page).to_have_title("1 drifted · Images · Avika Console")
    # Problems first: the drifted tag heads its image's table.
    expect(gateway.locator("tbody tr").first).to_have_attribute("data-tag", "1.110.0")
    shoot("images-drifted")

    page.get_by_label("State").select_option("drifted")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert "state=drifted" in page.url
    shoot("images-filtered")

    page.get_by_role("link", name="v1.110.0").first.click()
    expect(page.get_by_role("alert")).to_contain_text("A released image tag changed")
    shoot("release-drifted")
