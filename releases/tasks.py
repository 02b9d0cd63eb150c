"""django-q2 tasks: thin, taking primary keys, safe to run twice."""

import logging
import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from releases import actions
from releases.ghclient import GitHubError, RateLimited
from releases.models import Heartbeat, Project, Release

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
    logger.debug("Sync done at %s", timezone.now())


def ensure_schedules(**kwargs: Any) -> None:
    """The periodic sync: heartbeat, outside releases, lost work."""
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
