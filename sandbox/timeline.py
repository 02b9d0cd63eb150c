"""When each job and step of a simulated run starts and ends.

Nothing runs in the background: a run's state at any moment is computed
from its start time, its duration and the faults it was created with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.models import WorkflowRun

RELEASE_PATH = ".github/workflows/release.yml"
CI_PATH = ".github/workflows/ci.yml"

CHECKOUT = "Run actions/checkout@v4"
SETUP_GO = "Run actions/setup-go@v5"
BUILD_PUSH = "Run docker/build-push-action@v6"


@dataclass(frozen=True)
class JobSpec:
    name: str
    start: float  # fractions of the run's duration
    end: float
    steps: tuple[str, ...]
    needs: tuple[str, ...] = ()


def _steps(*middle: str, post: tuple[str, ...] = ()) -> tuple[str, ...]:
    return ("Set up job", *middle, *post, "Complete job")


def _binary_job(os_name: str, arch: str, start: float, end: float) -> JobSpec:
    return JobSpec(
        f"Build binaries ({os_name}, {arch})",
        start,
        end,
        _steps(
            CHECKOUT,
            SETUP_GO,
            "Build gateway",
            "Build agent",
            "Run actions/upload-artifact@v4",
            post=(f"Post {SETUP_GO}", f"Post {CHECKOUT}"),
        ),
        needs=("Bump version",),
    )


def _image_job(image: str, start: float, end: float) -> JobSpec:
    return JobSpec(
        f"Build and push image ({image})",
        start,
        end,
        _steps(
            CHECKOUT,
            "Run docker/setup-qemu-action@v3",
            "Run docker/setup-buildx-action@v3",
            "Run docker/login-action@v3",
            "Run docker/metadata-action@v5",
            BUILD_PUSH,
            post=(
                f"Post {BUILD_PUSH}",
                "Post Run docker/login-action@v3",
                "Post Run docker/setup-buildx-action@v3",
                f"Post {CHECKOUT}",
            ),
        ),
        needs=("Bump version",),
    )


BUMP = JobSpec(
    "Bump version",
    0.05,
    0.18,
    _steps(
        CHECKOUT,
        "Compute next version",
        "Commit VERSION",
        "Push commit and tag",
        post=(f"Post {CHECKOUT}",),
    ),
)
BUILD_JOBS = (
    _binary_job("linux", "amd64", 0.20, 0.52),
    _binary_job("linux", "arm64", 0.20, 0.58),
    _binary_job("darwin", "amd64", 0.21, 0.55),
    _binary_job("darwin", "arm64", 0.21, 0.60),
    _image_job("avika-gateway", 0.20, 0.74),
    _image_job("avika-frontend", 0.20, 0.84),
    _image_job("avika-agent", 0.21, 0.70),
    JobSpec(
        "Package Helm chart",
        0.20,
        0.34,
        _steps(
            CHECKOUT,
            "Run azure/setup-helm@v4",
            "Package chart",
            "Run actions/upload-artifact@v4",
            post=(f"Post {CHECKOUT}",),
        ),
        needs=("Bump version",),
    ),
)
CREATE_RELEASE = JobSpec(
    "Create release",
    0.86,
    1.0,
    _steps(
        "Run actions/download-artifact@v4",
        "Write checksums",
        "Create draft release",
    ),
    needs=tuple(job.name for job in (BUMP, *BUILD_JOBS)),
)
RELEASE_JOBS = (BUMP, *BUILD_JOBS, CREATE_RELEASE)

CI_JOBS = (
    JobSpec(
        "Go tests",
        0.05,
        0.9,
        _steps(
            CHECKOUT,
            SETUP_GO,
            "Run go vet ./...",
            "Run go test -race ./...",
            post=(f"Post {SETUP_GO}", f"Post {CHECKOUT}"),
        ),
    ),
    JobSpec(
        "Frontend tests",
        0.06,
        1.0,
        _steps(
            CHECKOUT,
            "Run actions/setup-node@v4",
            "Run npm ci",
            "Run npm run lint",
            "Run npm test",
            post=("Post Run actions/setup-node@v4", f"Post {CHECKOUT}"),
        ),
    ),
    JobSpec(
        "Helm lint",
        0.05,
        0.3,
        _steps(
            CHECKOUT,
            "Run azure/setup-helm@v4",
            "Run helm lint deploy/helm/avika",
            post=(f"Post {CHECKOUT}",),
        ),
    ),
)

JOBS_BY_PATH = {RELEASE_PATH: RELEASE_JOBS, CI_PATH: CI_JOBS}

DEFAULT_FAILED_JOB = "Build and push image (avika-agent)"
DEFAULT_FAILED_STEP = BUILD_PUSH


@dataclass
class StepTimes:
    name: str
    number: int
    start: datetime
    end: datetime
    conclusion: str = "success"


@dataclass
class JobTimes:
    index: int
    name: str
    queued: datetime
    start: datetime
    end: datetime
    conclusion: str = "success"
    steps: list[StepTimes] = field(default_factory=list)


def _at(run_start: datetime, duration: float, fraction: float) -> datetime:
    return run_start + timedelta(seconds=duration * fraction)


def _step_times(spec: JobSpec, start: datetime, end: datetime) -> list[StepTimes]:
    span = (end - start) / len(spec.steps)
    return [
        StepTimes(name, number, start + span * (number - 1), start + span * number)
        for number, name in enumerate(spec.steps, 1)
    ]


def _fail(job: JobTimes, step_name: str) -> None:
    """Fail `job` at `step_name`: later steps are skipped, the job ends there."""
    failing = next((s for s in job.steps if s.name == step_name), None)
    if failing is None:
        failing = job.steps[min(1, len(job.steps) - 1)]
    failing.conclusion = "failure"
    for step in job.steps[failing.number :]:
        step.start = step.end = failing.end
        if step.name != "Complete job":
            step.conclusion = "skipped"
    job.end = failing.end
    job.conclusion = "failure"


def _skip(job: JobTimes, at: datetime) -> None:
    job.queued = job.start = job.end = at
    job.steps = []
    job.conclusion = "skipped"


def compute(run: WorkflowRun) -> list[JobTimes]:
    """Every job of the run with its times, whether or not it has started."""
    specs = JOBS_BY_PATH.get(run.workflow.path, ())
    failure = run.failure or run.faults.get("failed-job")
    jobs: dict[str, JobTimes] = {}
    for index, spec in enumerate(specs):
        start = _at(run.started_at, run.duration, spec.start)
        end = _at(run.started_at, run.duration, spec.end)
        needed = [jobs[name] for name in spec.needs if name in jobs]
        queued = max([j.end for j in needed], default=run.started_at)
        job = JobTimes(index, spec.name, queued, max(start, queued), end)
        job.end = max(job.end, job.start)
        job.steps = _step_times(spec, job.start, job.end)
        if any(j.conclusion != "success" for j in needed):
            _skip(job, queued)
        elif failure and failure.get("job") == spec.name:
            _fail(job, failure.get("step", ""))
        jobs[spec.name] = job
    return list(jobs.values())


def finish_time(run: WorkflowRun) -> datetime:
    if run.cancelled_at:
        return run.cancelled_at
    ends = [job.end for job in compute(run)]
    return max(ends, default=run.started_at)


def conclusion(jobs: list[JobTimes]) -> str:
    if any(job.conclusion == "failure" for job in jobs):
        return "failure"
    return "success"
