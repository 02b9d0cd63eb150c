"""Image tags: what each points at, what it should point at, and an alarm
when a released tag changes.

Every release claims its tags: the version and sha-<commit> tags for ever,
the major.minor and latest tags until a higher release takes them over. A
tag is inspected with one HEAD; manifests are fetched only for digests never
seen before. Each inspected tag gets a TagObservation with a state:

- verified: it points where its release says, with exactly the project's
  platforms;
- drifted: a version or sha- tag no longer points at the index recorded when
  its release was verified, or a tag points elsewhere than its release;
- missing: the tag, or one of the index's platforms, is not there;
- rate-limited: the registry said 429, so nothing is known;
- orphan: no release claims the tag.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
import semver
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from releases import audit, registry
from releases.models import (
    CachedManifest,
    Project,
    RegistryStatus,
    Release,
    TagObservation,
    TagRecord,
)
from releases.registry import (
    HubClient,
    HubTag,
    Inspection,
    ManifestUnknown,
    RegistryClient,
    RegistryError,
    RegistryRateLimited,
)

logger = logging.getLogger(__name__)

Kind = TagObservation.Kind
State = TagObservation.State
MB = 1_000_000  # budgets are in MB, as the pipeline's design gives them
# After a 429 with no Retry-After: wait this long, doubling each time.
BACKOFF_START = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# How long one inspection may hold the registry before others go ahead.
INSPECTION_LEASE = timedelta(minutes=2)
SEMVER_PATTERN = (
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
)
ATTESTATIONS_ONLY = "attestations only"
CONTENT_CHANGED = "image content changed"


@dataclass(frozen=True)
class Claim:
    release: Release
    kind: str


@dataclass
class Outcome:
    """What one inspection found worth telling."""

    alarms: list[TagObservation] = field(default_factory=list)
    # Changed digests read soon after a push, to be read again.
    rechecks: list[TagObservation] = field(default_factory=list)
    limited: RegistryRateLimited | None = None
    skipped_for_backoff: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def rate_limited(self) -> bool:
        return self.limited is not None or self.skipped_for_backoff

    @property
    def release_ids(self) -> set[int]:
        return {o.release_id for o in self.alarms if o.release_id}


# Which tags belong to which release ---------------------------------------------


def repository_of(project: Project, image: str) -> str:
    name = (
        f"{project.registry_namespace}/{image}" if project.registry_namespace else image
    )
    return registry.repository_name(
        name, docker_hub=registry.is_docker_hub(project.registry)
    )


def _template_pattern(template: str) -> str:
    pattern = re.escape(template)
    for name, value in {
        "version": SEMVER_PATTERN,
        "major": r"\d+",
        "minor": r"\d+",
        "patch": r"\d+",
        "sha7": "[0-9a-f]{7}",
    }.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), value)
    return f"^{pattern}$"


def kind_of(project: Project, tag: str) -> str | None:
    """The kind of a release tag, or None for tags that are not a release's
    (signatures, branch builds, caches): those are left out."""
    if registry.is_signature_tag(tag):
        return None
    if project.latest_tag and tag == project.latest_tag:
        return Kind.LATEST
    templates = [
        (Kind.VERSION, project.version_tag_template),
        (Kind.SHA, project.sha_tag_template),
        (Kind.MINOR, project.minor_tag_template),
    ]
    for kind, template in templates:
        if template and re.match(_template_pattern(template), tag):
            return kind
    return None


def expected_tags(release: Release) -> list[tuple[str, str]]:
    """(tag, kind) of every tag the release's images should carry."""
    project = release.project
    latest = release.should_be_latest()
    tags = project.image_tags(release.version, release.commit_sha, latest=latest)
    return [(tag, kind_of(project, tag) or Kind.OTHER) for tag in tags]


