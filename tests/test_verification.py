"""Verification against the sandbox on a live server: a fresh release's
checklist goes green by itself, and each injected fault turns the right item
red with a reason that names what is wrong."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from releases import actions, checklist, ghclient
from releases.models import Artifact, AuditEvent, Release, TagObservation
from sandbox import faults
from tests.test_release_flow import plan_for

pytestmark = pytest.mark.django_db(transaction=True)


def release_with(project, maintainer, *fault_names, **options) -> Release:
    for name in fault_names:
        faults.arm(name, **options)
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    return release


def items(release) -> dict[str, checklist.Item]:
    return {item.key: item for item in checklist.latest(release)}


def test_a_fresh_release_is_verified_and_its_checklist_goes_green(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer)

    assert release.checks_state == Release.Checks.DONE
    found = items(release)
    assert [i.key for i in checklist.latest(release)] == checklist.KEYS
    assert {k: i.ok for k, i in found.items()} == dict.fromkeys(checklist.KEYS, True)
    assert checklist.passes(release)
    assert all(i.checked_at and i.detail and i.link for i in found.values())
    assert "v1.111.0 points at" in found["tag"].detail
    assert "check run(s) passed" in found["ci"].detail
    for artifact in release.artifacts.all():
        assert artifact.verification == Artifact.Verification.VERIFIED, artifact
        assert artifact.computed_sha256 == artifact.github_digest.removeprefix(
            "sha256:"
        )
        assert artifact.verified_at
        assert artifact.verified_bytes == artifact.size
    chart = release.artifacts.get(kind=Artifact.Kind.CHART)
    assert chart.chart_version == "1.111.0"
    rows = TagObservation.objects.filter(release=release)
    assert rows.count() == 3 * 4  # three images, four tags each
    assert set(rows.values_list("state", flat=True)) == {"verified"}
    event = AuditEvent.objects.filter(action="checks.completed").latest("pk")
    assert event.details["passes"] is True


def test_a_wrong_checksum_line_fails_the_checksums_item_naming_the_asset(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer, "bad-checksum")

    item = items(release)["checksums"]
    assert item.ok is False
    assert "gateway-linux-amd64: checksums.txt says" in item.detail
    bad = release.artifacts.get(name="gateway-linux-amd64")
    assert bad.verification == Artifact.Verification.MISMATCH
    assert bad.expected_sha256 in bad.verification_detail
    assert bad.computed_sha256 in bad.verification_detail
    assert not checklist.passes(release)
    others = release.artifacts.exclude(name="gateway-linux-amd64")
    assert set(others.values_list("verification", flat=True)) == {"verified"}


def test_a_missing_asset_fails_the_release_item_naming_it(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer, "missing-asset")

    found = items(release)
    assert found["release"].ok is False
    assert "agent-darwin-arm64" in found["release"].detail
    assert found["checksums"].ok is True  # what is there is right
    assert not checklist.passes(release)


def test_a_missing_arm64_image_fails_the_images_item_naming_it(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer, "missing-arm64")

    item = items(release)["images"]
    assert item.ok is False
    assert item.detail.startswith("avika-agent:1.111.0, 1.111, latest, sha-")
    assert item.detail.endswith(" wrong platforms: The index lacks linux/arm64.")
    assert "avika-gateway" not in item.detail
    row = TagObservation.objects.get(repository="hellodk/avika-agent", tag="1.111.0")
    assert [p["platform"] for p in row.platforms] == ["linux/amd64"]


def test_downloads_from_the_sandbox_send_no_token_to_the_storage_host(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)
    seen = []
    real_get = ghclient.requests.Session.get

    def spy(session, url, **kwargs):
        seen.append((url, dict(kwargs.get("headers") or {})))
        return real_get(session, url, **kwargs)

    monkeypatch.setattr(ghclient.requests.Session, "get", spy)
    artifact = release.artifacts.get(name="gateway-linux-amd64")
    with ghclient.client_for(project).open_asset(artifact.github_asset_id) as chunks:
        data = b"".join(chunks)

    assert hashlib.sha256(data).hexdigest() == artifact.computed_sha256
    (api, api_headers), (storage, storage_headers) = seen
    assert "Authorization" in api_headers
    assert "Authorization" not in storage_headers
    assert urlsplit(api).hostname != urlsplit(storage).hostname


def test_rerunning_checks_is_idempotent_and_audited(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)
    first = {i.key: i.checked_at for i in checklist.latest(release)}
    fingerprint = checklist.evidence_fingerprint(release)

    assert actions.request_checks(release=release, user=maintainer) is True
    release.refresh_from_db()
    assert release.checks_state == Release.Checks.DONE
    again = {i.key: i.checked_at for i in checklist.latest(release)}
    assert all(again[k] > first[k] for k in first)
    assert checklist.evidence_fingerprint(release) == fingerprint
    assert AuditEvent.objects.filter(action="checks.requested").count() == 1

    # While queued, a second request (a double click) does nothing.
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    assert actions.request_checks(release=release, user=maintainer) is True
    assert actions.request_checks(release=release, user=maintainer) is False


def test_fingerprint_changes_when_an_image_digest_changes(
    github_sandbox, project, maintainer
):
    release = release_with(project, maintainer)
    before = checklist.evidence_fingerprint(release)
    TagObservation.objects.filter(tag="1.111.0", image="avika-gateway").update(
        digest="sha256:" + "0" * 64
    )
    assert checklist.evidence_fingerprint(release) != before


def test_ci_still_running_is_waited_for_then_goes_green(
    github_sandbox, project, maintainer, settings
):
    from sandbox.models import WorkflowRun

    settings.CHECKS_CI_WAIT_SECONDS = 0
    release = release_with(project, maintainer)
    # Make CI on the release commit still running, and look again.
    ci = WorkflowRun.objects.filter(head_sha=release.commit_sha).get()
    WorkflowRun.objects.filter(pk=ci.pk).update(
        finishes_at=timezone.now() + timedelta(hours=1), duration=7200
    )
    checklist.run(release, only=["ci"])
    item = items(release)["ci"]
    assert item.ok is False
    assert item.waiting
    assert "Still running" in item.detail
    assert checklist.waiting(release)

    WorkflowRun.objects.filter(pk=ci.pk).update(
        started_at=timezone.now() - timedelta(minutes=2),
        finishes_at=timezone.now() - timedelta(minutes=1),
        duration=60,
    )
    from releases import tasks

    tasks._refresh_waiting_checks(project)
    assert items(release)["ci"].ok is True
    assert checklist.passes(release)


def test_cli_verify_prints_json_and_exits_by_the_result(
    github_sandbox, project, maintainer, capsys
):
    release = release_with(project, maintainer, "bad-checksum")
    with pytest.raises(SystemExit) as exited:
        call_command("avika", "verify", release.version, "--json")
    assert exited.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "1.111.0"
    names = [item["name"] for item in out["items"]]
    assert names == [name for _key, name in checklist.ITEMS]
    failing = [i for i in out["items"] if i["ok"] is False]
    assert len(failing) == 1
    assert "gateway-linux-amd64" in failing[0]["detail"]


def test_cli_verify_passes_with_exit_zero(github_sandbox, project, maintainer, capsys):
    release = release_with(project, maintainer)
    call_command("avika", "verify", release.version)
    out = capsys.readouterr().out
    assert "✓ CI is green on the release commit" in out
    assert "all 8 checks pass" in out.lower()


def test_cli_images_lists_every_tag(github_sandbox, project, capsys):
    actions.sync_project(project)
    call_command("avika", "images", "--json")
    rows = json.loads(capsys.readouterr().out)
    gateway = {r["tag"]: r for r in rows if r["image"] == "avika-gateway"}
    assert {"1.110.0", "1.110", "latest", "1.109.0", "1.108.0"} <= set(gateway)
    latest = gateway["latest"]
    assert latest["state"] == "verified"
    assert latest["release"] == "1.110.0"
    assert latest["digest"].startswith("sha256:")
    assert [p["platform"] for p in latest["platforms"]] == [
        "linux/amd64",
        "linux/arm64",
    ]
    assert all(p["size"] > 0 for p in latest["platforms"])


def test_github_not_answering_leaves_the_item_waiting_not_failed(
    github_sandbox, project, maintainer, monkeypatch
):
    release = release_with(project, maintainer)

    def rate_limited(context):
        raise ghclient.RateLimited(
            "GitHub's rate limit is used up (reading checks).", None
        )

    answering = checklist.COMPUTE["ci"]
    monkeypatch.setitem(checklist.COMPUTE, "ci", rate_limited)
    checklist.run(release, only=["ci"])
    item = items(release)["ci"]
    assert item.ok is False
    assert item.waiting is True
    assert item.detail.startswith("Not checked: GitHub could not be asked")
    assert "asked again" in item.detail

    # A release published today is looked at again by the sync, too.
    Release.objects.filter(pk=release.pk).update(
        state=Release.State.PUBLISHED, published_at=timezone.now()
    )
    monkeypatch.setitem(checklist.COMPUTE, "ci", answering)
    from releases import tasks

    tasks._refresh_waiting_checks(project)
    assert items(release)["ci"].ok is True
