"""Publishing against the sandbox on a live server: PyGithub doing real
HTTP, the sandbox answering like GitHub (immutable releases, make_latest)."""

import json

import pytest
import requests
from django.contrib.auth.models import Permission
from django.core.management import call_command
from github.Requester import Requester

from releases import actions, checklist, images
from releases.ghclient import GitHubClient
from releases.models import AuditEvent, NotesRevision, Release, TagRecord
from sandbox.models import Release as GitHubRelease
from tests.test_release_flow import plan_for
from tests.test_verification import release_with

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patches(monkeypatch) -> list[tuple]:
    """Every PATCH the console sends to GitHub, still sent."""
    sent: list[tuple] = []
    original = GitHubClient.update_release

    def counted(self, release_id, **fields):
        sent.append((release_id, fields))
        return original(self, release_id, **fields)

    monkeypatch.setattr(GitHubClient, "update_release", counted)
    return sent


def on_github(release: Release) -> GitHubRelease:
    return GitHubRelease.objects.get(tag_name=release.tag)


def publish(release: Release, user, **options) -> Release:
    release.refresh_from_db()
    revision = release.revisions.order_by("-number").first()
    return actions.publish_release(
        release=release,
        user=user,
        revision_number=revision.number,
        evidence=checklist.evidence_fingerprint(release),
        **options,
    )


def edit_notes(release: Release, author, body: str) -> NotesRevision:
    current = release.revisions.order_by("-number").first()
    revision = NotesRevision.objects.create(
        release=release,
        number=current.number + 1,
        body=body,
        source=NotesRevision.Source.EDITED,
        author=author,
        author_name=author.get_username(),
        based_on=current,
    )
    Release.objects.filter(pk=release.pk).update(notes=body)
    return revision


def test_publish_sends_every_field_and_github_has_the_reviewed_notes(
    github_sandbox, project, maintainer, reviewer, patches
):
    release = release_with(project, maintainer)
    edit_notes(release, reviewer, "## Avika v1.111.0\n\nReviewed by rene.")

    release = publish(release, maintainer)

    assert release.state == Release.State.PUBLISHED
    assert release.published_by == maintainer
    assert release.published_revision.number == 2
    assert release.published_revision.pushed_at is not None
    assert release.published_latest is True
    assert patches == [
        (
            release.github_release_id,
            {
                "body": "## Avika v1.111.0\n\nReviewed by rene.",
                "draft": False,
                "prerelease": False,
                "make_latest": True,
            },
        )
    ]
    remote = on_github(release)
    assert remote.draft is False
    assert remote.body == "## Avika v1.111.0\n\nReviewed by rene."
    assert remote.prerelease is False
    assert remote.is_latest is True
    assert remote.immutable is True
    done = set(
        AuditEvent.objects.filter(release=release).values_list("action", flat=True)
    )
    assert {"release.publish_requested", "release.published"} <= done
    # The tags' digests are recorded as published, for drift.
    assert TagRecord.objects.filter(release=release, reason="published").exists()


def test_a_backport_is_published_without_becoming_latest(
    github_sandbox, project, maintainer, patches
):
    low = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project, bump_type="patch")
    )
    high = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.version, low.state) == ("1.110.1", Release.State.DRAFT)
    assert (high.version, high.state) == ("1.111.0", Release.State.DRAFT)

    assert publish(high, maintainer).published_latest is True
    assert on_github(high).is_latest

    low.refresh_from_db()
    assert low.should_be_latest() is False
    # The images side of the same rule: no `latest` tag expected of it.
    assert "latest" not in [tag for tag, _kind in images.expected_tags(low)]
    items = {item.key: item for item in checklist.run(low, only=["images"])}
    assert items["images"].ok is True, items["images"].detail
    low = publish(low, maintainer)
    assert low.state == Release.State.PUBLISHED
    assert low.published_latest is False
    assert patches[-1][1]["make_latest"] is False
    assert on_github(high).is_latest
    assert not on_github(low).is_latest
    latest = requests.get(
        f"{github_sandbox.url}/sandbox/github/repos/hellodk/avika/releases/latest",
        timeout=5,
    ).json()
    assert latest["tag_name"] == high.tag


