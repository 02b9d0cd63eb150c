"""The release notes' pages: the editor on the release page, its live
preview, the conflict page, the history and its actions.

Reading needs `view_release`; every write needs `edit_notes`, checked here
on the server (the templates merely leave the controls out). Every form
works without JavaScript: a plain POST, then a redirect or a page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from releases import notes
from releases.ghclient import GitHubError
from releases.markdown import render_markdown
from releases.models import NotesRevision, Release
from releases.notes import NotesConflict, NotesRefused, UnknownRevision

VIEW_WHY = "Seeing releases needs a role in the console."
EDIT_WHY = "Editing release notes needs the Reviewers or Maintainers role."


class NotesForm(forms.Form):
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    based_on = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def clean_body(self) -> str:
        body = notes.normalise(self.cleaned_data["body"])
        if problem := notes.length_problem(body):
            raise forms.ValidationError(problem)
        return body


def _require(request: HttpRequest, perm: str, why: str) -> None:
    if not request.user.has_perm(f"releases.{perm}"):
        raise PermissionDenied(why)


def _release(pk: int) -> Release:
    return get_object_or_404(Release.objects.select_related("project"), pk=pk)


def _notes_url(release: Release) -> str:
    return f"{release.get_absolute_url()}#notes"


def notes_context(
    request: HttpRequest, release: Release, form: NotesForm | None = None
) -> dict[str, Any]:
    """What the notes section of the release page needs, in two queries
    whatever the number of revisions."""
    current = notes.current_revision(release)
    body = current.body if current else release.notes
    if form is None:
        initial = {"body": body, "based_on": current.number if current else 0}
        form = NotesForm(initial=initial)
    shown = form.data.get("body", body) if form.is_bound else body
    return {
        "current": current,
        "revision_count": current.number if current else 0,
        "rendered": render_markdown(body),
        "preview": render_markdown(shown),
        "length": len(notes.normalise(shown)),
        "max_length": NotesRevision.MAX_LENGTH,
        "notes_form": form,
        "can_edit_notes": request.user.has_perm("releases.edit_notes"),
        "editing_problem": notes.editing_problem(release),
        "unpushed": _unpushed(release, current),
    }


def _unpushed(release: Release, current: NotesRevision | None) -> bool:
    """A published release whose current text GitHub does not show yet."""
    if current is None or release.state != Release.State.PUBLISHED:
        return False
    return current.source != NotesRevision.Source.GITHUB and not current.pushed_at


@login_required
@require_POST
def save(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "edit_notes", EDIT_WHY)
    release = _release(pk)
    form = NotesForm(request.POST)
    if not form.is_valid():
        return _edit_page(request, release, form, status=400)
    try:
        revision = notes.save_notes(
            release=release,
            user=request.user,
            body=form.cleaned_data["body"],
            based_on=form.cleaned_data["based_on"],
        )
    except NotesConflict as conflict:
        return _conflict_page(request, release, conflict)
    except UnknownRevision as exc:
        form.add_error(None, str(exc))
        return _edit_page(request, release, form, status=400)
    except NotesRefused as exc:
        form.add_error(None, str(exc))
        return _edit_page(request, release, form, status=409)
    if revision is None:
        messages.info(request, "The notes did not change: no new revision.")
    else:
        _say_saved(request, revision, "Saved")
    return redirect(_notes_url(release))


def _say_saved(request: HttpRequest, revision: NotesRevision, verb: str) -> None:
    words = f"{verb} revision {revision.number}."
    if revision.push_error:
        messages.error(request, f"{words} Not on GitHub: {revision.push_error}")
    elif revision.pushed_at:
        messages.success(request, f"{words} GitHub's release now shows it.")
    elif revision.release.state == Release.State.DRAFT:
        messages.success(request, f"{words} It goes to GitHub when published.")
    else:
        messages.success(request, words)


def _edit_page(
    request: HttpRequest, release: Release, form: NotesForm, *, status: int
) -> HttpResponse:
    context = {"release": release} | notes_context(request, release, form)
    return render(request, "releases/notes_edit.html", context, status=status)


def _conflict_page(
    request: HttpRequest, release: Release, conflict: NotesConflict
) -> HttpResponse:
    current = conflict.current
    context = {
        "release": release,
        "conflict": conflict,
        "current": current,
        "mine": conflict.mine,
        "diff": notes.diff_lines(
            current.body,
            conflict.mine,
            old_name=f"revision {current.number} (current)",
            new_name="yours",
        ),
        "max_length": NotesRevision.MAX_LENGTH,
    }
    return render(request, "releases/notes_conflict.html", context, status=409)


@login_required
@require_POST
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "edit_notes", EDIT_WHY)
    release = _release(pk)
    body = notes.normalise(request.POST.get("body", ""))
    context = {
        "release": release,
        "preview": render_markdown(body),
        "length": len(body),
        "max_length": NotesRevision.MAX_LENGTH,
    }
    return render(request, "releases/_notes.html#preview", context)


@login_required
@require_GET
def history(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "view_release", VIEW_WHY)
    release = _release(pk)
    revisions = list(
        release.revisions.select_related("based_on", "restored_from").order_by(
            "-number"
        )
    )
    by_number = {r.number: r for r in revisions}
    newer, older = _compared(request, revisions)
    context: dict[str, Any] = {
        "release": release,
        "revisions": revisions,
        "current": revisions[0] if revisions else None,
        "can_edit_notes": request.user.has_perm("releases.edit_notes"),
        "editing_problem": notes.editing_problem(release),
        "a": older,
        "b": newer,
    }
    if older in by_number and newer in by_number:
        old, new = by_number[older], by_number[newer]
        context["diff"] = notes.diff_lines(
            old.body,
            new.body,
            old_name=f"revision {old.number}",
            new_name=f"revision {new.number}",
        )
        context["compared"] = (old, new)
    return render(request, "releases/notes_history.html", context)


def _compared(
    request: HttpRequest, revisions: list[NotesRevision]
) -> tuple[int | None, int | None]:
    """The two revisions to compare: ?a=&b=, else the current and the one
    before it."""
    try:
        a = int(request.GET["a"])
        b = int(request.GET["b"])
    except (KeyError, ValueError):
        if len(revisions) < 2:
            return None, None
        return revisions[0].number, revisions[1].number
    return max(a, b), min(a, b)


@login_required
@require_POST
def restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    _require(request, "edit_notes", EDIT_WHY)
    release = _release(pk)
    try:
        revision = notes.restore_revision(
            release=release, user=request.user, number=number
        )
    except NotesRefused as exc:
        messages.error(request, str(exc))
        return redirect("notes_history", pk=release.pk)
    if revision is None:
        messages.info(request, f"Revision {number} is already the current text.")
        return redirect("notes_history", pk=release.pk)
    _say_saved(request, revision, f"Restored revision {number} as")
    return redirect(_diff_url(release, number, revision.number))


def _diff_url(release: Release, older: int, newer: int) -> str:
    url = reverse("notes_history", args=[release.pk])
    return f"{url}?a={older}&b={newer}#diff"


@login_required
@require_POST
def regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "edit_notes", EDIT_WHY)
    release = _release(pk)
    before = notes.current_revision(release)
    try:
        revision = notes.regenerate_notes(release=release, user=request.user)
    except (NotesRefused, GitHubError) as exc:
        messages.error(request, f"The notes were not regenerated: {exc}")
        return redirect(_notes_url(release))
    if revision is None:
        messages.info(request, "GitHub generated the same notes: nothing changed.")
        return redirect(_notes_url(release))
    _say_saved(request, revision, "Regenerated by GitHub as")
    older = before.number if before else revision.number
    return redirect(_diff_url(release, older, revision.number))


@login_required
@require_POST
def push(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "edit_notes", EDIT_WHY)
    release = _release(pk)
    try:
        pushed = notes.push_current(release=release, user=request.user)
    except NotesRefused as exc:
        messages.error(request, str(exc))
        return redirect(_notes_url(release))
    current = notes.current_revision(release)
    if pushed:
        messages.success(request, "GitHub's release now shows the current notes.")
    else:
        error = current.push_error if current else ""
        messages.error(request, f"Still not on GitHub: {error}")
    return redirect(_notes_url(release))
