"""How the screens show things: colours of states, durations, run progress.

Pure functions over model values, so the templates stay dumb and the rules
can be tested without rendering a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# One tone per meaning; console.css gives each tone its colour.
GOOD, WAITING, RUNNING, BAD, IDLE = "good", "waiting", "running", "bad", "idle"

TONES: dict[str, str] = {
    # releases
    "published": GOOD,
    "draft": WAITING,
    "requested": RUNNING,
    "dispatched": RUNNING,
    "running": RUNNING,
    "built": RUNNING,
    "failed": BAD,
    "cancelled": IDLE,
    # jobs and steps, as the UI names them (see `run_state`)
    "succeeded": GOOD,
    "queued": IDLE,
    "skipped": IDLE,
    # artifact verification
    "verified": GOOD,
    "pending": IDLE,
    "mismatch": BAD,
    "missing": BAD,
    "error": BAD,
}

RUN_FAILURES = {
    "failure",
    "timed_out",
    "action_required",
    "startup_failure",
    "stale",
}


def tone(state: str) -> str:
    return TONES.get(state, IDLE)


def run_state(status: str | None, conclusion: str | None) -> str:
    """One word for a GitHub job or step: queued, running, succeeded, failed…"""
    if status != "completed":
        return "running" if status == "in_progress" else "queued"
    if conclusion == "success":
        return "succeeded"
    if conclusion in RUN_FAILURES:
        return "failed"
    if conclusion == "cancelled":
        return "cancelled"
    return "skipped"


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def elapsed(
    started: datetime | None, completed: datetime | None, *, now: datetime
) -> timedelta | None:
    """How long something took, or has taken so far if it is still going."""
    if started is None:
        return None
    return max((completed or now) - started, timedelta(0))


def format_duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@dataclass
class Step:
    number: int
    name: str
    state: str
    duration: str


@dataclass
class Job:
    name: str
    state: str
    url: str
    started_at: datetime | None
    duration: str
    steps: list[Step] = field(default_factory=list)

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.state == "failed"), None)

    @property
    def current_step(self) -> Step | None:
        return next((s for s in self.steps if s.state == "running"), None)


def run_jobs(raw_jobs: Any, *, now: datetime | None = None) -> list[Job]:
    """The run's jobs as stored from GitHub, ready to show.

    Tolerates missing keys and null timestamps: GitHub leaves them out for
    jobs that have not started.
    """
    now = now or timezone.now()
    jobs = []
    for raw in raw_jobs if isinstance(raw_jobs, list) else []:
        started = parse_time(raw.get("started_at"))
        completed = parse_time(raw.get("completed_at"))
        steps = [_step(raw_step, now) for raw_step in raw.get("steps") or []]
        jobs.append(
            Job(
                name=str(raw.get("name") or "job"),
                state=run_state(raw.get("status"), raw.get("conclusion")),
                url=str(raw.get("html_url") or ""),
                started_at=started,
                duration=format_duration(elapsed(started, completed, now=now)),
                steps=steps,
            )
        )
    return jobs


def _step(raw: dict[str, Any], now: datetime) -> Step:
    started = parse_time(raw.get("started_at"))
    completed = parse_time(raw.get("completed_at"))
    return Step(
        number=int(raw.get("number") or 0),
        name=str(raw.get("name") or "step"),
        state=run_state(raw.get("status"), raw.get("conclusion")),
        duration=format_duration(elapsed(started, completed, now=now)),
    )