def test_a_second_publish_while_the_first_is_sent_is_told_and_sends_nothing(
    github_sandbox, project, maintainer, monkeypatch
):
    from tests.conftest import _member

    other = _member("mo", "Maintainers")
    release = release_with(project, maintainer)
    original = GitHubClient.update_release
    sent = []

    def slow(self, release_id, **fields):
        sent.append(release_id)
        if len(sent) == 1:  # the other maintainer clicks meanwhile
            with pytest.raises(actions.PublishInProgress, match="being published by"):
                publish(release, other)
        return original(self, release_id, **fields)

    monkeypatch.setattr(GitHubClient, "update_release", slow)
    assert publish(release, maintainer).state == Release.State.PUBLISHED
    with pytest.raises(actions.PublishRefused, match="published already"):
        publish(release, other)
    assert len(sent) == 1


def _timing_out(monkeypatch, *, after_applying: bool) -> list[str]:
    """PATCHes whose answer never comes back, applied by GitHub or not."""
    original = Requester.requestJsonAndCheck
    sent = []

    def request(self, verb, url, *args, **kwargs):
        if verb == "PATCH":
            sent.append(url)
            if after_applying:
                original(self, verb, url, *args, **kwargs)
            raise requests.ReadTimeout("read timed out")
        return original(self, verb, url, *args, **kwargs)

    monkeypatch.setattr(Requester, "requestJsonAndCheck", request)
    return sent


def test_a_publish_whose_answer_timed_out_is_read_back_not_sent_again(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)
    sent = _timing_out(monkeypatch, after_applying=True)

    release = publish(release, maintainer)
    assert release.state == Release.State.DRAFT
    assert release.publish_claimed_at is not None
    assert "did not answer in time" in release.publish_error
    assert release.publish_unknown
    assert on_github(release).draft is False  # GitHub did it

    release = publish(release, maintainer)  # a new attempt reads back first
    assert release.state == Release.State.PUBLISHED
    assert release.published_revision is not None
    assert len(sent) == 1
    actions_seen = list(
        AuditEvent.objects.filter(release=release).values_list("action", flat=True)
    )
    assert "release.publish_failed" in actions_seen
    assert "release.publish_confirmed" in actions_seen


def test_a_timed_out_publish_still_a_draft_on_github_is_released_and_retried(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)
    sent = _timing_out(monkeypatch, after_applying=False)
    release = publish(release, maintainer)
    assert release.publish_unknown

    release = actions.settle_publish(release)
    assert release.publish_claimed_at is None
    assert "still has it as a draft" in release.publish_error

    monkeypatch.undo()
    release = publish(release, maintainer)
    assert release.state == Release.State.PUBLISHED
    assert len(sent) == 1  # and one more, unwrapped, that worked


def test_github_refusing_the_publish_releases_the_claim_with_its_message(
    github_sandbox, project, maintainer, reviewer
):
    release = release_with(project, maintainer)
    edit_notes(release, reviewer, "x" * 125_001)

    with pytest.raises(actions.PublishRefused, match="body is too long"):
        publish(release, maintainer)
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    assert release.publish_claimed_at is None
    assert "body is too long" in release.publish_error
    assert on_github(release).draft is True


