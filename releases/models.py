"""The release record and what hangs off it.

One Release row links the click, the dispatch, the workflow run, the GitHub
release and its assets. State changes go through `Release.advance`, a
conditional UPDATE, so two workers (or a task delivered twice) can never
move a release along the same edge twice.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import semver
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def validate_repository(value: str) -> None:
    if not REPOSITORY_RE.match(value):
        raise ValidationError(f"{value!r} is not a GitHub repository (owner/name).")


def validate_semver(value: str) -> None:
    try:
        semver.Version.parse(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a semantic version such as 1.2.3.")


def default_components() -> list[str]:
    return ["gateway", "agent"]


def default_binary_platforms() -> list[str]:
    return ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"]


def default_images() -> list[str]:
    return ["avika-gateway", "avika-frontend", "avika-agent"]


def default_image_platforms() -> list[str]:
    return ["linux/amd64", "linux/arm64"]


def default_size_budgets() -> dict[str, list[int]]:
    # Compressed size per platform, in MB, from the pipeline design document.
    return {
        "avika-gateway": [30, 50],
        "avika-frontend": [100, 150],
        "avika-agent": [20, 40],
    }


class Project(models.Model):
    name = models.CharField(max_length=100)
    repository = models.CharField(
        max_length=200,
        unique=True,
        validators=[validate_repository],
        help_text="GitHub repository as owner/name.",
    )
    default_branch = models.CharField(max_length=100, default="master")
    workflow_file = models.CharField(
        max_length=200,
        default="release.yml",
        help_text="File name of the release workflow in .github/workflows/.",
    )
    tag_prefix = models.CharField(max_length=20, default="v", blank=True)
    registry = models.CharField(
        max_length=200,
        default="docker.io",
        help_text="Registry host of the images; docker.io means Docker Hub.",
    )
    registry_namespace = models.CharField(max_length=100)
    image_names = models.JSONField(default=default_images)
    image_platforms = models.JSONField(default=default_image_platforms)
    image_size_budgets_mb = models.JSONField(default=default_size_budgets, blank=True)
    binary_components = models.JSONField(default=default_components)
    binary_platforms = models.JSONField(default=default_binary_platforms)
    binary_asset_pattern = models.CharField(
        max_length=200, default="{component}-{os}-{arch}"
    )
    chart_asset_pattern = models.CharField(
        max_length=200, default="avika-{version}.tgz", blank=True
    )
    checksums_asset = models.CharField(max_length=200, default="checksums.txt")
    version_tag_template = models.CharField(max_length=100, default="{version}")
    minor_tag_template = models.CharField(
        max_length=100, default="{major}.{minor}", blank=True
    )
    latest_tag = models.CharField(
        max_length=100,
        default="latest",
        blank=True,
        help_text="Moved to stable releases only; blank to never push it.",
    )
    sha_tag_template = models.CharField(
        max_length=100, default="sha-{sha7}", blank=True
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=0,
        help_text=(
            "Approvals needed before a release may be published, from Reviewers "
            "or Maintainers other than the person who started it. 0: none."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.repository

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        return self.repository.split("/", 1)[1]

    def tag_for(self, version: str) -> str:
        return f"{self.tag_prefix}{version}"

    def expected_binaries(self) -> list[tuple[str, str, str, str]]:
        """(file name, component, os, arch) for every binary a release carries."""
        names = []
        for component in self.binary_components:
            for platform in self.binary_platforms:
                os_name, arch = platform.split("/", 1)
                name = self.binary_asset_pattern.format(
                    component=component, os=os_name, arch=arch
                )
                names.append((name, component, os_name, arch))
        return names

    def chart_asset_name(self, version: str) -> str:
        if not self.chart_asset_pattern:
            return ""
        return self.chart_asset_pattern.format(version=version)

    def expected_asset_names(self, version: str) -> list[str]:
        names = [name for name, *_ in self.expected_binaries()]
        if chart := self.chart_asset_name(version):
            names.append(chart)
        names.append(self.checksums_asset)
        return names

    def image_tags(self, version: str, commit_sha: str, *, latest: bool) -> list[str]:
        """Every tag an image of `version` should carry.

        `latest` says whether this release is the highest stable version;
        pre-releases never get the major.minor or latest tags.
        """
        parsed = semver.Version.parse(version)
        values = {
            "version": version,
            "major": parsed.major,
            "minor": parsed.minor,
            "patch": parsed.patch,
            "sha7": commit_sha[:7],
        }
        tags = [self.version_tag_template.format(**values)]
        if not parsed.prerelease and self.minor_tag_template:
            tags.append(self.minor_tag_template.format(**values))
        if not parsed.prerelease and latest and self.latest_tag:
            tags.append(self.latest_tag)
        if self.sha_tag_template and commit_sha:
            tags.append(self.sha_tag_template.format(**values))
        return tags


class ReleaseQuerySet(models.QuerySet["Release"]):
    def in_flight(self) -> ReleaseQuerySet:
        return self.filter(state__in=Release.IN_FLIGHT)

    def highest_stable_version(self) -> semver.Version | None:
        """The highest published stable version among these releases."""
        versions = [
            semver.Version.parse(v)
            for v in self.filter(state=Release.State.PUBLISHED).values_list(
                "version", flat=True
            )
        ]
        stable = [v for v in versions if not v.prerelease]
        return max(stable, default=None)

    def awaiting_review(self) -> ReleaseQuerySet:
        return self.filter(state=Release.State.DRAFT)

    def for_dashboard(self) -> ReleaseQuerySet:
        """Newest first, with anything running on top, then failures that are
        still news: a failure followed by a newer attempt is history."""
        superseded = Release.objects.filter(
            project=models.OuterRef("project"),
            created_at__gt=models.OuterRef("created_at"),
        ).exclude(state__in=[Release.State.FAILED, Release.State.CANCELLED])
        attention = models.Case(
            models.When(state__in=Release.IN_FLIGHT, then=0),
            models.When(
                models.Q(state=Release.State.FAILED) & ~models.Exists(superseded),
                then=1,
            ),
            default=2,
            output_field=models.IntegerField(),
        )
        return (
            self.select_related("project", "requested_by")
            .annotate(attention=attention)
            .order_by("attention", "-created_at", "-pk")
        )


class Release(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested"
        DISPATCHED = "dispatched"
        RUNNING = "running"
        BUILT = "built"
        DRAFT = "draft"
        PUBLISHED = "published"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        CONSOLE = "console", "started in the console"
        EXTERNAL = "external", "made outside the console"

    class Checks(models.TextChoices):
        """Where the release's verification (assets, images, checklist) is."""

        IDLE = "idle", "not run yet"
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"

    IN_FLIGHT = [State.REQUESTED, State.DISPATCHED, State.RUNNING, State.BUILT]
    FINAL = [State.PUBLISHED, State.FAILED, State.CANCELLED]
    # Releases whose images and tags exist and may be claimed by them.
    SHIPPED = [State.DRAFT, State.PUBLISHED]

    # Which states each state may move to. Anything else is refused.
    TRANSITIONS: dict[str, set[str]] = {
        State.REQUESTED: {State.DISPATCHED, State.FAILED, State.CANCELLED},
        State.DISPATCHED: {State.RUNNING, State.BUILT, State.FAILED, State.CANCELLED},
        State.RUNNING: {State.BUILT, State.FAILED, State.CANCELLED},
        State.BUILT: {State.DRAFT, State.PUBLISHED, State.FAILED},
        State.DRAFT: {State.PUBLISHED, State.CANCELLED},
        State.PUBLISHED: set(),
        State.FAILED: set(),
        State.CANCELLED: set(),
    }

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="releases"
    )
    version = models.CharField(max_length=100, validators=[validate_semver])
    tag = models.CharField(max_length=120)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.CONSOLE
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_via = models.CharField(
        max_length=20, blank=True, help_text="web or cli: where the request came from."
    )
    previous_version = models.CharField(max_length=100, blank=True)
    bump_inputs = models.JSONField(
        default=dict, blank=True, help_text="The workflow inputs exactly as sent."
    )
    dispatch_ref = models.CharField(max_length=200, blank=True)
    # Set by the one task allowed to call the dispatch endpoint; never cleared.
    dispatch_attempted_at = models.DateTimeField(null=True, blank=True)
    # The highest run id of the workflow just before dispatching, for binding
    # the run when the server answers 204 without run details.
    runs_before_dispatch = models.BigIntegerField(null=True, blank=True)
    # What GitHub answered when a dispatch's outcome was unclear (5xx, timeout).
    dispatch_error = models.TextField(blank=True)
    dispatch_actor = models.CharField(
        max_length=100,
        blank=True,
        help_text="The token's user, who GitHub says ran it.",
    )

    run_id = models.BigIntegerField(null=True, blank=True)
    run_url = models.URLField(max_length=500, blank=True)
    run_status = models.CharField(max_length=30, blank=True)
    run_conclusion = models.CharField(max_length=30, blank=True)
    run_updated_at = models.DateTimeField(null=True, blank=True)
    run_jobs = models.JSONField(default=list, blank=True)
    run_etag = models.CharField(max_length=200, blank=True)
    run_polled_at = models.DateTimeField(null=True, blank=True)
    # One follower at a time: a task claims the release until this time.
    follow_lease_until = models.DateTimeField(null=True, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(blank=True)

    github_release_id = models.BigIntegerField(null=True, blank=True)
    github_release_url = models.URLField(max_length=500, blank=True)
    release_name = models.CharField(max_length=200, blank=True)
    # The current notes revision's body, mirrored for listings; the history
    # lives in NotesRevision.
    notes = models.TextField(blank=True)

    # Publishing. The PATCH that publishes is claimed before it is sent; a
    # claim whose answer never came is settled by reading the release back.
    publish_claimed_at = models.DateTimeField(null=True, blank=True)
    publish_error = models.TextField(blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_revision = models.ForeignKey(
        "NotesRevision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_latest = models.BooleanField(null=True, blank=True)
    publish_override_reason = models.TextField(blank=True)

    checks_state = models.CharField(
        max_length=20, choices=Checks.choices, default=Checks.IDLE
    )
    checks_requested_at = models.DateTimeField(null=True, blank=True)
    checks_started_at = models.DateTimeField(null=True, blank=True)
    checks_finished_at = models.DateTimeField(null=True, blank=True)
    # One verifier at a time; a verifier that died loses the lease.
    checks_lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    requested_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    running_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    draft_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A failed or cancelled attempt made no tag: the version may be tried again.
            models.UniqueConstraint(
                fields=["project", "version"],
                condition=~Q(state__in=["failed", "cancelled"]),
                name="one_release_per_version",
                violation_error_message="This version is already being released.",
            ),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(state__in=["requested", "dispatched", "running", "built"]),
                name="one_release_in_flight",
                violation_error_message="A release of this project is already in progress.",
            ),
            models.UniqueConstraint(
                fields=["project", "run_id"], name="one_release_per_run"
            ),
        ]
        permissions = [
            ("start_release", "Can start a release"),
            ("publish_release", "Can publish a release"),
            ("edit_notes", "Can edit release notes"),
            ("override_checklist", "Can publish despite a failing checklist"),
            ("view_images", "Can see published images"),
            ("run_checks", "Can re-run a release's checks"),
            ("approve_release", "Can approve a release for publishing"),
        ]

    def __str__(self) -> str:
        return f"{self.project.repo_name} {self.tag}"

    def get_absolute_url(self) -> str:
        return reverse("release", args=[self.pk])

    @property
    def prerelease(self) -> bool:
        return bool(semver.Version.parse(self.version).prerelease)

    @property
    def requester_label(self) -> str:
        """Who started it, in words, also when no user account did."""
        if self.requested_by is not None:
            return self.requested_by.get_username()
        if self.source == self.Source.EXTERNAL:
            return "outside the console"
        if self.requested_via == "cli":
            return "the command line"
        return "a deleted user"

    def should_be_latest(self) -> bool:
        """The one "latest" rule, for GitHub and for image tags alike: only a
        stable version at least as high as every published stable version.
        A backport (1.109.1 after 1.110.0) never becomes latest."""
        return self.latest_decision()[0]

    def latest_decision(self) -> tuple[bool, str]:
        """`should_be_latest`, and why, in words."""
        if self.prerelease:
            return (
                False,
                f"{self.version} is a pre-release, and a pre-release never is.",
            )
        others = Release.objects.filter(project_id=self.project_id).exclude(pk=self.pk)
        highest = others.highest_stable_version()
        if highest is None:
            return True, (
                "No published stable version is known here; GitHub's own "
                "Latest is checked again when publishing."
            )
        if semver.Version.parse(self.version) >= highest:
            return True, f"{self.version} is above {highest}, the highest published."
        return False, (
            f"{highest} is published and higher: {self.version} is a backport, "
            "and a backport never becomes Latest."
        )

    @property
    def publish_in_progress(self) -> bool:
        """A publish is being sent right now: claimed, no answer recorded, and
        young enough that its request may still be waiting for GitHub."""
        if self.state != self.State.DRAFT or self.publish_claimed_at is None:
            return False
        if self.publish_error:
            return False
        window = timedelta(seconds=float(settings.GITHUB_TIMEOUT) + 30)
        return timezone.now() - self.publish_claimed_at < window

    @property
    def publish_unknown(self) -> bool:
        """A publish was sent but its outcome is not known: the release is
        read back from GitHub before anything is sent again."""
        claimed = self.publish_claimed_at is not None
        draft = self.state == self.State.DRAFT
        return claimed and draft and not self.publish_in_progress

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL

    @property
    def is_in_flight(self) -> bool:
        return self.state in self.IN_FLIGHT

    @property
    def is_verifying(self) -> bool:
        return self.checks_state in (self.Checks.QUEUED, self.Checks.RUNNING)

    @property
    def follows_run(self) -> bool:
        """Whether the page should keep polling for progress: the run, the
        verification of what it made, then a publish being sent."""
        live = self.state in self.IN_FLIGHT or self.is_verifying
        return live or self.publish_in_progress

    @property
    def failed_jobs(self) -> list[dict[str, Any]]:
        return [j for j in self.run_jobs if j.get("conclusion") in FAILED_CONCLUSIONS]

    def advance(self, to: str, **fields: Any) -> bool:
        """Move to state `to` if the row is still in a state that allows it.

        A conditional UPDATE, so concurrent callers cannot both win. Returns
        whether this call made the change; the instance is refreshed either way.
        """
        allowed_from = [s for s, targets in self.TRANSITIONS.items() if to in targets]
        now = timezone.now()
        fields.setdefault(f"{to}_at", now)
        changed = Release.objects.filter(pk=self.pk, state__in=allowed_from).update(
            state=to, **fields
        )
        self.refresh_from_db()
        return bool(changed)


FAILED_CONCLUSIONS = {
    "failure",
    "cancelled",
    "timed_out",
    "action_required",
    "startup_failure",
    "stale",
}


class Artifact(models.Model):
    class Kind(models.TextChoices):
        BINARY = "binary"
        CHART = "chart"
        CHECKSUMS = "checksums"
        OTHER = "other"

    class Verification(models.TextChoices):
        PENDING = "pending"
        VERIFYING = "verifying"
        VERIFIED = "verified"
        MISMATCH = "mismatch"
        MISSING = "missing"
        ERROR = "error"

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="artifacts"
    )
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    component = models.CharField(max_length=100, blank=True)
    os = models.CharField(max_length=50, blank=True)
    arch = models.CharField(max_length=50, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    github_asset_id = models.BigIntegerField(null=True, blank=True)
    download_url = models.URLField(max_length=500, blank=True)
    github_digest = models.CharField(max_length=100, blank=True)
    expected_sha256 = models.CharField(max_length=64, blank=True)
    computed_sha256 = models.CharField(max_length=64, blank=True)
    verification = models.CharField(
        max_length=20, choices=Verification.choices, default=Verification.PENDING
    )
    verification_detail = models.TextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Bytes hashed so far: the page shows progress while a download runs.
    verified_bytes = models.BigIntegerField(default=0)
    # The version in the chart's Chart.yaml, read while verifying it.
    chart_version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "name"], name="one_artifact_per_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def progress_percent(self) -> int:
        if not self.size:
            return 0
        return min(100, int(self.verified_bytes * 100 / self.size))


