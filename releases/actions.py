"""Multi-step changes to releases. Each one: a guarded state transition, an
audit event, and background work enqueued once the transaction commits.

Every function here is safe to run twice: tasks can be delivered twice and
workers can die mid-task. The one write that must never repeat — the
dispatch — is claimed by a conditional UPDATE before it is sent, and a
claimed dispatch is never sent again: the run is looked for instead.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any

import semver
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from releases import (
    approvals,
    audit,
    checklist,
    images,
    notes,
    publishing,
    verification,
)
from releases.ghclient import (
    AmbiguousDispatch,
    AmbiguousWrite,
    GitHubClient,
    GitHubError,
    ReleaseInfo,
    RunSnapshot,
    client_for,
)
from releases.models import (
    FAILED_CONCLUSIONS,
    Approval,
    Artifact,
    CheckResult,
    NotesRevision,
    Project,
    Release,
)
from releases.planning import Plan
from releases.registry import HubClient, RegistryClient, RegistryError

logger = logging.getLogger(__name__)

State = Release.State
SHA_RE = re.compile(r"^[0-9a-f]{40}$")

# How long to look for a run after a dispatch whose answer did not name it.
BIND_DEADLINE = timedelta(minutes=2)
# How long a successful run may take to show its release.
IMPORT_DEADLINE = timedelta(minutes=10)


class ReleaseRefused(Exception):
    """The release cannot be started; str() says why, for people."""


User = AbstractBaseUser | AnonymousUser | None


def _enqueue(func: str, *args: Any) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args, group="releases"))


def _enqueue_later(func: str, seconds: float) -> None:
    """Run `func` once, `seconds` from now (a django-q one-off schedule)."""
    from django_q.models import Schedule
    from django_q.tasks import schedule

    when = timezone.now() + timedelta(seconds=seconds)
    transaction.on_commit(
        lambda: schedule(func, schedule_type=Schedule.ONCE, next_run=when, repeats=1)
    )


# Starting -------------------------------------------------------------------


def request_release(
    *, project: Project, user: User, plan: Plan, enqueue: bool = True, via: str = "web"
) -> Release:
    """Record a maintainer's intent to release `plan.version`, once.

    A second request while any release of the project is in flight (double
    click, two maintainers) is refused; the database's partial unique index
    settles races the first check cannot see.
    """
    if not plan.ok or plan.version is None:
        raise ReleaseRefused(plan.problem or "The release plan is incomplete.")
    in_flight = Release.objects.filter(project=project).in_flight().first()
    if in_flight is not None:
        raise ReleaseRefused(
            f"{in_flight.tag} is already in progress ({in_flight.state}); "
            "wait for it to finish or fail before starting another release."
        )
    requester = user if user is not None and user.is_authenticated else None
    same = (
        Release.objects.filter(project=project, version=plan.version)
        .exclude(state__in=[State.FAILED, State.CANCELLED])
        .first()
    )
    if same is not None:
        raise ReleaseRefused(
            f"{same.tag} already has a release in the console ({same.state}); "
            "pick another bump or suffix."
        )
    try:
        with transaction.atomic():
            release = Release.objects.create(
                project=project,
                version=plan.version,
                tag=plan.tag,
                requested_by=requester,
                bump_inputs=plan.inputs,
                dispatch_ref=project.default_branch,
                requested_via=via,
            )
            audit.record(
                "release.requested",
                actor=user,
                release=release,
                version=plan.version,
                inputs=plan.inputs,
                explanation=plan.explanation,
                via=via,
            )
            if enqueue:
                _enqueue("releases.tasks.dispatch_release", release.pk)
    except IntegrityError:
        raise ReleaseRefused(
            f"Another release of {project.repository} (or {plan.tag} itself) was "
            "started a moment ago; only one runs at a time."
        )
    return release


def dispatch_release(release_id: int, *, client: GitHubClient | None = None) -> Release:
    """Send the workflow_dispatch for a requested release, at most once ever."""
    release = Release.objects.select_related("project").get(pk=release_id)
    if release.state != State.REQUESTED:
        return release
    if release.dispatch_attempted_at is not None:
        # Someone sent it already (or died trying): never send again.
        return bind_run(release, client=client)

    client = client or client_for(release.project)
    try:
        # Read before claiming: a failure here leaves the release untouched
        # for the next attempt, since nothing was sent.
        floor = client.highest_run_id()
        actor = client.token_login()
    except GitHubError as exc:
        logger.warning("Could not prepare dispatch of release %s: %s", release.pk, exc)
        raise

    claimed = Release.objects.filter(
        pk=release.pk, state=State.REQUESTED, dispatch_attempted_at__isnull=True
    ).update(
        dispatch_attempted_at=timezone.now(),
        runs_before_dispatch=floor,
        dispatch_actor=actor,
    )
    release.refresh_from_db()
    if not claimed:
        return bind_run(release, client=client)

    try:
        run_id = client.dispatch(release.dispatch_ref, release.bump_inputs)
    except AmbiguousDispatch as exc:
        Release.objects.filter(pk=release.pk).update(dispatch_error=str(exc))
        release.refresh_from_db()
        audit.record("release.dispatch_unknown", release=release, error=str(exc))
        logger.warning(
            "Dispatch of release %s has an unknown outcome: %s", release.pk, exc
        )
        return bind_run(release, client=client)
    except GitHubError as exc:
        release.advance(State.FAILED, failure_reason=str(exc))
        audit.record("release.dispatch_failed", release=release, error=str(exc))
        return release

    if run_id is None:
        release.advance(State.DISPATCHED)
        audit.record("release.dispatched", release=release, run_id=None, bound="later")
        return bind_run(release, client=client)
    return _bind(release, run_id, client=client, how="returned by the dispatch")


def bind_run(
    release: Release, *, client: GitHubClient | None = None, attempts: int = 3
) -> Release:
    """Find the run a dispatch created, by the rule in OUTSIDE-SYSTEMS.md:
    the first workflow_dispatch run on the ref, by the token's user, newer
    than the highest run id seen before dispatching."""
    if release.run_id is not None or release.runs_before_dispatch is None:
        return release
    client = client or client_for(release.project)
    for attempt in range(attempts):
        run = client.find_dispatched_run(
            after_id=release.runs_before_dispatch,
            ref=release.dispatch_ref,
            actor=release.dispatch_actor,
        )
        if run is not None:
            return _bind(
                release, run.id, client=client, how="found by the binding rule"
            )
        if attempt + 1 < attempts:
            time.sleep(min(2.0, settings.RUN_POLL_SECONDS))

    started = release.dispatch_attempted_at or release.created_at
    if timezone.now() - started > BIND_DEADLINE:
        answered = (
            f" The dispatch had an unclear answer: {release.dispatch_error}"
            if release.dispatch_error
            else ""
        )
        reason = (
            "No workflow run appeared for this dispatch within "
            f"{int(BIND_DEADLINE.total_seconds() // 60)} minutes.{answered} Check "
            "the workflow's runs on GitHub before starting the release again."
        )
        if release.advance(State.FAILED, failure_reason=reason):
            audit.record("release.failed", release=release, reason=reason)
    return release


def _bind(release: Release, run_id: int, *, client: GitHubClient, how: str) -> Release:
    updated = Release.objects.filter(pk=release.pk, run_id__isnull=True).update(
        run_id=run_id
    )
    release.refresh_from_db()
    if not updated:
        return release
    if release.state == State.REQUESTED:
        release.advance(State.DISPATCHED)
    audit.record("release.dispatched", release=release, run_id=run_id, bound=how)
    return follow_release(release.pk, client=client)


# Following -------------------------------------------------------------------


def follow_release(release_id: int, *, client: GitHubClient | None = None) -> Release:
    """One step: read the run (free when unchanged), record progress, and
    import the release once the run has succeeded."""
    release = Release.objects.select_related("project").get(pk=release_id)
    if release.state == State.REQUESTED:
        if release.dispatch_attempted_at is not None:
            return bind_run(release, client=client, attempts=1)
        return release
    if release.state in (State.DISPATCHED, State.RUNNING):
        if release.run_id is None:
            return bind_run(release, client=client, attempts=1)
        client = client or client_for(release.project)
        release = _poll_run(release, client)
    if release.state == State.BUILT:
        client = client or client_for(release.project)
        release = import_release(release, client)
    return release


def _poll_run(release: Release, client: GitHubClient) -> Release:
    assert release.run_id is not None
    run = client.get_run(release.run_id, release.run_etag)
    now = timezone.now()
    if run is None:  # 304: nothing changed, and it cost nothing
        Release.objects.filter(pk=release.pk).update(run_polled_at=now)
        return release
    fields: dict[str, Any] = {
        "run_status": run.status,
        "run_conclusion": run.conclusion,
        "run_etag": run.etag,
        "run_polled_at": now,
    }
    if run.html_url:
        fields["run_url"] = run.html_url
    # updated_at has whole seconds: a run that ends within the second of its
    # last step change keeps it, so the end itself also refreshes the jobs.
    ended = run.status == "completed" and release.run_status != "completed"
    if run.updated_at != release.run_updated_at or not release.run_jobs or ended:
        fields["run_updated_at"] = run.updated_at
        fields["run_jobs"] = client.run_jobs(run.id)
    Release.objects.filter(pk=release.pk).update(**fields)
    release.refresh_from_db()
    return _apply_run_state(release, run)


def _apply_run_state(release: Release, run: RunSnapshot) -> Release:
    if run.status != "completed":
        if release.state == State.DISPATCHED and run.status == "in_progress":
            release.advance(State.RUNNING)
        return release
    if run.conclusion == "success":
        if release.advance(State.BUILT):
            audit.record("run.finished", release=release, conclusion="success")
        return release
    reason = describe_failure(release.run_jobs, run.conclusion)
    target = State.CANCELLED if run.conclusion == "cancelled" else State.FAILED
    if release.advance(target, failure_reason=reason):
        audit.record(
            "run.finished", release=release, conclusion=run.conclusion, reason=reason
        )
    return release


def describe_failure(jobs: list[dict[str, Any]], conclusion: str) -> str:
    """Which job failed, at which step — what a maintainer needs first."""
    parts = []
    for job in jobs:
        if job.get("conclusion") not in FAILED_CONCLUSIONS:
            continue
        step = next(
            (
                s
                for s in job.get("steps") or []
                if s.get("conclusion") in FAILED_CONCLUSIONS
            ),
            None,
        )
        where = f" at step “{step['name']}”" if step else ""
        parts.append(f"“{job.get('name')}” {job.get('conclusion')}{where}")
    if not parts:
        return f"The workflow run ended with conclusion {conclusion or 'unknown'}."
    return (
        f"The workflow run ended with conclusion {conclusion}: "
        + "; ".join(parts)
        + "."
    )


# Importing releases -----------------------------------------------------------


def import_release(release: Release, client: GitHubClient) -> Release:
    """Find the run's GitHub release (a draft is only found by listing) and
    record it with its assets."""
    info = next((r for r in client.list_releases() if r.tag_name == release.tag), None)
    if info is None:
        since = release.built_at or timezone.now()
        if timezone.now() - since > IMPORT_DEADLINE:
            reason = f"The run succeeded but no GitHub release {release.tag} appeared."
            if release.advance(State.FAILED, failure_reason=reason):
                audit.record("release.failed", release=release, reason=reason)
        return release
    with transaction.atomic():
        _store_release_info(release, info)
        target = State.DRAFT if info.draft else State.PUBLISHED
        if release.advance(target):
            audit.record(
                "release.imported",
                release=release,
                github_release_id=info.id,
                draft=info.draft,
                assets=[a.name for a in info.assets],
            )
            _queue_checks(release)
    return release


def _store_release_info(release: Release, info: ReleaseInfo) -> None:
    fields: dict[str, Any] = {
        "github_release_id": info.id,
        "github_release_url": info.html_url,
        "release_name": info.name,
    }
    if SHA_RE.match(info.target_commitish):
        fields["commit_sha"] = info.target_commitish
    Release.objects.filter(pk=release.pk).update(**fields)
    release.refresh_from_db()
    notes.adopt_github_body(release, info.body)
    sync_artifacts(release, info)


def sync_artifacts(release: Release, info: ReleaseInfo) -> None:
    """Make the release's Artifact rows match the GitHub release's assets."""
    project = release.project
    binaries = {name: rest for name, *rest in project.expected_binaries()}
    chart = project.chart_asset_name(release.version)
    seen = []
    for asset in info.assets:
        seen.append(asset.name)
        component, os_name, arch = binaries.get(asset.name, ("", "", ""))
        if asset.name in binaries:
            kind = Artifact.Kind.BINARY
        elif asset.name == chart:
            kind = Artifact.Kind.CHART
        elif asset.name == project.checksums_asset:
            kind = Artifact.Kind.CHECKSUMS
        else:
            kind = Artifact.Kind.OTHER
        Artifact.objects.update_or_create(
            release=release,
            name=asset.name,
            defaults={
                "kind": kind,
                "component": component,
                "os": os_name,
                "arch": arch,
                "size": asset.size,
                "github_asset_id": asset.id,
                "download_url": asset.download_url,
                "github_digest": asset.digest,
            },
        )
    release.artifacts.exclude(name__in=seen).delete()


def sync_project(
    project: Project, *, client: GitHubClient | None = None
) -> list[Release]:
    """Import releases made outside the console and refresh known drafts.

    Returns the releases created by this call.
    """
    client = client or client_for(project)
    created = []
    known = {
        (r.version): r
        for r in Release.objects.filter(project=project).exclude(
            state__in=[State.FAILED, State.CANCELLED]
        )
    }
    listed = client.list_releases()
    _cancel_deleted_drafts(project, {info.id for info in listed}, client)
    for info in listed:
        version = _version_of(project, info.tag_name)
        if version is None:
            continue
        release = known.get(version)
        if release is None:
            release = _import_external(project, version, info)
            if release is not None:
                created.append(release)
            continue
        if release.state == State.DRAFT and release.github_release_id == info.id:
            if not info.draft and release.publish_claimed_at is not None:
                # The console's own publish, whose answer was lost.
                _record_published(release, info)
                continue
            _store_release_info(release, info)
            if not info.draft and release.advance(State.PUBLISHED):
                audit.record("release.published_outside", release=release)
                # Checks again: they record the tags' digests as published.
                _queue_checks(release)
    return created


def _cancel_deleted_drafts(
    project: Project, listed: set[int], client: GitHubClient
) -> None:
    """A draft deleted on GitHub ends here too, freeing its version."""
    drafts = Release.objects.filter(
        project=project, state=State.DRAFT, github_release_id__isnull=False
    ).exclude(github_release_id__in=listed)
    for release in drafts:
        assert release.github_release_id is not None
        if client.get_release(release.github_release_id) is not None:
            continue  # not on the listed pages, but still there
        reason = f"The draft {release.tag} was deleted on GitHub."
        if release.advance(State.CANCELLED, failure_reason=reason):
            audit.record("release.draft_deleted", release=release, reason=reason)


def _version_of(project: Project, tag: str) -> str | None:
    if project.tag_prefix and not tag.startswith(project.tag_prefix):
        return None
    candidate = tag[len(project.tag_prefix) :]
    try:
        semver.Version.parse(candidate)
    except ValueError:
        return None
    return candidate


def _import_external(
    project: Project, version: str, info: ReleaseInfo
) -> Release | None:
    state = State.DRAFT if info.draft else State.PUBLISHED
    moment = info.published_at or info.created_at or timezone.now()
    try:
        with transaction.atomic():
            release = Release.objects.create(
                project=project,
                version=version,
                tag=info.tag_name,
                state=state,
                source=Release.Source.EXTERNAL,
                created_at=info.created_at or moment,
                requested_at=info.created_at or moment,
                draft_at=info.created_at if info.draft else None,
                published_at=None if info.draft else moment,
            )
            _store_release_info(release, info)
            audit.record(
                "release.imported",
                release=release,
                github_release_id=info.id,
                draft=info.draft,
                source="external",
            )
            _queue_checks(release)
    except IntegrityError:
        return None  # imported meanwhile by another worker
    return release


# Publishing -------------------------------------------------------------------


class PublishRefused(ReleaseRefused):
    """The draft cannot be published now; str() says why. `failing` holds
    the checklist items that fail, `missing` the missing assets."""

    def __init__(
        self,
        message: str,
        *,
        failing: list[checklist.Item] | None = None,
        missing: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.failing = failing or []
        self.missing = missing or []


class PublishStale(PublishRefused):
    """The notes or the evidence changed since the page was shown."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__(" ".join(changes))
        self.changes = changes