def test_a_failing_checklist_refuses_naming_the_items_until_overridden(
    github_sandbox, project, maintainer, patches
):
    release = release_with(project, maintainer, "bad-checksum")

    with pytest.raises(actions.PublishRefused) as refused:
        publish(release, maintainer)
    assert [item.key for item in refused.value.failing] == ["checksums"]
    assert "gateway-linux-amd64" in str(refused.value)

    with pytest.raises(actions.PublishRefused, match="override permission"):
        publish(release, maintainer, override_reason="The mismatch is a known bug.")
    assert AuditEvent.objects.filter(action="permission.denied").exists()
    assert patches == []

    maintainer.user_permissions.add(
        Permission.objects.get(codename="override_checklist")
    )
    maintainer = type(maintainer).objects.get(pk=maintainer.pk)  # fresh permissions
    with pytest.raises(actions.PublishRefused, match="at least 20"):
        publish(release, maintainer, override_reason="fine")
    reason = "checksums.txt was regenerated by hand; binaries verified."
    release = publish(release, maintainer, override_reason=reason)

    assert release.state == Release.State.PUBLISHED
    assert release.publish_override_reason == reason
    event = AuditEvent.objects.get(action="release.publish_override")
    assert event.actor == maintainer
    assert event.details["reason"] == reason
    assert [f["key"] for f in event.details["failing"]] == ["checksums"]
    assert len(patches) == 1


def test_a_missing_asset_refuses_even_an_override(
    github_sandbox, project, maintainer, patches
):
    release = release_with(project, maintainer, "missing-asset")
    maintainer.is_superuser = True
    maintainer.save()

    with pytest.raises(actions.PublishRefused, match="agent-darwin-arm64") as refused:
        publish(release, maintainer, override_reason="We will upload it afterwards.")
    assert refused.value.missing == ["agent-darwin-arm64"]
    assert patches == []
    assert on_github(release).draft is True


def test_cli_publish_prints_json_and_exits_zero(
    github_sandbox, project, maintainer, capsys
):
    release = release_with(project, maintainer)
    call_command("avika", "publish", release.version, "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["version"] == release.version
    assert payload["state"] == "published"
    assert payload["published"] is True
    assert payload["latest"] is True
    assert payload["revision"] == 1
    assert payload["failing"] == []
    event = AuditEvent.objects.get(action="release.publish_requested")
    assert event.actor is None
    assert event.details["via"] == "cli"


def test_cli_publish_refuses_a_failing_checklist_with_exit_one(
    github_sandbox, project, maintainer, capsys
):
    release = release_with(project, maintainer, "bad-checksum")
    with pytest.raises(SystemExit) as exited:
        call_command("avika", "publish", release.version)
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "is not published" in out
    assert "✕" in out
    assert "gateway-linux-amd64" in out

    with pytest.raises(SystemExit):
        call_command("avika", "publish", release.version, "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["published"] is False
    assert [f["key"] for f in payload["failing"]] == ["checksums"]

    reason = "checksums.txt was regenerated by hand; binaries verified."
    call_command(
        "avika", "publish", release.version, "--override-reason", reason, "--json"
    )
    assert json.loads(capsys.readouterr().out)["published"] is True
    assert (
        AuditEvent.objects.get(action="release.publish_override").details["via"]
        == "cli"
    )


def test_the_sync_settles_a_timed_out_publish_without_sending_again(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)
    sent = _timing_out(monkeypatch, after_applying=True)
    release = publish(release, maintainer)
    assert release.publish_unknown

    actions.sync_project(project)

    release.refresh_from_db()
    assert release.state == Release.State.PUBLISHED
    assert release.published_by == maintainer
    assert release.published_revision.pushed_at is not None
    assert len(sent) == 1
    assert not AuditEvent.objects.filter(action="release.published_outside").exists()


def test_after_publishing_asset_and_evidence_links_follow_the_tag(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer)
    assert "untagged-" in release.artifacts.first().download_url
    assert release.checks.filter(link__contains="untagged-").exists()

    release = publish(release, maintainer)

    links = list(release.artifacts.values_list("download_url", flat=True))
    links += [link for link in release.checks.values_list("link", flat=True) if link]
    assert links
    assert not [link for link in links if "untagged-" in link]
    gateway = release.artifacts.get(name="gateway-linux-amd64")
    assert gateway.download_url.endswith(
        "/releases/download/v1.111.0/gateway-linux-amd64"
    )
    assert requests.head(gateway.download_url, timeout=10).status_code in {200, 302}
