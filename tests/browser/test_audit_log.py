"""An auditor filters the audit log in a browser and downloads the CSV."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from releases import audit
from releases.models import Release
from tests.test_views import github  # noqa: F401 (the dashboard's VERSION, offline)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("github")]


def test_auditor_filters_the_log_and_downloads_the_csv(
    page, sign_in, shoot, auditor, maintainer, reviewer, project
):
    release = Release.objects.create(
        project=project, version="1.111.0", tag="v1.111.0", state="draft"
    )
    audit.record("release.requested", actor=maintainer, release=release)
    audit.record("notes.saved", actor=reviewer, release=release, revision=2)
    audit.record("notes.saved", actor=maintainer, release=release, revision=3)
    audit.record("release.published", actor=maintainer, release=release)

    sign_in("aude")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.locator("table.audit tbody tr")
    # The four above and the auditor's own sign-in.
    expect(rows).to_have_count(5)

    # Changing a filter swaps the list in place and keeps it in the URL.
    page.get_by_label("Action").select_option("notes.saved")
    expect(rows).to_have_count(2)
    page.get_by_label("Actor").select_option("rene")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"^(?=.*actor=rene)(?=.*action=notes.saved)"))
    shoot("audit-log-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    body = open(download.value.path(), encoding="utf-8").read()
    exported = list(csv.DictReader(io.StringIO(body)))
    assert [(r["actor"], r["action"], r["details"]) for r in exported] == [
        ("rene", "notes.saved", '{"revision": 2}')
    ]

    # A reload shows the same filtered view: the state lives in the URL.
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Actor")).to_have_value("rene")