class PublishInProgress(PublishRefused):
    """Someone else's publish of the same draft is being sent right now."""


def _plan_as_shown(
    release: Release, *, revision_number: int | None, evidence: str
) -> publishing.Plan:
    """The draft judged now, refused with PublishStale unless its notes
    revision and evidence are still the ones the person was shown."""
    approvals.lapse_stale(release)
    plan = publishing.plan(release)
    changes = publishing.changes_since(
        plan, revision_number=revision_number, evidence=evidence
    )
    if changes:
        raise PublishStale(changes)
    return plan


def may_override(user: User, via: str) -> bool:
    """Whoever runs the command line is trusted with the shell already."""
    if user is None or not user.is_authenticated:
        return via == "cli"
    return user.has_perm("releases.override_checklist")


def publish_release(
    *,
    release: Release,
    user: User,
    revision_number: int | None,
    evidence: str,
    override_reason: str = "",
    via: str = "web",
    client: GitHubClient | None = None,
) -> Release:
    """Publish the draft exactly as it was shown: that notes revision, that
    evidence. Once per intent: the draft is claimed by a conditional UPDATE
    before the one PATCH is sent, and a claim whose answer never came is
    settled by reading the release back, never by sending again blind.

    Returns the release: published, or still a draft with `publish_error`
    when GitHub's answer did not come. Raises PublishRefused (or one of its
    kinds) when it may not be published now.
    """
    release = Release.objects.select_related("project").get(pk=release.pk)
    if user is not None and not user.has_perm("releases.publish_release"):
        raise PublishRefused("Publishing needs the Maintainers role.")
    if release.state == State.PUBLISHED:
        raise PublishRefused(f"{release.tag} is published already.")
    if release.publish_claimed_at is not None:
        release = settle_publish(release, client=client)
        if release.state == State.PUBLISHED:
            return release  # the earlier attempt had worked after all
        if release.publish_claimed_at is not None:
            raise PublishInProgress(_in_progress_message(release))
    if release.state != State.DRAFT:
        raise PublishRefused(
            f"Only a draft can be published; {release.tag} is {release.state}."
        )
    plan = _plan_as_shown(release, revision_number=revision_number, evidence=evidence)
    if plan.blockers:
        raise PublishRefused(" ".join(plan.blockers), missing=plan.missing_assets)
    override = override_reason.strip()
    if plan.passes:
        override = ""  # nothing to override
    else:
        _check_override(release, user, via, override, plan.failing)
    assert plan.revision is not None
    client = client or client_for(release.project)
    latest = plan.latest and _above_github_latest(release, client)
    requester = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        claimed = Release.objects.filter(
            pk=release.pk, state=State.DRAFT, publish_claimed_at__isnull=True
        ).update(
            publish_claimed_at=timezone.now(),
            publish_error="",
            published_by=requester,
            published_revision=plan.revision,
            published_latest=latest,
            publish_override_reason=override,
        )
        release.refresh_from_db()
        if not claimed:
            raise PublishInProgress(_in_progress_message(release))
        audit.record(
            "release.publish_requested",
            actor=user,
            release=release,
            revision=plan.revision.number,
            evidence=plan.evidence,
            latest=latest,
            via=via,
        )
        if override:
            audit.record(
                "release.publish_override",
                actor=user,
                release=release,
                reason=override,
                failing=[
                    {"key": i.key, "name": i.name, "detail": i.detail}
                    for i in plan.failing
                ],
                via=via,
            )
    return _send_publish(release, user=user, client=client)


