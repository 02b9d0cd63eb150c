"""django-q2 tasks: thin, taking primary keys, safe to run twice."""

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from releases import actions
from releases.ghclient import GitHubError, RateLimited
from releases.models import Heartbeat, Project, Release
from releases.registry import RegistryError

logger = logging.getLogger(__name__)


def dispatch_release(release_id: int) -> str:
    try:
        release = actions.dispatch_release(release_id)
    except RateLimited as exc:
        # Nothing was sent; the periodic sync enqueues it again.
        logger.warning("Dispatch of release %s postponed: %s", release_id, exc)
        return "postponed"
    if not release.is_final and release.state != Release.State.DRAFT:
        async_task("releases.tasks.follow_release", release_id, group="releases")
    return release.state


def follow_release(release_id: int) -> str:
    """Follow a run until it ends or the task's time budget is spent; then
    hand over to a fresh task so no worker is held for the whole run."""
    # Short turns: a worker stopped mid-task leaves a lease that blocks
    # other followers only until it runs out.
    budget = min(max(settings.TASK_TIMEOUT - 60, 10), 60)
    if not actions.claim_follow(release_id, budget + 30):
        return "followed elsewhere"
    deadline = time.monotonic() + budget
    release = Release.objects.get(pk=release_id)
    try:
        while True:
            try:
                release = actions.follow_release(release_id)
            except RateLimited as exc:
                logger.warning("Following release %s paused: %s", release_id, exc)
                return "rate limited"
            except GitHubError as exc:
                logger.warning(
                    "Following release %s failed a step: %s", release_id, exc
                )
            if release.is_final or release.state == Release.State.DRAFT:
                return release.state
            if time.monotonic() > deadline:
                break
            time.sleep(max(settings.RUN_POLL_SECONDS, 0.05))
    finally:
        actions.release_follow(release_id)
    async_task("releases.tasks.follow_release", release_id, group="releases")
    return "continued"


def verify_release(release_id: int) -> str:
    """Verify assets and images and compute the checklist, waiting a while
    for CI on the release commit; the periodic sync looks again later."""
    wait = min(settings.CHECKS_CI_WAIT_SECONDS, max(settings.TASK_TIMEOUT - 120, 0))
    try:
        release = actions.verify_release(release_id, wait_for_ci=wait)
    except RateLimited as exc:
        logger.warning("Checks of release %s postponed: %s", release_id, exc)
        return "rate limited"
    return release.checks_state


def audit_images() -> str:
    """Every few minutes: inspect every image tag, alarm on released ones
    that changed."""
    for project in Project.objects.all():
        try:
            outcome = actions.audit_images(project)
        except RegistryError as exc:
            logger.warning("Image audit of %s failed: %s", project, exc)
            continue
        if outcome.rate_limited:
            return "rate limited"
    return "done"


def sync() -> None:
    """Every minute: beat, import outside releases, and re-drive lost work."""
    Heartbeat.beat()
    for project in Project.objects.all():
        try:
            actions.sync_project(project)
        except GitHubError as exc:
            logger.warning("Sync of %s failed: %s", project, exc)
        work = actions.releases_needing_work(project)
        for release_id in work["dispatch"]:
            async_task("releases.tasks.dispatch_release", release_id, group="releases")
        for release_id in work["follow"]:
            async_task("releases.tasks.follow_release", release_id, group="releases")
        for release_id in actions.checks_needing_work(project):
            async_task("releases.tasks.verify_release", release_id, group="releases")
        _refresh_waiting_checks(project)
    logger.debug("Sync done at %s", timezone.now())


def _refresh_waiting_checks(project: Project) -> None:
    """A draft's checklist waiting on CI (or on GitHub) goes green or red by
    itself; so does a release published in the last day."""
    recent = timezone.now() - timedelta(days=1)
    releases = Release.objects.filter(
        Q(state=Release.State.DRAFT)
        | Q(state=Release.State.PUBLISHED, published_at__gte=recent),
        project=project,
        checks_state=Release.Checks.DONE,
    )
    for release in releases.filter(checks__waiting=True).distinct():
        try:
            actions.refresh_waiting_checks(release)
        except GitHubError as exc:
            logger.warning("Checks of release %s not refreshed: %s", release.pk, exc)


def ensure_schedules(**kwargs: Any) -> None:
    """The periodic sync (heartbeat, outside releases, lost work) and the
    periodic inspection of every image tag."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="avika-sync",
        defaults={
            "func": "releases.tasks.sync",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name="avika-images",
        defaults={
            "func": "releases.tasks.audit_images",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.IMAGE_AUDIT_MINUTES,
            "repeats": -1,
        },
    )


def record_published_images(release_id: int) -> str:
    """Right after publishing: record the tags' digests as published."""
    release = Release.objects.select_related("project").get(pk=release_id)
    try:
        actions.record_published_images(release)
    except RegistryError as exc:
        # The periodic audit records them on its next round.
        logger.warning("Images of release %s not recorded: %s", release_id, exc)
        return "postponed"
    return "recorded"
