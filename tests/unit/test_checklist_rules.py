"""The checklist's pure rules: CI from statuses and check runs together, and
whether a CHANGELOG mentions a version."""

import pytest

from releases.checklist import judge_ci, mentions
from releases.ghclient import CheckRun, ChecksForbidden, CombinedStatus

SHA = "0123456789abcdef0123456789abcdef01234567"
NOTHING = CombinedStatus(state="pending", total_count=0, statuses=[])


def run(name: str, status: str = "completed", conclusion: str = "success") -> CheckRun:
    return CheckRun(name=name, status=status, conclusion=conclusion, html_url="")


def test_actions_only_repositories_pass_on_check_runs_despite_pending_status():
    verdict = judge_ci(
        NOTHING, [run("test"), run("lint", conclusion="skipped")], commit=SHA
    )
    assert verdict.ok is True
    assert verdict.detail == "2 check run(s) passed on 0123456."


def test_a_failed_check_run_or_status_fails_naming_it():
    status = CombinedStatus(
        state="failure",
        total_count=1,
        statuses=[{"context": "ci/jenkins", "state": "failure", "target_url": ""}],
    )
    verdict = judge_ci(status, [run("test", conclusion="timed_out")], commit=SHA)
    assert verdict.ok is False
    assert verdict.detail == "Failed on 0123456: ci/jenkins, test."


def test_running_checks_are_waited_for():
    verdict = judge_ci(
        NOTHING, [run("test"), run("e2e", status="in_progress")], commit=SHA
    )
    assert verdict.ok is False
    assert verdict.waiting
    assert verdict.detail == "Still running on 0123456 (1 of 2 done): e2e."


def test_nothing_reported_is_not_green():
    verdict = judge_ci(NOTHING, [], commit=SHA)
    assert verdict.ok is False
    assert "no check runs, no statuses" in verdict.detail


def test_a_token_that_may_not_read_check_runs_is_said_plainly():
    forbidden = ChecksForbidden(
        "The GitHub token may not read check runs (a fine-grained token has no "
        "Checks permission; use a classic token or a GitHub App with Checks: read)."
    )
    verdict = judge_ci(NOTHING, forbidden, commit=SHA)
    assert verdict.ok is False
    assert verdict.detail.startswith("Cannot tell whether CI passed on 0123456.")
    assert "may not read check runs" in verdict.detail
    green = CombinedStatus(
        state="success",
        total_count=2,
        statuses=[
            {"context": "ci/a", "state": "success", "target_url": ""},
            {"context": "ci/b", "state": "success", "target_url": ""},
        ],
    )
    assert judge_ci(green, forbidden, commit=SHA).ok is True


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("## [1.2.3] - 2026-01-01\n", True),
        ("## v1.2.3\n", True),
        ("Released 1.2.3.\n", True),
        ("## 1.2.30\n", False),
        ("## 1.2.3-rc.1\n", False),
        ("## 11.2.3\n", False),
        ("## 0.1.2.3\n", False),
    ],
)
def test_changelog_mentions_the_exact_version(text, found):
    assert mentions(text, "1.2.3") is found