def _above_github_latest(release: Release, client: GitHubClient) -> bool:
    """The latest rule again, against what GitHub marks Latest: a release
    made outside the console and not yet imported still counts."""
    try:
        tag = client.latest_release_tag()
    except GitHubError as exc:
        raise PublishRefused(f"GitHub's latest release could not be read: {exc}")
    if tag is None or not tag.startswith(release.project.tag_prefix):
        return True
    try:
        theirs = semver.Version.parse(tag.removeprefix(release.project.tag_prefix))
    except ValueError:
        return True
    return semver.Version.parse(release.version) >= theirs


def _check_override(
    release: Release,
    user: User,
    via: str,
    reason: str,
    failing: list[checklist.Item],
) -> None:
    if not reason:
        raise PublishRefused(publishing.failing_message(failing), failing=failing)
    if not may_override(user, via):
        audit.record(
            "permission.denied",
            actor=user,
            release=release,
            permission="releases.override_checklist",
            attempted="publish with a failing checklist",
        )
        raise PublishRefused(
            "Publishing despite a failing checklist needs the override permission.",
            failing=failing,
        )
    if len(reason) < publishing.MIN_OVERRIDE_REASON:
        raise PublishRefused(
            "Say why the failing items may be ignored, in at least "
            f"{publishing.MIN_OVERRIDE_REASON} characters.",
            failing=failing,
        )


