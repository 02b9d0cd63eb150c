"""The registry client and the image checks against a real registry
(distribution 2.8), with synthetic multi-arch images pushed over HTTP."""

import uuid

import pytest

from releases import checklist, images
from releases.models import Release, TagObservation
from releases.registry import (
    DOCKER_LIST,
    OCI_INDEX,
    ManifestUnknown,
    RegistryClient,
)
from tests.registry_helpers import CountingSession

pytestmark = [pytest.mark.registry, pytest.mark.django_db]

SHA = "abc1234" + "0" * 33
TAGS = ["1.0.0", "1.0", "latest", "sha-abc1234"]


@pytest.fixture
def namespace() -> str:
    # One registry serves the whole session: each test has its own namespace.
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(docker_registry) -> RegistryClient:
    return RegistryClient(docker_registry)


@pytest.fixture
def on_registry(project, docker_registry, settings, namespace):
    settings.REGISTRY_URL = docker_registry
    settings.DOCKERHUB_API_URL = ""  # a plain registry: no Hub, no push times
    project.registry_namespace = namespace
    project.image_names = ["avika-gateway", "avika-agent"]
    project.save()
    return project


def published(project, version: str = "1.0.0") -> Release:
    return Release.objects.create(
        project=project,
        version=version,
        tag=f"v{version}",
        state=Release.State.PUBLISHED,
        commit_sha=SHA,
    )


def states(project) -> dict[str, str]:
    return {
        f"{o.image}:{o.tag}": o.state
        for o in TagObservation.objects.filter(project=project)
    }


# The client ------------------------------------------------------------------------


def test_digests_platforms_and_sizes_with_buildx_attestations(
    pusher, client, namespace
):
    repository = f"{namespace}/gateway"
    index, pushed = pusher.multiarch(repository, ["1.0.0"], layer_sizes=(3000, 2000))

    found = client.inspect(repository, "1.0.0")

    assert found.digest == index.digest
    assert found.media_type == OCI_INDEX
    assert found.platform_names == ["linux/amd64", "linux/arm64"]
    assert found.attestations == 2
    assert {p.platform: p.digest for p in found.platforms} == {
        "linux/amd64": pushed["amd64"].digest,
        "linux/arm64": pushed["arm64"].digest,
    }
    assert {p.size for p in found.platforms} == {5000}


def test_oci_artifact_attestations_are_not_platforms_either(pusher, client, namespace):
    repository = f"{namespace}/gateway"
    pusher.multiarch(repository, ["1.0.0"], attestations="artifact")

    found = client.inspect(repository, "1.0.0")

    # Listed with linux/amd64 and linux/arm64 platforms, but artifacts.
    assert found.platform_names == ["linux/amd64", "linux/arm64"]
    assert found.attestations == 2


def test_a_docker_manifest_list_reads_the_same(pusher, client, namespace):
    repository = f"{namespace}/agent"
    amd64 = pusher.image(repository, "amd64", (1000,), docker=True)
    arm64 = pusher.image(repository, "arm64", (1500, 500), docker=True)
    entries = [
        amd64.descriptor(platform={"architecture": "amd64", "os": "linux"}),
        arm64.descriptor(
            platform={"architecture": "arm64", "os": "linux", "variant": "v8"}
        ),
    ]
    listed = pusher.index(repository, ["1.0.0"], entries, media_type=DOCKER_LIST)

    found = client.inspect(repository, "1.0.0")

    assert found.digest == listed.digest
    assert found.media_type == DOCKER_LIST
    assert {p.platform: p.size for p in found.platforms} == {
        "linux/amd64": 1000,
        "linux/arm64": 2000,
    }


def test_a_missing_tag_is_manifest_unknown(pusher, client, namespace):
    repository = f"{namespace}/gateway"
    pusher.multiarch(repository, ["1.0.0"])
    with pytest.raises(ManifestUnknown):
        client.head(repository, "2.0.0")


