"""How run progress, durations and state colours are shown."""

from datetime import UTC, datetime, timedelta

import pytest

from releases import display

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "conclusion", "state"),
    [
        ("queued", None, "queued"),
        ("waiting", None, "queued"),
        ("in_progress", None, "running"),
        ("completed", "success", "succeeded"),
        ("completed", "failure", "failed"),
        ("completed", "timed_out", "failed"),
        ("completed", "startup_failure", "failed"),
        ("completed", "cancelled", "cancelled"),
        ("completed", "skipped", "skipped"),
        ("completed", "neutral", "skipped"),
    ],
)
def test_run_state_gives_one_word(status, conclusion, state):
    assert display.run_state(status, conclusion) == state


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (61, "1m 01s"), (3599, "59m 59s"), (3720, "1h 02m")],
)
def test_durations_read_short(seconds, text):
    assert display.format_duration(timedelta(seconds=seconds)) == text


def test_every_release_state_has_its_colour():
    assert display.tone("published") == "good"
    assert display.tone("draft") == "waiting"
    assert display.tone("running") == "running"
    assert display.tone("dispatched") == "running"
    assert display.tone("failed") == "bad"
    assert display.tone("cancelled") == "idle"
    assert display.tone("something new") == "idle"


def test_jobs_get_states_durations_and_the_failed_step():
    jobs = display.run_jobs(
        [
            {
                "name": "build",
                "status": "completed",
                "conclusion": "failure",
                "started_at": "2026-12-03T11:50:00Z",
                "completed_at": "2026-12-03T11:52:30Z",
                "html_url": "https://github.com/o/r/actions/runs/1/job/2",
                "steps": [
                    {
                        "name": "checkout",
                        "number": 1,
                        "status": "completed",
                        "conclusion": "success",
                        "started_at": "2026-12-03T11:50:00Z",
                        "completed_at": "2026-12-03T11:50:05Z",
                    },
                    {
                        "name": "go build",
                        "number": 2,
                        "status": "completed",
                        "conclusion": "failure",
                        "started_at": "2026-12-03T11:50:05Z",
                        "completed_at": "2026-12-03T11:52:30Z",
                    },
                ],
            }
        ],
        now=NOW,
    )
    (job,) = jobs
    assert job.state == "failed"
    assert job.duration == "2m 30s"
    assert job.failed_step is not None
    assert job.failed_step.name == "go build"
    assert [s.duration for s in job.steps] == ["5s", "2m 25s"]


def test_running_job_counts_up_to_now_and_tolerates_missing_fields():
    (job, queued) = display.run_jobs(
        [
            {
                "name": "images",
                "status": "in_progress",
                "started_at": "2026-12-03T11:59:00Z",
                "completed_at": None,
                "steps": [
                    {
                        "name": "push",
                        "number": 4,
                        "status": "in_progress",
                        "started_at": "2026-12-03T11:59:30Z",
                    }
                ],
            },
            {"status": "queued", "started_at": None},
        ],
        now=NOW,
    )
    assert job.duration == "1m 00s"
    assert job.current_step is not None
    assert job.current_step.number == 4
    assert queued.name == "job"
    assert queued.state == "queued"
    assert queued.duration == ""


def test_stored_jobs_that_are_not_a_list_show_nothing():
    assert display.run_jobs(None) == []
    assert display.run_jobs({"jobs": []}) == []