def _in_progress_message(release: Release) -> str:
    who = release.published_by.get_username() if release.published_by else "someone"
    if release.publish_in_progress:
        return f"{release.tag} is being published by {who} right now."
    return (
        f"{release.tag} was sent to GitHub by {who}, but whether it is published "
        "is not known yet; GitHub could not be asked. Try again in a moment."
    )


def _send_publish(
    release: Release, *, user: User, client: GitHubClient | None
) -> Release:
    """The one PATCH that publishes, with every field stated."""
    revision = release.published_revision
    assert revision is not None
    assert release.github_release_id is not None
    client = client or client_for(release.project)
    try:
        info = client.update_release(
            release.github_release_id,
            body=revision.body,
            draft=False,
            prerelease=release.prerelease,
            make_latest=bool(release.published_latest),
        )
    except AmbiguousWrite as exc:
        Release.objects.filter(pk=release.pk).update(publish_error=str(exc))
        release.refresh_from_db()
        audit.record(
            "release.publish_failed",
            actor=user,
            release=release,
            outcome="unknown",
            error=str(exc),
        )
        logger.warning(
            "Publish of release %s has an unknown outcome: %s", release.pk, exc
        )
        return release
    except GitHubError as exc:
        _release_claim(release, error=str(exc))
        audit.record(
            "release.publish_failed", actor=user, release=release, error=str(exc)
        )
        raise PublishRefused(f"GitHub refused to publish {release.tag}: {exc}")
    if info.draft:
        error = "GitHub answered, but the release is still a draft."
        _release_claim(release, error=error)
        audit.record("release.publish_failed", actor=user, release=release, error=error)
        raise PublishRefused(error)
    return _record_published(release, info)


