"""Release notes as revisions: reading the current one, and taking in what
GitHub holds. Every change makes a new NotesRevision; none is overwritten."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q

from releases.models import NotesRevision, Release


def current_revision(release: Release) -> NotesRevision | None:
    return release.revisions.order_by("-number").first()


def last_on_github(release: Release) -> NotesRevision | None:
    """The newest revision known to be GitHub's body: read from it, or
    pushed to it."""
    on_github = Q(source=NotesRevision.Source.GITHUB) | Q(pushed_at__isnull=False)
    return release.revisions.filter(on_github).order_by("-number").first()


def adopt_github_body(release: Release, body: str) -> NotesRevision | None:
    """Record GitHub's body as a revision when it is news: the first import,
    or an edit made on GitHub since. A body the console itself keeps
    unpushed (a draft being reviewed) is left as it is: GitHub still holding
    the old text is no reason to replace the reviewers' work.

    Returns the new revision, or None when nothing changed.
    """
    known = last_on_github(release)
    if known is not None and known.body == body:
        return None
    current = current_revision(release)
    if current is not None and current.body == body and known is None:
        return None
    try:
        with transaction.atomic():
            revision = NotesRevision.objects.create(
                release=release,
                number=(current.number + 1) if current else 1,
                body=body,
                source=NotesRevision.Source.GITHUB,
                author_name="GitHub",
                based_on=current,
            )
            Release.objects.filter(pk=release.pk).update(notes=body)
    except IntegrityError:
        return None  # another worker recorded a revision meanwhile
    release.notes = body
    return revision
