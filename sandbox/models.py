"""The simulated outside world: one git repository, its Actions runs and
releases, and a container registry.

Public ids (run ids, release ids, ...) are the primary key plus a large
offset, so they look like GitHub's and cannot be confused with run numbers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import models
from django.utils import timezone


class PublicIdMixin:
    ID_OFFSET = 0
    pk: int

    @property
    def gid(self) -> int:
        return self.pk + self.ID_OFFSET

    @classmethod
    def pk_from_gid(cls, gid: int | str) -> int:
        return int(gid) - cls.ID_OFFSET


class Commit(models.Model):
    sha = models.CharField(max_length=40, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.TextField()
    author_name = models.CharField(max_length=100)
    author_email = models.CharField(max_length=200)
    author_login = models.CharField(max_length=100, blank=True)
    committed_at = models.DateTimeField()
    # The whole tree at this commit: path -> text. The repository is small.
    files = models.JSONField(default=dict)
    changed_paths = models.JSONField(default=list)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.sha[:7]} {self.title}"

    @property
    def title(self) -> str:
        return self.message.splitlines()[0] if self.message else ""

    @property
    def tree_sha(self) -> str:
        return hashlib.sha1(
            f"tree {self.sha}".encode(), usedforsecurity=False
        ).hexdigest()

    def history(self, limit: int | None = None) -> list[Commit]:
        """This commit and its ancestors, newest first."""
        commits: list[Commit] = []
        by_pk = {c.pk: c for c in Commit.objects.filter(pk__lte=self.pk)}
        current: Commit | None = self
        while current is not None and (limit is None or len(commits) < limit):
            commits.append(current)
            current = by_pk.get(current.parent_id) if current.parent_id else None
        return commits


class Ref(models.Model):
    class Kind(models.TextChoices):
        BRANCH = "branch"
        TAG = "tag"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="sandbox_one_ref")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class Workflow(PublicIdMixin, models.Model):
    ID_OFFSET = 71_000_000

    name = models.CharField(max_length=200)
    path = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=40, default="active")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.path

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class WorkflowRun(PublicIdMixin, models.Model):
    ID_OFFSET = 19_000_000_000

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE)
    run_number = models.PositiveIntegerField()
    event = models.CharField(max_length=40, default="workflow_dispatch")
    head_branch = models.CharField(max_length=200)
    head_sha = models.CharField(max_length=40)
    actor = models.CharField(max_length=100)
    display_title = models.CharField(max_length=300)
    # What was dispatched; the real API never returns it, the simulation needs it.
    inputs = models.JSONField(default=dict, blank=True)
    version = models.CharField(max_length=100, blank=True)
    # Faults armed when the run was created, e.g. {"failed-job": {...}}.
    faults = models.JSONField(default=dict, blank=True)
    # Why the run fails regardless of faults (e.g. the tag exists already).
    failure = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField()
    duration = models.FloatField(help_text="Seconds from start to completion.")
    finishes_at = models.DateTimeField(db_index=True)
    # A pending run replaced by a newer one in its concurrency group.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Claimed with a conditional UPDATE by the one request that materialises
    # the run's effects (commit, tag, images, draft release).
    effects_applied_at = models.DateTimeField(null=True, blank=True)
    release_sha = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"run {self.gid} #{self.run_number}"

    def is_finished(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.finishes_at


class Release(PublicIdMixin, models.Model):
    ID_OFFSET = 240_000_000

    tag_name = models.CharField(max_length=200)
    target_commitish = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    draft = models.BooleanField(default=True)
    prerelease = models.BooleanField(default=False)
    is_latest = models.BooleanField(default=False)
    immutable = models.BooleanField(default=False)
    author_login = models.CharField(max_length=100, default="github-actions[bot]")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name or self.tag_name


class ReleaseAsset(PublicIdMixin, models.Model):
    ID_OFFSET = 310_000_000

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="assets"
    )
    name = models.CharField(max_length=255)
    label = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    data = models.BinaryField()
    download_count = models.PositiveIntegerField(default=0)
    uploader_login = models.CharField(max_length=100, default="github-actions[bot]")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "name"], name="sandbox_one_asset_per_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(bytes(self.data)).hexdigest()


class Manifest(models.Model):
    repository = models.CharField(max_length=200)
    digest = models.CharField(max_length=80)
    media_type = models.CharField(max_length=120)
    # The exact bytes pushed: their sha256 is the digest.
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "digest"], name="sandbox_one_manifest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}"


class ImageTag(models.Model):
    repository = models.CharField(max_length=200)
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="+")
    pushed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["repository", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name"], name="sandbox_one_image_tag"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}:{self.name}"


class Fault(models.Model):
    name = models.CharField(max_length=40, unique=True)
    options = models.JSONField(default=dict, blank=True)
    armed_at = models.DateTimeField(default=timezone.now)
    # Set when a fault that lasts a while (rate-limit) is first hit.
    active_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RateWindow(models.Model):
    """Requests counted for one client against one limit in one window."""

    resource = models.CharField(max_length=20)
    client = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "client", "window_start"],
                name="sandbox_one_rate_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.client} {self.used}"