def _release_claim(release: Release, *, error: str) -> None:
    """Give the draft back for another attempt: GitHub did not publish it."""
    Release.objects.filter(
        pk=release.pk,
        state=State.DRAFT,
        publish_claimed_at=release.publish_claimed_at,
    ).update(
        publish_claimed_at=None,
        publish_error=error,
        published_by=None,
        published_revision=None,
        published_latest=None,
        publish_override_reason="",
    )
    release.refresh_from_db()


def _record_published(release: Release, info: ReleaseInfo) -> Release:
    """The draft is published on GitHub: record it, once, as it was claimed."""
    now = timezone.now()
    old_html_url = release.github_release_url
    with transaction.atomic():
        moved = release.advance(
            State.PUBLISHED,
            published_at=info.published_at or now,
            publish_error="",
            github_release_url=info.html_url or release.github_release_url,
        )
        if not moved:
            return release
        _follow_tag_links(release, info, old_html_url=old_html_url)
        revision = release.published_revision
        if revision is not None:
            NotesRevision.objects.filter(pk=revision.pk).update(
                pushed_at=now, push_error=""
            )
            revision.pushed_at, revision.push_error = now, ""
        audit.record(
            "release.published",
            actor=release.published_by,
            release=release,
            revision=revision.number if revision else None,
            latest=release.published_latest,
            override=bool(release.publish_override_reason),
            html_url=info.html_url,
        )
        # Records the tags' digests as published, for drift.
        _enqueue("releases.tasks.record_published_images", release.pk)
    return release


