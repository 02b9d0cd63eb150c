"""Runs of the simulated workflows: creating them and, once one is seen
finished, applying its effects exactly once.

`advance()` is called at the start of every sandbox request; there is no
background thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sandbox import effects, git, notes, timeline
from sandbox.models import Workflow, WorkflowRun
from sandbox.versioning import next_version

logger = logging.getLogger(__name__)

# Faults that shape a run rather than the request that created it.
RUN_FAULTS = ("failed-job", "bad-checksum", "missing-asset", "missing-arm64")


def run_seconds() -> float:
    return float(getattr(settings, "SANDBOX_RUN_SECONDS", 40))


def _next_run_number(workflow: Workflow) -> int:
    found = WorkflowRun.objects.filter(workflow=workflow).aggregate(Max("run_number"))
    return (found["run_number__max"] or 0) + 1


def _group_start(workflow: Workflow, branch: str, now: datetime) -> datetime:
    """When a new run may start: after the run in progress in its group.

    The release workflow's concurrency group keeps one run going and one
    pending; a newer pending run silently cancels the older pending one.
    """
    group = WorkflowRun.objects.filter(
        workflow=workflow, head_branch=branch, finishes_at__gt=now, cancelled_at=None
    )
    start = now
    for other in group:
        if other.started_at > now:
            other.cancelled_at = other.finishes_at = now
            other.save(update_fields=["cancelled_at", "finishes_at"])
        else:
            start = max(start, other.finishes_at)
    return start


def create_run(
    *,
    workflow: Workflow,
    branch: str,
    actor: str,
    inputs: dict,
    faults: dict,
    failure: dict | None = None,
    event: str = "workflow_dispatch",
    at: datetime | None = None,
    duration: float | None = None,
) -> WorkflowRun:
    now = at or timezone.now()
    head = git.resolve(branch)
    assert head is not None, branch
    start = now
    if workflow.path == timeline.RELEASE_PATH:
        start = _group_start(workflow, branch, now)
    run = WorkflowRun(
        workflow=workflow,
        run_number=_next_run_number(workflow),
        event=event,
        head_branch=branch,
        head_sha=head.sha,
        actor=actor,
        display_title=workflow.name if event == "workflow_dispatch" else head.title,
        inputs=inputs,
        faults=faults,
        failure=failure or {},
        created_at=now,
        started_at=start,
        duration=run_seconds() if duration is None else duration,
        finishes_at=now,
    )
    run.finishes_at = timeline.finish_time(run)
    run.save()
    return run


def advance(origin: str) -> None:
    """Apply the effects of every run that has finished since last time."""
    due = WorkflowRun.objects.filter(
        effects_applied_at=None, finishes_at__lte=timezone.now()
    ).order_by("finishes_at", "pk")
    for run_pk in due.values_list("pk", flat=True):
        _apply(run_pk, origin)


def _apply(run_pk: int, origin: str) -> None:
    with transaction.atomic():
        now = timezone.now()
        claimed = WorkflowRun.objects.filter(pk=run_pk, effects_applied_at=None).update(
            effects_applied_at=now
        )
        if not claimed:
            return
        run = WorkflowRun.objects.select_related("workflow").get(pk=run_pk)
        if run.cancelled_at or run.workflow.path != timeline.RELEASE_PATH:
            return
        jobs = timeline.compute(run)
        if timeline.conclusion(jobs) != "success":
            return
        _release(run, jobs, origin)


def _release(run: WorkflowRun, jobs: list[timeline.JobTimes], origin: str) -> None:
    version = run.version or compute_version(run)
    if git.tag(f"v{version}"):
        logger.warning("Run %s made version %s again; skipped.", run.pk, version)
        return
    bump = next(j for j in jobs if j.name == timeline.BUMP.name)
    built = max(j.end for j in jobs)
    previous = git.last_tag_before(git.head())
    since = git.between(previous.commit if previous else None, git.head())
    target = effects.release_commit(version, bump.end, effects.changelog_items(since))
    git.create_tag(f"v{version}", target)
    effects.push_images(version, target.sha, built, run.faults)
    body = notes.generate(
        f"{origin}/sandbox/github/ui",
        f"v{version}",
        previous.name if previous else None,
        since,
    )
    effects.create_release(
        version=version, target=target, body=body, at=built, faults=run.faults
    )
    run.version = version
    run.release_sha = target.sha
    run.save(update_fields=["version", "release_sha"])
    _ci_run(run.head_branch, built)


def _ci_run(branch: str, at: datetime) -> None:
    """The push of the release commit starts CI, as a deploy key push does."""
    ci = Workflow.objects.filter(path=timeline.CI_PATH).first()
    if ci:
        create_run(
            workflow=ci,
            branch=branch,
            actor="github-actions[bot]",
            inputs={},
            faults={},
            event="push",
            at=at,
            duration=run_seconds() / 2,
        )


def compute_version(run: WorkflowRun) -> str:
    """The version the run's bump job computes from the branch as it is now."""
    head = git.resolve(run.head_branch) or git.head()
    if "version" in run.inputs:
        return str(run.inputs["version"]).removeprefix("v")
    previous = git.last_tag_before(head)
    messages = [
        c.message for c in git.between(previous.commit if previous else None, head)
    ]
    return next_version(
        head.files.get("VERSION", "0.0.0"),
        str(run.inputs.get("bump_type", "auto")),
        str(run.inputs.get("prerelease", "") or ""),
        messages,
    )


def status_at(run: WorkflowRun, now: datetime | None = None) -> tuple[str, str | None]:
    """(status, conclusion) of the run at `now`."""
    now = now or timezone.now()
    if run.cancelled_at and now >= run.cancelled_at:
        return "completed", "cancelled"
    if now >= run.finishes_at:
        return "completed", timeline.conclusion(timeline.compute(run))
    if now < run.started_at:
        return "pending", None
    first = run.started_at + timedelta(seconds=run.duration * timeline.BUMP.start)
    if run.workflow.path == timeline.RELEASE_PATH and now < first:
        return "queued", None
    return "in_progress", None