def claims(project: Project) -> dict[str, Claim]:
    """tag -> the release it belongs to now. The highest version takes the
    floating tags (major.minor, latest); the others are each release's own."""
    found: dict[str, Claim] = {}
    shipped = Release.objects.filter(project=project, state__in=Release.SHIPPED)
    ordered = sorted(
        shipped.select_related("project"), key=lambda r: semver.Version.parse(r.version)
    )
    for release in ordered:
        for tag, kind in expected_tags(release):
            if kind in TagObservation.PINNED and tag in found:
                continue
            found[tag] = Claim(release, kind)
    return found


# Manifests kept by digest -----------------------------------------------------------


class DatabaseStore:
    """The registry client's manifest cache, shared by every worker."""

    def get(self, digest: str) -> tuple[str, bytes] | None:
        found = CachedManifest.objects.filter(digest=digest).first()
        return (found.media_type, bytes(found.body)) if found else None

    def put(self, digest: str, media_type: str, body: bytes) -> None:
        try:
            with transaction.atomic():
                CachedManifest.objects.create(
                    digest=digest, media_type=media_type, body=body
                )
        except IntegrityError:
            pass  # another worker cached it first; the bytes are the same


def registry_client(
    project: Project, *, session: requests.Session | None = None
) -> RegistryClient:
    return registry.client_for(project.registry, session=session, store=DatabaseStore())


def hub_client(project: Project) -> HubClient | None:
    return registry.hub_for(project.registry)


# Rate limits ------------------------------------------------------------------------


def registry_status(client: RegistryClient) -> RegistryStatus:
    status, _ = RegistryStatus.objects.get_or_create(registry=client.base_url)
    return status


def _note_limits(client: RegistryClient, limited: RegistryRateLimited | None) -> None:
    status = registry_status(client)
    now = timezone.now()
    if client.rate_limit is not None:
        status.limit = client.rate_limit.limit
        status.remaining = client.rate_limit.remaining
        status.window_seconds = client.rate_limit.window_seconds
        status.observed_at = now
    if limited is not None:
        backoff = min(BACKOFF_START * 2**status.limited_count, BACKOFF_MAX)
        status.limited_until = max(limited.retry_at or now, now + backoff)
        status.limited_count += 1
        status.last_error = str(limited)
    else:
        status.limited_until = None
        status.limited_count = 0
        status.last_error = ""
    status.save(
        update_fields=[
            "limit",
            "remaining",
            "window_seconds",
            "observed_at",
            "limited_until",
            "limited_count",
            "last_error",
        ]
    )


@contextmanager
def _inspecting(client: RegistryClient, *, wait: bool) -> Iterator[bool]:
    """Hold the registry's inspection lease (a conditional UPDATE). A
    verification waits for it; the periodic audit does not (it runs again
    soon). Yields whether the lease is held."""
    status = registry_status(client)
    deadline = time.monotonic() + (INSPECTION_LEASE.total_seconds() if wait else 0)
    while True:
        now = timezone.now()
        free = Q(inspecting_until__isnull=True) | Q(inspecting_until__lte=now)
        held = (
            RegistryStatus.objects.filter(pk=status.pk)
            .filter(free)
            .update(inspecting_until=now + INSPECTION_LEASE)
        )
        if held or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    try:
        yield bool(held)
    finally:
        if held:
            RegistryStatus.objects.filter(pk=status.pk).update(inspecting_until=None)


# Inspecting and judging ----------------------------------------------------------------


@dataclass
class _Reading:
    tag: str
    inspection: Inspection | None = None
    missing: bool = False
    limited: str = ""
    error: str = ""


def version_tag(release: Release) -> str:
    # The version tag comes first, whatever the templates say.
    project = release.project
    return project.image_tags(release.version, release.commit_sha, latest=False)[0]


