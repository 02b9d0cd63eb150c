"""Approvals: a reviewer's yes for one notes revision and one set of verified
evidence. An approval stands only while both are still what the release
has; when either changes it lapses, with its reason kept.

`lapse_stale` is called wherever the two can change — a new notes revision
(through the post_save signal below, whoever saves it), checks completed —
and again, lazily, whenever the release page is shown or a publish is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from releases import audit, checklist, notes
from releases.models import Approval, NotesRevision, Release

PERMISSION = "releases.approve_release"


@dataclass(frozen=True)
class Standing:
    """The approvals that count for publishing, and how many are needed."""

    needed: int
    approvals: list[Approval]
    lapsed: list[Approval]

    @property
    def given(self) -> int:
        return len(self.approvals)

    @property
    def enough(self) -> bool:
        return self.given >= self.needed

    @property
    def missing(self) -> int:
        return max(self.needed - self.given, 0)


def may_approve(release: Release, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may approve at all: the right, and not their own release."""
    if not user.is_authenticated or not user.has_perm(PERMISSION):
        return False
    return release.requested_by_id is None or release.requested_by_id != user.pk


def lapse_stale(release: Release, *, compare_evidence: bool = True) -> list[Approval]:
    """Lapse every standing approval given for another notes revision or other
    evidence than the release has now. Returns the approvals lapsed.

    While checks run, the evidence is being rewritten (assets go back to
    pending): only the notes are compared then.
    """
    if release.state != Release.State.DRAFT:
        return []
    standing = list(
        release.approvals.filter(lapsed_at__isnull=True).select_related("revision")
    )
    if not standing:
        return []
    current = notes.current_revision(release)
    evidence = None
    if compare_evidence and not release.is_verifying:
        evidence = checklist.evidence_fingerprint(release)
    lapsed = []
    with transaction.atomic():
        for approval in standing:
            reason = _lapse_reason(approval, current, evidence)
            if not reason:
                continue
            now = timezone.now()
            changed = Approval.objects.filter(
                pk=approval.pk, lapsed_at__isnull=True
            ).update(lapsed_at=now, lapse_reason=reason)
            if not changed:
                continue  # lapsed meanwhile by another request
            approval.lapsed_at, approval.lapse_reason = now, reason
            lapsed.append(approval)
            audit.record(
                "approval.lapsed",
                release=release,
                approver=approval.user.get_username(),
                revision=approval.revision.number,
                reason=reason,
            )
    return lapsed


def _lapse_reason(
    approval: Approval, current: NotesRevision | None, evidence: str | None
) -> str:
    if current is not None and approval.revision_id != current.pk:
        return (
            f"The notes changed: revision {current.number} replaced revision "
            f"{approval.revision.number}, which was approved."
        )
    if evidence is not None and approval.evidence != evidence:
        return "The verified evidence changed (asset or image digests) since approval."
    return ""


def standing(release: Release) -> Standing:
    """The approvals that count now: standing, by users who still hold the
    right, and not by the person who started the release."""
    rows = list(release.approvals.select_related("user", "revision"))
    counted = [
        a
        for a in rows
        if a.lapsed_at is None
        and a.user.is_active
        and a.user.has_perm(PERMISSION)
        and a.user_id != release.requested_by_id
    ]
    lapsed = [a for a in rows if a.lapsed_at is not None]
    return Standing(release.project.required_approvals, counted, lapsed)


@receiver(post_save, sender=NotesRevision, dispatch_uid="approvals-lapse-on-notes")
def _lapse_on_new_revision(
    sender: type[NotesRevision], instance: NotesRevision, created: bool, **kwargs: Any
) -> None:
    if created and not kwargs.get("raw"):
        release = Release.objects.select_related("project").get(pk=instance.release_id)
        # In the saving transaction: the lapse stands or falls with the edit.
        lapse_stale(release, compare_evidence=False)
