"""Release notes as revisions: reading the current one, taking in what
GitHub holds, and the reviewers' writes (save, restore, regenerate, push).

Every change makes a new NotesRevision; none is overwritten. A save names
the revision its author started from: when another revision came in
meanwhile, it is refused as a conflict, never applied over the other.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import semver
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from releases import audit
from releases.ghclient import AmbiguousWrite, GitHubError, client_for
from releases.models import NotesRevision, Release

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser
Source = NotesRevision.Source

# Notes may change while a release is being reviewed and after it shipped;
# a release still building has no GitHub release, a failed one never will.
EDITABLE = (Release.State.DRAFT, Release.State.PUBLISHED)


class NotesRefused(Exception):
    """The notes cannot be changed; str() says why, for people."""


class UnknownRevision(NotesRefused):
    """A save that names a revision these notes never had (a forged form)."""


class NotesConflict(NotesRefused):
    """A save started from a revision that is no longer the current one."""

    def __init__(self, *, mine: str, based_on: int, current: NotesRevision) -> None:
        super().__init__(
            f"Revision {current.number} was saved by {current.author_name} while "
            f"you were editing revision {based_on}: your text was not saved over it."
        )
        self.mine = mine
        self.based_on = based_on
        self.current = current


def current_revision(release: Release) -> NotesRevision | None:
    return release.revisions.order_by("-number").first()


def last_on_github(release: Release) -> NotesRevision | None:
    """The newest revision known to be GitHub's body: read from it, or
    pushed to it."""
    on_github = Q(source=Source.GITHUB) | Q(pushed_at__isnull=False)
    return release.revisions.filter(on_github).order_by("-number").first()


def normalise(body: str) -> str:
    """Browsers send a textarea's lines with CRLF; GitHub stores LF."""
    return body.replace("\r\n", "\n").replace("\r", "\n")


def length_problem(body: str) -> str:
    limit = NotesRevision.MAX_LENGTH
    if len(body) <= limit:
        return ""
    return (
        f"The notes are {len(body):,} characters long; GitHub accepts at most "
        f"{limit:,}. Shorten them by {len(body) - limit:,} characters."
    )


def editing_problem(release: Release) -> str:
    if release.state in EDITABLE:
        return ""
    return (
        f"Notes can be edited on drafts and published releases; {release.tag} "
        f"is {release.state}."
    )


def _refuse_unless_editable(release: Release, body: str | None = None) -> None:
    problem = editing_problem(release) or (length_problem(body) if body else "")
    if problem:
        raise NotesRefused(problem)


def _add_revision(
    release: Release,
    *,
    user: User | None,
    body: str,
    source: str,
    based_on: int | None,
    restored_from: NotesRevision | None = None,
    author_name: str = "",
) -> NotesRevision | None:
    """Append a revision inside the caller's transaction, if `based_on` is
    still the current number (None: on top of whatever is current).

    Returns None when the body is the current one. The release row is
    locked first (PostgreSQL) and the unique (release, number) catches a
    racing writer where locks are not row-level (SQLite)."""
    Release.objects.select_for_update().filter(pk=release.pk).first()
    current = current_revision(release)
    if current is not None and current.body == body:
        return None
    current_number = current.number if current else 0
    if based_on is not None and based_on > current_number:
        raise UnknownRevision(
            f"There is no revision {based_on} of these notes (the newest is "
            f"{current_number}); reload the page and apply your text again."
        )
    if based_on is not None and based_on != current_number:
        assert current is not None
        raise NotesConflict(mine=body, based_on=based_on, current=current)
    author = user if user is not None and user.is_authenticated else None
    revision = NotesRevision.objects.create(
        release=release,
        number=current_number + 1,
        body=body,
        source=source,
        author=author,
        author_name=author_name or (author.get_username() if author else "GitHub"),
        based_on=current,
        restored_from=restored_from,
    )
    Release.objects.filter(pk=release.pk).update(notes=body)
    release.notes = body
    return revision


def _write(
    release: Release,
    *,
    user: User,
    body: str,
    source: str,
    based_on: int | None,
    restored_from: NotesRevision | None = None,
) -> NotesRevision | None:
    """One revision in one transaction; a racing save becomes a conflict."""
    try:
        with transaction.atomic():
            revision = _add_revision(
                release,
                user=user,
                body=body,
                source=source,
                based_on=based_on,
                restored_from=restored_from,
            )
            if revision is not None:
                _record(revision, user)
            return revision
    except IntegrityError:
        current = current_revision(release)
        assert current is not None
        raise NotesConflict(mine=body, based_on=based_on or 0, current=current)


