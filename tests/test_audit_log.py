"""The audit log: what is recorded, who may read it, filters and exports."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases import audit
from releases.models import AuditEvent, Release


@pytest.fixture
def release(project, maintainer):
    return Release.objects.create(
        project=project,
        version="1.111.0",
        tag="v1.111.0",
        state=Release.State.DRAFT,
        requested_by=maintainer,
    )


def _content(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_auditor_reads_the_log_newest_first(client, auditor, release, maintainer):
    audit.record("release.requested", actor=maintainer, release=release)
    audit.record("release.dispatched", release=release, run_id=7)
    client.force_login(auditor)
    response = client.get(reverse("audit"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("release.dispatched") < page.index("release.requested")
    assert "maya" in page
    assert "&quot;run_id&quot;: 7" in page


@pytest.mark.parametrize("persona", ["maintainer", "reviewer", "outsider"])
def test_only_auditors_may_read_the_log(client, persona, request, db):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("audit")).status_code == 403
    assert client.get(reverse("audit_export_csv")).status_code == 403


def test_refusals_are_recorded(client, reviewer, project):
    client.force_login(reviewer)
    response = client.get(reverse("new_release"))
    assert response.status_code == 403
    assert b"Maintainers role" in response.content
    event = AuditEvent.objects.get(action="permission.denied")
    assert event.actor == reviewer
    assert event.target == reverse("new_release")
    assert event.details["method"] == "GET"
    assert "Maintainers" in event.details["reason"]


def test_sign_in_and_its_failures_are_recorded_without_the_password(client, maintainer):
    client.post(reverse("login"), {"username": "maya", "password": "hunter2"})
    failed = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert failed.target == "maya"
    assert "hunter2" not in json.dumps(failed.details)
    client.post(reverse("login"), {"username": "maya", "password": "pw-maya"})
    signed_in = AuditEvent.objects.get(action="auth.signed_in")
    assert signed_in.actor == maintainer
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="auth.signed_out").count() == 1


def test_filters_by_actor_action_release_and_time(
    client, auditor, release, maintainer, project
):
    other = Release.objects.create(
        project=project, version="1.110.1", tag="v1.110.1", state="draft"
    )
    audit.record("release.requested", actor=maintainer, release=release)
    audit.record("notes.saved", actor=auditor, release=release)
    audit.record("notes.saved", actor=maintainer, release=other)
    AuditEvent.objects.create(
        actor=maintainer,
        actor_name="maya",
        action="release.requested",
        release=other,
        created_at=timezone.now() - timedelta(days=3),
    )
    client.force_login(auditor)

    def shown(**params) -> list[tuple[str, str]]:
        response = client.get(reverse("audit_export_json"), params)
        assert response.status_code == 200
        return [(e["actor"], e["action"]) for e in json.loads(_content(response))]

    assert shown(actor="maya", action="notes.saved") == [("maya", "notes.saved")]
    assert shown(release=release.pk) == [
        ("aude", "notes.saved"),
        ("maya", "release.requested"),
    ]
    today = timezone.localdate()
    recent = shown(action="release.requested", since=today.isoformat())
    assert recent == [("maya", "release.requested")]
    old = shown(until=(today - timedelta(days=2)).isoformat())
    assert old == [("maya", "release.requested")]


def test_unknown_filter_value_is_named_not_a_500(client, auditor, db):
    client.force_login(auditor)
    response = client.get(reverse("audit"), {"since": "yesterday-ish"})
    assert response.status_code == 200
    assert b"Enter a valid date" in response.content
    export = client.get(reverse("audit_export_csv"), {"since": "yesterday-ish"})
    assert export.status_code == 400
    assert b"since" in export.content


def test_a_range_that_ends_before_it_starts_is_named(client, auditor, db):
    client.force_login(auditor)
    wrong = {"since": "2026-12-05", "until": "2026-12-01"}
    response = client.get(reverse("audit"), wrong)
    assert response.status_code == 200
    assert b"until: 2026-12-01 is before the start, 2026-12-05." in response.content
    assert client.get(reverse("audit_export_json"), wrong).status_code == 400


def test_csv_export_holds_the_filtered_events(client, auditor, release, maintainer):
    audit.record("release.requested", actor=maintainer, release=release, via="web")
    audit.record("notes.saved", actor=maintainer, release=release, revision=2)
    client.force_login(auditor)
    response = client.get(reverse("audit_export_csv"), {"action": "notes.saved"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_content(response))))
    assert [(r["actor"], r["action"], r["release"]) for r in rows] == [
        ("maya", "notes.saved", "1.111.0")
    ]
    assert json.loads(rows[0]["details"]) == {"revision": 2}
    # The export itself is part of the trail.
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.details == {"format": "csv", "filters": {"action": "notes.saved"}}


def test_csv_cells_cannot_smuggle_a_formula(client, auditor, db):
    audit.record("auth.sign_in_failed", target='=HYPERLINK("http://x")')
    client.force_login(auditor)
    response = client.get(reverse("audit_export_csv"))
    rows = list(csv.DictReader(io.StringIO(_content(response))))
    assert rows[-1]["target"].startswith("'=")


def test_log_pages_and_keeps_the_filters(client, auditor, maintainer, db):
    for number in range(60):
        audit.record("checks.requested", actor=maintainer, number=number)
    client.force_login(auditor)
    first = client.get(reverse("audit"), {"action": "checks.requested"})
    assert b"Page 1 of 2" in first.content
    assert b"action=checks.requested&amp;page=2" in first.content
    second = client.get(reverse("audit"), {"action": "checks.requested", "page": 2})
    assert second.content.count(b"<code>checks.requested</code>") == 10


def test_log_queries_do_not_grow_with_events(
    client, auditor, release, maintainer, django_assert_max_num_queries
):
    client.force_login(auditor)

    def queries_for(count: int) -> int:
        for _ in range(count):
            audit.record("notes.saved", actor=maintainer, release=release)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("audit")).status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(40)


def test_the_trail_cannot_be_changed_through_the_admin(admin_client, db):
    event = audit.record("release.requested", target="x")
    change = reverse("admin:releases_auditevent_change", args=[event.pk])
    delete = reverse("admin:releases_auditevent_delete", args=[event.pk])
    admin_client.post(change, {"action": "forged"})
    admin_client.post(delete, {"post": "yes"})
    event.refresh_from_db()
    assert event.action == "release.requested"
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_no_match_says_so_and_offers_everything(client, auditor, db):
    client.force_login(auditor)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.get(reverse("audit"), {"since": tomorrow.isoformat()})
    assert b"No event matches these filters" in response.content


def test_command_prints_the_trail_since_a_day(db, maintainer, release):
    from django.core.management import call_command

    AuditEvent.objects.create(
        actor_name="maya",
        action="release.requested",
        created_at=timezone.now() - timedelta(days=5),
    )
    audit.record("release.published", actor=maintainer, release=release)
    out = io.StringIO()
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("avika", "audit", "--since", since, "--format", "json", stdout=out)
    events = json.loads(out.getvalue())
    assert [(e["actor"], e["action"], e["release"]) for e in events] == [
        ("maya", "release.published", "1.111.0")
    ]
    out = io.StringIO()
    call_command("avika", "audit", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["action"] for r in rows] == ["release.requested", "release.published"]


def test_command_names_a_bad_date(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--since: Enter a valid date"):
        call_command("avika", "audit", "--since", "last tuesday")


def test_what_the_command_line_did_is_attributed_to_it(db, release):
    from releases import audit

    by_hand = audit.record("release.requested", release=release, via="cli")
    by_worker = audit.record("release.dispatched", release=release)
    assert by_hand.actor_name == "command line"
    assert by_worker.actor_name == "system"


def _two_attempts(project, maintainer) -> tuple[Release, Release]:
    failed = Release.objects.create(
        project=project,
        version="1.112.4",
        tag="v1.112.4",
        state=Release.State.FAILED,
        requested_by=maintainer,
    )
    published = Release.objects.create(
        project=project,
        version="1.112.4",
        tag="v1.112.4",
        state=Release.State.PUBLISHED,
        requested_by=maintainer,
    )
    audit.record("release.failed", release=failed)
    audit.record("release.published", actor=maintainer, release=published)
    return failed, published


def test_release_filter_tells_attempts_of_one_version_apart(
    client, auditor, project, maintainer
):
    failed, published = _two_attempts(project, maintainer)
    client.force_login(auditor)

    page = client.get(reverse("audit")).content.decode()

    day = timezone.localdate().isoformat()
    assert f"avika v1.112.4 · failed · #{failed.pk}, started {day}" in page
    assert f"avika v1.112.4 · published · #{published.pk}, started {day}" in page


def test_command_release_filter_holds_every_attempt_of_the_version(
    db, project, maintainer
):
    from django.core.management import call_command

    _two_attempts(project, maintainer)
    audit.record("release.requested", target="other")
    out = io.StringIO()

    call_command(
        "avika", "audit", "--release", "1.112.4", "--format", "json", stdout=out
    )

    events = json.loads(out.getvalue())
    assert [e["action"] for e in events] == ["release.failed", "release.published"]
