"""Release notes against the sandbox's GitHub on a live server: pushing a
published release's notes, regenerating them with the right range, and
GitHub's failures shown in words."""

import pytest
from django.urls import reverse

from releases import notes
from releases.ghclient import client_for, make_github
from releases.models import AuditEvent, Release
from sandbox import git
from tests.test_views import make_release

pytestmark = pytest.mark.django_db(transaction=True)


def imported(project, version: str) -> Release:
    """A published release of the sandbox, known to the console as sync
    would leave it (without running its checks)."""
    info = next(
        i for i in client_for(project).list_releases() if i.tag_name == f"v{version}"
    )
    release = make_release(project, version, "published", github_release_id=info.id)
    notes.adopt_github_body(release, info.body)
    return release


def github_release(release: Release):
    repo = make_github().get_repo(release.project.repository)
    return repo.get_release(release.github_release_id)


def test_an_edit_of_a_published_release_reaches_github_at_once(
    github_sandbox, client, project, reviewer
):
    release = imported(project, "1.110.0")
    base = notes.current_revision(release)
    client.force_login(reviewer)
    body = "## Highlights\n\n| image | size |\n|---|---|\n| gateway | 42 MB |"
    response = client.post(
        reverse("notes_save", args=[release.pk]),
        {"body": body, "based_on": base.number},
        follow=True,
    )
    assert "GitHub&#x27;s release now shows it" in response.content.decode()
    on_github = github_release(release)
    assert on_github.body == body
    assert on_github.draft is False
    assert on_github.prerelease is False
    revision = notes.current_revision(release)
    assert revision.pushed_at is not None
    assert revision.push_error == ""
    event = AuditEvent.objects.get(action="notes.pushed")
    assert event.details == {"revision": revision.number}
    # The next sync sees its own text: no new revision.
    assert notes.adopt_github_body(release, on_github.body) is None


def test_a_failed_push_keeps_the_revision_and_offers_push_again(
    github_sandbox, client, project, reviewer
):
    release = imported(project, "1.110.0")
    real_id = release.github_release_id
    Release.objects.filter(pk=release.pk).update(github_release_id=999)
    client.force_login(reviewer)
    response = client.post(
        reverse("notes_save", args=[release.pk]),
        {"body": "kept even so", "based_on": 1},
        follow=True,
    )
    page = response.content.decode()
    assert "Not on GitHub: GitHub answered 404" in page
    assert "Push again" in page
    revision = notes.current_revision(release)
    assert revision.body == "kept even so"
    assert "404" in revision.push_error
    assert AuditEvent.objects.filter(action="notes.push_failed").count() == 1

    Release.objects.filter(pk=release.pk).update(github_release_id=real_id)
    client.post(reverse("notes_push", args=[release.pk]))
    revision.refresh_from_db()
    assert revision.pushed_at is not None
    assert revision.push_error == ""
    release.refresh_from_db()
    assert github_release(release).body == "kept even so"


def test_an_auditor_may_not_edit_published_notes(
    github_sandbox, client, project, auditor
):
    release = imported(project, "1.110.0")
    before = github_release(release).body
    client.force_login(auditor)
    response = client.post(
        reverse("notes_save", args=[release.pk]), {"body": "no", "based_on": 1}
    )
    assert response.status_code == 403
    assert github_release(release).body == before


def test_regenerating_a_stable_release_starts_at_the_previous_stable_tag(
    github_sandbox, client, project, reviewer
):
    git.create_tag("v1.111.0-rc.1", git.head())
    release = make_release(project, "1.111.0", "draft", github_release_id=1)
    notes.adopt_github_body(release, "hand-written")
    client.force_login(reviewer)
    response = client.post(reverse("notes_regenerate", args=[release.pk]), follow=True)
    page = response.content.decode()
    revision = notes.current_revision(release)
    assert revision.number == 2
    assert revision.source == "regenerated"
    assert "/compare/v1.110.0...v1.111.0" in revision.body
    assert release.revisions.get(number=1).body == "hand-written"
    # The history shows what changed, before → after.
    assert "Revision 1 → revision 2" in page
    assert '<span class="diff-del">-hand-written</span>' in page
    event = AuditEvent.objects.get(action="notes.regenerated")
    assert event.details["revision"] == 2
    assert event.details["based_on"] == 1


def test_regenerating_a_prerelease_starts_at_the_previous_prerelease(
    github_sandbox, client, project, reviewer
):
    git.create_tag("v1.111.0-rc.1", git.head())
    release = make_release(project, "1.111.0-rc.2", "draft", github_release_id=1)
    client.force_login(reviewer)
    client.post(reverse("notes_regenerate", args=[release.pk]))
    body = notes.current_revision(release).body
    assert "/compare/v1.111.0-rc.1...v1.111.0-rc.2" in body


def test_a_github_failure_while_regenerating_is_said_in_words(
    github_sandbox, client, project, reviewer, settings
):
    release = make_release(project, "1.111.0", "draft", github_release_id=1)
    settings.GITHUB_API_URL = "http://127.0.0.1:9/api"
    client.force_login(reviewer)
    response = client.post(reverse("notes_regenerate", args=[release.pk]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The notes were not regenerated: GitHub at http://127.0.0.1:9/api" in page
    assert not release.revisions.exists()