def _follow_tag_links(
    release: Release, info: ReleaseInfo, *, old_html_url: str
) -> None:
    """A draft's addresses name an `untagged-…` placeholder that stops working
    once it is published: point the assets and the stored evidence at the
    addresses GitHub gives the published release."""
    moved = {old_html_url: info.html_url} if old_html_url and info.html_url else {}
    current = {asset.name: asset.download_url for asset in info.assets}
    artifacts = []
    for artifact in release.artifacts.all():
        new_url = current.get(artifact.name)
        if new_url and new_url != artifact.download_url:
            moved[artifact.download_url] = new_url
            artifact.download_url = new_url
            artifacts.append(artifact)
    Artifact.objects.bulk_update(artifacts, ["download_url"])
    checks = list(release.checks.filter(link__in=list(moved)))
    for check in checks:
        check.link = moved[check.link]
    CheckResult.objects.bulk_update(checks, ["link"])


def settle_publish(release: Release, *, client: GitHubClient | None = None) -> Release:
    """A claimed publish whose answer never came (a timeout, a 5xx, a worker
    that died): read the release back. Published there: record it, with no
    second PATCH. Still a draft: give the claim back for another attempt.
    A publish being sent right now is left alone."""
    if release.state != State.DRAFT or release.publish_claimed_at is None:
        return release
    if release.publish_in_progress:
        return release
    assert release.github_release_id is not None
    client = client or client_for(release.project)
    try:
        info = client.get_release(release.github_release_id)
    except GitHubError as exc:
        logger.warning("Publish of release %s not settled: %s", release.pk, exc)
        return release
    if info is not None and not info.draft:
        audit.record("release.publish_confirmed", release=release, read_back=True)
        return _record_published(release, info)
    earlier = release.publish_error
    _release_claim(
        release,
        error=f"{earlier} Read back: GitHub still has it as a draft.".strip(),
    )
    audit.record("release.publish_released", release=release, read_back=True)
    return release


