"""How the screens show things: colours of states, durations, run progress.

Pure functions over model values, so the templates stay dumb and the rules
can be tested without rendering a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import semver
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from releases.models import TagObservation

if TYPE_CHECKING:
    from releases.checklist import Item
    from releases.models import Project

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
    "verifying": RUNNING,
    "mismatch": BAD,
    "missing": BAD,
    "error": BAD,
    # checklist items
    "passed": GOOD,
    "n/a": IDLE,
    "waiting": RUNNING,
    # image tags
    "drifted": BAD,
    "platforms": BAD,
    "rate_limited": WAITING,
    "orphan": IDLE,
}
UNFINISHED = {"pending", "verifying"}

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


# The checklist ------------------------------------------------------------------


@dataclass(frozen=True)
class ChecksSummary:
    word: str
    tone: str
    text: str


def item_state(item: Item) -> str:
    """passed, failed, n/a, or waiting (evidence still being produced)."""
    if item.waiting:
        return "waiting"
    return item.state


def checks_summary(items: list[Item], verifying: bool) -> ChecksSummary:
    if verifying:
        return ChecksSummary("verifying", RUNNING, "Verifying the assets and images…")
    if not items:
        return ChecksSummary("not run", IDLE, "The checks have not run yet.")
    failing = [i for i in items if i.ok is False]
    waiting = [i for i in failing if i.waiting]
    applicable = [i for i in items if i.ok is not None]
    if not failing:
        return ChecksSummary(
            "all pass", GOOD, f"All {len(applicable)} applicable checks pass."
        )
    if len(waiting) == len(failing):
        return ChecksSummary(
            "waiting", RUNNING, "Waiting for CI on the release commit."
        )
    return ChecksSummary(
        f"{len(failing)} failing",
        BAD,
        f"{len(failing)} of {len(applicable)} checks fail.",
    )


# Image tags ------------------------------------------------------------------------

# Bad news first, in the order the model lists the problems.
PROBLEM_ORDER = {state: n for n, state in enumerate(TagObservation.PROBLEMS)}
MB = 1_000_000


KIND_ORDER = {"version": 0, "minor": 1, "latest": 2, "sha": 3}


def release_tags(project: Project, rows: list[TagObservation]) -> list[TagObservation]:
    """A release's tags in the project's image order, version tag first."""
    images = list(project.image_names)

    def key(row: TagObservation) -> tuple[int, str, int]:
        position = images.index(row.image) if row.image in images else len(images)
        return position, row.image, KIND_ORDER.get(row.kind, 9)

    return sorted(rows, key=key)


def group_by_image(
    rows: list[TagObservation],
) -> list[tuple[str, list[TagObservation]]]:
    groups: dict[str, list[TagObservation]] = {}
    for row in rows:
        groups.setdefault(row.image, []).append(row)
    return list(groups.items())


@dataclass(frozen=True)
class ImageFilters:
    image: str = ""
    state: str = ""
    release: str = ""
    sort: str = "problems"

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], sorts: Mapping[str, str]
    ) -> ImageFilters:
        sort = query.get("sort", "") or "problems"
        return cls(
            image=query.get("image", "").strip(),
            state=query.get("state", "").strip(),
            release=query.get("release", "").strip().removeprefix("v"),
            sort=sort if sort in sorts else "problems",
        )

    @property
    def active(self) -> bool:
        return bool(self.image or self.state or self.release)

    def matches(self, row: TagObservation) -> bool:
        if self.image and row.image != self.image:
            return False
        if self.state and row.state != self.state:
            return False
        if self.release and (
            row.release is None or row.release.version != self.release
        ):
            return False
        return True

    def query(self, **changes: str) -> str:
        values = {
            "image": self.image,
            "state": self.state,
            "release": self.release,
            "sort": self.sort,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v and v != "problems"})


def _version_key(tag: str) -> tuple[int, semver.Version | str]:
    try:
        return (1, semver.Version.parse(tag.removeprefix("v")))
    except ValueError:
        return (0, tag)


def sort_rows(rows: list[TagObservation], sort: str) -> list[TagObservation]:
    def pushed(row: TagObservation) -> float:
        moment = row.pushed_at or row.observed_at
        return moment.timestamp() if moment else 0.0

    # Newest first; tags pushed together read version, major.minor, latest, sha.
    by_kind = sorted(rows, key=lambda r: (KIND_ORDER.get(r.kind, 9), r.tag))
    newest = sorted(by_kind, key=pushed, reverse=True)
    if sort == "newest":
        return newest
    if sort == "tag":
        versions = sorted(rows, key=lambda r: r.tag)
        return sorted(versions, key=lambda r: _version_key(r.tag), reverse=True)
    if sort == "size":
        return sorted(newest, key=lambda r: r.total_size, reverse=True)
    # Problems first; then newest first.
    return sorted(newest, key=lambda r: PROBLEM_ORDER.get(r.state, 9))


@dataclass
class ImageGroup:
    image: str
    repository: str
    rows: list[TagObservation]

    @property
    def problems(self) -> int:
        return sum(row.state in PROBLEM_ORDER for row in self.rows)


def image_groups(
    project: Project, rows: list[TagObservation], *, sort: str
) -> list[ImageGroup]:
    from releases.images import repository_of

    by_image = dict(group_by_image(rows))
    names = list(project.image_names) + sorted(set(by_image) - set(project.image_names))
    groups = [
        ImageGroup(name, repository_of(project, name), sort_rows(by_image[name], sort))
        for name in names
        if name in by_image
    ]
    if sort == "problems":
        groups.sort(key=lambda g: g.problems == 0)  # stable: keeps project order
    return groups


def count_problems(rows: list[TagObservation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row.state in PROBLEM_ORDER and row.state != "orphan":
            counts[row.state] = counts.get(row.state, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: PROBLEM_ORDER[item[0]]))


def problem_words(counts: dict[str, int]) -> str:
    labels = dict(TagObservation.State.choices)
    return ", ".join(f"{n} {labels.get(state, state)}" for state, n in counts.items())


# The size chart --------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str
    outside: bool


@dataclass
class ChartSeries:
    platform: str
    css: str
    points: list[ChartPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class SizeChart:
    image: str
    low: float
    high: float
    width: int = 640
    height: int = 200
    band: tuple[float, float] = (0.0, 0.0)  # y and height of the budget band
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    series: list[ChartSeries] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.image.replace("/", "-")


CHART_MARGIN = {"left": 56, "right": 16, "top": 14, "bottom": 30}


def size_chart(
    image: str, budget: list[int] | None, rows: list[TagObservation]
) -> SizeChart:
    """Each release's compressed size per platform against the budget band."""
    versions = sorted(
        (r for r in rows if r.kind == "version" and r.platforms),
        key=lambda r: _version_key(r.tag),
    )
    low, high = (budget or [0, 0])[:2] if budget and len(budget) == 2 else (0, 0)
    chart = SizeChart(image=image, low=low, high=high)
    sizes = [int(p.get("size") or 0) / MB for r in versions for p in r.platforms]
    top_value = max([high * 1.25, *(s * 1.1 for s in sizes), 1.0])
    left, right = CHART_MARGIN["left"], chart.width - CHART_MARGIN["right"]
    top, bottom = CHART_MARGIN["top"], chart.height - CHART_MARGIN["bottom"]

    def y_of(value: float) -> float:
        return bottom - (value / top_value) * (bottom - top)

    if high:
        chart.band = (y_of(high), y_of(low) - y_of(high))
    step = _tick_step(top_value)
    chart.y_ticks = [(y_of(v), f"{v:g} MB") for v in _frange(0, top_value, step)]
    count = max(len(versions), 1)
    xs = [left + (i + 0.5) * (right - left) / count for i in range(len(versions))]
    chart.x_labels = [(x, r.tag) for x, r in zip(xs, versions, strict=True)]
    platforms = sorted({p["platform"] for r in versions for p in r.platforms})
    for platform in platforms:
        points = []
        for x, row in zip(xs, versions, strict=True):
            found = next((p for p in row.platforms if p["platform"] == platform), None)
            if found is None:
                continue
            value = int(found.get("size") or 0) / MB
            outside = bool(high) and not low <= value <= high
            title = f"{row.tag} {platform}: {value:.1f} MB"
            points.append(ChartPoint(x, y_of(value), title, outside))
        css = platform.replace("/", "-")
        chart.series.append(ChartSeries(platform, css, points))
    return chart


def _tick_step(top_value: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top_value / step <= 5:
            return float(step)
    return top_value / 5


def _frange(start: float, stop: float, step: float) -> list[float]:
    values, value = [], start
    while value <= stop + 1e-9:
        values.append(value)
        value += step
    return values


def size_charts(project: Project, rows: list[TagObservation]) -> list[SizeChart]:
    budgets = project.image_size_budgets_mb or {}
    by_image = dict(group_by_image(rows))
    return [
        size_chart(name, budgets.get(name), by_image.get(name, []))
        for name in project.image_names
    ]


def size_mb(size: int | None) -> str:
    if not size:
        return "—"
    return f"{size / MB:.1f} MB"