def _record(revision: NotesRevision, user: User | None) -> None:
    action = {
        Source.EDITED: "notes.saved",
        Source.REGENERATED: "notes.regenerated",
        Source.RESTORED: "notes.restored",
    }[revision.source]
    details: dict[str, object] = {
        "revision": revision.number,
        "based_on": revision.based_on.number if revision.based_on else None,
        "length": len(revision.body),
    }
    if revision.restored_from is not None:
        details["restored_from"] = revision.restored_from.number
    audit.record(action, actor=user, release=revision.release, **details)


def save_notes(
    *, release: Release, user: User, body: str, based_on: int
) -> NotesRevision | None:
    """A reviewer's edit, started from revision `based_on` (0: none yet).

    Returns the new revision, or None when the body did not change. Raises
    NotesConflict when another revision was saved since `based_on`, and
    NotesRefused when the release or the body cannot take the edit. A
    published release's new revision is pushed to GitHub at once."""
    body = normalise(body)
    _refuse_unless_editable(release, body)
    try:
        revision = _write(
            release, user=user, body=body, source=Source.EDITED, based_on=based_on
        )
    except NotesConflict as conflict:
        audit.record(
            "notes.conflict",
            actor=user,
            release=release,
            based_on=conflict.based_on,
            current=conflict.current.number,
            length=len(body),
        )
        raise
    if revision is not None:
        push_if_published(revision, user=user)
    return revision


def restore_revision(
    *, release: Release, user: User, number: int
) -> NotesRevision | None:
    """Make an old revision's text current again, as a new revision."""
    _refuse_unless_editable(release)
    old = release.revisions.filter(number=number).first()
    if old is None:
        raise NotesRefused(f"{release.tag} has no notes revision {number}.")
    revision = _write(
        release,
        user=user,
        body=old.body,
        source=Source.RESTORED,
        based_on=None,
        restored_from=old,
    )
    if revision is not None:
        push_if_published(revision, user=user)
    return revision


def regenerate_notes(*, release: Release, user: User) -> NotesRevision | None:
    """GitHub's generated notes since the previous release, as a new
    revision. Raises GitHubError (in words) when GitHub cannot say."""
    _refuse_unless_editable(release)
    client = client_for(release.project)
    # Only a tag that exists can start the range: GitHub's tags, less the
    # ones of versions that never shipped.
    candidates = client.tag_names() - abandoned_tags(release)
    previous = previous_tag(
        release.version, candidates, prefix=release.project.tag_prefix
    )
    body = client.generate_notes(
        release.tag, previous_tag_name=previous, target=release.commit_sha
    )
    body = normalise(body)
    _refuse_unless_editable(release, body)
    revision = _write(
        release, user=user, body=body, source=Source.REGENERATED, based_on=None
    )
    if revision is not None:
        push_if_published(revision, user=user)
    return revision


def abandoned_tags(release: Release) -> set[str]:
    """Tags of versions the console tried and never shipped (the run failed
    after tagging, or the draft was deleted): notes do not start there."""
    project_releases = Release.objects.filter(project_id=release.project_id)
    shipped = project_releases.filter(state__in=EDITABLE).values("version")
    tried = project_releases.filter(
        state__in=[Release.State.FAILED, Release.State.CANCELLED]
    ).exclude(version__in=shipped)
    versions = tried.values_list("version", flat=True)
    return {release.project.tag_for(v) for v in versions}


def previous_tag(version: str, tags: Iterable[str], *, prefix: str) -> str | None:
    """The tag a release's notes start from: for a stable version the
    highest stable version below it, for a pre-release the highest version
    of any kind below it (1.111.0 after 1.111.0-rc.1 starts at 1.110.0;
    1.111.0-rc.2 starts at 1.111.0-rc.1). Tags that are not versions with
    the project's prefix are ignored."""
    target = semver.Version.parse(version)
    below: list[tuple[semver.Version, str]] = []
    for tag in set(tags):
        if prefix and not tag.startswith(prefix):
            continue
        try:
            parsed = semver.Version.parse(tag.removeprefix(prefix))
        except ValueError:
            continue
        if parsed >= target or (not target.prerelease and parsed.prerelease):
            continue
        below.append((parsed, tag))
    return max(below)[1] if below else None