class _ImageCheck:
    """The tags of one image, read and then judged together: floating tags
    are judged against their release's version tag in the same image."""

    def __init__(
        self,
        project: Project,
        image: str,
        client: RegistryClient,
        hub: HubClient | None,
        tag_claims: dict[str, Claim],
        outcome: Outcome,
        now: datetime,
    ) -> None:
        self.project = project
        self.image = image
        self.repository = repository_of(project, image)
        self.client = client
        self.hub = hub
        self.claims = tag_claims
        self.outcome = outcome
        self.now = now
        self.rows = {
            o.tag: o
            for o in TagObservation.objects.filter(
                project=project, repository=self.repository
            )
        }
        self.pushes: dict[str, HubTag] = {}

    # Reading --------------------------------------------------------------

    def read_pushes(self) -> None:
        if self.hub is None or self.outcome.rate_limited:
            return
        try:
            self.pushes = self.hub.tags(self.repository)
        except RegistryError as exc:
            # Push times are a nicety: without them only the re-check of a
            # fresh push is lost.
            logger.info("No push times for %s: %s", self.repository, exc)

    def read(self, tag: str) -> _Reading:
        reading = _Reading(tag)
        if self.outcome.rate_limited:
            reading.limited = "Not asked: the registry is rate-limiting us."
            return reading
        try:
            head = self.client.head(self.repository, tag)
            row = self.rows.get(tag)
            if row is not None and row.digest == head.digest and row.platforms:
                reading.inspection = _from_row(row)  # unchanged: nothing to fetch
            else:
                reading.inspection = self.client.summarize(self.repository, head.digest)
        except ManifestUnknown:
            reading.missing = True
        except RegistryRateLimited as exc:
            self.outcome.limited = exc
            reading.limited = str(exc)
        except RegistryError as exc:
            reading.error = str(exc)
            self.outcome.errors.append(f"{self.repository}:{tag}: {exc}")
        return reading

    def check(self, tags: list[str]) -> list[TagObservation]:
        self.read_pushes()
        readings = {tag: self.read(tag) for tag in tags}
        # Version tags first: the others are judged against them.
        order = {Kind.VERSION: 0, Kind.SHA: 1, Kind.MINOR: 2, Kind.LATEST: 3}
        judged = []
        for tag in sorted(tags, key=lambda t: order.get(self._kind(t), 4)):
            row = self._judge(readings[tag])
            if row is not None:
                self._store(row)
                judged.append(row)
        return judged

    def _store(self, row: TagObservation) -> None:
        if row.pk is not None:
            row.save()
            return
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            # Another worker (a release's verification, the periodic audit)
            # saw this tag first a moment ago: update its row instead.
            row.pk = TagObservation.objects.values_list("pk", flat=True).get(
                project=row.project_id, repository=row.repository, tag=row.tag
            )
            row._state.adding = False
            row.save()

    # Judging ----------------------------------------------------------------

    def _kind(self, tag: str) -> str:
        claim = self.claims.get(tag)
        return claim.kind if claim else kind_of(self.project, tag) or Kind.OTHER

    def _row(self, tag: str) -> TagObservation:
        if tag not in self.rows:
            self.rows[tag] = TagObservation(
                project=self.project,
                image=self.image,
                repository=self.repository,
                tag=tag,
                state=State.MISSING,
            )
        return self.rows[tag]

    def _judge(self, reading: _Reading) -> TagObservation | None:
        tag = reading.tag
        claim = self.claims.get(tag)
        row = self._row(tag)
        row.kind = self._kind(tag)
        previous_release_id = row.release_id
        row.release = claim.release if claim else None
        if reading.limited:
            row.state = State.RATE_LIMITED
            row.detail = reading.limited
            return row
        if reading.error:
            # Nothing new is known; a row seen for the first time says so.
            row.detail = f"Could not inspect: {reading.error}"
            return row
        row.observed_at = self.now
        if reading.missing:
            if claim is None:
                if row.pk:
                    row.delete()  # an unclaimed tag that is gone: forget it
                return None
            row.state = State.MISSING
            row.detail = f"{tag} is not in {self.repository}."
            row.digest, row.platforms, row.attestations = "", [], 0
            return row
        assert reading.inspection is not None
        self._apply(row, reading.inspection)
        row.size_warning = self._size_warning(row)
        if claim is None:
            row.state = State.ORPHAN
            row.detail = "No release claims this tag."
        elif row.kind in TagObservation.PINNED:
            self._judge_pinned(row, claim.release)
        else:
            self._judge_floating(row, claim.release, previous_release_id)
        if row.state == State.VERIFIED:
            self._judge_platforms(row, reading.inspection)
        return row

    def _apply(self, row: TagObservation, inspection: Inspection) -> None:
        pushed = self.pushes.get(row.tag)
        # Hub's push time belongs to the tag's current digest only.
        if pushed is not None and pushed.digest == inspection.digest:
            row.pushed_at = pushed.pushed_at
        elif row.digest != inspection.digest:
            row.pushed_at = None
        row.digest = inspection.digest
        row.media_type = inspection.media_type
        row.platforms = inspection.as_json()
        row.attestations = inspection.attestations

    def _record(
        self,
        row: TagObservation,
        release: Release,
        reason: str,
        **details: object,
    ) -> None:
        TagRecord.objects.create(
            project=self.project,
            release=release,
            repository=row.repository,
            tag=row.tag,
            reason=reason,
            digest=row.digest,
            platforms=row.platforms,
            details=details,
            recorded_at=self.now,
        )

    def _judge_pinned(self, row: TagObservation, release: Release) -> None:
        if not row.baseline_digest:
            row.baseline_digest = row.digest
            row.baseline_platforms = row.platforms
            row.baseline_at = self.now
            row.baseline_reason = TagRecord.Reason.VERIFIED
            self._record(row, release, TagRecord.Reason.VERIFIED)
        if row.digest != row.baseline_digest:
            self._judge_change(row, release)
            return
        if row.state == State.DRIFTED:
            audit.record(
                "image.restored",
                release=release,
                target=f"{row.repository}:{row.tag}",
                digest=row.digest,
            )
        row.suspect_digest, row.suspect_since = "", None
        published = release.state == Release.State.PUBLISHED
        if published and row.baseline_reason != TagRecord.Reason.PUBLISHED:
            row.baseline_reason = TagRecord.Reason.PUBLISHED
            self._record(row, release, TagRecord.Reason.PUBLISHED)
        row.state, row.detail = State.VERIFIED, ""
        version_row = self.rows.get(version_tag(release))
        if row.kind == Kind.SHA and version_row is not None and version_row.digest:
            index = version_row.baseline_digest or version_row.digest
            if row.digest != index:
                row.state = State.DRIFTED
                row.detail = (
                    f"Points at {row.digest}, not at the index of "
                    f"{version_row.tag} ({index})."
                )

    def _judge_change(self, row: TagObservation, release: Release) -> None:
        """A version or sha- tag whose digest is not the recorded one."""
        pushed = self.pushes.get(row.tag)
        window = timedelta(seconds=settings.DRIFT_RECHECK_SECONDS)
        since_push = (
            self.now - pushed.pushed_at
            if pushed is not None
            and pushed.digest == row.digest
            and pushed.pushed_at is not None
            else None
        )
        if (
            row.state != State.DRIFTED
            and since_push is not None
            and since_push < window
        ):
            # Right after a push a registry can answer with a stale digest:
            # read again before raising the alarm.
            if row.suspect_digest != row.digest:
                row.suspect_digest, row.suspect_since = row.digest, self.now
            row.detail = (
                f"Changed to {row.digest} {int(since_push.total_seconds())}s after "
                "a push; it is read again before raising an alarm."
            )
            self.outcome.rechecks.append(row)
            return
        classification = classify(row.baseline_platforms, row.platforms)
        known = row.state == State.DRIFTED and row.drift.get("to") == row.digest
        row.state = State.DRIFTED
        row.suspect_digest, row.suspect_since = "", None
        verified_at = f"{row.baseline_at:%Y-%m-%d %H:%M} UTC" if row.baseline_at else ""
        row.detail = (
            f"Was {row.baseline_digest} when verified {verified_at}; "
            f"now {row.digest}: {classification}."
        )
        if known:
            return  # the alarm was raised already
        if not self._claim_alarm(row):
            # Another audit raised it a moment ago: keep what it recorded.
            stored = TagObservation.objects.filter(pk=row.pk).values("drift").first()
            row.drift = stored["drift"] if stored else row.drift
            return
        row.drift = {
            "from": row.baseline_digest,
            "to": row.digest,
            "classification": classification,
            "at": self.now.isoformat(),
        }
        self._record(
            row,
            release,
            TagRecord.Reason.DRIFTED,
            was=row.baseline_digest,
            classification=classification,
        )
        audit.record(
            "image.drifted",
            release=release,
            target=f"{row.repository}:{row.tag}",
            was=row.baseline_digest,
            now=row.digest,
            classification=classification,
        )
        logger.warning(
            "Released tag %s:%s changed (%s), release %s.",
            row.repository,
            row.tag,
            classification,
            release.pk,
        )
        self.outcome.alarms.append(row)

    @staticmethod
    def _claim_alarm(row: TagObservation) -> bool:
        """Only one of two audits running at once raises the alarm."""
        if row.pk is None:
            return True
        claimed = (
            TagObservation.objects.filter(pk=row.pk)
            .exclude(state=State.DRIFTED)
            .update(state=State.DRIFTED)
        )
        stored = TagObservation.objects.filter(pk=row.pk).values("drift").first()
        # A tag that drifted before and now moved again is a new alarm too.
        moved_again = stored is not None and stored["drift"].get("to") not in (
            None,
            row.digest,
        )
        return bool(claimed) or moved_again

    def _judge_floating(
        self, row: TagObservation, release: Release, previous_release_id: int | None
    ) -> None:
        version_row = self.rows.get(version_tag(release))
        expected = ""
        if version_row is not None:
            expected = version_row.baseline_digest or version_row.digest
        if expected and row.digest == expected:
            row.state, row.detail = State.VERIFIED, f"Points at {release.tag}."
            if previous_release_id and previous_release_id != release.pk:
                self._record_move(row, previous_release_id, release)
            return
        other = self._version_with_digest(row.digest)
        if other is not None and _version(other.tag) > _version(release.version):
            row.state = State.VERIFIED
            row.detail = (
                f"Moved on to {other.tag}, a newer release the console has not "
                "imported yet (expected)."
            )
        elif other is not None:
            row.state = State.DRIFTED
            row.detail = f"Points back at the older {other.tag}, not at {release.tag}."
        elif expected:
            row.state = State.DRIFTED
            row.detail = f"Points at {row.digest}, not at the index of {release.tag} ({expected})."
        else:
            row.state = State.MISSING
            row.detail = f"{release.tag}'s own version tag is missing."

    def _version_with_digest(self, digest: str) -> TagObservation | None:
        for other in self.rows.values():
            if other.kind != Kind.VERSION or other.digest != digest:
                continue
            try:
                _version(other.tag)
            except ValueError:
                continue
            return other
        return None

    def _record_move(
        self, row: TagObservation, previous_release_id: int, release: Release
    ) -> None:
        previous = Release.objects.filter(pk=previous_release_id).first()
        self._record(
            row,
            release,
            TagRecord.Reason.MOVED,
            from_release=previous.tag if previous else None,
        )
        if previous is not None:
            audit.record(
                "image.tag_moved",
                release=previous,
                target=f"{row.repository}:{row.tag}",
                to=release.tag,
                expected=True,
            )

    def _judge_platforms(self, row: TagObservation, inspection: Inspection) -> None:
        wanted = sorted(self.project.image_platforms)
        if not inspection.is_index:
            row.state = State.PLATFORMS
            row.detail = (
                "A single-platform manifest, not an index of "
                + " and ".join(wanted)
                + "."
            )
            return
        found = inspection.platform_names
        lacking = [p for p in wanted if p not in found]
        extra = [p for p in found if p not in wanted]
        if lacking or extra:
            parts = ["lacks " + ", ".join(lacking)] if lacking else []
            parts += ["also holds " + ", ".join(extra)] if extra else []
            row.state = State.PLATFORMS
            row.detail = "The index " + " and ".join(parts) + "."

    def _size_warning(self, row: TagObservation) -> str:
        budget = (self.project.image_size_budgets_mb or {}).get(self.image)
        if not budget or len(budget) != 2:
            return ""
        low, high = budget
        outside = [
            f"{p['platform']} {int(p.get('size') or 0) / MB:.0f} MB"
            for p in row.platforms
            if not low <= int(p.get("size") or 0) / MB <= high
        ]
        if not outside:
            return ""
        return f"Outside the {low}–{high} MB budget: " + ", ".join(outside) + "."


