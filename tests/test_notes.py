"""Release notes: rendering, saving, conflicts, history, limits, roles.

The notes' own writes are made on rows; the ones that talk to GitHub
(pushing a published release's notes, regenerating) are in
test_notes_github.py against the sandbox."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from releases import notes
from releases.markdown import render_markdown
from releases.models import AuditEvent, NotesRevision, Release
from tests.test_views import make_release


def draft_with_notes(project, body: str = "## What's Changed\n\n* first") -> Release:
    release = make_release(project, "1.111.0", "draft", github_release_id=41)
    notes.adopt_github_body(release, body)
    return release


def save_url(release: Release) -> str:
    return reverse("notes_save", args=[release.pk])


# Rendering -------------------------------------------------------------------


def test_render_strips_scripts_handlers_and_dangerous_links():
    html = render_markdown(
        "<script>alert(1)</script>\n\n"
        '<img src="x.png" onerror="alert(2)">\n\n'
        "[js](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
        '<a href="javascript:alert(4)">raw</a> '
        '<a href="data:text/html,hi" onclick="alert(5)">raw data</a>'
    )
    assert "<script" not in html
    assert "alert(1)" not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript:" not in html.replace("[js](javascript:", "")
    assert 'href="javascript' not in html
    assert 'href="data' not in html


def test_render_makes_tables_strikethrough_and_task_lists():
    html = render_markdown(
        "| image | size |\n|---|---|\n| gateway | 42 MB |\n\n"
        "~~old~~\n\n- [x] checksums\n- [ ] images\n"
    )
    assert "<table>" in html
    assert "<td>gateway</td>" in html
    assert "<s>old</s>" in html
    assert 'type="checkbox"' in html
    assert 'checked="checked"' in html
    assert html.count('disabled="disabled"') == 2


def test_render_keeps_safe_links_with_rel():
    html = render_markdown("[PR](https://github.com/hellodk/avika/pull/1)")
    assert 'href="https://github.com/hellodk/avika/pull/1"' in html
    assert 'rel="noopener noreferrer"' in html


def test_render_links_bare_addresses_like_github():
    html = render_markdown(
        "* gateway by @hellodk in https://github.com/hellodk/avika/pull/12\n\n"
        "**Full Changelog**: https://github.com/o/r/compare/v1.0.0...v1.1.0.\n\n"
        "`https://in.code` [named](https://named.example)"
    )
    assert '<a href="https://github.com/hellodk/avika/pull/12"' in html
    assert '<a href="https://github.com/o/r/compare/v1.0.0...v1.1.0"' in html
    assert "<code>https://in.code</code>" in html
    assert html.count("https://named.example") == 1


# Pages and roles -----------------------------------------------------------


def test_release_page_shows_rendered_notes_to_an_auditor_without_editor(
    client, project, auditor
):
    release = draft_with_notes(project, "| a | b |\n|---|---|\n| 1 | 2 |")
    client.force_login(auditor)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "<td>1</td>" in page
    assert "<textarea" not in page
    assert "Regenerate from GitHub" not in page


def test_release_page_shows_the_editor_to_a_reviewer(client, project, reviewer):
    release = draft_with_notes(project)
    client.force_login(reviewer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'name="body"' in page
    assert 'name="based_on" value="1"' in page
    assert 'maxlength="125000"' in page
    assert 'hx-post="' + reverse("notes_preview", args=[release.pk]) in page
    assert "Regenerate from GitHub" in page


@pytest.mark.parametrize("persona", ["auditor", "outsider"])
def test_notes_writes_are_refused_without_edit_rights(
    client, project, persona, request
):
    release = draft_with_notes(project)
    client.force_login(request.getfixturevalue(persona))
    pk = release.pk
    posts = [
        (save_url(release), {"body": "mine", "based_on": 1}),
        (reverse("notes_preview", args=[pk]), {"body": "x"}),
        (reverse("notes_restore", args=[pk, 1]), {}),
        (reverse("notes_regenerate", args=[pk]), {}),
        (reverse("notes_push", args=[pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert release.revisions.count() == 1


def test_outsider_may_not_read_the_history(client, project, outsider):
    release = draft_with_notes(project)
    client.force_login(outsider)
    assert client.get(reverse("notes_history", args=[release.pk])).status_code == 403


def test_preview_renders_the_posted_markdown_with_its_length(client, project, reviewer):
    release = draft_with_notes(project)
    client.force_login(reviewer)
    response = client.post(
        reverse("notes_preview", args=[release.pk]),
        {"body": "| a |\n|---|\n| 1 |"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "<td>1</td>" in html
    assert "17 of 125,000 characters" in html
    assert "<html" not in html


@pytest.mark.parametrize("count", [1, 25])
def test_release_page_queries_do_not_grow_with_revisions(
    client, project, reviewer, django_assert_num_queries, count
):
    release = draft_with_notes(project, "text 1")
    for number in range(2, count + 1):
        notes.save_notes(
            release=release, user=reviewer, body=f"text {number}", based_on=number - 1
        )
    client.force_login(reviewer)
    # As in test_views' count for assets: the page, the notes section's
    # current revision and the publish panel, whatever the revisions.
    with django_assert_num_queries(16):
        client.get(release.get_absolute_url())
    # session, user, release, revisions, permissions (once)
    with django_assert_num_queries(6):
        client.get(reverse("notes_history", args=[release.pk]))


# Saving ------------------------------------------------------------------------


def test_a_save_makes_a_revision_with_author_base_and_audit(client, project, reviewer):
    release = draft_with_notes(project)
    client.force_login(reviewer)
    response = client.post(save_url(release), {"body": "new\r\ntext", "based_on": 1})
    assert response.status_code == 302
    revision = notes.current_revision(release)
    assert revision.number == 2
    assert revision.body == "new\ntext"
    assert revision.author == reviewer
    assert revision.author_name == "rene"
    assert revision.based_on.number == 1
    assert revision.source == NotesRevision.Source.EDITED
    assert revision.pushed_at is None  # a draft's notes wait for publishing
    release.refresh_from_db()
    assert release.notes == "new\ntext"
    event = AuditEvent.objects.get(action="notes.saved")
    assert event.details["revision"] == 2
    assert event.details["based_on"] == 1


def test_saving_an_unchanged_body_makes_no_revision(client, project, reviewer):
    release = draft_with_notes(project, "same")
    client.force_login(reviewer)
    client.post(save_url(release), {"body": "same", "based_on": 1})
    assert release.revisions.count() == 1
    assert not AuditEvent.objects.filter(action="notes.saved").exists()


def test_an_over_long_body_is_refused_naming_the_limit_and_length(
    client, project, reviewer
):
    release = draft_with_notes(project)
    client.force_login(reviewer)
    body = "x" * 125_001
    response = client.post(save_url(release), {"body": body, "based_on": 1})
    assert response.status_code == 400
    page = response.content.decode()
    assert "125,001 characters long" in page
    assert "at most 125,000" in page
    assert body in page  # the text is kept for fixing
    assert release.revisions.count() == 1
    with pytest.raises(notes.NotesRefused, match="125,000"):
        notes.save_notes(release=release, user=reviewer, body=body, based_on=1)


def test_a_save_based_on_a_revision_that_never_was_is_refused_keeping_the_text(
    client, project, reviewer
):
    release = draft_with_notes(project)
    client.force_login(reviewer)
    response = client.post(save_url(release), {"body": "mine", "based_on": 999})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is no revision 999 of these notes" in page
    assert "Someone else" not in page
    assert "mine" in page
    assert release.revisions.count() == 1


@pytest.mark.parametrize("state", ["failed", "cancelled", "running"])
def test_notes_of_releases_that_are_not_draft_or_published_are_read_only(
    client, project, reviewer, state
):
    release = make_release(project, "1.111.0", state, notes="old")
    client.force_login(reviewer)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "<textarea" not in page
    assert f"is {state}" in page
    response = client.post(save_url(release), {"body": "new", "based_on": 0})
    assert response.status_code == 409
    assert "drafts and published releases" in response.content.decode()
    assert not release.revisions.exists()


# Conflicts -----------------------------------------------------------------------


def test_a_stale_save_shows_the_conflict_and_overwrites_nothing(
    client, project, reviewer, maintainer
):
    release = draft_with_notes(project, "base")
    notes.save_notes(release=release, user=maintainer, body="theirs text", based_on=1)
    client.force_login(reviewer)
    response = client.post(save_url(release), {"body": "mine text", "based_on": 1})
    assert response.status_code == 409
    page = response.content.decode()
    assert "theirs text" in page
    assert "mine text" in page
    assert "-theirs text" in page
    assert "+mine text" in page
    assert "Keep mine" in page
    assert "Take theirs" in page
    assert "Edit a merge" in page
    assert release.revisions.count() == 2
    assert notes.current_revision(release).body == "theirs text"
    event = AuditEvent.objects.get(action="notes.conflict")
    assert event.details == {"based_on": 1, "current": 2, "length": 9}


def test_the_conflict_page_escapes_both_texts(client, project, reviewer, maintainer):
    release = draft_with_notes(project, "base")
    notes.save_notes(release=release, user=maintainer, body="<b>x</b>", based_on=1)
    client.force_login(reviewer)
    response = client.post(save_url(release), {"body": "<i>y</i>", "based_on": 1})
    page = response.content.decode()
    assert "<i>y</i>" not in page
    assert "&lt;i&gt;y&lt;/i&gt;" in page
    assert "<b>x</b>" not in page


def test_keep_mine_saves_my_text_on_top_of_the_current_revision(
    client, project, reviewer, maintainer
):
    release = draft_with_notes(project, "base")
    notes.save_notes(release=release, user=maintainer, body="theirs", based_on=1)
    client.force_login(reviewer)
    client.post(save_url(release), {"body": "mine", "based_on": 1})
    # The conflict page's "Keep mine" form: my text, based on revision 2.
    response = client.post(save_url(release), {"body": "mine", "based_on": 2})
    assert response.status_code == 302
    current = notes.current_revision(release)
    assert (current.number, current.body, current.based_on.number) == (3, "mine", 2)
    bodies = list(release.revisions.order_by("number").values_list("body", flat=True))
    assert bodies == ["base", "theirs", "mine"]


@pytest.mark.django_db(transaction=True)
def test_two_saves_racing_from_one_base_make_one_revision_and_one_conflict(
    project, reviewer, maintainer
):
    release = draft_with_notes(project, "base")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(user, body: str) -> None:
        barrier.wait()
        try:
            notes.save_notes(release=release, user=user, body=body, based_on=1)
            outcomes.append("saved")
        except notes.NotesConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(reviewer, "from rene")),
        threading.Thread(target=save, args=(maintainer, "from maya")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert release.revisions.count() == 2
    assert AuditEvent.objects.filter(action="notes.conflict").count() == 1


# History and restore ---------------------------------------------------------


def test_history_lists_every_revision_and_the_difference_of_two(
    client, project, reviewer
):
    release = draft_with_notes(project, "one\ntwo")
    notes.save_notes(release=release, user=reviewer, body="one\n2", based_on=1)
    notes.save_notes(release=release, user=reviewer, body="one\n2\nthree", based_on=2)
    client.force_login(reviewer)
    url = reverse("notes_history", args=[release.pk])
    page = client.get(url, {"a": 1, "b": 3}).content.decode()
    for number in (1, 2, 3):
        assert f'data-revision="{number}"' in page
    assert "read from GitHub" in page
    assert "rene" in page
    assert "<time" in page
    assert "Revision 1 → revision 3" in page
    assert '<span class="diff-del">-two</span>' in page
    assert '<span class="diff-add">+three</span>' in page


def test_restore_makes_a_new_revision_and_rewrites_nothing(client, project, reviewer):
    release = draft_with_notes(project, "original")
    notes.save_notes(release=release, user=reviewer, body="changed", based_on=1)
    client.force_login(reviewer)
    response = client.post(reverse("notes_restore", args=[release.pk, 1]))
    assert response.status_code == 302
    assert "a=1&b=3" in response.url
    current = notes.current_revision(release)
    assert (current.number, current.body, current.source) == (3, "original", "restored")
    assert current.restored_from.number == 1
    assert release.revisions.get(number=2).body == "changed"
    event = AuditEvent.objects.get(action="notes.restored")
    assert event.details["restored_from"] == 1
    assert event.details["revision"] == 3


# GitHub's body on sync -------------------------------------------------------


def test_sync_never_replaces_unpushed_draft_edits(project, reviewer):
    release = draft_with_notes(project, "generated")
    notes.save_notes(release=release, user=reviewer, body="reviewed", based_on=1)
    assert notes.adopt_github_body(release, "generated") is None
    assert notes.current_revision(release).body == "reviewed"
    assert release.revisions.count() == 2


def test_an_edit_made_on_github_becomes_a_github_revision(project):
    release = draft_with_notes(project, "generated")
    revision = notes.adopt_github_body(release, "edited on GitHub")
    assert revision.number == 2
    assert revision.source == "github"
    assert notes.current_revision(release).body == "edited on GitHub"
    assert notes.adopt_github_body(release, "edited on GitHub") is None


def test_a_github_edit_during_review_is_kept_and_the_review_stays_current(
    project, reviewer
):
    release = draft_with_notes(project, "generated")
    notes.save_notes(release=release, user=reviewer, body="reviewed", based_on=1)
    revision = notes.adopt_github_body(release, "edited on GitHub")
    assert revision.number == 3
    assert revision.body == "edited on GitHub"
    current = notes.current_revision(release)
    assert (current.number, current.body) == (4, "reviewed")
    assert current.restored_from.number == 2
    assert notes.adopt_github_body(release, "edited on GitHub") is None


# Choosing the previous tag ---------------------------------------------------

TAGS = {"v1.109.0", "v1.110.0", "v1.111.0-rc.1", "v1.109.1", "nightly", "x1.0.0"}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.111.0", "v1.110.0"),
        ("1.111.0-rc.2", "v1.111.0-rc.1"),
        ("1.111.0-rc.1", "v1.110.0"),
        ("1.110.0", "v1.109.1"),
        ("1.109.1", "v1.109.0"),
        ("1.112.0", "v1.110.0"),
        ("1.0.0", None),
    ],
)
def test_previous_tag_skips_prereleases_only_for_stable_versions(version, expected):
    assert notes.previous_tag(version, TAGS, prefix="v") == expected


def test_previous_tag_never_picks_the_release_itself():
    assert notes.previous_tag("1.2.0", {"v1.2.0", "v1.1.0"}, prefix="v") == "v1.1.0"


def test_previous_tag_without_a_prefix():
    assert notes.previous_tag("2.0.0", {"1.9.0", "v1.9.5"}, prefix="") == "1.9.0"