def test_tags_are_all_listed(pusher, client, namespace):
    repository = f"{namespace}/gateway"
    pusher.multiarch(repository, ["1.0.0", "1.0", "latest"])
    pusher.multiarch(repository, ["0.9.0", "0.9"])
    assert sorted(client.tags(repository)) == ["0.9", "0.9.0", "1.0", "1.0.0", "latest"]


# The checks of a release ------------------------------------------------------------


def test_a_release_with_every_tag_and_platform_is_verified(pusher, on_registry):
    release = published(on_registry)
    for image in on_registry.image_names:
        pusher.multiarch(f"{on_registry.registry_namespace}/{image}", TAGS)

    outcome = images.verify_release_images(release)

    assert outcome.alarms == []
    assert set(states(on_registry).values()) == {"verified"}
    assert len(states(on_registry)) == 2 * len(TAGS)
    row = TagObservation.objects.get(image="avika-gateway", tag="1.0.0")
    assert row.pushed_at is None  # a plain registry records no push times
    assert row.baseline_digest == row.digest
    # A few KB, far under the 30–50 MB budget: amber, not a failure.
    assert row.size_warning.startswith("Outside the 30–50 MB budget")
    item = {i.key: i for i in checklist.run(release, only=["images"])}["images"]
    assert item.ok is True
    assert "Outside the 30–50 MB budget" in item.detail


def test_a_missing_platform_and_a_missing_tag_are_named(pusher, on_registry):
    release = published(on_registry)
    namespace = on_registry.registry_namespace
    pusher.multiarch(f"{namespace}/avika-gateway", TAGS, arches=("amd64",))
    pusher.multiarch(f"{namespace}/avika-agent", TAGS[:3])  # no sha- tag

    images.verify_release_images(release)

    gateway = TagObservation.objects.get(image="avika-gateway", tag="1.0.0")
    assert gateway.state == "platforms"
    assert gateway.detail == "The index lacks linux/arm64."
    agent_sha = TagObservation.objects.get(image="avika-agent", tag="sha-abc1234")
    assert agent_sha.state == "missing"
    assert agent_sha.detail == f"sha-abc1234 is not in {namespace}/avika-agent."
    item = {i.key: i for i in checklist.run(release, only=["images"])}["images"]
    assert item.ok is False
    assert (
        "avika-gateway:1.0.0, 1.0, latest, sha-abc1234 wrong platforms: "
        "The index lacks linux/arm64." in item.detail
    )
    assert "avika-agent:sha-abc1234 missing" in item.detail


def test_an_overwritten_version_tag_is_reported_as_drift(pusher, on_registry):
    release = published(on_registry)
    namespace = on_registry.registry_namespace
    for image in on_registry.image_names:
        pusher.multiarch(f"{namespace}/{image}", TAGS)
    images.audit_project(on_registry)
    verified = TagObservation.objects.get(image="avika-gateway", tag="1.0.0")

    # Rebuilt with other content and pushed over the released version tag.
    pusher.multiarch(f"{namespace}/avika-gateway", ["1.0.0"], salt="rebuilt")
    outcome = images.audit_project(on_registry)

    drifted = TagObservation.objects.get(image="avika-gateway", tag="1.0.0")
    assert [o.pk for o in outcome.alarms] == [drifted.pk]
    assert drifted.state == "drifted"
    assert drifted.drift["from"] == verified.digest
    assert drifted.drift["classification"] == images.CONTENT_CHANGED
    assert drifted.release == release
    others = states(on_registry)
    del others["avika-gateway:1.0.0"]
    assert set(others.values()) == {"verified"}


def test_new_attestations_alone_are_told_apart(pusher, on_registry):
    published(on_registry)
    repository = f"{on_registry.registry_namespace}/avika-gateway"
    index, pushed = pusher.multiarch(repository, TAGS)
    pusher.multiarch(f"{on_registry.registry_namespace}/avika-agent", TAGS)
    images.audit_project(on_registry)

    # The same two images, new provenance: a new index digest.
    entries = [
        pushed[arch].descriptor(platform={"architecture": arch, "os": "linux"})
        for arch in ("amd64", "arm64")
    ]
    entries += [pusher.legacy_attestation(repository, pushed[a]) for a in pushed]
    rebuilt = pusher.index(repository, ["sha-abc1234"], entries)
    assert rebuilt.digest != index.digest
    images.audit_project(on_registry)

    row = TagObservation.objects.get(image="avika-gateway", tag="sha-abc1234")
    assert row.state == "drifted"
    assert row.drift["classification"] == images.ATTESTATIONS_ONLY