class NotesRevision(models.Model):
    """One saved version of a release's notes. Rows are only ever added: an
    edit, a regeneration or a restore makes a new revision, so nothing a
    reviewer wrote is ever lost."""

    class Source(models.TextChoices):
        GITHUB = "github", "read from GitHub"
        EDITED = "edited", "edited"
        REGENERATED = "regenerated", "regenerated by GitHub"
        RESTORED = "restored", "restored"

    # GitHub refuses a release body longer than this.
    MAX_LENGTH = 125_000

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    body = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from the foreign key so history survives a deleted user.
    author_name = models.CharField(max_length=150, blank=True)
    # The revision the author was looking at when saving.
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # For a published release an edit goes to GitHub at once.
    pushed_at = models.DateTimeField(null=True, blank=True)
    push_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "number"], name="one_revision_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.release_id} notes r{self.number}"


class Approval(models.Model):
    """A reviewer's or maintainer's yes, for one notes revision and one set
    of verified evidence. It lapses when either changes."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="approvals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revision = models.ForeignKey(
        NotesRevision, on_delete=models.PROTECT, related_name="approvals"
    )
    # checklist.evidence_fingerprint() when approved: asset and image digests.
    evidence = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    lapsed_at = models.DateTimeField(null=True, blank=True)
    lapse_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "user"],
                condition=Q(lapsed_at__isnull=True),
                name="one_standing_approval_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} approves {self.release_id} r{self.revision_id}"


class CheckResult(models.Model):
    """One item of a release's checklist as last computed, with its evidence."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="checks"
    )
    key = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=200)
    # None: not applicable to this release (e.g. no CHANGELOG is kept).
    ok = models.BooleanField(null=True)
    detail = models.TextField(blank=True)
    link = models.URLField(max_length=500, blank=True)
    # The evidence is still being produced (CI running): look again soon.
    waiting = models.BooleanField(default=False)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["release", "key"], name="one_check_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.release_id} {self.key} {self.ok}"


