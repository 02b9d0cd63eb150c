"""The publish panel, the confirm step and approvals, seen by each persona.
Evidence is made directly as rows; GitHub is never reached here (a fake
client fails the test if it is)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from releases import approvals, checklist, images
from releases.models import (
    Approval,
    Artifact,
    AuditEvent,
    CheckResult,
    NotesRevision,
    Release,
)
from tests.test_views import make_release


class NoGitHub:
    def __getattr__(self, name):
        raise AssertionError(f"GitHub was asked ({name}) when nothing should be sent.")


@pytest.fixture(autouse=True)
def no_github(monkeypatch):
    monkeypatch.setattr("releases.actions.client_for", lambda project: NoGitHub())


def ready_draft(project, version="1.111.0", *, requested_by=None, **fields) -> Release:
    """A draft with every asset verified, a green checklist and notes r1."""
    release = make_release(
        project,
        version,
        "draft",
        github_release_id=240_000_001,
        commit_sha="c0ffee1234567890c0ffee1234567890c0ffee12",
        checks_state="done",
        requested_by=requested_by,
        **fields,
    )
    for n, name in enumerate(project.expected_asset_names(version)):
        Artifact.objects.create(
            release=release,
            name=name,
            verification="verified",
            computed_sha256=f"{n:064x}",
        )
    for position, key in enumerate(checklist.KEYS):
        CheckResult.objects.create(
            release=release,
            key=key,
            position=position,
            name=dict(checklist.ITEMS)[key],
            ok=True,
            detail="fine",
        )
    NotesRevision.objects.create(
        release=release, number=1, body="## Avika notes", source="github"
    )
    return release


def new_revision(release, author, body) -> NotesRevision:
    current = release.revisions.order_by("-number").first()
    return NotesRevision.objects.create(
        release=release,
        number=current.number + 1,
        body=body,
        source="edited",
        author=author,
        author_name=author.get_username(),
    )


def form(release) -> dict:
    return {
        "revision": release.revisions.order_by("-number").first().number,
        "evidence": checklist.evidence_fingerprint(release),
    }


def page_of(client, user, release) -> str:
    client.force_login(user)
    return client.get(release.get_absolute_url()).content.decode()


# The panel ------------------------------------------------------------------


def test_maintainer_sees_verdict_revision_approvals_and_latest(
    client, maintainer, project
):
    release = ready_draft(project)
    page = page_of(client, maintainer, release)
    assert 'id="publish-title"' in page
    assert "passes" in page
    assert 'revision <strong class="revision">1</strong>' in page
    assert "0 of 0" in page
    assert "becomes Latest" in page
    assert "No published stable version is known here" in page
    assert reverse("publish", args=[release.pk]) in page
    assert "## Avika notes" in page


def test_reviewer_sees_the_panel_without_a_publish_button(client, reviewer, project):
    release = ready_draft(project)
    page = page_of(client, reviewer, release)
    assert 'id="publish-title"' in page
    assert reverse("publish", args=[release.pk]) not in page


def test_a_backport_is_shown_not_to_become_latest(client, maintainer, project):
    make_release(project, "1.111.0", "published")
    release = ready_draft(project, "1.110.1")
    page = page_of(client, maintainer, release)
    assert "not Latest" in page
    assert "1.110.1 is a backport" in page
    # The images side of the same rule: no `latest` tag is expected of it.
    assert [kind for _tag, kind in images.expected_tags(release)] == [
        "version",
        "minor",
        "sha",
    ]


# Permissions -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "outsider"])
def test_publishing_without_the_right_is_forbidden_and_audited(
    client, project, persona, request
):
    user = request.getfixturevalue(persona)
    release = ready_draft(project)
    client.force_login(user)
    assert client.get(reverse("publish", args=[release.pk])).status_code == 403
    response = client.post(reverse("publish", args=[release.pk]), form(release))
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action="permission.denied", actor=user)
    assert denied.count() == 2
    assert denied.first().details["permission"] == "releases.publish_release"
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    assert release.publish_claimed_at is None


def test_override_without_the_permission_is_forbidden_and_audited(
    client, maintainer, project
):
    release = ready_draft(project)
    CheckResult.objects.filter(release=release, key="ci").update(ok=False)
    client.force_login(maintainer)
    page = client.get(reverse("publish", args=[release.pk])).content.decode()
    assert "override_reason" not in page
    assert "Publish v1.111.0</button>" not in page
    data = form(release) | {"override_reason": "CI is flaky, trust me on this."}
    response = client.post(reverse("publish", args=[release.pk]), data)
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="permission.denied")
    assert event.details["permission"] == "releases.override_checklist"


def test_override_field_is_offered_to_a_permitted_user(client, maintainer, project):
    maintainer.user_permissions.add(
        Permission.objects.get(codename="override_checklist")
    )
    release = ready_draft(project)
    CheckResult.objects.filter(release=release, key="ci").update(
        ok=False, detail="Failed on c0ffee1: test-go."
    )
    client.force_login(maintainer)
    page = client.get(reverse("publish", args=[release.pk])).content.decode()
    assert 'name="override_reason"' in page
    assert "Failed on c0ffee1: test-go." in page
    data = form(release) | {"override_reason": "too short"}
    response = client.post(reverse("publish", args=[release.pk]), data)
    assert response.status_code == 409
    assert "at least 20 characters" in response.content.decode()


# The confirm step ----------------------------------------------------------------


def test_confirm_step_repeats_the_tag_and_carries_what_was_shown(
    client, maintainer, project
):
    release = ready_draft(project)
    client.force_login(maintainer)
    page = client.get(reverse("publish", args=[release.pk])).content.decode()
    assert "Publish v1.111.0</button>" in page
    assert 'name="revision" value="1"' in page
    assert f'name="evidence" value="{checklist.evidence_fingerprint(release)}"' in page


def test_newer_notes_meanwhile_ask_again_and_send_nothing(
    client, maintainer, reviewer, project
):
    release = ready_draft(project)
    seen = form(release)
    new_revision(release, reviewer, "## Better notes")
    client.force_login(maintainer)
    response = client.post(reverse("publish", args=[release.pk]), seen)
    assert response.status_code == 409
    page = response.content.decode()
    assert "The notes changed: you saw revision 1" in page
    assert "revision 2 by rene" in page
    assert 'name="revision" value="2"' in page
    assert "## Better notes" in page
    release.refresh_from_db()
    assert release.publish_claimed_at is None


def test_new_evidence_meanwhile_asks_again(client, maintainer, project):
    release = ready_draft(project)
    seen = form(release)
    Artifact.objects.filter(release=release, name="checksums.txt").update(
        computed_sha256="f" * 64
    )
    client.force_login(maintainer)
    response = client.post(reverse("publish", args=[release.pk]), seen)
    assert response.status_code == 409
    assert "The verified evidence changed" in response.content.decode()


def test_a_missing_asset_is_named_and_no_publish_button_offered(
    client, maintainer, project
):
    release = ready_draft(project)
    release.artifacts.filter(name="agent-darwin-arm64").delete()
    client.force_login(maintainer)
    page = client.get(reverse("publish", args=[release.pk])).content.decode()
    assert "Expected assets are missing from the release: agent-darwin-arm64." in page
    assert "Publish v1.111.0</button>" not in page
    response = client.post(reverse("publish", args=[release.pk]), form(release))
    assert response.status_code == 409


def test_the_release_page_offers_no_publish_while_an_asset_is_missing(
    client, maintainer, project
):
    release = ready_draft(project)
    release.artifacts.filter(name="agent-darwin-arm64").delete()
    page = page_of(client, maintainer, release)
    assert "Expected assets are missing from the release: agent-darwin-arm64." in page
    assert reverse("publish", args=[release.pk]) not in page


def test_a_failing_checklist_offers_publish_only_to_who_may_override(
    client, maintainer, project
):
    release = ready_draft(project)
    release.checks.filter(key="ci").update(ok=False, detail="red")
    assert reverse("publish", args=[release.pk]) not in page_of(
        client, maintainer, release
    )
    maintainer.user_permissions.add(
        Permission.objects.get(codename="override_checklist")
    )
    assert reverse("publish", args=[release.pk]) in page_of(client, maintainer, release)


def test_ci_still_running_is_shown_waiting_not_failing(client, maintainer, project):
    release = ready_draft(project)
    release.checks.filter(key="ci").update(
        ok=False, waiting=True, detail="2 check runs in progress"
    )
    page = page_of(client, maintainer, release)
    assert '<span class="chip tone-waiting">1 waiting</span>' in page
    assert "failing</span>" not in page
    assert "2 check runs in progress" in page


def test_while_the_checks_run_the_panel_says_so_without_alarm(
    client, maintainer, project
):
    release = ready_draft(project)
    release.checks.all().delete()
    Release.objects.filter(pk=release.pk).update(checks_state="running")
    page = page_of(client, maintainer, release)
    assert '<span class="chip tone-running">checks running</span>' in page
    assert "failing</span>" not in page
    assert 'class="blockers"' not in page
    assert reverse("publish", args=[release.pk]) not in page


# Approvals ------------------------------------------------------------------------


def test_publish_needs_the_approvals_then_a_reviewer_gives_one(
    client, maintainer, reviewer, project
):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project, requested_by=maintainer)
    client.force_login(maintainer)
    response = client.post(reverse("publish", args=[release.pk]), form(release))
    assert response.status_code == 409
    assert "0 of 1 approvals: 1 more needed" in response.content.decode()
    assert "Approve revision" not in page_of(client, maintainer, release)

    page = page_of(client, reviewer, release)
    assert "Approve revision 1" in page
    client.post(reverse("approve_release", args=[release.pk]), form(release))
    approval = Approval.objects.get(release=release)
    assert approval.user == reviewer
    assert approval.revision.number == 1
    assert AuditEvent.objects.filter(action="approval.given", actor=reviewer).exists()
    page = page_of(client, reviewer, release)
    assert "1 of 1" in page
    assert "Approve revision" not in page
    assert approvals.standing(release).enough


def test_the_requester_cannot_approve_their_own_release(client, reviewer, project):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project, requested_by=reviewer)
    client.force_login(reviewer)
    client.post(reverse("approve_release", args=[release.pk]), form(release))
    assert not Approval.objects.exists()


def test_approving_without_the_right_is_forbidden_and_audited(client, auditor, project):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project)
    client.force_login(auditor)
    response = client.post(reverse("approve_release", args=[release.pk]), form(release))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="permission.denied").exists()


def test_an_approval_lapses_when_the_notes_change(
    client, maintainer, reviewer, project
):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project, requested_by=maintainer)
    client.force_login(reviewer)
    client.post(reverse("approve_release", args=[release.pk]), form(release))

    new_revision(release, maintainer, "## Changed after approval")

    approval = Approval.objects.get(release=release)
    assert approval.lapsed_at is not None
    assert "revision 2 replaced revision 1" in approval.lapse_reason
    event = AuditEvent.objects.get(action="approval.lapsed")
    assert event.details["approver"] == "rene"
    page = page_of(client, maintainer, release)
    assert "0 of 1" in page
    assert "lapsed: The notes changed" in page


def test_an_approval_lapses_when_the_evidence_changes(
    client, maintainer, reviewer, project
):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project, requested_by=maintainer)
    client.force_login(reviewer)
    client.post(reverse("approve_release", args=[release.pk]), form(release))
    Artifact.objects.filter(release=release, name="checksums.txt").update(
        computed_sha256="e" * 64
    )

    page_of(client, maintainer, release)  # evaluated when the page is shown

    approval = Approval.objects.get(release=release)
    assert "evidence changed" in approval.lapse_reason


def test_an_approval_for_what_was_not_seen_is_asked_again(client, reviewer, project):
    project.required_approvals = 1
    project.save()
    release = ready_draft(project)
    seen = form(release)
    new_revision(release, reviewer, "## Newer")
    client.force_login(reviewer)
    response = client.post(
        reverse("approve_release", args=[release.pk]), seen, follow=True
    )
    assert "The notes changed" in response.content.decode()
    assert not Approval.objects.exists()


# After publishing ------------------------------------------------------------------


def published_draft(project, maintainer, *, latest: bool, **fields) -> Release:
    """A ready draft marked as published by `maintainer` with revision 1."""
    release = ready_draft(project)
    Release.objects.filter(pk=release.pk).update(
        state="published",
        published_by=maintainer,
        published_revision=release.revisions.get(),
        published_latest=latest,
        **fields,
    )
    return release


def test_published_release_shows_who_published_which_revision_and_the_override(
    client, maintainer, project
):
    release = published_draft(
        project,
        maintainer,
        latest=False,
        publish_override_reason="Flaky CI, verified by hand on three machines.",
    )
    AuditEvent.objects.create(
        actor=maintainer,
        actor_name="maya",
        action="release.publish_override",
        release=release,
        details={"failing": [{"key": "ci", "name": "CI green", "detail": "red"}]},
    )
    page = page_of(client, maintainer, release)
    assert "Published by <strong>maya</strong>" in page
    assert "notes revision <strong>1</strong>" in page
    assert "not Latest" in page
    assert "Published despite a failing checklist" in page
    assert "Flaky CI, verified by hand on three machines." in page
    assert "CI green" in page
    assert reverse("publish", args=[release.pk]) not in page


def test_a_release_that_was_latest_says_so_once_a_higher_one_is_published(
    client, maintainer, project
):
    release = published_draft(project, maintainer, latest=True)
    page = page_of(client, maintainer, release)
    assert '<span class="chip tone-good">Latest</span>' in page

    make_release(project, "1.112.0", "published")
    page = page_of(client, maintainer, release)
    assert '<span class="chip tone-good">Latest</span>' not in page
    assert "was Latest" in page
    assert "1.112.0 is Latest now" in page


def test_the_second_maintainer_of_a_race_is_shown_the_publish_under_way(
    client, maintainer, project, django_user_model
):
    from django.contrib.auth.models import Group
    from django.utils import timezone

    release = ready_draft(project)
    shown = form(release)
    other = django_user_model.objects.create_user("mo", password="pw-mo")
    other.groups.add(Group.objects.get(name="Maintainers"))
    Release.objects.filter(pk=release.pk).update(
        publish_claimed_at=timezone.now(), published_by=other
    )
    client.force_login(maintainer)

    response = client.post(reverse("publish", args=[release.pk]), shown, follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [(release.get_absolute_url(), 302)]
    assert "v1.111.0 is being published by mo right now." in page
    assert "Publishing…" in page
    assert "Publish v1.111.0</button>" not in page
    assert client.get(reverse("publish", args=[release.pk])).status_code == 302


def test_watchers_poll_while_a_publish_is_sent_and_stop_after(
    client, reviewer, maintainer, project
):
    from django.utils import timezone

    release = ready_draft(project)
    Release.objects.filter(pk=release.pk).update(
        publish_claimed_at=timezone.now(), published_by=maintainer
    )
    client.force_login(reviewer)
    url = release.get_absolute_url()
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Publishing…" in fragment
    assert 'id="live" hx-get=' in fragment

    Release.objects.filter(pk=release.pk).update(state="published")
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx: stop polling


def test_a_publish_whose_answer_never_came_offers_a_read_back(
    client, maintainer, project
):
    from django.utils import timezone

    release = ready_draft(project)
    Release.objects.filter(pk=release.pk).update(
        publish_claimed_at=timezone.now(),
        published_by=maintainer,
        publish_error="GitHub did not answer in time (ReadTimeout).",
    )
    page = page_of(client, maintainer, release)
    assert "GitHub's answer to the publish did not come" in page
    assert "ReadTimeout" in page
    assert reverse("check_publish", args=[release.pk]) in page
    assert reverse("publish", args=[release.pk]) + '"' not in page
