import semver

from releases.planning import BUMP_FIELD, PRERELEASE_FIELD, ReleaseContext, plan_release
from releases.workflow import discover_inputs
from tests.unit.test_workflow_inputs import AVIKA, SEED


def context(workflow=AVIKA, version="1.110.0", commits=(), tags=("v1.110.0",)):
    return ReleaseContext(
        current_version=semver.Version.parse(version),
        inputs=discover_inputs(workflow),
        head_sha="a" * 40,
        last_tag="v1.110.0",
        commits_since_last_tag=list(commits),
        tags=frozenset(tags),
    )


def test_minor_bump_plans_next_minor_and_sends_declared_inputs():
    plan = plan_release(context(), {"bump_type": "minor", "prerelease": ""})
    assert plan.ok
    assert plan.version == "1.111.0"
    assert plan.tag == "v1.111.0"
    assert plan.inputs == {"bump_type": "minor", "prerelease": ""}


def test_prerelease_suffix_is_previewed_and_sent():
    plan = plan_release(context(), {"bump_type": "minor", "prerelease": "rc.1"})
    assert plan.version == "1.111.0-rc.1"
    assert plan.inputs["prerelease"] == "rc.1"


def test_auto_uses_conventional_commits():
    ctx = context(commits=["feat(gateway): upstream checks", "fix: typo"])
    plan = plan_release(ctx, {"bump_type": "auto"})
    assert plan.version == "1.111.0"
    assert "auto" in plan.explanation
    assert plan.inputs["bump_type"] == "auto"


def test_auto_with_nothing_releasable_says_so():
    plan = plan_release(context(commits=["docs: readme"]), {"bump_type": "auto"})
    assert not plan.ok
    assert "nothing releasable since v1.110.0" in plan.problem


def test_existing_tag_is_refused_before_dispatch():
    ctx = context(tags=("v1.110.0", "v1.111.0"))
    plan = plan_release(ctx, {"bump_type": "minor"})
    assert not plan.ok
    assert "v1.111.0 already exists" in plan.problem


def test_workflow_with_version_input_gets_the_computed_tag():
    plan = plan_release(
        context(workflow=SEED), {BUMP_FIELD: "patch", PRERELEASE_FIELD: ""}
    )
    assert plan.version == "1.110.1"
    assert plan.inputs == {"version": "v1.110.1"}


def test_bad_suffix_is_a_problem_not_an_exception():
    plan = plan_release(context(), {"bump_type": "minor", "prerelease": "rc 1"})
    assert not plan.ok
    assert "pre-release suffix" in plan.problem


def test_auto_after_a_prerelease_counts_commits_since_the_last_stable_tag():
    ctx = ReleaseContext(
        current_version=semver.Version.parse("1.111.0-rc.1"),
        inputs=discover_inputs(AVIKA),
        head_sha="a" * 40,
        last_tag="v1.110.0",
        commits_since_last_tag=["feat: new thing", "fix: old thing"],
        tags=frozenset({"v1.110.0", "v1.111.0-rc.1"}),
    )
    plan = plan_release(ctx, {"bump_type": "auto", "prerelease": ""})
    assert plan.version == "1.111.0"


def test_a_missing_bump_names_every_choice_the_workflow_offers():
    plan = plan_release(context(), {"bump_type": ""})
    assert not plan.ok
    assert plan.problem == "Choose a bump: auto, patch, minor, major."