def test_a_second_audit_is_one_head_per_tag_and_no_manifest_get(pusher, on_registry):
    published(on_registry)
    for image in on_registry.image_names:
        pusher.multiarch(f"{on_registry.registry_namespace}/{image}", TAGS)
    first = CountingSession()
    images.audit_project(
        on_registry, client=images.registry_client(on_registry, session=first)
    )
    assert first.manifest_requests("GET")  # the first audit fetched the manifests

    second = CountingSession()
    images.audit_project(
        on_registry, client=images.registry_client(on_registry, session=second)
    )

    heads = second.manifest_requests("HEAD")
    assert len(heads) == 2 * len(TAGS)
    assert len({s.url for s in heads}) == len(heads)  # each tag once
    assert second.manifest_requests("GET") == []


def test_two_audits_at_once_raise_one_alarm(pusher, on_registry):
    from django.utils import timezone

    from releases.models import AuditEvent

    published(on_registry)
    namespace = on_registry.registry_namespace
    for image in on_registry.image_names:
        pusher.multiarch(f"{namespace}/{image}", TAGS)
    images.audit_project(on_registry)
    pusher.multiarch(f"{namespace}/avika-gateway", ["1.0.0"], salt="rebuilt")

    # One worker has read the rows (still verified) when another one raises
    # the alarm; the first then finds the change too.
    slow = images._ImageCheck(
        on_registry,
        "avika-gateway",
        images.registry_client(on_registry),
        None,
        images.claims(on_registry),
        images.Outcome(),
        timezone.now(),
    )
    images.audit_project(on_registry)
    slow.check(TAGS)

    assert slow.outcome.alarms == []
    assert AuditEvent.objects.filter(action="image.drifted").count() == 1
    row = TagObservation.objects.get(image="avika-gateway", tag="1.0.0")
    assert row.state == "drifted"
    assert row.drift["classification"] == images.CONTENT_CHANGED


def test_two_first_inspections_at_once_share_the_rows(pusher, on_registry):
    from django.utils import timezone

    published(on_registry)
    for image in on_registry.image_names:
        pusher.multiarch(f"{on_registry.registry_namespace}/{image}", TAGS)
    # A release's verification has read no rows yet when the periodic audit
    # creates them all.
    slow = images._ImageCheck(
        on_registry,
        "avika-gateway",
        images.registry_client(on_registry),
        None,
        images.claims(on_registry),
        images.Outcome(),
        timezone.now(),
    )
    images.audit_project(on_registry)
    slow.check(TAGS)

    rows = TagObservation.objects.filter(image="avika-gateway")
    assert rows.count() == len(TAGS)
    assert set(rows.values_list("state", flat=True)) == {"verified"}


def test_an_audit_leaves_the_registry_to_an_inspection_under_way(
    pusher, on_registry, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from releases.models import RegistryStatus

    release = published(on_registry)
    for image in on_registry.image_names:
        pusher.multiarch(f"{on_registry.registry_namespace}/{image}", TAGS)
    client = images.registry_client(on_registry, session=CountingSession())
    status = images.registry_status(client)
    held_until = timezone.now() + timedelta(minutes=1)
    RegistryStatus.objects.filter(pk=status.pk).update(inspecting_until=held_until)

    skipped = images.audit_project(on_registry, client=client)
    assert skipped.errors == ["another inspection is running"]
    assert client.session.sent == []

    # A verification waits for the lease, then goes ahead without it.
    monkeypatch.setattr(images, "INSPECTION_LEASE", timedelta(seconds=0.3))
    images.verify_release_images(release, client=client)
    assert set(states(on_registry).values()) == {"verified"}
    status.refresh_from_db()
    assert status.inspecting_until == held_until  # not taken from its holder
