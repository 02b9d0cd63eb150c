"""Drift: released tags that change raise an alarm; major.minor and latest
moving on to a newer release do not. Against the sandbox on a live server."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from releases import actions, checklist, images, verification
from releases.models import (
    AuditEvent,
    RegistryStatus,
    Release,
    TagObservation,
    TagRecord,
)
from sandbox import faults
from sandbox import images as sandbox_images
from sandbox.models import ImageTag, Manifest
from tests.registry_helpers import CountingSession
from tests.test_release_flow import plan_for

pytestmark = pytest.mark.django_db(transaction=True)

GATEWAY = "hellodk/avika-gateway"
TAGS_PER_RELEASE = {"1.108.0": 3, "1.109.0": 3, "1.110.0": 4}


@pytest.fixture
def imported(github_sandbox, project, monkeypatch) -> dict[str, Release]:
    """The three seeded releases, imported and verified (baselines taken).
    Their assets are not downloaded: these tests are about images."""
    monkeypatch.setattr(verification, "verify_assets", lambda release, client: None)
    actions.sync_project(project)
    return {r.version: r for r in Release.objects.filter(project=project)}


def row(tag: str, repository: str = GATEWAY) -> TagObservation:
    return TagObservation.objects.get(repository=repository, tag=tag)


def re_attest(image: str, tag: str, *, at) -> str:
    """Push the tag's index again with the same images and new attestations,
    as a rebuild with provenance does."""
    repository = f"hellodk/{image}"
    current = ImageTag.objects.get(repository=repository, name=tag)
    index = json.loads(bytes(current.manifest.data))
    platforms = [e for e in index["manifests"] if e["platform"]["os"] != "unknown"]
    attestations = []
    for entry in platforms:
        proof = sandbox_images.attestation_manifest()
        Manifest.objects.create(
            repository=repository,
            digest=sandbox_images.digest_of(proof),
            media_type=sandbox_images.OCI_MANIFEST,
            data=proof,
        )
        attestations.append(
            {
                "mediaType": sandbox_images.OCI_MANIFEST,
                "digest": sandbox_images.digest_of(proof),
                "size": len(proof),
                "annotations": {
                    "vnd.docker.reference.digest": entry["digest"],
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                "platform": {"architecture": "unknown", "os": "unknown"},
            }
        )
    data = sandbox_images.encode({**index, "manifests": platforms + attestations})
    new = Manifest.objects.create(
        repository=repository,
        digest=sandbox_images.digest_of(data),
        media_type=sandbox_images.OCI_INDEX,
        data=data,
    )
    ImageTag.objects.filter(pk=current.pk).update(manifest=new, pushed_at=at)
    return new.digest


def test_imported_releases_are_verified_with_baselines(imported):
    for version, release in imported.items():
        rows = TagObservation.objects.filter(release=release)
        assert rows.count() == 3 * TAGS_PER_RELEASE[version], version
        assert set(rows.values_list("state", flat=True)) == {"verified"}
    assert row("1.110.0").baseline_digest == row("1.110.0").digest
    assert row("latest").release == imported["1.110.0"]
    published = TagRecord.objects.filter(reason="published", tag="1.110.0")
    assert published.count() == 3  # one per image
    assert row("1.110.0").pushed_at is not None


def test_an_overwritten_version_tag_raises_the_alarm(imported, project):
    before = row("1.110.0").digest
    sandbox_images.push_image(
        "avika-gateway", ["1.110.0"], timezone.now() - timedelta(minutes=5)
    )

    outcome = actions.audit_images(project)

    drifted = row("1.110.0")
    assert [o.pk for o in outcome.alarms] == [drifted.pk]
    assert drifted.state == TagObservation.State.DRIFTED
    assert drifted.drift["from"] == before
    assert drifted.drift["to"] == drifted.digest != before
    assert drifted.drift["classification"] == images.CONTENT_CHANGED
    assert before in drifted.detail
    event = AuditEvent.objects.get(action="image.drifted")
    assert event.release == imported["1.110.0"]
    assert event.details["classification"] == "image content changed"
    assert TagRecord.objects.filter(reason="drifted", tag="1.110.0").count() == 1
    # The other tags of the release still point at the verified index.
    for tag in ("1.110", "latest"):
        assert row(tag).state == TagObservation.State.VERIFIED
    item = {i.key: i for i in checklist.latest(imported["1.110.0"])}["images"]
    assert item.ok is False
    assert "avika-gateway:1.110.0 drifted" in item.detail
    assert not checklist.passes(imported["1.110.0"])

    # Seen again: still drifted, but no second alarm.
    actions.audit_images(project)
    assert AuditEvent.objects.filter(action="image.drifted").count() == 1


def test_a_rebuild_with_new_attestations_only_is_classified_so(imported, project):
    re_attest("avika-gateway", "1.109.0", at=timezone.now() - timedelta(minutes=5))
    actions.audit_images(project)
    drifted = row("1.109.0")
    assert drifted.state == TagObservation.State.DRIFTED
    assert drifted.drift["classification"] == images.ATTESTATIONS_ONLY


def test_an_overwritten_sha_tag_raises_the_alarm_too(imported, project):
    sha_tag = f"sha-{imported['1.109.0'].commit_sha[:7]}"
    sandbox_images.push_image(
        "avika-agent", [sha_tag], timezone.now() - timedelta(minutes=5)
    )
    actions.audit_images(project)
    assert row(sha_tag, "hellodk/avika-agent").state == TagObservation.State.DRIFTED


def test_a_digest_read_within_a_minute_of_its_push_is_read_again_first(
    imported, project
):
    now = timezone.now()
    sandbox_images.push_image("avika-gateway", ["1.110.0"], now)

    outcome = images.audit_project(project, now=now + timedelta(seconds=20))
    waiting = row("1.110.0")
    assert outcome.alarms == []
    assert [o.pk for o in outcome.rechecks] == [waiting.pk]
    assert waiting.state == TagObservation.State.VERIFIED
    assert waiting.suspect_digest != waiting.baseline_digest
    assert "read again before raising an alarm" in waiting.detail
    assert not AuditEvent.objects.filter(action="image.drifted").exists()

    actions.audit_images(project)  # what the schedule would run
    assert Schedule.objects.filter(
        func="releases.tasks.audit_images", schedule_type=Schedule.ONCE
    ).exists()

    later = images.audit_project(project, now=now + timedelta(seconds=90))
    assert [o.tag for o in later.alarms] == ["1.110.0"]
    assert row("1.110.0").state == TagObservation.State.DRIFTED


def test_latest_moving_to_a_newer_release_is_expected(imported, project, maintainer):
    old = imported["1.110.0"]
    new = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    new.refresh_from_db()
    assert new.state == Release.State.DRAFT

    latest = row("latest")
    assert latest.release == new
    assert latest.state == TagObservation.State.VERIFIED
    assert latest.detail == f"Points at {new.tag}."
    moved = TagRecord.objects.filter(reason="moved", tag="latest")
    assert moved.count() == 3
    assert moved.first().details == {"from_release": old.tag}
    assert AuditEvent.objects.filter(action="image.tag_moved", release=old).count() == 3
    actions.audit_images(project)
    assert not AuditEvent.objects.filter(action="image.drifted").exists()
    assert row("1.110").release == old  # another minor line: stays

    checklist.run(old, only=["images"])
    item = {i.key: i for i in checklist.latest(old)}["images"]
    assert item.ok is True
    assert item.detail.startswith("All 9 of its tags (3 images) resolve")
    # The workflow pushed `latest` when it built the draft, before any review.
    assert (
        f"avika-gateway:latest has moved on to {new.tag}, which is draft and not "
        "published: the registry serves that build before GitHub does."
    ) in item.detail


def test_tags_no_release_claims_are_orphans(github_sandbox, project):
    actions.audit_images(project)  # nothing imported yet
    states = set(TagObservation.objects.values_list("state", flat=True))
    assert states == {"orphan"}
    assert TagObservation.objects.filter(release__isnull=False).count() == 0


def test_a_claimed_tag_that_disappears_is_missing(imported, project):
    sha_tag = f"sha-{imported['1.110.0'].commit_sha[:7]}"
    ImageTag.objects.filter(repository=GATEWAY, name=sha_tag).delete()
    actions.audit_images(project)
    gone = row(sha_tag)
    assert gone.state == TagObservation.State.MISSING
    assert gone.digest == ""


def test_a_second_audit_of_unchanged_tags_is_one_head_per_tag_and_no_get(
    imported, project
):
    actions.audit_images(project)  # whatever is new gets fetched here
    session = CountingSession()
    images.audit_project(
        project, client=images.registry_client(project, session=session)
    )

    heads = session.manifest_requests("HEAD")
    tags = TagObservation.objects.filter(project=project)
    assert sorted(s.url.rsplit("/", 1)[1] for s in heads) == sorted(
        tags.values_list("tag", flat=True)
    )
    assert session.manifest_requests("GET") == []


def test_a_429_is_a_state_of_its_own_and_the_audit_backs_off(
    imported, project, settings
):
    settings.SANDBOX_RATE_LIMIT_SECONDS = 30
    sandbox_images.push_image(
        "avika-frontend", ["1.108.0"], timezone.now() - timedelta(minutes=5)
    )
    faults.arm("rate-limit")  # manifest GETs answer 429; HEADs still work

    outcome = actions.audit_images(project)

    assert outcome.rate_limited
    limited = row("1.108.0", "hellodk/avika-frontend")
    assert limited.state == TagObservation.State.RATE_LIMITED
    assert "429" in limited.detail or "rate-limiting" in limited.detail
    status = RegistryStatus.objects.get()
    assert status.limited_until > timezone.now()
    assert status.remaining == 0
    assert status.limit == settings.SANDBOX_REGISTRY_PULL_LIMIT

    session = CountingSession()
    skipped = images.audit_project(
        project, client=images.registry_client(project, session=session)
    )
    assert skipped.skipped_for_backoff
    assert session.sent == []  # backing off: not a single request