def push_if_published(revision: NotesRevision, *, user: User | None) -> bool:
    """A published release's notes live on GitHub: send this revision now.
    Drafts keep their revisions here until they are published."""
    if revision.release.state != Release.State.PUBLISHED:
        return False
    return push_revision(revision, user=user)


def push_revision(revision: NotesRevision, *, user: User | None) -> bool:
    """PATCH the body to GitHub with every other field stated as it is.
    The revision is kept either way; a failure is recorded on it."""
    release = revision.release
    if release.github_release_id is None:
        error = "The release is not known on GitHub (no release id)."
        return _push_failed(revision, user, error)
    client = client_for(release.project)
    try:
        client.update_release(
            release.github_release_id,
            body=revision.body,
            draft=False,
            prerelease=release.prerelease,
            make_latest=release.should_be_latest(),
        )
    except AmbiguousWrite as exc:
        # Setting a body twice is harmless: "push again" may simply resend.
        error = f"{exc} GitHub may or may not have the new text: push again."
        return _push_failed(revision, user, error)
    except GitHubError as exc:
        return _push_failed(revision, user, str(exc))
    now = timezone.now()
    NotesRevision.objects.filter(pk=revision.pk).update(pushed_at=now, push_error="")
    revision.pushed_at, revision.push_error = now, ""
    audit.record("notes.pushed", actor=user, release=release, revision=revision.number)
    return True


def _push_failed(revision: NotesRevision, user: User | None, error: str) -> bool:
    NotesRevision.objects.filter(pk=revision.pk).update(push_error=error)
    revision.push_error = error
    logger.warning("Notes push failed", extra={"release_id": revision.release_id})
    audit.record(
        "notes.push_failed",
        actor=user,
        release=revision.release,
        revision=revision.number,
        error=error,
    )
    return False


def push_current(*, release: Release, user: User) -> bool:
    """Push again: send the current revision of a published release."""
    if release.state != Release.State.PUBLISHED:
        raise NotesRefused(
            f"{release.tag} is {release.state}: its notes go to GitHub when it is "
            "published."
        )
    current = current_revision(release)
    if current is None:
        raise NotesRefused(f"{release.tag} has no notes to push.")
    return push_revision(current, user=user)


def adopt_github_body(release: Release, body: str) -> NotesRevision | None:
    """Record GitHub's body as a revision when it is news: the first import,
    or an edit made on GitHub since. A body the console itself keeps
    unpushed (a draft being reviewed) is left as it is: GitHub still holding
    the old text is no reason to replace the reviewers' work. When GitHub's
    body did change while reviewers had unpushed edits, both are kept: the
    GitHub edit goes into the history and the reviewers' text stays
    current, on top of it.

    Returns the new GitHub revision, or None when nothing changed.
    """
    body = normalise(body)
    known = last_on_github(release)
    if known is not None and known.body == body:
        return None
    current = current_revision(release)
    if current is not None and current.body == body and known is None:
        return None
    unpushed = current if known is not None and current != known else None
    try:
        with transaction.atomic():
            revision = _add_revision(
                release, user=None, body=body, source=Source.GITHUB, based_on=None
            )
            if revision is None:
                return None
            audit.record(
                "notes.github_edited" if known else "notes.imported",
                release=release,
                revision=revision.number,
            )
            if unpushed is not None:
                kept = _add_revision(
                    release,
                    user=unpushed.author,
                    body=unpushed.body,
                    source=Source.RESTORED,
                    based_on=None,
                    restored_from=unpushed,
                    author_name=unpushed.author_name,
                )
                audit.record(
                    "notes.restored",
                    release=release,
                    revision=kept.number if kept else None,
                    restored_from=unpushed.number,
                    reason="edited on GitHub while reviewers' edits were unpushed",
                )
    except IntegrityError:
        return None  # another worker recorded a revision meanwhile
    return revision


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "same", "file"
    text: str


def diff_lines(
    old: str, new: str, *, old_name: str = "before", new_name: str = "after"
) -> list[DiffLine]:
    """A unified diff of two bodies, line by line, for the templates (which
    escape it)."""
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=old_name,
        tofile=new_name,
        lineterm="",
        n=3,
    )
    result = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        result.append(DiffLine(kind, line))
    return result