def approve_release(
    *, release: Release, user: User, revision_number: int | None, evidence: str
) -> Approval:
    """A reviewer's yes for the notes revision and evidence they saw. A
    second click on the same returns the standing approval."""
    if user is None or not user.is_authenticated:
        raise PublishRefused("Approvals are given by people, signed in.")
    if release.state != State.DRAFT:
        raise PublishRefused(
            f"Only a draft is approved; {release.tag} is {release.state}."
        )
    if not approvals.may_approve(release, user):
        raise PublishRefused("The person who started a release cannot approve it.")
    if release.is_verifying:
        raise PublishRefused("The checks are running: approve once they are done.")
    plan = _plan_as_shown(release, revision_number=revision_number, evidence=evidence)
    assert plan.revision is not None
    existing = release.approvals.filter(user=user, lapsed_at__isnull=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            approval = Approval.objects.create(
                release=release,
                user=user,
                revision=plan.revision,
                evidence=plan.evidence,
            )
            audit.record(
                "approval.given",
                actor=user,
                release=release,
                revision=plan.revision.number,
                evidence=plan.evidence,
            )
    except IntegrityError:  # the same person's second click, a moment ago
        return release.approvals.get(user=user, lapsed_at__isnull=True)
    return approval


# Housekeeping ----------------------------------------------------------------


def releases_needing_work(project: Project) -> dict[str, list[int]]:
    """Releases whose task was lost (worker died, queue emptied): for the
    periodic sync to enqueue again."""
    now = timezone.now()
    stale_request = Release.objects.filter(
        project=project,
        state=State.REQUESTED,
        requested_at__lt=now - timedelta(seconds=30),
    )
    stale_follow = Release.objects.filter(
        project=project,
        state__in=[State.REQUESTED, State.DISPATCHED, State.RUNNING, State.BUILT],
    ).exclude(follow_lease_until__gt=now)
    return {
        "dispatch": list(
            stale_request.filter(dispatch_attempted_at__isnull=True).values_list(
                "pk", flat=True
            )
        ),
        "follow": list(
            stale_follow.exclude(
                state=State.REQUESTED, dispatch_attempted_at__isnull=True
            ).values_list("pk", flat=True)
        ),
    }


def claim_follow(release_id: int, seconds: float) -> bool:
    """Take the follower's lease; False when another follower holds it."""
    now = timezone.now()
    claimed = (
        Release.objects.filter(pk=release_id)
        .exclude(follow_lease_until__gt=now)
        .update(follow_lease_until=now + timedelta(seconds=seconds))
    )
    return bool(claimed)


def release_follow(release_id: int) -> None:
    Release.objects.filter(pk=release_id).update(follow_lease_until=None)


# Verifying -------------------------------------------------------------------

CHECKS_ACTIVE = [Release.Checks.QUEUED, Release.Checks.RUNNING]


def _queue_checks(release: Release) -> bool:
    """Mark the release's checks queued and enqueue them, unless they are
    queued or running already (a running verifier's lease counts)."""
    now = timezone.now()
    running = Q(checks_state=Release.Checks.RUNNING, checks_lease_until__gt=now)
    queued = (
        Release.objects.filter(pk=release.pk)
        .exclude(Q(checks_state=Release.Checks.QUEUED) | running)
        .update(checks_state=Release.Checks.QUEUED, checks_requested_at=now)
    )
    release.refresh_from_db()
    if queued:
        _enqueue("releases.tasks.verify_release", release.pk)
    return bool(queued)


def request_checks(*, release: Release, user: User, via: str = "web") -> bool:
    """A maintainer asks for the checks again. Returns False when they are
    already queued or running (a double click is harmless)."""
    if release.state not in Release.SHIPPED:
        raise ReleaseRefused(
            "The checks run once the GitHub release exists (draft or published)."
        )
    with transaction.atomic():
        queued = _queue_checks(release)
        if queued:
            audit.record("checks.requested", actor=user, release=release, via=via)
    return queued


def verify_release(
    release_id: int,
    *,
    github: GitHubClient | None = None,
    registry_client: RegistryClient | None = None,
    hub: HubClient | None = None,
    wait_for_ci: float = 0,
) -> Release:
    """Download and hash every asset, inspect every image tag, compute the
    checklist; then, for up to `wait_for_ci` seconds, look again while CI on
    the release commit is still running. Claimed with a lease, so a task
    delivered twice runs once."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TASK_TIMEOUT + 60)
    stale = Q(checks_state=Release.Checks.RUNNING) & (
        Q(checks_lease_until__lte=now) | Q(checks_lease_until__isnull=True)
    )
    claimed = (
        Release.objects.filter(pk=release_id)
        .filter(Q(checks_state=Release.Checks.QUEUED) | stale)
        .update(
            checks_state=Release.Checks.RUNNING,
            checks_started_at=now,
            checks_lease_until=lease,
        )
    )
    release = Release.objects.select_related("project").get(pk=release_id)
    if not claimed:
        return release
    github = github or client_for(release.project)
    trouble = []
    try:
        # Each step on its own: whatever breaks one, the checklist still
        # says what is known.
        try:
            verification.verify_assets(release, github)
        except GitHubError as exc:
            trouble.append(str(exc))
            logger.warning("Assets of release %s not verified: %s", release.pk, exc)
        except Exception as exc:
            trouble.append(f"unexpected: {exc}")
            logger.exception("Assets of release %s not verified.", release.pk)
        try:
            outcome = images.verify_release_images(
                release, client=registry_client, hub=hub
            )
            trouble += outcome.errors
        except RegistryError as exc:
            trouble.append(str(exc))
            logger.warning("Images of release %s not verified: %s", release.pk, exc)
        except Exception as exc:
            trouble.append(f"unexpected: {exc}")
            logger.exception("Images of release %s not verified.", release.pk)
        items = checklist.run(release, client=github)
        _wait_for_ci(release, github, wait_for_ci)
        items = checklist.latest(release)
    finally:
        Release.objects.filter(
            pk=release.pk, checks_state=Release.Checks.RUNNING
        ).update(
            checks_state=Release.Checks.DONE,
            checks_finished_at=timezone.now(),
            checks_lease_until=None,
        )
    release.refresh_from_db()
    # New evidence lapses the approvals given for the old.
    approvals.lapse_stale(release)
    audit.record(
        "checks.completed",
        release=release,
        passes=checklist.passes(release),
        failing=[item.key for item in items if item.ok is False],
        trouble=trouble,
    )
    return release


def _wait_for_ci(release: Release, client: GitHubClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    interval = max(settings.RUN_POLL_SECONDS * 5, 0.1)
    while checklist.waiting(release) and time.monotonic() + interval < deadline:
        time.sleep(interval)
        try:
            refresh_waiting_checks(release, client=client)
        except GitHubError as exc:
            logger.warning("Checks of release %s not refreshed: %s", release.pk, exc)
            return


def refresh_waiting_checks(
    release: Release, *, client: GitHubClient | None = None
) -> bool:
    """Recompute the items whose evidence was still being produced (CI
    running). Returns whether any item still waits."""
    waiting = [item.key for item in checklist.latest(release) if item.waiting]
    if waiting:
        checklist.run(release, client=client, only=waiting)
    return checklist.waiting(release)


def checks_needing_work(project: Project) -> list[int]:
    """Releases whose checks were queued or running when a worker was lost."""
    now = timezone.now()
    lost_queue = Q(
        checks_state=Release.Checks.QUEUED,
        checks_requested_at__lt=now - timedelta(seconds=60),
    )
    lost_run = Q(checks_state=Release.Checks.RUNNING) & (
        Q(checks_lease_until__lte=now) | Q(checks_lease_until__isnull=True)
    )
    return list(
        Release.objects.filter(project=project)
        .filter(lost_queue | lost_run)
        .values_list("pk", flat=True)
    )


def audit_images(
    project: Project,
    *,
    client: RegistryClient | None = None,
    hub: HubClient | None = None,
) -> images.Outcome:
    """Inspect every image tag; alarms change the releases' checklists."""
    outcome = images.audit_project(project, client=client, hub=hub)
    for release in Release.objects.filter(pk__in=outcome.release_ids):
        checklist.run(release, only=["images"])
    if outcome.rechecks:
        # Read the changed digests again once the re-check window has passed.
        _enqueue_later(
            "releases.tasks.audit_images", settings.DRIFT_RECHECK_SECONDS + 5
        )
    return outcome


def record_published_images(release: Release) -> images.Outcome:
    """Right after publishing: inspect the release's tags, which records
    their digests as published (or raises the alarm if they moved since the
    release was verified). The periodic audit does the same later."""
    outcome = images.verify_release_images(release)
    if outcome.alarms:
        checklist.run(release, only=["images"])
    return outcome


def request_image_audit(*, user: User) -> None:
    audit.record("images.audit_requested", actor=user)
    _enqueue("releases.tasks.audit_images")
