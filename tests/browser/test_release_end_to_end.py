"""A maintainer releases for real against the sandbox: the whole chain from
the form to the draft's assets, watched in the browser."""

import threading
from collections.abc import Iterator

import pytest
from django.db import connections, transaction
from playwright.sync_api import expect

from releases import actions
from releases.models import Release

pytestmark = pytest.mark.browser


@pytest.fixture
def worker(github_sandbox, settings, monkeypatch) -> Iterator[None]:
    """Background tasks on a thread, as the worker would run them, with a
    run that takes long enough to be watched."""
    from django_q.tasks import async_task

    settings.SANDBOX_RUN_SECONDS = 8
    settings.RUN_POLL_SECONDS = 0.5
    threads: list[threading.Thread] = []

    def run(func: str, args: tuple) -> None:
        try:
            async_task(func, *args)  # django-q in sync mode: runs right here
        finally:
            connections.close_all()

    def enqueue(func: str, *args) -> None:
        thread = threading.Thread(target=run, args=(func, args), daemon=True)
        threads.append(thread)
        transaction.on_commit(thread.start)

    monkeypatch.setattr(actions, "_enqueue", enqueue)
    yield
    for thread in threads:
        thread.join(timeout=30)


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
