"""The simulated repository's git operations: resolve refs, read files,
make commits. History is linear, which is all the release flow needs.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime

import semver
from django.utils import timezone

from sandbox.models import Commit, Ref

OWNER = "hellodk"
NAME = "avika"
FULL_NAME = f"{OWNER}/{NAME}"
DEFAULT_BRANCH = "master"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def new_sha() -> str:
    return hashlib.sha1(os.urandom(20), usedforsecurity=False).hexdigest()


def blob_sha(text: str) -> str:
    data = text.encode()
    header = f"blob {len(data)}\0".encode()
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def branch(name: str) -> Ref | None:
    return Ref.objects.select_related("commit").filter(kind="branch", name=name).first()


def tag(name: str) -> Ref | None:
    return Ref.objects.select_related("commit").filter(kind="tag", name=name).first()


def resolve(ref: str) -> Commit | None:
    """A branch, tag, full or abbreviated sha, or refs/heads|tags/ path."""
    ref = ref.strip()
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            found = Ref.objects.filter(kind=kind, name=ref.removeprefix(prefix)).first()
            return found.commit if found else None
    found = branch(ref) or tag(ref)
    if found:
        return found.commit
    if 7 <= len(ref) <= 40 and all(c in "0123456789abcdef" for c in ref):
        matches = list(Commit.objects.filter(sha__startswith=ref)[:2])
        if len(matches) == 1:
            return matches[0]
    return None


def head(name: str = DEFAULT_BRANCH) -> Commit:
    found = branch(name)
    assert found is not None, name
    return found.commit


def commit(
    *,
    parent: Commit | None,
    message: str,
    changes: dict[str, str],
    author: tuple[str, str, str] = (BOT_NAME, BOT_EMAIL, "github-actions[bot]"),
    at: datetime | None = None,
    branch_name: str | None = DEFAULT_BRANCH,
) -> Commit:
    """A new commit on top of `parent` changing `changes`; moves the branch."""
    files = dict(parent.files) if parent else {}
    files.update(changes)
    name, email, login = author
    created = Commit.objects.create(
        sha=new_sha(),
        parent=parent,
        message=message,
        author_name=name,
        author_email=email,
        author_login=login,
        committed_at=at or timezone.now(),
        files=files,
        changed_paths=sorted(changes),
    )
    if branch_name:
        Ref.objects.update_or_create(
            kind="branch", name=branch_name, defaults={"commit": created}
        )
    return created


def create_tag(name: str, target: Commit) -> Ref:
    return Ref.objects.create(kind="tag", name=name, commit=target)


def version_tags() -> list[tuple[semver.Version, Ref]]:
    """Tags that are versions (vX.Y.Z), lowest first."""
    found = []
    for ref in Ref.objects.filter(kind="tag").select_related("commit"):
        try:
            found.append((semver.Version.parse(ref.name.removeprefix("v")), ref))
        except ValueError:
            continue
    return sorted(found, key=lambda pair: pair[0])


def between(base: Commit | None, head_commit: Commit) -> list[Commit]:
    """Commits reachable from head but not from base, newest first."""
    excluded = {c.pk for c in base.history()} if base else set()
    return [c for c in head_commit.history() if c.pk not in excluded]


def last_tag_before(target: Commit) -> Ref | None:
    """The nearest version tag among target's ancestors (git describe)."""
    by_commit: dict[int, Ref] = {}
    for _version, ref in version_tags():
        by_commit[ref.commit_id] = ref
    for ancestor in target.history():
        if ancestor.pk in by_commit:
            return by_commit[ancestor.pk]
    return None
