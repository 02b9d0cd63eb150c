"""The walking skeleton end to end: PyGithub doing real HTTP to the sandbox
on a live server, from the release request to the imported draft."""

import json
import logging

import pytest
from django.core.management import call_command

from releases import actions
from releases.forms import ReleaseForm
from releases.ghclient import client_for
from releases.models import AuditEvent, Release
from sandbox import faults

pytestmark = pytest.mark.django_db(transaction=True)

BINARIES = {
    f"{component}-{os}-{arch}"
    for component in ("gateway", "agent")
    for os in ("linux", "darwin")
    for arch in ("amd64", "arm64")
}


def plan_for(project, **choices):
    context = client_for(project).release_context()
    form = ReleaseForm(
        data={"bump_type": "minor", "prerelease": "", **choices}, context=context
    )
    assert form.is_valid(), form.errors
    return form.plan


def dispatch_count() -> int:
    """Runs started with the console's token (the seeded history is hellodk's)."""
    from sandbox.models import WorkflowRun

    return WorkflowRun.objects.filter(actor="avika-bot").count()


def test_context_reads_version_and_declared_inputs(github_sandbox, project):
    context = client_for(project).release_context()
    assert str(context.current_version) == "1.110.0"
    assert [i.name for i in context.inputs] == ["bump_type", "prerelease"]
    assert context.last_tag == "v1.110.0"
    assert "v1.110.0" in context.tags


def test_minor_release_runs_to_a_draft_with_every_asset(
    github_sandbox, project, maintainer
):
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    assert release.version == "1.111.0"
    assert release.bump_inputs == {"bump_type": "minor", "prerelease": ""}
    assert release.run_id is not None
    assert release.run_conclusion == "success"
    assert release.github_release_id is not None
    names = set(release.artifacts.values_list("name", flat=True))
    assert names == BINARIES | {"avika-1.111.0.tgz", "checksums.txt"}
    job_names = [job["name"] for job in release.run_jobs]
    assert "Create release" in job_names
    assert all(job["steps"] for job in release.run_jobs)
    actions_seen = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "release.requested",
        "release.dispatched",
        "run.finished",
        "release.imported",
    } <= actions_seen


def test_failing_job_fails_the_release_naming_the_job(
    github_sandbox, project, maintainer
):
    faults.arm("failed-job")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release.refresh_from_db()
    assert release.state == Release.State.FAILED
    assert release.run_conclusion == "failure"
    failed = release.failed_jobs
    assert failed, release.run_jobs
    assert failed[0]["name"] in release.failure_reason
    assert not release.artifacts.exists()


def test_second_start_while_one_is_in_flight_is_refused(
    github_sandbox, project, maintainer, monkeypatch
):
    # Keep the first release in flight: don't run its tasks.
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    plan = plan_for(project)
    first = actions.request_release(project=project, user=maintainer, plan=plan)
    with pytest.raises(actions.ReleaseRefused, match="already in progress"):
        actions.request_release(project=project, user=maintainer, plan=plan)
    actions.dispatch_release(first.pk)
    actions.dispatch_release(first.pk)  # delivered twice
    assert dispatch_count() == 1
    assert Release.objects.count() == 1