class TagObservation(models.Model):
    """What one image tag pointed at when last inspected, and whether that
    is what it should point at."""

    class Kind(models.TextChoices):
        VERSION = "version", "version"
        MINOR = "minor", "major.minor"
        LATEST = "latest", "latest"
        SHA = "sha", "commit"
        OTHER = "other", "other"

    class State(models.TextChoices):
        VERIFIED = "verified", "verified"
        DRIFTED = "drifted", "drifted"
        MISSING = "missing", "missing"
        # The tag exists, but not as an index of exactly the project's platforms.
        PLATFORMS = "platforms", "wrong platforms"
        RATE_LIMITED = "rate_limited", "rate-limited"
        ORPHAN = "orphan", "orphan"

    # Version and commit tags must never move once recorded.
    PINNED = (Kind.VERSION, Kind.SHA)
    PROBLEMS = (
        State.DRIFTED,
        State.MISSING,
        State.PLATFORMS,
        State.RATE_LIMITED,
        State.ORPHAN,
    )

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="tag_observations"
    )
    image = models.CharField(max_length=200)
    repository = models.CharField(max_length=300)
    tag = models.CharField(max_length=128)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tag_observations",
    )
    digest = models.CharField(max_length=100, blank=True)
    media_type = models.CharField(max_length=120, blank=True)
    # [{"platform": "linux/amd64", "digest": "sha256:…", "size": 31000000}]
    platforms = models.JSONField(default=list, blank=True)
    attestations = models.PositiveSmallIntegerField(default=0)
    pushed_at = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices)
    detail = models.TextField(blank=True)
    # Amber, not red: a size outside the project's budget.
    size_warning = models.CharField(max_length=300, blank=True)

    # What the tag pointed at when its release was verified or published.
    baseline_digest = models.CharField(max_length=100, blank=True)
    baseline_platforms = models.JSONField(default=list, blank=True)
    baseline_at = models.DateTimeField(null=True, blank=True)
    baseline_reason = models.CharField(max_length=20, blank=True)
    # A changed digest read soon after a push waits for a second reading.
    suspect_digest = models.CharField(max_length=100, blank=True)
    suspect_since = models.DateTimeField(null=True, blank=True)
    # {"from": digest, "to": digest, "classification": "...", "at": iso}
    drift = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["image", "-pushed_at", "tag"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "repository", "tag"], name="one_observation_per_tag"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag} {self.state}"

    @property
    def short_digest(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def total_size(self) -> int:
        return sum(int(p.get("size") or 0) for p in self.platforms)


class TagRecord(models.Model):
    """History of a tag's digests: when verified, when published, when it
    drifted or moved. Rows are only ever added."""

    class Reason(models.TextChoices):
        VERIFIED = "verified"
        PUBLISHED = "published"
        DRIFTED = "drifted"
        MOVED = "moved"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    repository = models.CharField(max_length=300)
    tag = models.CharField(max_length=128)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    digest = models.CharField(max_length=100, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["repository", "tag"])]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag} {self.reason} {self.digest[:19]}"


