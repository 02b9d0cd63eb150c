"""The checklist on the release page and the images page, seen by each
persona. Evidence is made directly as rows; nothing talks to a registry."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases import actions
from releases.models import Artifact, CheckResult, Release, TagObservation
from tests.test_views import FakeGitHub, make_release

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def platforms(amd64_mb: float = 41.2, arm64_mb: float = 39.8) -> list[dict]:
    return [
        {
            "platform": "linux/amd64",
            "digest": "sha256:" + "1" * 64,
            "size": int(amd64_mb * 1e6),
        },
        {
            "platform": "linux/arm64",
            "digest": "sha256:" + "2" * 64,
            "size": int(arm64_mb * 1e6),
        },
    ]


def observe(project, release, image, tag, state="verified", **fields) -> TagObservation:
    fields.setdefault("digest", DIGEST)
    fields.setdefault("platforms", platforms())
    fields.setdefault("kind", "version" if tag.count(".") == 2 else "latest")
    return TagObservation.objects.create(
        project=project,
        image=image,
        repository=f"hellodk/{image}",
        tag=tag,
        release=release,
        state=state,
        observed_at=timezone.now(),
        pushed_at=fields.pop("pushed_at", timezone.now() - timedelta(days=1)),
        **fields,
    )


def check(release, key, ok, detail, position=0, **fields) -> CheckResult:
    return CheckResult.objects.create(
        release=release,
        key=key,
        name=key.upper(),
        ok=ok,
        detail=detail,
        position=position,
        link=fields.pop("link", "https://github.com/hellodk/avika/commit/abc/checks"),
        **fields,
    )


# The release page -------------------------------------------------------------------


def test_release_page_shows_the_checklist_with_evidence_and_time(
    client, maintainer, project
):
    release = make_release(project, "1.111.0", "draft", checks_state="done")
    check(release, "ci", True, "5 check run(s) passed on abc1234.")
    check(
        release,
        "checksums",
        False,
        "gateway-linux-amd64: checksums.txt says 1a, the download hashes to 2b.",
        1,
    )
    client.force_login(maintainer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Checklist" in page
    assert "5 check run(s) passed on abc1234." in page
    assert "checksums.txt says 1a, the download hashes to 2b." in page
    assert 'class="check tone-text-bad"' in page
    assert ">evidence</a>" in page
    assert "<time datetime=" in page
    assert "1 failing" in page
    assert "Re-run checks" in page


def test_reviewers_see_the_checklist_but_no_rerun_button(client, reviewer, project):
    release = make_release(project, "1.111.0", "draft")
    check(release, "ci", True, "green")
    client.force_login(reviewer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "green" in page
    assert "Re-run checks" not in page
    response = client.post(reverse("rerun_checks", args=[release.pk]))
    assert response.status_code == 403


def test_checklist_empty_state_says_what_will_appear(client, maintainer, project):
    release = make_release(project, "1.111.0", "draft")
    client.force_login(maintainer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "each item appears here" in page


def test_rerun_queues_the_checks_and_the_page_polls_until_done(
    client, maintainer, project, monkeypatch
):
    queued = []
    monkeypatch.setattr(actions, "_enqueue", lambda *args: queued.append(args))
    release = make_release(project, "1.111.0", "draft", checks_state="done")
    client.force_login(maintainer)

    response = client.post(
        reverse("rerun_checks", args=[release.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="live" hx-get=' in fragment  # polling again while verifying
    assert "verifying" in fragment
    assert queued == [("releases.tasks.verify_release", release.pk)]
    release.refresh_from_db()
    assert release.checks_state == Release.Checks.QUEUED

    Release.objects.filter(pk=release.pk).update(checks_state="done")
    response = client.get(release.get_absolute_url(), headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx: stop polling


def test_rerun_is_refused_before_the_release_exists(client, maintainer, project):
    release = make_release(project, "1.111.0", "running")
    client.force_login(maintainer)
    response = client.post(reverse("rerun_checks", args=[release.pk]), follow=True)
    assert "once the GitHub release exists" in response.content.decode()


def test_assets_show_progress_while_verifying(client, maintainer, project):
    release = make_release(project, "1.111.0", "draft", checks_state="running")
    Artifact.objects.create(
        release=release,
        name="gateway-linux-amd64",
        size=4_000_000,
        verification="verifying",
        verified_bytes=1_000_000,
    )
    Artifact.objects.create(
        release=release, name="agent-linux-amd64", verification="verified"
    )
    client.force_login(maintainer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert '<progress value="1000000" max="4000000"' in page
    assert "25%" in page
    assert "1 of 2 verified" in page


def test_a_drifted_tag_is_an_alarm_on_the_release_page(client, auditor, project):
    release = make_release(project, "1.110.0", "published")
    observe(
        project,
        release,
        "avika-gateway",
        "1.110.0",
        state="drifted",
        detail="Was sha256:ab when verified; now sha256:cd: image content changed.",
        drift={
            "classification": "image content changed",
            "from": DIGEST,
            "to": OTHER,
            "at": timezone.now().isoformat(),
        },
    )
    client.force_login(auditor)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'role="alert"' in page
    assert "A released image tag changed" in page
    assert "<strong>image content changed</strong>: was" in page
    assert f'<code title="{OTHER}">{OTHER[7:19]}</code>' in page
    assert "hellodk/avika-gateway:1.110.0" in page


def test_a_reviewer_gets_no_links_to_the_images_page(client, reviewer, project):
    release = make_release(project, "1.110.0", "published")
    observe(project, release, "avika-gateway", "1.110.0", state="drifted")
    CheckResult.objects.create(
        release=release,
        key="images",
        name="Every image verified",
        ok=False,
        detail="avika-gateway:1.110.0 drifted.",
        link=reverse("images") + "?release=1.110.0",
    )
    client.force_login(reviewer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "hellodk/avika-gateway:1.110.0" in page
    assert reverse("images") not in page
    assert client.get(reverse("images")).status_code == 403


# The images page ------------------------------------------------------------------------


@pytest.fixture
def github(monkeypatch) -> FakeGitHub:
    """The dashboard asks GitHub for VERSION: answer without a network."""
    fake = FakeGitHub()
    monkeypatch.setattr("releases.views.client_for", lambda project: fake)
    return fake


def test_images_page_is_for_auditors_and_maintainers(
    client, auditor, maintainer, reviewer, outsider, project, github
):
    for person, status in [
        (auditor, 200),
        (maintainer, 200),
        (reviewer, 403),
        (outsider, 403),
    ]:
        client.force_login(person)
        assert client.get(reverse("images")).status_code == status, person
    client.force_login(reviewer)
    assert "Images</a>" not in client.get("/").content.decode()
    client.force_login(auditor)
    assert "Images</a>" in client.get("/").content.decode()


def test_images_page_empty_state_says_what_will_appear(client, auditor, project):
    client.force_login(auditor)
    page = client.get(reverse("images")).content.decode()
    assert "No tags inspected yet" in page
    assert "its digest, platforms, per-platform size, push time" in page


def test_images_page_shows_digest_platforms_sizes_push_release_and_state(
    client, auditor, project
):
    release = make_release(project, "1.110.0", "published")
    observe(project, release, "avika-gateway", "1.110.0")
    client.force_login(auditor)
    page = client.get(reverse("images")).content.decode()
    assert "hellodk/avika-gateway" in page
    assert f'title="{DIGEST}"' in page
    assert DIGEST.removeprefix("sha256:")[:12] in page
    assert f'data-copy="{DIGEST}"' in page
    assert 'linux/amd64 <span class="muted">41.2 MB</span>' in page
    assert 'linux/arm64 <span class="muted">39.8 MB</span>' in page
    assert "1\xa0day ago" in page
    assert f'href="{release.get_absolute_url()}" class="tag">v1.110.0' in page
    assert 'tone-good">verified' in page


def test_problems_come_first_and_the_tab_title_says_so(client, auditor, project):
    release = make_release(project, "1.110.0", "published")
    observe(project, release, "avika-gateway", "latest", pushed_at=timezone.now())
    observe(project, release, "avika-gateway", "1.110.0", state="drifted", digest=OTHER)
    observe(project, None, "avika-gateway", "1.107.0", state="orphan")
    observe(project, release, "avika-agent", "1.110.0")
    client.force_login(auditor)
    page = client.get(reverse("images")).content.decode()
    assert "<title>1 drifted · Images · Avika Console</title>" in page
    gateway = page.index("hellodk/avika-gateway")
    assert gateway < page.index("hellodk/avika-agent")  # the image with problems first
    rows = page[gateway:]
    assert rows.index('data-tag="1.110.0"') < rows.index('data-tag="1.107.0"')
    assert rows.index('data-tag="1.107.0"') < rows.index('data-tag="latest"')
    assert 'tone-bad">drifted' in page


def test_the_tab_title_names_problems_as_the_page_does(client, auditor, project):
    release = make_release(project, "1.110.0", "published")
    observe(project, release, "avika-agent", "1.110.0", state="platforms")
    client.force_login(auditor)
    page = client.get(reverse("images")).content.decode()
    assert "<title>1 wrong platforms · Images · Avika Console</title>" in page


def test_an_unknown_state_filter_is_named_and_ignored(client, auditor, project):
    release = make_release(project, "1.110.0", "published")
    observe(project, release, "avika-agent", "1.110.0")
    client.force_login(auditor)
    page = client.get(reverse("images"), {"state": "bogus"}).content.decode()
    assert "“bogus” is not a state of a tag: showing every state." in page
    assert "hellodk/avika-agent" in page


def test_filters_and_sort_live_in_the_url(client, auditor, project):
    old = make_release(project, "1.109.0", "published")
    new = make_release(project, "1.110.0", "published")
    observe(
        project,
        old,
        "avika-gateway",
        "1.109.0",
        pushed_at=timezone.now() - timedelta(days=30),
    )
    observe(project, new, "avika-gateway", "1.110.0", state="missing", digest="")
    observe(project, new, "avika-agent", "1.110.0")
    client.force_login(auditor)

    page = client.get(reverse("images"), {"state": "missing"}).content.decode()
    assert 'data-tag="1.110.0"' in page
    assert 'data-tag="1.109.0"' not in page
    assert '<option value="missing" selected>' in page
    assert "1 of 3 tags" in page

    page = client.get(reverse("images"), {"release": "v1.109.0"}).content.decode()
    assert 'data-tag="1.109.0"' in page
    assert "hellodk/avika-agent" not in page

    page = client.get(reverse("images"), {"image": "avika-agent"}).content.decode()
    assert "hellodk/avika-gateway" not in page

    page = client.get(reverse("images"), {"sort": "newest"}).content.decode()
    assert page.index('data-tag="1.110.0"') < page.index('data-tag="1.109.0"')

    page = client.get(reverse("images"), {"state": "orphan"}).content.decode()
    assert "No tag matches these filters." in page


def test_filter_changes_get_just_the_list(client, auditor, project):
    observe(project, None, "avika-gateway", "1.107.0", state="orphan")
    client.force_login(auditor)
    response = client.get(
        reverse("images"), {"state": "orphan"}, headers={"HX-Request": "true"}
    )
    fragment = response.content.decode()
    assert fragment.lstrip().startswith("<title>")
    assert 'id="image-list"' in fragment
    assert "<form" not in fragment


def test_the_size_chart_draws_each_release_against_the_budget(client, auditor, project):
    for version, size in [("1.108.0", 35), ("1.109.0", 41), ("1.110.0", 55)]:
        release = make_release(project, version, "published")
        observe(
            project,
            release,
            "avika-gateway",
            version,
            platforms=platforms(size, size - 1),
        )
    client.force_login(auditor)
    page = client.get(reverse("images")).content.decode()
    assert "Sizes across releases" in page
    assert '<rect class="band"' in page
    assert page.count('<circle class="point linux-amd64') == 3
    assert page.count('outside"') == 2  # 1.110.0 is over 50 MB on both platforms
    assert "1.110.0 linux/amd64: 55.0 MB (outside the budget)" in page
    assert "budget 30–50 MB" in page


@pytest.mark.parametrize("count", [1, 15])
def test_images_page_queries_do_not_grow_with_tags(
    client, auditor, project, django_assert_num_queries, count
):
    release = make_release(project, "1.110.0", "published")
    for n in range(count):
        observe(project, release, "avika-gateway", f"1.110.{n}")
    client.force_login(auditor)
    # session, user, user and group permissions, project, tags, registry status
    with django_assert_num_queries(7):
        client.get(reverse("images"))


def test_inspect_now_queues_an_audit(client, auditor, project, monkeypatch):
    queued = []
    monkeypatch.setattr(actions, "_enqueue", lambda *args: queued.append(args))
    client.force_login(auditor)
    response = client.post(reverse("inspect_images"), follow=True)
    assert "Inspection queued" in response.content.decode()
    assert queued == [("releases.tasks.audit_images",)]