def test_dispatch_timeout_binds_the_run_without_a_second_dispatch(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    faults.arm("dispatch-timeout")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release = actions.dispatch_release(release.pk)
    for _ in range(5):
        if release.state == Release.State.DRAFT:
            break
        release = actions.dispatch_release(release.pk)  # a retried task
        release = actions.follow_release(release.pk)
    assert dispatch_count() == 1
    assert release.run_id is not None
    assert release.state == Release.State.DRAFT
    assert AuditEvent.objects.filter(action="release.dispatch_unknown").count() == 1


def test_204_only_dispatch_binds_our_run_not_the_newest(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    faults.arm("no-run-details")
    faults.arm("concurrent-run")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release = actions.dispatch_release(release.pk)
    from sandbox.models import WorkflowRun

    ours = WorkflowRun.objects.get(pk=WorkflowRun.pk_from_gid(release.run_id))
    assert ours.actor == "avika-bot"
    newest = (
        WorkflowRun.objects.filter(event="workflow_dispatch").order_by("-pk").first()
    )
    assert newest.actor == "someone-else"  # "the newest run" would be wrong
    assert release.state == Release.State.DRAFT


def test_another_users_run_started_just_before_is_not_bound(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    faults.arm("no-run-details")
    faults.arm("concurrent-run-before")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release = actions.dispatch_release(release.pk)
    from sandbox.models import WorkflowRun

    ours = WorkflowRun.objects.get(pk=WorkflowRun.pk_from_gid(release.run_id))
    assert ours.actor == "avika-bot"


def test_dispatch_error_fails_without_a_run(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    faults.arm("dispatch-error")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release = actions.dispatch_release(release.pk)
    assert dispatch_count() == 0
    # A 5xx is ambiguous: the console looked for a run instead of resending.
    assert release.state == Release.State.REQUESTED
    assert release.dispatch_attempted_at is not None
    actions.dispatch_release(release.pk)
    assert dispatch_count() == 0


def test_cli_release_waits_and_prints_json(github_sandbox, project, capsys):
    call_command(
        "avika",
        "release",
        "--bump",
        "minor",
        "--prerelease",
        "rc.1",
        "--wait",
        "--json",
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["version"] == "1.111.0-rc.1"
    assert out["state"] == "draft"
    assert out["run_url"]
    assert set(out["assets"]) == BINARIES | {"avika-1.111.0-rc.1.tgz", "checksums.txt"}


def test_cli_release_json_refusal_is_json_on_stdout(
    github_sandbox, project, maintainer, capsys
):
    actions.request_release(
        project=project,
        user=maintainer,
        plan=plan_for(project, prerelease="rc.1"),
        enqueue=False,
    )
    args = ["release", "--bump", "minor", "--prerelease", "rc.1", "--json"]

    with pytest.raises(SystemExit) as exited:
        call_command("avika", *args)

    assert exited.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "1.111.0-rc.1"
    assert out["state"] is None
    assert "v1.111.0-rc.1 is already in progress" in out["error"]
    assert Release.objects.count() == 1


@pytest.mark.parametrize("command", ["verify", "publish"])
def test_cli_json_refusal_of_an_unknown_version_is_json(
    github_sandbox, project, capsys, command
):
    with pytest.raises(SystemExit) as exited:
        call_command("avika", command, "9.9.9", "--json")

    assert exited.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "9.9.9"
    assert out["state"] is None
    assert "No draft or published release 9.9.9" in out["error"]


def test_cli_release_wait_keeps_the_task_queue_quiet(
    github_sandbox, project, capsys, caplog
):
    caplog.set_level(logging.INFO)
    call_command("avika", "release", "--bump", "patch", "--wait", "--json")

    queue_lines = [r for r in caplog.records if r.name == "django-q"]
    assert [r.getMessage() for r in queue_lines if r.levelno < logging.WARNING] == []
    assert logging.getLogger("django-q").level != logging.WARNING  # restored


def test_sync_imports_releases_made_outside_the_console(github_sandbox, project):
    created = actions.sync_project(project)
    versions = {r.version for r in created}
    assert {"1.108.0", "1.109.0", "1.110.0"} <= versions
    published = Release.objects.get(version="1.110.0")
    assert published.state == Release.State.PUBLISHED
    assert published.source == Release.Source.EXTERNAL
    assert published.artifacts.filter(name="checksums.txt").exists()
    assert actions.sync_project(project) == []  # twice is harmless


def test_a_draft_deleted_on_github_is_cancelled_and_frees_its_version(
    github_sandbox, project, maintainer
):
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    from sandbox.models import Release as GitHubRelease

    GitHubRelease.objects.filter(
        pk=GitHubRelease.pk_from_gid(release.github_release_id)
    ).delete()
    actions.sync_project(project)
    release.refresh_from_db()
    assert release.state == Release.State.CANCELLED
    assert "deleted on GitHub" in release.failure_reason


def test_a_version_already_in_the_console_is_refused_by_name(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    plan = plan_for(project)
    Release.objects.create(
        project=project, version=plan.version, tag=plan.tag, state=Release.State.DRAFT
    )
    with pytest.raises(actions.ReleaseRefused, match="v1.111.0 already has a release"):
        actions.request_release(project=project, user=maintainer, plan=plan)


def test_cli_release_is_labelled_as_the_command_line(github_sandbox, project):
    call_command("avika", "release", "--bump", "patch", "--json")
    release = Release.objects.get(version="1.110.1")
    assert release.requested_via == "cli"
    assert release.requester_label == "the command line"


def test_dispatch_error_is_kept_for_the_page(
    github_sandbox, project, maintainer, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda *args: None)
    faults.arm("dispatch-error")
    release = actions.request_release(
        project=project, user=maintainer, plan=plan_for(project)
    )
    release = actions.dispatch_release(release.pk)
    assert "502" in release.dispatch_error