class CachedManifest(models.Model):
    """Manifests by digest. Content-addressed, so kept forever: a digest
    seen once is never fetched again (each GET counts on Docker Hub)."""

    digest = models.CharField(max_length=100, unique=True)
    media_type = models.CharField(max_length=120)
    body = models.BinaryField()
    fetched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.digest


class RegistryStatus(models.Model):
    """The registry's rate limit as its last answers told it."""

    registry = models.CharField(max_length=300, unique=True)
    limit = models.IntegerField(null=True, blank=True)
    remaining = models.IntegerField(null=True, blank=True)
    window_seconds = models.IntegerField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    # After a 429 nothing is asked until then; each 429 in a row doubles it.
    limited_until = models.DateTimeField(null=True, blank=True)
    limited_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # One inspection of the registry's tags at a time, so an audit and a
    # release's verification never write over each other's findings.
    inspecting_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "registry statuses"

    def __str__(self) -> str:
        return self.registry

    def is_limited(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.limited_until is not None and self.limited_until > now


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Something that happened, who did it and to what. Never changed once written."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from the foreign key so the trail survives a deleted user.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    # PROTECT: a release with a trail cannot be deleted out from under it.
    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class Heartbeat(models.Model):
    """The last time the background worker ran its periodic task."""

    name = models.CharField(max_length=50, unique=True, default="worker")
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name: str = "worker") -> None:
        cls.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})

    @classmethod
    def last(cls, name: str = "worker") -> datetime | None:
        return cls.objects.filter(name=name).values_list("beat_at", flat=True).first()