def _from_row(row: TagObservation) -> Inspection:
    platforms = tuple(
        registry.PlatformImage(p["platform"], p["digest"], int(p.get("size") or 0))
        for p in row.platforms
    )
    is_index = row.media_type in registry.INDEX_TYPES
    return Inspection(row.digest, row.media_type, platforms, row.attestations, is_index)


def _version(tag: str) -> semver.Version:
    return semver.Version.parse(tag.removeprefix("v"))


def classify(before: list[dict], after: list[dict]) -> str:
    """Whether a changed index changed its images or only its attestations:
    provenance makes every rebuild a new index even when nothing else moved."""

    def images(platforms: list[dict]) -> dict[str, str]:
        return {p["platform"]: p["digest"] for p in platforms}

    return ATTESTATIONS_ONLY if images(before) == images(after) else CONTENT_CHANGED


# The two entry points ---------------------------------------------------------------------


def verify_release_images(
    release: Release,
    *,
    client: RegistryClient | None = None,
    hub: HubClient | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Inspect every image × expected tag of `release` and judge each."""
    project = release.project
    client = client or registry_client(project)
    hub = hub if hub is not None else hub_client(project)
    with _inspecting(client, wait=True):
        now = now or timezone.now()
        outcome = Outcome(skipped_for_backoff=registry_status(client).is_limited(now))
        tag_claims = claims(project)
        expected = expected_tags(release)
        # The release being verified claims its own tags even before it
        # ships; floating ones stay with a higher release that holds them.
        for tag, kind in expected:
            if tag not in tag_claims or kind in TagObservation.PINNED:
                tag_claims[tag] = Claim(release, kind)
        for image in project.image_names:
            check = _ImageCheck(project, image, client, hub, tag_claims, outcome, now)
            check.check([tag for tag, _kind in expected])
        if not outcome.skipped_for_backoff:
            _note_limits(client, outcome.limited)
    return outcome


def audit_project(
    project: Project,
    *,
    client: RegistryClient | None = None,
    hub: HubClient | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Inspect every release tag of every image of the project."""
    client = client or registry_client(project)
    hub = hub if hub is not None else hub_client(project)
    with _inspecting(client, wait=False) as held:
        if not held:
            return Outcome(errors=["another inspection is running"])
        now = now or timezone.now()
        if registry_status(client).is_limited(now):
            return Outcome(skipped_for_backoff=True)  # ask nothing until it lifts
        outcome = Outcome()
        tag_claims = claims(project)
        for image in project.image_names:
            check = _ImageCheck(project, image, client, hub, tag_claims, outcome, now)
            try:
                listed = client.tags(check.repository)
            except RegistryRateLimited as exc:
                outcome.limited = exc
                break
            except RegistryError as exc:
                outcome.errors.append(f"{check.repository}: {exc}")
                continue
            names = {t for t in listed if kind_of(project, t) is not None}
            names |= set(tag_claims)  # claimed but absent: missing
            check.check(sorted(names))
            gone = set(check.rows) - names
            TagObservation.objects.filter(
                project=project, repository=check.repository, tag__in=gone
            ).delete()
        _note_limits(client, outcome.limited)
    return outcome
